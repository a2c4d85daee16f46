"""Ack latency of /refund and of an Approve click, side by side with a bare Bolt app (design §7).

Both apps run in this process behind the same threaded WSGI server, take the same signed requests from the
local Slack stand-in, and are timed the same way, so the ratio means something on any machine:

    .venv/bin/python -m bench.ack [--requests 300] [--database sqlite|postgresql] [--concurrency 1]

The bare app acks and returns; refund-bot opens the modal (views.open to the stand-in) for /refund, and for a
click runs the whole decision: compare-and-set, audit, ledger, outbox rows, commit.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import Instance, build_runtime
from bot.config import load_settings
from bot.relay import web_client
from bot.services.importing import import_contracts, read_import_file
from bot.services.refunds import Deps, RequestRefund, request_refund
from storage.tables import CaseRow
from tests.e2e.conftest import Quiet, ThreadingServer
from tests.slack_standin import SlackStandIn, SlackUser

SECRET = "bench-secret"
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def serve(wsgi: Callable) -> tuple[str, Callable[[], None]]:
    from wsgiref.simple_server import make_server

    server = make_server("127.0.0.1", 0, wsgi, server_class=ThreadingServer, handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/slack/events", server.shutdown


def contracts_file(folder: Path, count: int) -> Path:
    rows = "\n".join(
        f"  - {{id: B-{n}, title: Bench {n}, kind: fixed_price, currency: USD, client: U0CLIENT01, "
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


def summary(name: str, ours: list[float], bare: list[float]) -> str:
    def pct(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=100)[q - 1]

    return (
        f"{name:<16} refund-bot p50 {pct(ours, 50):6.1f} ms  p99 {pct(ours, 99):6.1f} ms | "
        f"bare Bolt p50 {pct(bare, 50):5.1f} ms  p99 {pct(bare, 99):5.1f} ms | "
        f"ratio p50 {pct(ours, 50) / pct(bare, 50):4.1f}x  p99 {pct(ours, 99) / pct(bare, 99):4.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()

    standin = SlackStandIn().start()
    folder = Path(tempfile.mkdtemp(prefix="refundbot-bench-"))
    url, drop = f"sqlite:///{folder / 'bench.db'}", lambda: None
    if args.database == "postgresql":
        url, drop = fresh_schema()
    settings = load_settings(
        database_url=url, slack_bot_token="xoxb-bench", slack_signing_secret=SECRET, slack_api_url=standin.api_url
    )
    runtime = build_runtime(settings, NOW)
    runtime.clock = lambda: NOW
    import_contracts(read_import_file(contracts_file(folder, args.requests)), runtime.uow(), NOW, runtime.policy)
    instance = Instance.build(runtime)
    ours_url, stop_ours = serve(instance.wsgi())

    bare = App(client=web_client("xoxb-bench", standin.api_url), signing_secret=SECRET, process_before_response=True)
    bare.command("/refund")(lambda ack: ack())
    bare.action("request_approve")(lambda ack: ack())
    bare_url, stop_bare = serve(SlackRequestHandler(bare))

    client = SlackUser(standin, ours_url, SECRET, "U0CLIENT01")
    freelancer = SlackUser(standin, ours_url, SECRET, "U0FREELA01")
    bare_client = SlackUser(standin, bare_url, SECRET, "U0CLIENT01")
    bare_freelancer = SlackUser(standin, bare_url, SECRET, "U0FREELA01")

    n = args.requests
    ours_cmd = timed([lambda: client.command("").status] * n, args.concurrency)
    bare_cmd = timed([lambda: bare_client.command("").status] * n, args.concurrency)

    # One pending case per contract, each with its freelancer DM: the messages the clicks come from.
    deps = Deps(uow=runtime.uow, clock=runtime.clock, policy=runtime.policy)
    for k in range(n):
        request_refund(
            deps,
            RequestRefund(
                team_id="T0DEMO01",
                user_id="U0CLIENT01",
                contract_id=f"B-{k}",
                item_key="milestone:M-1",
                amount="10.00",
                reason="bench",
                request_key=f"bench:{k}",
            ),
        )
    while instance.relay.run_once():
        pass
    dms = standin.dms("U0FREELA01")
    ours_click = timed([lambda m=m: freelancer.click(m, "Approve").status for m in dms], args.concurrency)
    bare_click = timed([lambda m=m: bare_freelancer.click(m, "Approve").status for m in dms], args.concurrency)

    with runtime.sessions() as session:
        approved = session.query(CaseRow).filter(CaseRow.state == "approved").count()
    print(
        f"refund-bot ack latency, {n} requests each, concurrency {args.concurrency}, {args.database}, "
        f"{approved} cases approved"
    )
    print(summary("/refund", ours_cmd, bare_cmd))
    print(summary("Approve click", ours_click, bare_click))
    stop_ours()
    stop_bare()
    standin.stop()
    runtime.engine.dispose()
    drop()


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
