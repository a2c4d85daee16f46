"""What a state change asks Slack to show: outbox messages, written in the same transaction as the change.

A message names a *surface* (which builder in ``bot.blocks`` renders it) and a *view* (plain JSON values the
builder needs), so the relay renders at send time with whatever it then knows (the thread's permalink).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Surface(StrEnum):
    """What a message shows: each names one builder in ``bot.blocks.render`` (the values are stored in the
    outbox, so they never change)."""

    FREELANCER_REQUEST = "freelancer_request"  # the freelancer's DM, kept up to date
    CLIENT_REQUEST = "client_request"  # the client's DM, kept up to date
    THREAD_ROOT = "thread_root"  # the case's group DM message the timeline hangs from
    TIMELINE = "timeline"  # one line per transition, in the case thread
    CASE_CARD = "case_card"  # the mediators' card, kept up to date
    EVIDENCE = "evidence"
    EVIDENCE_KEPT = "evidence_kept"  # its sender's DM: a mediator-only piece was added, and who sees it
    QUESTION = "question"  # the asked party's DM with its Answer button
    QUESTION_LINE = "question_line"  # the question, in the case thread
    EXTENDED = "extended"
    REMINDER = "reminder"
    REVIEW_REMINDER = "review_reminder"
    APPEAL_REMINDER = "appeal_reminder"  # a party may still ask for a second mediator's review, until when
    APPEAL_CLOSED = "appeal_closed"  # the case thread: nobody appealed in time
    REFUSAL = "refusal"  # a click that changed nothing, told to the clicker
    HOME = "home"
    DESK = "desk"  # a mediator's App Home: the queue of cases
    PAYOUT_HELD = "payout_held"  # the case thread: the marketplace has not paid out, a mediator will look
    PAYOUT_REFUSED = "payout_refused"  # the mediators' channel: what was refused, and the marketplace's reason
    PAYOUT_HANDLED = "payout_handled"  # the mediators' channel: an operator sent a payout again, or lifted a hold
    STALE_NUDGES = "stale_nudges"  # a party's reminders and questions, once the case moved past them
    QUESTION_ANSWERED = "question_answered"  # the question's DM, once its party answered it
    PAYOUT = "payout"  # not Slack: a ledger entry for the marketplace's payments endpoint (``bot.payouts``)
    FILE_COPY = "file_copy"  # a copy of a file of the evidence, uploaded into a thread where its readers are
    FILE_INTAKE = "file_intake"  # not a message: files attached as evidence, to read and hash (``bot.files``)
    FILE_RECHECK = "file_recheck"  # not a message: Slack says a file changed or went; read it again (``bot.files``)
    FILE_ALTERED = "file_altered"  # where a file was shown: it no longer reads as it did when added
    MEDIATOR_REMINDER = "mediator_reminder"  # the card's thread: nobody has claimed the case yet, and until when
    MEDIATORS_LATE = "mediators_late"  # a lead mediator's DM: nobody claimed the case in time
    FAIRNESS_REPORT = "fairness_report"  # last month's fairness report, in FAIRNESS_REPORT_CHANNEL
    MEDIATOR_ASSIGNED = "mediator_assigned"  # a mediator's DM: a case was handed to them, or taken from them


class Place(StrEnum):
    """Where a message goes."""

    DM = "dm"
    GROUP = "group"  # the parties' group DM
    CHANNEL = "channel"
    THREAD = "thread"  # a reply under a kept message
    RESPONSE_URL = "response_url"
    HOME = "home"
    DESK = "desk"  # a mediator's App Home: the queue of cases
    WEBHOOK = "webhook"  # the marketplace's payments endpoint
    NUDGES = "nudges"  # every message kept under a prefix (a party's reminders and questions), updated at once
    FILES = "files"  # the files reader (``bot.files``)


class Kept(StrEnum):
    """The messages of a case that later messages update in place (or reply under)."""

    THREAD = "thread"
    FREELANCER = "freelancer"
    CLIENT = "client"
    CARD = "card"

    def of(self, case_id: str) -> str:
        return f"{case_id}:{self.value}"


@dataclass(frozen=True)
class Target:
    """Where a message goes: a DM, the case's group DM, a channel, a reply in a kept message's thread,
    a response_url, or a person's App Home."""

    kind: Place
    users: tuple[str, ...] = ()
    parent_key: str | None = None
    url: str | None = None
    channel: str | None = None
    prefixes: tuple[str, ...] = ()  # a sweep's (``Place.NUDGES``): the keys of the messages it brings up to date

    def as_json(self) -> dict[str, Any]:
        shown = {
            "kind": self.kind,
            "users": list(self.users),
            "parent_key": self.parent_key,
            "url": self.url,
            "channel": self.channel,
        }
        return shown | ({"prefixes": list(self.prefixes)} if self.prefixes else {})

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Target:
        return cls(
            Place(data["kind"]),
            tuple(data.get("users") or ()),
            data.get("parent_key"),
            data.get("url"),
            data.get("channel"),
            tuple(data.get("prefixes") or ()),
        )

    @property
    def swept(self) -> tuple[str, ...]:
        """A sweep's key prefixes; a sweep queued before sweeps were one per change named its one in parent_key."""
        return self.prefixes or ((self.parent_key,) if self.parent_key else ())


def dm(user: str) -> Target:
    return Target(Place.DM, users=(user,))


def group(*users: str) -> Target:
    return Target(Place.GROUP, users=users)


def channel(channel_id: str) -> Target:
    return Target(Place.CHANNEL, channel=channel_id)


def thread(parent_key: str) -> Target:
    return Target(Place.THREAD, parent_key=parent_key)


class Nudge(StrEnum):
    """What a reminder or a question asks of its reader, which says when it goes stale."""

    ANSWER = "answer"  # an answer before a deadline, or an appeal within its window: stale once the state moves
    OFFER = "offer"  # a dispute of the week while it may come: stale once the request stage is left or closed
    QUESTION = "question"  # a mediator's question: stale once the case closes


def nudges(case_id: str, stale: Iterable[tuple[str, Nudge]], which: str = "") -> Target:
    """Every reminder or question of each (person, kind) in ``stale`` sent on a case (their keys start so), at
    once, in one row; or only those whose key goes on with ``which``."""
    pairs = tuple(stale)
    users = tuple(dict.fromkeys(user for user, _ in pairs))
    return Target(Place.NUDGES, users=users, prefixes=tuple(nudge_key(case_id, u, k, which) for u, k in pairs))


def nudge_key(case_id: str, user: str, kind: Nudge, rest: str) -> str:
    return f"{case_id}:nudge:{user}:{kind.value}:{rest}"


def nudged(key: str) -> str:
    """Who a reminder or question was sent to, from its key."""
    return key.split(":nudge:", 1)[1].split(":", 1)[0]


def home(user: str) -> Target:
    return Target(Place.HOME, users=(user,))


def payments_endpoint() -> Target:
    return Target(Place.WEBHOOK)


def response_url(url: str, user: str) -> Target:
    """A private answer to ``user``'s click, posted to the click's response_url."""
    return Target(Place.RESPONSE_URL, users=(user,), url=url)


@dataclass(frozen=True)
class OutboxMessage:
    stream: str  # messages of one stream (a case) are delivered in order
    dedupe_key: str  # the same key twice is queued once
    target: Target
    surface: Surface
    view: dict[str, Any] = field(default_factory=dict)
    message_key: str | None = None  # set for messages kept up to date: the first is posted, later ones update it
