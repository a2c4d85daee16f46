"""Ack latency of /refund and of an Approve click, side by side with a bare Bolt app (design §7).

Both apps run behind the same server, take the same signed requests from the local Slack stand-in, and are
timed the same way, so the ratio means something on any machine:

    .venv/bin/python -m bench.ack [--requests 300] [--database sqlite|postgresql] [--concurrency 1]
                                  [--server inprocess|gunicorn] [--relay inline|apart]

``inprocess`` serves both apps from threads of this process (quick, but they share its GIL with the
stand-in and the load); ``gunicorn`` runs each as it runs in production (`refundbot serve`, and
bench/bare_app.py), with the same workers. Under gunicorn the relay runs in the web workers (``inline``, the
default set-up) or in a `refundbot worker` of its own (``apart``: SERVE_WORKERS=false).

The bare app acks and returns; refund-bot opens the modal (views.open to the stand-in) for /refund, and for a
click runs the whole decision: compare-and-set, audit, ledger, outbox rows, commit.
"""

from __future__ import annotations

import argparse
import copy
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.bare_app import bare_edge
from bench.standin import standin_process
from bot.app.runtime import build_runtime
from bot.app.slack import Instance
from bot.config import load_settings
from bot.domain.case import Case
from bot.edge import Edge
from bot.services.core import Deps
from bot.services.importing import import_contracts, read_import_file
from bot.services.requests import RequestRefund, request_refund
from storage.tables import CaseRow
from tests.e2e.conftest import serving
from tests.ports import free_port
from tests.slack_standin import SlackUser

SECRET = "bench-secret"
ROOT = Path(__file__).resolve().parents[1]
REFUNDBOT = str(Path(sys.executable).parent / "refundbot")
SERVE = [REFUNDBOT, "serve"]  # as operators start it
# The real clock: a gunicorn-served app reads it, so the bench's items were paid five days ago, whenever it runs.
NOW = datetime.now(UTC).replace(microsecond=0)
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# The bare app, served as refund-bot is (gunicorn with uvicorn workers).
BARE = [sys.executable, "-m", "gunicorn", "bench.bare_app:from_environment()", "-k", "uvicorn_worker.UvicornWorker"]


def serve(asgi: Edge) -> tuple[str, Callable[[], None]]:
    stack = ExitStack()
    url = stack.enter_context(serving(asgi))
    return f"{url}/slack/events", stack.close


def contracts_file(folder: Path, count: int, client: Callable[[int], str] = lambda _: "U0CLIENT01") -> Path:
    """Contracts B-0… with one paid milestone each, of one client or (``client``) each of their own."""
    rows = "\n".join(
        f"  - {{id: B-{n}, title: Bench {n}, kind: fixed_price, currency: USD, client: {client(n)}, "
        f'freelancer: U0FREELA01, milestones: [{{id: M-1, title: Work, amount: "100.00", status: released, '
        f"released_at: 2026-11-20T10:00:00Z}}]}}"
        for n in range(count)
    )
    path = folder / "bench.yaml"
    path.write_text(f"team_id: T0DEMO01\ncontracts:\n{rows}\n")
    return path


def timed(calls: list[Callable[[], int]], concurrency: int) -> list[float]:
    def one(call: Callable[[], int]) -> float:
        start = time.perf_counter()
        status = call()
        elapsed = (time.perf_counter() - start) * 1000
        if status != 200:
            raise SystemExit(f"bench: a request answered {status}")
        return elapsed

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, calls))


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):6.1f} ({min(values):.1f}–{max(values):.1f})"


def summary(name: str, found: Timings, key: str) -> str:
    ours50, ours99 = found[f"{key} p50"], found[f"{key} p99"]
    bare50, bare99 = found[f"{key} bare p50"], found[f"{key} bare p99"]
    ratio = statistics.median(a / b for a, b in zip(ours99, bare99, strict=True))
    return (
        f"{name:<14} refund-bot p50 {spread(ours50)} p99 {spread(ours99)} ms | "
        f"bare p50 {spread(bare50)} p99 {spread(bare99)} ms | p99 ratio {ratio:4.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=1, help="rounds of --requests each; medians are reported")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--server", choices=["inprocess", "gunicorn"], default="inprocess")
    parser.add_argument("--relay", choices=["inline", "apart"], default="inline", help="under gunicorn")
    args = parser.parse_args()
    for line in run(args.database, args.concurrency, args.server, args.requests, args.rounds, args.relay)[0]:
        print(line)


Timings = dict[str, list[float]]  # per request kind: p50 and p99 of each round


