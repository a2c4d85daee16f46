"""Memory of a web worker over a long run of interactions (design §7: flat over a 1-hour soak).

refund-bot runs as in production (`refundbot serve`: gunicorn, one uvicorn worker, its relay inline) on SQLite,
against the Slack stand-in in a process of its own. Each round asks for a refund (the service, as the form's
submission would), then sends `/refund`, `/refund list`, opens the Home tab and clicks Approve on the request,
through the server. The worker's resident memory is sampled every ``--every`` seconds.

    .venv/bin/python -m bench.soak [--minutes 60] [--rate 1.0] [--every 60]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.ack import NOW, SECRET, SERVE, ask, contracts_file, environment
from bench.cpu import client, started
from bench.standin import standin_process
from bot.app.runtime import build_runtime
from bot.config import load_settings
from bot.services.core import Deps
from bot.services.importing import import_contracts, read_import_file
from tests.ports import free_port
from tests.slack_standin import SlackUser


def rss_mb(pid: int) -> float:
    """Resident memory of gunicorn's worker (the master's child)."""
    [worker] = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for line in Path(f"/proc/{worker}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("bench: no VmRSS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--rate", type=float, default=1.0, help="rounds per second (4 interactions each)")
    parser.add_argument("--every", type=float, default=60)
    args = parser.parse_args()
    rounds = int(args.minutes * 60 * args.rate)
    standin, api_url, stop = standin_process()
    folder = Path(tempfile.mkdtemp(prefix="refundbot-soak-"))
    env = environment(f"sqlite:///{folder / 'soak.db'}", api_url)
    runtime = build_runtime(load_settings(**{k.lower(): v for k, v in env.items()}), NOW)
    import_contracts(read_import_file(contracts_file(folder, rounds, client)), runtime.uow(), NOW, runtime.policy)
    deps = Deps(uow=runtime.uow, clock=lambda: NOW, policy=runtime.policy)
    print("minute  interactions  worker RSS (MB)", flush=True)
    with started(SERVE, env, port=(port := free_port())) as server:
        freelancer = SlackUser(standin, server.url, SECRET, "U0FREELA01")
        start = next_sample = time.monotonic()
        interactions = 0
        clicked: set[str] = set()
        for k in range(rounds):
            if time.monotonic() >= next_sample:
                print(
                    f"{(time.monotonic() - start) / 60:6.1f}  {interactions:12d}  {rss_mb(server.process.pid):8.1f}",
                    flush=True,
                )
                next_sample += args.every
            person = SlackUser(standin, server.url, SECRET, client(k))
            ask(deps, k, client(k))
            person.command("")
            person.command("list")
            person.open_home()
            interactions += 3
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                asked = [
                    m for m in standin.dms("U0FREELA01")[-3:] if m.ts not in clicked and "Approve" in str(m.blocks)
                ]
                if asked:
                    clicked.add(asked[0].ts)
                    freelancer.click(asked[0], "Approve")
                    interactions += 1
                    break
                time.sleep(0.02)
            time.sleep(max(0.0, start + (k + 1) / args.rate - time.monotonic()))
        print(
            f"{(time.monotonic() - start) / 60:6.1f}  {interactions:12d}  {rss_mb(server.process.pid):8.1f}", flush=True
        )
        del port
    stop()


if __name__ == "__main__":
    main()
