"""The relay's pace (design §5), on PostgreSQL, against the local Slack stand-in, with the real clock:

1. many people: MESSAGES spread over PEOPLE (each its own case), paced at one per second per person, beside
   the same load unpaced, so the ratio shows what pacing costs when the load is spread;
2. one channel: ONE_CHANNEL messages to one channel (each its own case), which pacing holds to ~1 per second.

    .venv/bin/python -m bench.relay [--messages 10000] [--people 1000] [--one-channel 1000]

Reported: Slack calls per second (chat.postMessage, conversations.open, users.info), messages per second, and
the highest number of posts one channel received within any one second. The stand-in serves from the bench's
own process and shares its GIL, which counts against the figures.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from bench.ack import fresh_schema
from bench.standin import standin_process
from bot.blocks.render import Rendered
from bot.clients import relay_client
from bot.relay import Relay
from bot.services.messages import OutboxMessage, channel, dm
from storage.db import prepare, session_factory
from storage.outbox import PENDING
from storage.tables import OutboxRow
from tests.slack_standin import SlackStandIn


def render(surface: str, view: dict, permalink: str | None, locale: str) -> Rendered:
    text = view["text"]
    return Rendered(text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}])


def load(sessions: sessionmaker[Session], messages: list[OutboxMessage], now: datetime) -> None:
    rows = [
        {
            "team_id": "T0DEMO01",
            "stream": m.stream,
            "dedupe_key": m.dedupe_key,
            "target": m.target.as_json(),
            "message_key": None,
            "surface": m.surface,
            "view": m.view,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for m in messages
    ]
    with sessions.begin() as session:
        session.execute(insert(OutboxRow), rows)


def run(messages: list[OutboxMessage], pace: timedelta, label: str) -> dict[str, float]:
    url, drop = fresh_schema()
    standin = SlackStandIn().start()
    engine = prepare(url)
    try:
        sessions = session_factory(engine)
        load(sessions, messages, datetime.now(UTC))
        client = relay_client("xoxb-bench", standin.api_url)
        relay = Relay(
            sessions, client, render, owner="bench", clock=lambda: datetime.now(UTC), pace=pace, batch=100, workers=8
        )
        started = time.perf_counter()
        while True:
            if not relay.run_once():
                with sessions() as session:
                    left = session.scalar(select(func.count()).where(OutboxRow.status == PENDING))
                if not left:
                    break
                time.sleep(0.05)
        elapsed = time.perf_counter() - started
        posts = [m for m in standin.messages.values()]
        per_second = Counter((m.channel, int(float(m.ts))) for m in posts)
        result = {
            "messages": len(posts),
            "seconds": elapsed,
            "calls_per_s": len(standin.calls) / elapsed,
            "messages_per_s": len(posts) / elapsed,
            "max_per_channel_second": max(per_second.values()),
        }
        print(
            f"{label:<38} {result['messages']:>6} msgs in {elapsed:7.1f} s: {result['calls_per_s']:7.1f} calls/s, "
            f"{result['messages_per_s']:7.1f} msgs/s; most in one channel in one second: "
            f"{result['max_per_channel_second']}"
        )
        return result
    finally:
        engine.dispose()
        standin.stop()
        drop()


def drain(url: str, api_url: str, owner: str) -> None:
    """One relay, as one instance runs it, until the outbox has nothing pending."""
    engine = prepare(url)
    sessions = session_factory(engine)
    client = relay_client("xoxb-bench", api_url)
    relay = Relay(sessions, client, render, owner=owner, clock=lambda: datetime.now(UTC), pace=timedelta(0), batch=100)
    while True:
        if not relay.run_once():
            with sessions() as session:
                if not session.scalar(select(func.count()).where(OutboxRow.status == PENDING)):
                    break
            time.sleep(0.01)
    engine.dispose()


def throughput(messages: list[OutboxMessage], relays: int) -> float:
    """Slack calls per second of ``relays`` relays, each in its own process, unpaced, against the stand-in in a
    process of its own (its schema check off: it would cost more than the relay's work)."""
    url, drop = fresh_schema()
    standin, api_url, stop = standin_process(checking=False)
    engine = prepare(url)
    try:
        load(session_factory(engine), messages, datetime.now(UTC))
        context = multiprocessing.get_context("spawn")
        workers = [context.Process(target=drain, args=(url, api_url, f"relay-{n}")) for n in range(relays)]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - started
        calls = standin.call_count()
        print(
            f"{relays} relay(s), {len(messages)} messages: {calls} Slack calls in {elapsed:.1f} s "
            f"= {calls / elapsed:,.0f}/s"
        )
        return calls / elapsed
    finally:
        engine.dispose()
        stop()
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--people", type=int, default=1_000)
    parser.add_argument("--one-channel", type=int, default=1_000)
    parser.add_argument("--throughput", action="store_true", help="only the calls/s of one and of two relays")
    args = parser.parse_args()
    spread = [
        OutboxMessage(f"R-{n}", f"m{n}", dm(f"U0P{n % args.people}"), "note", {"text": f"message {n}"})
        for n in range(args.messages)
    ]
    if args.throughput:
        one, two = throughput(spread, 1), throughput(spread, 2)
        print(f"two relays / one: {two / one:.2f}x")
        return
    paced = run(spread, timedelta(seconds=1), f"{args.messages} over {args.people} people, paced")
    free = run(spread, timedelta(0), f"{args.messages} over {args.people} people, unpaced")
    print(f"pacing costs the spread load {free['messages_per_s'] / paced['messages_per_s']:.2f}x in throughput")
    burst = [
        OutboxMessage(f"R-{n}", f"c{n}", channel("C0MEDIATORS"), "note", {"text": f"card {n}"})
        for n in range(args.one_channel)
    ]
    run(burst, timedelta(seconds=1), f"{args.one_channel} to one channel, paced")


if __name__ == "__main__":
    main()
