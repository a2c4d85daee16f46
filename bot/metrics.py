"""What `GET /metrics` tells Prometheus (prometheus-client).

Events are counted where they happen: each ack against Slack's 3 s, each Web API call and error, each
reminder queued and each expiry applied. Under gunicorn every worker writes them to files in
``PROMETHEUS_MULTIPROC_DIR`` (``bot.app.main`` sets one up), and a scrape of any worker adds them all up. What is
a matter of state (the outbox, the deadlines, the cases by stage) is read from the database at each scrape,
so every instance and worker reports the same figures.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

ACK_SECONDS = Histogram(
    "refundbot_ack_seconds",
    "Time from a Slack request's arrival to its answer, by listener; Slack gives up after 3 s.",
    ["listener"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0),
)
SLACK_CALLS = Counter("refundbot_slack_calls_total", "Slack Web API calls, by method.", ["method"])
SLACK_ERRORS = Counter(
    "refundbot_slack_errors_total", "Slack Web API calls that failed, by method and Slack's error.", ["method", "error"]
)
SLACK_RATE_LIMITED = Counter(
    "refundbot_slack_rate_limited_total",
    "Slack's 429 answers, by method: each holds its scope (a channel, or the method) for Retry-After.",
    ["method"],
)
REMINDERS = Counter("refundbot_reminders_queued_total", "Reminders queued for someone who must act.")
EXPIRIES = Counter("refundbot_expiries_applied_total", "Deadlines passed and applied as the policy says.")
MEDIATORS_LATE = Counter(
    "refundbot_mediator_deadlines_missed_total",
    "The mediators' deadlines missed (to claim a case, to act a first time, to give an outcome).",
    ["kind"],
)
HANDED_OUT = Counter(
    "refundbot_cases_handed_out_total",
    "Cases handed to a mediator by refund-bot's assignment (issue 38), by the workspace's rule.",
    ["rule"],
)

State = Callable[[datetime], dict[str, Any]]
"""Reads, as of a time: outbox counts by status and the oldest pending age in seconds, deadlines due and
overdue, open cases by stage."""


def listener(body: dict[str, Any]) -> str:
    """A request's listener, named as the manifest names what Slack sends: the command, or the kind of payload
    and its action or callback id."""
    if command := body.get("command"):
        return f"command {command}"
    kind = str(body.get("type") or "unknown")
    if kind == "event_callback":
        return f"event {(body.get('event') or {}).get('type', 'unknown')}"
    if actions := body.get("actions"):
        return f"{kind} {actions[0].get('action_id', 'unknown')}"
    if view := body.get("view"):
        return f"{kind} {view.get('callback_id') or 'unknown'}"
    if callback := body.get("callback_id"):
        return f"{kind} {callback}"
    return kind


class CountedWebClient(WebClient):
    """A WebClient that counts its calls and Slack's errors by method, for every client the app makes."""

    def api_call(self, api_method: str, *args: Any, **kwargs: Any) -> SlackResponse:
        SLACK_CALLS.labels(api_method).inc()
        try:
            return super().api_call(api_method, *args, **kwargs)
        except SlackApiError as exc:
            SLACK_ERRORS.labels(api_method, str(exc.response.get("error") or exc.response.status_code)).inc()
            raise
        except Exception as exc:
            SLACK_ERRORS.labels(api_method, type(exc).__name__).inc()
            raise


class _StateCollector(Collector):
    def __init__(self, state: State, clock: Callable[[], datetime]) -> None:
        self.state = state
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        found = self.state(self.clock())
        outbox = GaugeMetricFamily(
            "refundbot_outbox_messages", "Slack messages in the outbox, by status.", None, ["status"]
        )
        for status in ("pending", "sent", "dead"):
            outbox.add_metric([status], found["outbox"].get(status, 0))
        yield outbox
        payouts = GaugeMetricFamily(
            "refundbot_payouts", "Ledger entries for the marketplace's payments endpoint, by status.", None, ["status"]
        )
        for status in ("pending", "sent", "dead"):
            payouts.add_metric([status], found["payouts"].get(status, 0))
        yield payouts
        yield GaugeMetricFamily(
            "refundbot_cases_on_hold", "Cases whose payout the marketplace refused.", value=found["payouts_on_hold"]
        )
        yield GaugeMetricFamily(
            "refundbot_outbox_oldest_pending_seconds",
            "How long the oldest pending Slack message has waited (0 when none waits).",
            value=found["oldest_pending_seconds"],
        )
        deadlines = GaugeMetricFamily(
            "refundbot_deadlines", "Active deadlines that are due, and due for over a minute.", labels=["when"]
        )
        deadlines.add_metric(["due"], found["deadlines_due"])
        deadlines.add_metric(["overdue"], found["deadlines_overdue"])
        yield deadlines
        cases = GaugeMetricFamily("refundbot_open_cases", "Open cases, by stage.", labels=["stage"])
        for stage, count in sorted(found["cases_by_stage"].items()):
            cases.add_metric([stage], count)
        yield cases


# A worker (re)started by gunicorn creates its metrics file as a scrape may be reading the folder: a file caught
# before its first bytes are written cannot be read. It is, a moment later; the scrape tries this many times.
SCRAPE_TRIES = 3
SCRAPE_PAUSE = 0.05


def exposition(state: State, clock: Callable[[], datetime]) -> tuple[bytes, str]:
    """The text a scrape gets: every worker's counts (or this process's alone), and the state as of now."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_Counted())
    registry.register(_StateCollector(state, clock))
    for _ in range(SCRAPE_TRIES - 1):
        try:
            return generate_latest(registry), CONTENT_TYPE_LATEST
        except struct.error:  # a worker's metrics file caught empty, as it was being created
            time.sleep(SCRAPE_PAUSE)
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _Counted(Collector):
    """This process's own counts (the default registry), beside the state read at the scrape."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
