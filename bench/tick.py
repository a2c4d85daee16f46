"""The scheduler at scale (design §7), on SQLite and PostgreSQL:

1. lease: a tick's lease over 1,000,000 cases of which 1,000 are due (target ≤ 50 ms), timed beside the same
   lease over a table holding only the 1,000 due ones, so the ratio shows what the other 999,000 cost; the
   query plan is printed, to show the index doing the work;
2. reminders: 10,000 reminders due at the same moment, two instances ticking and relaying at once against
   the local Slack stand-in: every reminder sent, duplicates counted (target 0).

    .venv/bin/python -m bench.tick [--cases 1000000] [--due 1000] [--reminders 10000] [--database both]

Each lease runs in a transaction that is rolled back, so every repetition sees the same 1,000 due rows.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select, text

from bench.ack import fresh_schema
from bench.standin import standin_process
from bot.app.runtime import Runtime, build_runtime
from bot.app.workers import Workers
from bot.config import load_settings
from bot.services import scheduler
from storage.deadlines import DeadlineRepository
from storage.tables import CaseRow, OutboxRow
from tests.bulk import copy_case, demo_request

OPENED = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
DUE = OPENED + timedelta(days=3)
REMIND = DUE - timedelta(hours=48)  # the first reminder of every copy


def database(kind: str, folder: Path, name: str) -> tuple[str, Callable[[], None]]:
    if kind == "postgresql":
        return fresh_schema()
    return f"sqlite:///{folder / name}.db", lambda: None


def seeded(url: str, cases: int, due: int, next_at: datetime, freelancers: int | None = None, **slack: str) -> Runtime:
    """One real request on the demo's milestone, copied in SQL into ``cases`` requests in all."""
    runtime = build_runtime(load_settings(database_url=url, **slack), OPENED)
    template = demo_request(runtime.uow, runtime.policy, OPENED)
    started = time.perf_counter()
    step = 200_000  # in slices, so SQLite's statement stays within memory comfortably
    with runtime.sessions.begin() as session:
        if session.get_bind().dialect.name == "postgresql":  # a slice takes longer than any request may
            session.execute(text("SELECT set_config('statement_timeout', '0', true)"))
        for start in range(1, cases, step):
            count = min(step, cases - start)
            copy_case(
                session,
                template.id,
                count,
                due=max(0, min(count, due - start)),
                next_at=next_at,
                start=start,
                freelancers=freelancers,
            )
    with runtime.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    with runtime.sessions() as session:
        total = session.scalar(select(func.count()).select_from(CaseRow))
    print(f"  seeded {total:,} cases in {time.perf_counter() - started:.1f} s")
    return runtime


