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
    FILES = "files"  # files attached as evidence
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
        return kind.from_facts(data.get("facts") or {})

    @classmethod
    def from_facts(cls, facts: dict[str, Any]) -> Refused:
        return cls(**{k: _typed(v) for k, v in facts.items()})


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


# The families, as httpx groups its errors: what kind of no it is. Each stage's module (``bot.domain.case.*``) keeps
# its own refusals under them; the ones every stage meets are here.


class InvalidInput(Refused):
    """What was typed or chosen cannot be taken; ``field`` says which input, so the answer sits beside it."""


class NotFound(Refused):
    """What was named does not exist, or not for this person."""


class NotAllowed(Refused):
    """This person may not do this, on this case or contract."""


class Stale(Refused):
    """The case is no longer where the click or the form thought: someone, or a deadline, got there first."""


class OutOfTime(Refused):
    """A window the action needs has closed, or has not reached its end yet."""


@refusal
class InvalidInputs(InvalidInput):
    """Several inputs of one form cannot be taken: each is answered under its own field, all at once, so the person
    fixes them in one go."""

    found: list[InvalidInput]

    def facts(self) -> dict[str, Any]:
        return {"found": [refusal.as_json() for refusal in self.found]}

    @classmethod
    def from_facts(cls, facts: dict[str, Any]) -> Refused:
        return cls([Refused.from_json(each) for each in facts["found"]])  # type: ignore[misc]


def one_or_all(found: list[InvalidInput]) -> InvalidInput | None:
    """The refusal of a form's problems: none, the one, or all of them together."""
    return None if not found else found[0] if len(found) == 1 else InvalidInputs(found)


class _About(InvalidInput):
    """A refusal about one named input: its ``what`` is the field."""

    what: Field

    def __post_init__(self) -> None:
        self.what = Field(self.what)

    @property
    def field(self) -> Field:  # type: ignore[override]
        return self.what


# --- amounts ------------------------------------------------------------------------------------------------


class InvalidAmount(InvalidInput):
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
class UnknownCurrency(InvalidInput):
    currency: str


@refusal
class CurrencyMismatch(InvalidInput):
    given: str
    expected: str
    field = Field.AMOUNT


@refusal
class AmountNotPositive(InvalidInput):
    field = Field.AMOUNT


@refusal
class AmountOverBalance(InvalidInput):
    """Design §2.2: at most the item's refundable balance."""

    requested: Money
    balance: Money
    field = Field.AMOUNT


@refusal
class AmountOutOfRange(InvalidInput):
    amount: Money
    low: Money
    high: Money
    field = Field.AMOUNT


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
class UnknownRule(InvalidInput):
    """A rule the case's policy does not offer for its kind of contract (a forged or outdated form)."""

    rule: str
    field = Field.RULE


@refusal
class UnknownEvidence(InvalidInput):
    """Evidence cited by a number the case does not have."""

    seq: int
    count: int
    field = Field.CITED


@refusal
class InvalidLink(InvalidInput):
    link: str
    field = Field.LINKS


@refusal
class TooManyLinks(InvalidInput):
    limit: int
    field = Field.LINKS


@refusal
class TooManyFiles(InvalidInput):
    count: int
    limit: int
    field = Field.FILES


@refusal
class FileEmpty(InvalidInput):
    name: str
    field = Field.FILES


@refusal
class FileTooLarge(InvalidInput):
    name: str
    size: int
    limit: int
    field = Field.FILES


@refusal
class FileTypeRefused(InvalidInput):
    """Not a type the policy takes (``accepted``), or a program whatever its name (``accepted`` empty)."""

    name: str
    extension: str
    accepted: list[str]
    field = Field.FILES


@refusal
class FileNotYours(InvalidInput):
    """A file id the payload names that is not the person's own upload in this workspace: forged."""

    name: str
    field = Field.FILES


@refusal
class FileUnreadable(InvalidInput):
    """Slack would not let the app read it (a conversation the app is not in, another workspace's)."""

    name: str
    field = Field.FILES


@refusal
class NoFileInMessage(NotFound):
    """Add as evidence, on a message that carries no file."""


@refusal
class NotWhereEvidenceIs(NotAllowed):
    """Add as evidence, on a message outside a case's thread and the person's DM with the app."""


@refusal
class NoCaseForEvidence(NotFound):
    """Add as evidence, by someone with no open case to add it to."""


@refusal
class FileGone(InvalidInput):
    """Deleted in Slack before the app could read it."""

    name: str
    field = Field.FILES


# --- contracts and items ---------------------------------------------------------------------------------------


@refusal
class NotYourContract(NotAllowed):
    contract_id: str
    field = Field.CONTRACT


@refusal
class UnknownContract(NotFound):
    contract_id: str
    field = Field.CONTRACT


@refusal
class UnknownItem(NotFound):
    contract_id: str
    field = Field.ITEM


# --- cases ------------------------------------------------------------------------------------------------------


@refusal
class CaseNotFound(NotFound):
    case_id: str


@refusal
class QuestionNotFound(NotFound):
    question_id: str


@refusal
class NotYourCase(NotAllowed):
    case_id: str
    role: Literal["client", "freelancer", "client or freelancer"]


@refusal
class CaseMovedOn(Stale):
    """A stale click: the case left the state the button was for. ``raced``: it left a moment before this
    answer, while the answer was being applied (the person may not have seen the other change at all)."""

    case_id: str
    outcome: str
    actor: str
    at: datetime
    raced: bool = False


@refusal
class ConcurrentChange(Stale):
    """Two people (or a person and the scheduler) acted at once; the other one got there first."""

    case_id: str


@refusal
class CaseClosed(Stale):
    case_id: str


@refusal
class AnswerTimeOver(OutOfTime):
    """The deadline of the answer being given has passed."""

    closed_at: datetime


@refusal
class DeadlineNotReached(OutOfTime):
    due_at: datetime


@refusal
class AlreadyAnswered(Stale):
    what: Literal["proposal", "arbitration offer"]


# --- mediators --------------------------------------------------------------------------------------------------


@refusal
class NotAMediator(NotAllowed):
    pass


@refusal
class PartyCannotMediate(NotAllowed):
    """Design §6: a mediator who is a party to the case never acts on it as a mediator."""

    case_id: str


@refusal
class NotYourClaim(NotAllowed):
    case_id: str
    mediator: str | None


@refusal
class Unavailable(Refused):
    """Something refund-bot relies on did not answer, or not in time: the database (down, unreachable, locked),
    or Slack opening a form. Nothing was changed; the same action can simply be tried again."""

    part: Literal["database", "slack", "busy"]
