"""The mediators' desk over many cases: server time to publish a mediator's App Home.

    .venv/bin/python -m bench.desk [--cases 10000] [--database sqlite|postgresql] [--rounds 5]

One real request is copied in SQL into ``--cases`` open cases (bench/tick.py's seeding); then a fifth of them are
made to wait for a mediator (escalated, unclaimed, their deadline retired) and a tenth are held by the mediator
measured. The same is done with 100 cases beside it, in the same run. For each, the mediator opens Home:
``show_home`` (the roster check, the desk's reads, the outbox row it queues) and the relay's rendering of that
row are timed, the SQL statements counted, and the view's block count read. Medians of ``--rounds``. Design
§7 / issue 16: publishing the desk of a mediator who sees 10,000 cases takes at most 100 ms of server time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import event, select, update

from bench.tick import OPENED, database, seeded
from bot.blocks.render import render
from bot.services import read_models
from bot.services.core import Deps
from bot.services.messages import Surface
from bot.services.roster import Desk, Roster
from storage.tables import CaseRow, DeadlineRow, OutboxRow

MEDIATOR = "U0MEDIATE1"


def _share_out(runtime: object, cases: int) -> None:
    """A fifth of the cases wait for a mediator, a tenth are this mediator's: the desk's three parts all full."""
    with runtime.sessions.begin() as session:  # type: ignore[attr-defined]
        ids = list(session.scalars(select(CaseRow.id).order_by(CaseRow.id)))
        waiting, held = ids[: cases // 5], ids[cases // 5 : cases // 5 + cases // 10]
        for chosen, changes in (
            (waiting, {"state": "unassigned", "mediator_id": None}),
            (held, {"state": "claimed", "mediator_id": MEDIATOR}),
        ):
            for start in range(0, len(chosen), 5_000):
                some = chosen[start : start + 5_000]
                session.execute(
                    update(CaseRow)
                    .where(CaseRow.id.in_(some))
                    .values(stage="mediation", escalated_at=OPENED, disputed_minor=CaseRow.requested_minor, **changes)
                    .execution_options(synchronize_session=False)
                )
                session.execute(
                    update(DeadlineRow)
                    .where(DeadlineRow.case_id.in_(some))
                    .values(done_at=OPENED)
                    .execution_options(synchronize_session=False)
                )


def measure(url: str, cases: int, rounds: int) -> dict[str, float]:
    runtime = seeded(url, cases, due=0, next_at=OPENED)
    _share_out(runtime, cases)
    deps = Deps(
        uow=runtime.uow, clock=lambda: OPENED, policy=runtime.policy, roster=Roster(Desk(None, frozenset({MEDIATOR})))
    )
    statements = 0

    def counted(*_: object) -> None:
        nonlocal statements
        statements += 1

    event.listen(runtime.engine, "before_cursor_execute", counted)
    build, draw, counts, blocks = [], [], [], 0
    for n in range(rounds):
        statements = 0
        started = time.perf_counter()
        read_models.show_home(deps, "T0DEMO01", MEDIATOR, f"{n}.0")
        build.append((time.perf_counter() - started) * 1000)
        counts.append(statements)
        with runtime.sessions() as session:
            row = session.scalars(select(OutboxRow).order_by(OutboxRow.id.desc()).limit(1)).one()
        assert row.surface == Surface.DESK
        started = time.perf_counter()
        shown = render(Surface(row.surface), row.view, None)
        draw.append((time.perf_counter() - started) * 1000)
        blocks = len(shown.blocks)
    runtime.engine.dispose()
    return {
        "build": statistics.median(build),
        "render": statistics.median(draw),
        "statements": statistics.median(counts),
        "blocks": blocks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="refundbot-desk-"))
    results = {}
    for cases in (100, args.cases):
        url, drop = database(args.database, folder, f"desk{cases}")
        try:
            results[cases] = measure(url, cases, args.rounds)
        finally:
            drop()
    print(f"The mediators' desk, {args.database}, medians of {args.rounds}")
    for cases, r in results.items():
        print(
            f"  {cases:>7,} open cases: show_home {r['build']:6.1f} ms ({r['statements']:.0f} SQL statements) + "
            f"render {r['render']:4.1f} ms = {r['build'] + r['render']:6.1f} ms, {r['blocks']:.0f} blocks"
        )
    small, large = results[100], results[args.cases]
    total = (large["build"] + large["render"]) / (small["build"] + small["render"])
    print(f"  ratio {args.cases:,} / 100 cases: {total:.2f}x (goal: at most 100 ms of server time at 10,000)")


if __name__ == "__main__":
    main()
