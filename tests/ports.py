"""Ports for servers a test or bench starts in a process of its own, where the port must be named before the
server binds it.

Asking the kernel for a free port (bind to 0, close) and handing the number on is a race: until the server binds
it, anything else that asks the kernel (another xdist worker's stand-in, an outgoing connection) may be given the
same port, and the test then talks to that instead. So the ports come from below the kernel's ephemeral range,
which it never hands out, in a block of their own for each xdist worker, and each is checked free before use."""

from __future__ import annotations

import itertools
import os
import socket
from pathlib import Path

BLOCK = 400  # ports per xdist worker
FIRST = 20000  # above what services listen on here (PostgreSQL, MariaDB, Redis, RabbitMQ, NATS…)


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _block() -> range:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    start = FIRST + (int(worker) if worker.isdigit() else 0) * BLOCK
    if start + BLOCK > _ephemeral_low():
        raise RuntimeError(f"xdist worker {worker}: no ports left below the ephemeral range")
    return range(start, start + BLOCK)


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
_START = os.getpid() % BLOCK
_NEXT = itertools.cycle([*_BLOCK[_START:], *_BLOCK[:_START]])


def free_port() -> int:
    """A loopback port no one holds, never handed out twice in a row by this process."""
    for port in itertools.islice(_NEXT, BLOCK):
        if not _taken(port):
            return port
    raise RuntimeError(f"every port in {_BLOCK.start}–{_BLOCK.stop - 1} is taken")
