"""Refusals: a rule said no, and nothing changed.

Each refusal is a type that carries the facts of the no (amounts, instants, ids, limits) and, when it is about
one thing a person typed or chose, the ``field`` it concerns. The sentence a person reads is composed at the
Slack edge (``bot.blocks.refusals``), with the same money and date helpers as every message; nothing here is
worded for a person, so nothing here knows about Slack.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    from bot.domain.money import Money


class Field(StrEnum):
    """What a person typed or chose that a refusal is about, so it can be shown beside that input."""

    CONTRACT = "contract"
    ITEM = "item"
    AMOUNT = "amount"
    TIME = "time"  # an hourly dispute's hours and minutes
    REASON = "reason"
    DECLINE_REASON = "decline_reason"
    NOTE = "note"
    CERTIFICATION = "certification"
    STATEMENT = "statement"
    RATIONALE = "rationale"
    AWARD_REFERENCE = "award_reference"
    QUESTION = "question"
    PARTY = "party"  # whom a mediator asks
    EVIDENCE = "evidence"  # a description, or an answer to a mediator's question
    LINKS = "links"
    MEDIATOR = "mediator"  # whom a case is handed to
    RULE = "rule"  # the policy rule a mediator's outcome applies
    CITED = "cited"  # the evidence items it relied on


class Refused(Exception):
    """A rule said no. ``field`` is the input it concerns, or None when it is about the case or the person."""

    field: Field | None = None

    def facts(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    def __str__(self) -> str:
        facts = ", ".join(f"{name}={value!r}" for name, value in self.facts().items())
        return f"{type(self).__name__}({facts})"

    # The outbox carries a refusal to the relay, which words it in the reader's locale at send time.

    def as_json(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "facts": {k: _plain(v) for k, v in self.facts().items()}}

    @staticmethod
    def from_json(data: dict[str, Any]) -> Refused:
        kind = _kinds().get(data.get("type", ""))
        if kind is None:
            raise ValueError(f"unknown refusal {data.get('type')!r}")
        return kind(**{k: _typed(v) for k, v in (data.get("facts") or {}).items()})


@cache
def _kinds() -> dict[str, type[Refused]]:
    found: dict[str, type[Refused]] = {}
    pending: list[type[Refused]] = [Refused]
    while pending:
        kind = pending.pop()
        found[kind.__name__] = kind
        pending += kind.__subclasses__()
    return found


def _plain(value: Any) -> Any:
    from bot.domain.money import Money

    if isinstance(value, Money):
        return {"$money": [value.minor, value.currency]}
    if isinstance(value, datetime):
        return {"$at": value.isoformat()}
    if isinstance(value, timedelta):
        return {"$seconds": value.total_seconds()}
    return value.value if isinstance(value, StrEnum) else value


def _typed(value: Any) -> Any:
    from bot.domain.money import Money

    if isinstance(value, dict):
        if "$money" in value:
            return Money(*value["$money"])
        if "$at" in value:
            return datetime.fromisoformat(value["$at"])
        if "$seconds" in value:
            return timedelta(seconds=value["$seconds"])
    return value


R = TypeVar("R", bound=type[Refused])


def refusal(cls: R) -> R:
    """A refusal's facts are its fields; ``eq=False`` keeps exceptions hashable by identity."""
    return dataclass(eq=False)(cls)


class _About(Refused):
    """A refusal about one named input: its ``what`` is the field."""

    what: Field

    def __post_init__(self) -> None:
        self.what = Field(self.what)

    @property
    def field(self) -> Field:  # type: ignore[override]
        return self.what


# --- amounts ------------------------------------------------------------------------------------------------


class InvalidAmount(Refused):
    """What was typed is not an amount in the item's currency."""

    field = Field.AMOUNT


@refusal
class NotAnAmount(InvalidAmount):
    text: str


@refusal
class TooManyDecimals(InvalidAmount):
    """Extra precision is refused, never rounded away (design §2.1)."""

    text: str
    currency: str
    places: int


@refusal
class AmountTooLarge(InvalidAmount):
    text: str
    currency: str


@refusal
class UnknownCurrency(Refused):
    currency: str


@refusal
class CurrencyMismatch(Refused):
    given: str
    expected: str
    field = Field.AMOUNT


@refusal
class AmountNotPositive(Refused):
    field = Field.AMOUNT


@refusal
class AmountOverBalance(Refused):
    """Design §2.2: at most the item's refundable balance."""

    requested: Money
    balance: Money
    field = Field.AMOUNT


@refusal
class AmountNotBelowRequested(Refused):
    """An adjusted refund is partial; a full one is Approve."""

    offered: Money
    requested: Money
    field = Field.AMOUNT


@refusal
class AmountAboveAdjustLimit(Refused):
    """The policy caps an adjusted refund at a share of the item's price (Fiverr: 60%)."""

    offered: Money
    most: Money
    paid: Money
    field = Field.AMOUNT


@refusal
class AmountOutOfRange(Refused):
    amount: Money
    low: Money
    high: Money
    field = Field.AMOUNT


@refusal
class TimeOrAmount(Refused):
    """An hourly dispute claims time or an amount: one of them, not both and not neither."""

    field = Field.AMOUNT


@refusal
class TimeOverBalance(Refused):
    """An hourly dispute's time is worth more than what is left to refund on the week."""

    minutes: int
    worth: Money
    balance: Money
    field = Field.TIME


@refusal
class InvalidTime(Refused):
    """Disputed hours are whole and not negative; minutes are whole, 0 to 59."""

    hours: str
    minutes: str
    field = Field.TIME


@refusal
class DisputedTimeInvalid(Refused):
    """Design §2.2, hourly dispute: more than nothing, and at most the week's billed time."""

    minutes: int
    week_minutes: int
    field = Field.TIME


