"""The App Home of someone with many open cases: server time to build it and to render what is published.

    .venv/bin/python -m bench.home [--cases 10000] [--database sqlite|postgresql] [--rounds 3]

One real request is copied in SQL into ``--cases`` open requests for the same freelancer (bench/tick.py's
seeding), and the same is done with 40 cases beside it, in the same run. For each, ``show_home`` (the read,
and the outbox row it queues) and the relay's rendering of that row are timed, the SQL statements counted,
and the published view's size and block count read. Medians of ``--rounds``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import event, select

from bench.tick import OPENED, database, seeded
from bot.blocks.render import render
from bot.services import read_models
from bot.services.core import Deps
from bot.services.messages import Surface
from storage.tables import OutboxRow

FREELANCER = "U0FREELA01"


def measure(url: str, cases: int, rounds: int) -> dict[str, float]:
    runtime = seeded(url, cases, due=0, next_at=OPENED)
    deps = Deps(uow=runtime.uow, clock=lambda: OPENED, policy=runtime.policy)
    statements = 0

    def counted(*_: object) -> None:
        nonlocal statements
        statements += 1

    event.listen(runtime.engine, "before_cursor_execute", counted)
    build, draw, counts, size, blocks = [], [], [], 0, 0
    for n in range(rounds):
        statements = 0
        started = time.perf_counter()
        read_models.show_home(deps, "T0DEMO01", FREELANCER, f"{n}.0")
        build.append((time.perf_counter() - started) * 1000)
        counts.append(statements)
        with runtime.sessions() as session:
            row = session.scalars(select(OutboxRow).order_by(OutboxRow.id.desc()).limit(1)).one()
        started = time.perf_counter()
        shown = render(Surface(row.surface), row.view, None)
        draw.append((time.perf_counter() - started) * 1000)
        size, blocks = len(json.dumps(shown.blocks)), len(shown.blocks)
    runtime.engine.dispose()
    return {
        "build": statistics.median(build),
        "render": statistics.median(draw),
        "statements": statistics.median(counts),
        "bytes": size,
        "blocks": blocks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="refundbot-home-"))
    results = {}
    for cases in (40, args.cases):
        url, drop = database(args.database, folder, f"home{cases}")
        try:
            results[cases] = measure(url, cases, args.rounds)
        finally:
            drop()
    print(f"App Home of one freelancer, {args.database}, medians of {args.rounds}")
    for cases, r in results.items():
        print(
            f"  {cases:>7,} open cases: show_home {r['build']:7.1f} ms ({r['statements']:.0f} SQL statements), "
            f"render {r['render']:5.1f} ms, {r['blocks']:.0f} blocks, {r['bytes'] / 1024:.1f} KiB"
        )
    small, large = results[40], results[args.cases]
    print(f"  ratio {args.cases:,} / 40 cases: show_home {large['build'] / small['build']:.2f}x")


if __name__ == "__main__":
    main()
