"""The whole bench set, side by side with its baselines, in one table (design §7):

    .venv/bin/python -m bench all [--rounds 3] [--quick]

- server CPU per interaction (/refund, the form's submission, Approve, a mediator's Propose), the ack and the
  relay apart, against the bare Bolt app (bench.cpu), on both databases;
- ack p50/p99 at 1, 16 and 64 connections under gunicorn, the relay running in a `refundbot worker` of its own as
  deployed under load (README), against the bare app, in rounds (bench.ack), on both databases;
- Slack calls per second of one and of two relays (bench.relay --throughput);
- 10,000 reminders due at once, ticked and queued by one instance (bench.tick);
- the claim of 1,000 due deadlines over 1,000,000 cases (bench.tick);
- the App Home of a person with 10,000 cases (bench.home);
- the mediators' desk (a mediator's App Home) over 10,000 open cases (bench.desk).

The Slack stand-in runs in a process of its own throughout. ``--quick`` shrinks every size, to check that the
set runs (CI runs it), then runs each bench's own command briefly, the soak and the slow clients included; its
figures mean little.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import ack, cpu, desk, home, relay, tick
from bot.services.messages import OutboxMessage, dm

DATABASES = ("sqlite", "postgresql")
# Each bench's own command with the smallest sizes that still exercise it: what nothing runs breaks.
BRIEFLY = (
    ("bench.cpu", ["--requests", "10"]),
    ("bench.ack", ["--requests", "20"]),
    ("bench.relay", ["--messages", "200", "--people", "50", "--one-channel", "3"]),
    ("bench.tick", ["--cases", "5000", "--due", "500", "--reminders", "200", "--freelancers", "50", "--repeats", "2"]),
    ("bench.home", ["--cases", "200", "--rounds", "1"]),
    ("bench.desk", ["--cases", "200", "--rounds", "1"]),
    ("bench.soak", ["--minutes", "0.1", "--rate", "2", "--every", "3"]),
    ("bench.slow_clients", ["--slow", "0,16", "--requests", "3"]),
)


def spread(values: list[float], unit: str = "") -> str:
    if len(values) == 1:
        return f"{values[0]:.1f}{unit}"
    return f"{statistics.median(values):.1f}{unit} ({min(values):.1f}–{max(values):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["all"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    quick = args.quick
    rows: list[tuple[str, str, str, str]] = []  # what, measured, baseline, ratio and goal

    def add(what: str, measured: str, baseline: str, verdict: str) -> None:
        rows.append((what, measured, baseline, verdict))
        print(f"  {what}: {measured} | {baseline} | {verdict}", file=sys.stderr, flush=True)

    for database in DATABASES:
        results = [cpu.run(database, 30 if quick else 200, "apart") for _ in range(1 if quick else args.rounds)]
        for name in results[0]:
            ack_ms = [r[name][0] * 1000 for r in results]
            relay_ms = [r[name][1] * 1000 for r in results]
            bare_ms = [r[name][2] * 1000 for r in results]
            ratios = [a / max(b, 1e-6) for a, b in zip(ack_ms, bare_ms, strict=True)]
            whole = [(a + r) / max(b, 1e-6) for a, r, b in zip(ack_ms, relay_ms, bare_ms, strict=True)]
            add(
                f"CPU per interaction, {name}, {database}",
                f"ack {spread(ack_ms, ' ms')} + relay {spread(relay_ms, ' ms')}",
                f"bare {spread(bare_ms, ' ms')}",
                f"ack/bare {spread(ratios, '×')} (goal ≤ 3×); ack + relay/bare {spread(whole, '×')} (goal ≤ 6×)",
            )
    for database in DATABASES:
        for connections in (1, 16, 64):
            goal = " (goal ≤ 2×)" if (database, connections) in (("sqlite", 16), ("postgresql", 64)) else ""
            _, found = ack.run(
                database, connections, "gunicorn", 40 if quick else 300, 1 if quick else args.rounds, "apart"
            )
            for kind in ("/refund", "Approve"):
                ratios = [a / b for a, b in zip(found[f"{kind} p99"], found[f"{kind} bare p99"], strict=True)]
                add(
                    f"ack latency, {kind}, {database}, {connections} connections",
                    f"p50 {spread(found[f'{kind} p50'], ' ms')}, p99 {spread(found[f'{kind} p99'], ' ms')}",
                    f"bare p50 {spread(found[f'{kind} bare p50'], ' ms')}, "
                    f"p99 {spread(found[f'{kind} bare p99'], ' ms')}",
                    f"p99 ratio {spread(ratios, '×')}{goal}",
                )
    count = 1_000 if quick else 10_000
    spread_load = [
        OutboxMessage(f"R-{n}", f"m{n}", dm(f"U0P{n % 1000}"), "note", {"text": f"m {n}"}) for n in range(count)
    ]
    for relays, goal in ((1, 500), (2, 900)):
        rates = [relay.throughput(spread_load, relays) for _ in range(1 if quick else args.rounds)]
        add(f"relay, {relays} relay(s), unpaced", f"{spread(rates, ' calls/s')}", "", f"goal ≥ {goal} calls/s")
    folder = Path(tempfile.mkdtemp(prefix="refundbot-all-"))
    for database in DATABASES:
        ticked = tick.bench_reminders(database, folder, count, 1_000, instances=1)
        add(
            f"{count:,} reminders due at once, one instance, {database}",
            f"ticked and queued in {ticked['ticked']:.1f} s",
            f"{ticked['posted']:,.0f} posted, {ticked['duplicates']:.0f} duplicates",
            "goal ≤ 10 s",
        )
        cases = 20_000 if quick else 1_000_000
        claimed = tick.bench_lease(database, folder, cases, 1_000, 10)
        ours, base = claimed[1_000]
        add(
            f"claim of 1,000 due over {cases:,} cases, {database}",
            f"p50 {ours:.1f} ms",
            f"over 1,000 cases p50 {base:.1f} ms",
            f"ratio {ours / base:.2f}× (goal ≤ 50 ms)",
        )
        url, drop = tick.database(database, folder, "home")
        try:
            shown = home.measure(url, 1_000 if quick else 10_000, args.rounds)
        finally:
            drop()
        add(
            f"Home of a person with {1_000 if quick else 10_000:,} cases, {database}",
            f"build {shown['build']:.1f} ms ({shown['statements']:.0f} statements) + render {shown['render']:.1f} ms",
            f"{shown['blocks']:.0f} blocks",
            "goal ≤ 100 ms, ≤ 100 blocks",
        )
        sizes = {}
        for cases in (100, 1_000 if quick else 10_000):
            url, drop = tick.database(database, folder, f"desk{cases}")
            try:
                sizes[cases] = desk.measure(url, cases, args.rounds)
            finally:
                drop()
        small, large = (r["build"] + r["render"] for r in sizes.values())
        big = max(sizes)
        add(
            f"mediators' desk over {big:,} cases, {database}",
            f"{large:.1f} ms ({sizes[big]['statements']:.0f} statements), {sizes[big]['blocks']:.0f} blocks",
            f"over 100 cases {small:.1f} ms",
            f"ratio {large / small:.2f}× (goal ≤ 100 ms, ≤ 100 blocks)",
        )
    print("| what | refund-bot | baseline | ratio and goal |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if quick:
        for module, options in BRIEFLY:
            print(f"\n$ python -m {module} {' '.join(options)}", flush=True)
            subprocess.run([sys.executable, "-m", module, *options], check=True)


if __name__ == "__main__":
    main()
