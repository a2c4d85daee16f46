"""Ports for servers a test or bench starts in a process of its own, where the port must be named before the
server binds it.

Asking the kernel for a free port (bind to 0, close) and handing the number on is a race: until the server binds
it, anything else that asks the kernel (another xdist worker's stand-in, an outgoing connection) may be given the
same port, and the test then talks to that instead. So the ports come from below the kernel's ephemeral range,
which it never hands out, in a share of their own for each xdist worker, and each is checked free before use."""

from __future__ import annotations

import itertools
import os
import socket
from pathlib import Path

FIRST = 20000  # above what services listen on here (PostgreSQL, MariaDB, Redis, RabbitMQ, NATS…)


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _block() -> range:
    """This xdist worker's share of the ports between FIRST and the ephemeral range (all of it without xdist)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index = int(worker) if worker.isdigit() else 0
    workers = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1), index + 1)
    size = max((_ephemeral_low() - FIRST) // workers, 0)
    return range(FIRST + index * size, FIRST + (index + 1) * size)


def _taken(port: int) -> bool:
    """Anything listening on it, or a connection still holding it: a bind without SO_REUSEADDR fails."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


# Two runs side by side on one machine (a developer's and CI's) start at different places in their blocks.
_BLOCK = _block()
_START = os.getpid() % max(len(_BLOCK), 1)
_NEXT = itertools.cycle([*_BLOCK[_START:], *_BLOCK[:_START]])


def free_port() -> int:
    """A loopback port no one holds, never handed out twice in a row by this process. On a machine whose ephemeral
    range starts too low to leave any, the kernel's choice: a server that loses the race then fails its start-up
    check (``Server.wait_until_up``) rather than letting a test talk to something else."""
    for port in itertools.islice(_NEXT, len(_BLOCK)):
        if not _taken(port):
            return port
    if _BLOCK:
        raise RuntimeError(f"every port in {_BLOCK.start}–{_BLOCK.stop - 1} is taken")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