# --- what people type and choose ------------------------------------------------------------------------------


@refusal
class TextRequired(_About):
    what: Field


@refusal
class TextTooLong(_About):
    what: Field
    limit: int
    length: int


@refusal
class ChoiceRequired(_About):
    """A form was sent before one of its selects was chosen."""

    what: Field


@refusal
class CertificationRequired(Refused):
    field = Field.CERTIFICATION


@refusal
class UnknownRule(Refused):
    """A rule the case's policy does not offer for its kind of contract (a forged or outdated form)."""

    rule: str
    field = Field.RULE


@refusal
class UnknownEvidence(Refused):
    """Evidence cited by a number the case does not have."""

    seq: int
    count: int
    field = Field.CITED


@refusal
class InvalidLink(Refused):
    link: str
    field = Field.LINKS


@refusal
class TooManyLinks(Refused):
    limit: int
    field = Field.LINKS


# --- contracts and items ---------------------------------------------------------------------------------------


@refusal
class NotYourContract(Refused):
    contract_id: str
    field = Field.CONTRACT


@refusal
class UnknownContract(Refused):
    contract_id: str
    field = Field.CONTRACT


@refusal
class NothingRefundable(Refused):
    """The chosen contract has no item a refund can be asked for now."""

    contract_id: str
    field = Field.CONTRACT


@refusal
class UnknownItem(Refused):
    contract_id: str
    field = Field.ITEM


@refusal
class WrongItemKind(Refused):
    contract_id: str
    kind: str
    field = Field.ITEM


@refusal
class ItemNotPaid(Refused):
    item_label: str
    field = Field.ITEM


@refusal
class ItemTooOld(Refused):
    """Design §2.2: eligible items were paid within the policy's request age limit (180 days in v1)."""

    item_label: str
    paid_at: datetime
    limit: timedelta
    field = Field.ITEM


@refusal
class ItemHasOpenCase(Refused):
    """Design §2.1: one open case per item at a time."""

    item_label: str
    case_id: str | None
    field = Field.ITEM


# --- cases ------------------------------------------------------------------------------------------------------


@refusal
class CaseNotFound(Refused):
    case_id: str


@refusal
class QuestionNotFound(Refused):
    question_id: str


@refusal
class NotYourCase(Refused):
    case_id: str
    role: Literal["client", "freelancer", "client or freelancer"]


@refusal
class CaseMovedOn(Refused):
    """A stale click: the case left the state the button was for. ``raced``: it left a moment before this
    answer, while the answer was being applied (the person may not have seen the other change at all)."""

    case_id: str
    outcome: str
    actor: str
    at: datetime
    raced: bool = False


@refusal
class ConcurrentChange(Refused):
    """Two people (or a person and the scheduler) acted at once; the other one got there first."""

    case_id: str


@refusal
class CaseClosed(Refused):
    case_id: str


@refusal
class AnswerTimeOver(Refused):
    """The deadline of the answer being given has passed."""

    closed_at: datetime


@refusal
class AppealWindowOver(Refused):
    """Design §2.4, appeal: the time to ask for a review of the outcome has passed; it stands."""

    closed_at: datetime


@refusal
class ArbitrationStarted(Refused):
    """A party has agreed to arbitration and paid its fee: the rejected proposal goes there, not to a review."""

    role: Literal["client", "freelancer"]


@refusal
class DisputeWindowClosed(Refused):
    """Design §2.2: an hourly dispute is possible only inside the week's review window."""

    week_label: str
    opens_at: datetime
    closes_at: datetime


@refusal
class DeadlineNotReached(Refused):
    due_at: datetime


@refusal
class RouteChanged(Refused):
    """The form was opened for one route, and by the time it was sent the policy gives another."""

    expected: str
    actual: str


@refusal
class AlreadyAnswered(Refused):
    what: Literal["proposal", "arbitration offer"]


@refusal
class NothingToExtend(Refused):
    case_id: str


@refusal
class NotOnHold(Refused):
    """Only a case a refused payout put on hold can have its hold lifted."""

    case_id: str


@refusal
class NotRefused(Refused):
    """Only an entry the marketplace refused is sent again by hand; the others are delivered on their own."""

    entry_id: int


@refusal
class ExtensionUsed(Refused):
    """Design §2.2: one extension per party per case."""

    case_id: str


# --- mediators --------------------------------------------------------------------------------------------------


@refusal
class NotAMediator(Refused):
    pass


@refusal
class NotAMediatorToAssign(Refused):
    user_id: str
    field = Field.MEDIATOR


@refusal
class PartyCannotMediate(Refused):
    """Design §6: a mediator who is a party to the case never acts on it as a mediator."""

    case_id: str


@refusal
class PartyCannotBeMediator(Refused):
    """The person a case is handed to is one of its parties."""

    case_id: str
    user_id: str
    field = Field.MEDIATOR


@refusal
class FirstMediatorCannotReview(Refused):
    """Design §2.4, appeal: the mediator whose outcome is appealed cannot review it."""

    case_id: str
    mediator: str
    field = Field.MEDIATOR


@refusal
class AlreadyClaimed(Refused):
    case_id: str
    mediator: str
    at: datetime


@refusal
class AlreadyYours(Refused):
    """A mediator tried to hand a case to themselves."""

    case_id: str
    field = Field.MEDIATOR


@refusal
class NotYourClaim(Refused):
    case_id: str
    mediator: str | None


@refusal
class Unavailable(Refused):
    """Something refund-bot relies on did not answer, or not in time: the database (down, unreachable, locked),
    or Slack opening a form. Nothing was changed; the same action can simply be tried again."""

    part: Literal["database", "slack", "busy"]