def run(
    database: str, concurrency: int, server: str, n: int, rounds: int, relay: str = "inline"
) -> tuple[list[str], Timings]:
    """Rounds of n /refund commands and n Approve clicks, each round timed on refund-bot and then on the bare
    app, so that both see the machine in the same state."""
    # The stand-in's schema check of each modal takes longer than the app's whole ack, and 16 at once queue
    # there: off, so that views.open is timed as the app sees it (the test suite checks every payload).
    standin, api_url, stop_standin = standin_process(checking=False)
    folder = Path(tempfile.mkdtemp(prefix="refundbot-bench-"))
    url, drop = f"sqlite:///{folder / 'bench.db'}", lambda: None
    if database == "postgresql":
        url, drop = fresh_schema()
    # Unpaced: the setup posts the DMs to one person at once, and the clicks come from those messages.
    settings = load_settings(
        database_url=url,
        slack_bot_token="xoxb-bench",
        slack_signing_secret=SECRET,
        slack_api_url=api_url,
        slack_pace_seconds="0",
    )
    runtime = build_runtime(settings, NOW)
    runtime.clock = lambda: NOW
    import_contracts(read_import_file(contracts_file(folder, n * rounds)), runtime.uow(), NOW, runtime.policy)
    instance = Instance.build(runtime)
    pending_cases(instance, n * rounds)
    # Copies: once a running server's relay updates these messages, their buttons are gone.
    dms = [copy.deepcopy(message) for message in standin.dms("U0FREELA01")]

    if server == "gunicorn":
        env = environment(url, api_url)
        if relay == "apart":
            env |= {"SERVE_WORKERS": "false"}
            worker = background([REFUNDBOT, "worker"], env, folder)
        ours_url, stop_ours = gunicorn(SERVE, env, folder)
        bare_url, stop_bare = gunicorn([*BARE, "-w", os.environ.get("WEB_CONCURRENCY", "2")], env, ROOT)
    else:
        ours_url, stop_ours = serve(instance.asgi())
        bare_url, stop_bare = serve(bare_edge(api_url, SECRET))

    client = SlackUser(standin, ours_url, SECRET, "U0CLIENT01")
    freelancer = SlackUser(standin, ours_url, SECRET, "U0FREELA01")
    bare_client = SlackUser(standin, bare_url, SECRET, "U0CLIENT01")
    bare_freelancer = SlackUser(standin, bare_url, SECRET, "U0FREELA01")

    found: Timings = {}

    def keep(name: str, values: list[float]) -> None:
        found.setdefault(f"{name} p50", []).append(pct(values, 50))
        found.setdefault(f"{name} p99", []).append(pct(values, 99))

    for k in range(rounds):
        clicks = dms[k * n : (k + 1) * n]
        keep("/refund", timed([lambda: client.command("").status] * n, concurrency))
        keep("/refund bare", timed([lambda: bare_client.command("").status] * n, concurrency))
        keep("Approve", timed([lambda m=m: freelancer.click(m, "Approve").status for m in clicks], concurrency))
        keep(
            "Approve bare", timed([lambda m=m: bare_freelancer.click(m, "Approve").status for m in clicks], concurrency)
        )

    with runtime.sessions() as session:
        approved = session.query(CaseRow).filter(CaseRow.state == "approved").count()
    lines = [
        f"refund-bot ack latency, {rounds} round(s) of {n} requests each, concurrency {concurrency}, {database}, "
        f"{server}{f', relay {relay}' if server == 'gunicorn' else ''}, {approved} cases approved; medians of the "
        "rounds (min–max)",
        summary("/refund", found, "/refund"),
        summary("Approve click", found, "Approve"),
    ]
    stop_ours()
    stop_bare()
    if server == "gunicorn" and relay == "apart":
        worker()
    stop_standin()
    runtime.engine.dispose()
    drop()
    return lines, found


def pending_cases(instance: Instance, count: int) -> None:
    """One pending case per contract, with its freelancer DM delivered: the messages the clicks come from."""
    runtime = instance.runtime
    deps = Deps(uow=runtime.uow, clock=runtime.clock, policy=runtime.policy)
    for k in range(count):
        ask(deps, k, "U0CLIENT01")
    while instance.workers.relay.run_once():
        pass


def ask(deps: Deps, n: int, client: str, amount: str = "10.00") -> Case:
    """The client's refund request on contract B-n's milestone, as their form would send it."""
    command = RequestRefund(
        team_id="T0DEMO01",
        user_id=client,
        contract_id=f"B-{n}",
        item_key="milestone:M-1",
        amount=amount,
        reason="bench",
        request_key=f"bench:{n}",
    )
    return request_refund(deps, command)


def environment(database_url: str, api_url: str) -> dict[str, str]:
    """The settings of a benched server: the stand-in's Slack, unpaced (the bench's people get many DMs at once)."""
    return {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": api_url,
        "SLACK_PACE_SECONDS": "0",
    }


def wait_for_port(port: int, process: subprocess.Popen[bytes], name: str) -> None:
    """Until a server started on ``port`` accepts connections, and its workers have booted."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as attempt:
            if attempt.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    else:
        process.kill()
        raise SystemExit(f"bench: {name} did not start")
    time.sleep(1.0)  # let every worker finish booting, not just the first to bind


def gunicorn(command: list[str], env: dict[str, str], cwd: Path) -> tuple[str, Callable[[], None]]:
    """Start a server on a free port and wait until it accepts connections."""
    port = free_port()
    full_env = os.environ | env | {"PORT": str(port)}
    if "gunicorn" in command:
        command = [*command, "-b", f"127.0.0.1:{port}"]
    process = subprocess.Popen(command, cwd=cwd, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, process, command[1])

    def stop() -> None:
        process.terminate()
        process.wait(timeout=30)

    return f"http://127.0.0.1:{port}/slack/events", stop


def background(command: list[str], env: dict[str, str], cwd: Path) -> Callable[[], None]:
    """Start a process that serves no port (the worker), and how to stop it."""
    process = subprocess.Popen(
        command, cwd=cwd, env=os.environ | env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )

    def stop() -> None:
        process.terminate()
        process.wait(timeout=30)

    return stop


def fresh_schema() -> tuple[str, Callable[[], None]]:
    """A schema of its own in the local PostgreSQL, dropped afterwards."""
    admin = create_engine(POSTGRES)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))

    url = make_url(POSTGRES).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), drop


if __name__ == "__main__":
    main()
