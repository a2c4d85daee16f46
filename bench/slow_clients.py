"""Slow clients beside Slack's requests: the production server against the previous set-up, side by side.

    .venv/bin/python -m bench.slow_clients [--slow 0,16,40,200] [--requests 20]

For each count of slow connections (headers sent, then a body that never comes), both servers are started the
same way (gunicorn, WEB_CONCURRENCY=2, SQLite, the local Slack stand-in): ``uvicorn`` is refund-bot as it
ships (gunicorn's uvicorn workers, bot.edge), ``gthread`` the set-up it replaced (gunicorn's gthread workers,
8 threads each, Bolt's WSGI adapter). Then signed `/refund help` commands are sent one after another; each
counts as acknowledged only if answered within Slack's 3 s. Loopback only.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.ack import SERVE, gunicorn
from tests.slack_standin import SlackStandIn, SlackUser

SECRET = "bench-secret"
ROOT = Path(__file__).resolve().parents[1]
SLACK_ACK = 3.0


def start(kind: str, standin: SlackStandIn, folder: Path) -> tuple[int, Callable[[], None]]:
    env = {
        "DATABASE_URL": f"sqlite:///{folder / f'{kind}.db'}",
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": standin.api_url,
        "WEB_CONCURRENCY": "2",
    }
    if kind == "uvicorn":
        command = SERVE
    else:
        command = [
            *(sys.executable, "-m", "gunicorn", "bench.gthread_app:from_environment()"),
            *("-k", "gthread", "--threads", "8", "-w", "2"),
        ]
    url, stop = gunicorn(command, env, ROOT)
    return int(url.split(":")[2].split("/")[0]), stop


def measure(port: int, slow: int, requests: int, standin: SlackStandIn) -> tuple[int, float | None]:
    stalled = []
    for _ in range(slow):
        link = socket.create_connection(("127.0.0.1", port), timeout=30)
        link.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\npayload=")
        stalled.append(link)
    time.sleep(0.5)
    user = SlackUser(standin, f"http://127.0.0.1:{port}/slack/events", SECRET, "U0CLIENT01")
    took = []
    for _ in range(requests):
        started = time.perf_counter()
        try:
            ok = user.command("help", timeout=SLACK_ACK).status == 200
        except OSError:
            ok = False
        if ok:
            took.append((time.perf_counter() - started) * 1000)
    for link in stalled:
        link.close()
    return len(took), statistics.median(took) if took else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow", default="0,16,40,200")
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    standin = SlackStandIn().start()
    folder = Path(tempfile.mkdtemp(prefix="refundbot-slow-"))
    print(f"signed /refund help acknowledged within {SLACK_ACK:g} s, of {args.requests}, beside N slow connections")
    print(f"{'slow':>5} | {'refund-bot (uvicorn workers)':>30} | {'previous (gthread 2x8)':>30}")
    for slow in (int(n) for n in args.slow.split(",")):
        row = []
        for kind in ("uvicorn", "gthread"):
            port, stop = start(kind, standin, folder)
            try:
                acked, median = measure(port, slow, args.requests, standin)
            finally:
                stop()
            shown = f"{median:.1f} ms" if median is not None else "-"
            row.append(f"{acked:>3}/{args.requests} acked, p50 {shown:>9}")
        print(f"{slow:>5} | {row[0]:>30} | {row[1]:>30}")
    standin.stop()


if __name__ == "__main__":
    main()