def lease_times(runtime: Runtime, now: datetime, limit: int, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        with runtime.sessions() as session:
            started = time.perf_counter()
            leased = DeadlineRepository(session).lease_due("bench", now, scheduler.LEASE, limit)
            times.append((time.perf_counter() - started) * 1000)
            session.rollback()
        assert len(leased) == limit, f"leased {len(leased)} of {limit}"
    return times


def lease_plan(runtime: Runtime, now: datetime, limit: int) -> str:
    """The lease's UPDATE as the database runs it (EXPLAIN ANALYZE on PostgreSQL, QUERY PLAN on SQLite)."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("UPDATE DEADLINES"):
            seen.append((statement, parameters))

    event.listen(runtime.engine, "before_cursor_execute", record)
    try:
        lease_times(runtime, now, limit, 1)
    finally:
        event.remove(runtime.engine, "before_cursor_execute", record)
    statement, parameters = seen[0]
    postgres = runtime.engine.dialect.name == "postgresql"
    explain = "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " if postgres else "EXPLAIN QUERY PLAN "
    with runtime.engine.connect() as connection:
        rows = connection.exec_driver_sql(explain + statement, parameters).all()
        connection.rollback()
    return "\n".join("    " + " | ".join(str(v) for v in row) for row in rows)


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def bench_lease(kind: str, folder: Path, cases: int, due: int, repeats: int) -> dict[int, tuple[float, float]]:
    """Per claim size: (p50 over ``cases``, p50 over only the ``due`` ones), in ms."""
    print(f"\n[{kind}] lease: {cases:,} cases, {due:,} due")
    big_url, drop_big = database(kind, folder, "million")
    small_url, drop_small = database(kind, folder, "thousand")
    try:
        big = seeded(big_url, cases, due, DUE)
        small = seeded(small_url, due, due, DUE)
        found: dict[int, tuple[float, float]] = {}
        for limit in (scheduler.BATCH, due):
            ours = lease_times(big, DUE, limit, repeats)
            base = lease_times(small, DUE, limit, repeats)
            found[limit] = (pct(ours, 50), pct(base, 50))
            print(
                f"  lease of {limit:>5,}: over {cases:,} cases p50 {pct(ours, 50):6.1f} ms  max {max(ours):6.1f} ms"
                f" | over {due:,} cases p50 {pct(base, 50):6.1f} ms | ratio p50 {pct(ours, 50) / pct(base, 50):4.2f}x"
            )
        print(f"  plan of the lease over {cases:,} cases (limit {scheduler.BATCH}):")
        print(lease_plan(big, DUE, scheduler.BATCH))
        big.engine.dispose()
        small.engine.dispose()
        return found
    finally:
        drop_big()
        drop_small()


def bench_reminders(kind: str, folder: Path, count: int, freelancers: int, instances: int = 2) -> dict[str, float]:
    print(f"\n[{kind}] reminders: {count:,} due at the same moment, {instances} instance(s) ticking and relaying")
    standin, api_url, stop = standin_process()
    url, drop = database(kind, folder, f"reminders{instances}")
    # Unpaced: the clock stands still here, and pacing has its own bench (bench.relay).
    slack = {"slack_bot_token": "xoxb-bench", "slack_api_url": api_url, "slack_pace_seconds": "0"}
    try:
        seed = seeded(url, count, count, REMIND, freelancers, **slack)
        seed.engine.dispose()
        running = []
        for _ in range(instances):  # their own engines, connections and lease owners
            runtime = build_runtime(load_settings(database_url=url, **slack), REMIND)
            runtime.clock = lambda: REMIND
            running.append(Workers.build(runtime))
        acted: Counter[str] = Counter()
        ticked: list[float] = []
        started = time.perf_counter()

        def run(workers: Workers) -> None:
            while n := workers.tick():
                acted[workers.owner] += n
            ticked.append(time.perf_counter() - started)
            while workers.relay.run_once():
                pass

        threads = [threading.Thread(target=run, args=(w,)) for w in running]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        posts = [c.args for c in standin.calls_to("chat.postMessage") if "Reminder" in str(c.args.get("text"))]
        per_reminder = Counter((p["channel"], p["text"], str(p.get("blocks"))) for p in posts)
        duplicates = sum(n - 1 for n in per_reminder.values())
        with running[0].runtime.sessions() as session:
            queued = session.scalar(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.dedupe_key.like("%:reminder:%"))
            )
            pending = session.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.status != "sent"))
        print(
            f"  {len(posts):,} reminders posted for {count:,} deadlines ({queued:,} queued, {pending} not sent) to "
            f"{freelancers:,} freelancers in {elapsed:.1f} s ({len(posts) / elapsed:,.0f}/s); "
            f"deadlines acted on by instance: {sorted(acted.values())}; duplicates: {duplicates}"
        )
        print(
            f"  ticking (reminders queued) done after {max(ticked):.1f} s ({count / max(ticked):,.0f}/s); "
            f"Slack calls: {standin.call_count():,} ({standin.call_count() / elapsed:,.0f}/s over the whole run)"
        )
        for workers in running:
            workers.runtime.engine.dispose()
        return {"ticked": max(ticked), "whole": elapsed, "posted": len(posts), "duplicates": duplicates}
    finally:
        stop()
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--freelancers", type=int, default=1_000, help="how many people the reminders go to")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--instances", type=int, default=2, help="how many instances tick the reminders")
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="refundbot-tick-"))
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for kind in kinds if args.cases else ():
        bench_lease(kind, folder, args.cases, args.due, args.repeats)
    for kind in kinds if args.reminders else ():
        bench_reminders(kind, folder, args.reminders, args.freelancers, args.instances)


if __name__ == "__main__":
    main()
