"""What happened to a case: the records a change writes (audit events, ledger entries, evidence, a mediator's
questions) and the events the notifier turns into Slack messages (``bot.services.notify``).

A transition appends to ``Case.events`` in order; the unit of work writes the records, and the notifier reads
the whole list, so who hears about what follows from what happened, never from comparing before and after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.domain.contract import ItemRef
from bot.domain.files import EvidenceFile
from bot.domain.money import Money
from bot.domain.vocabulary import DeadlineKind, LedgerKind, Stage, State, Visibility


@dataclass(frozen=True)
class AuditEvent:
    case_id: str
    seq: int
    actor: str
    stage: Stage
    from_state: State | None
    to_state: State
    amount: Money | None
    rationale: str | None
    policy_version: str
    at: datetime
    rule: str | None = None  # a mediator's outcome: the policy rule it applied
    cited: tuple[int, ...] = ()  # and the evidence items it relied on


@dataclass(frozen=True)
class LedgerEntry:
    team_id: str
    case_id: str
    contract_id: str
    item: ItemRef
    kind: LedgerKind
    amount: Money
    actor: str
    policy_version: str
    at: datetime


@dataclass(frozen=True)
class Evidence:
    """Frozen once added (design §3). Mediator-only evidence never reaches the other party."""

    case_id: str
    seq: int
    author: str
    role: str  # "client" | "freelancer"
    text: str | None
    links: tuple[str, ...]
    visibility: Visibility
    at: datetime
    answers: str | None = None  # the mediator's question this answers, if any
    files: tuple[EvidenceFile, ...] = ()  # read once and hashed when added
    intake: str | None = None  # the form it came from, once its files were read: recorded once whatever retries


@dataclass(frozen=True)
class Question:
    """A mediator's question to one party; its answer is evidence both sides see."""

    case_id: str
    asked_by: str  # the mediator
    asked: str  # the party
    text: str
    at: datetime
    id: int | None = None  # given when stored


@dataclass(frozen=True)
class Opened:
    """A client asked for a refund: the case (and its thread) begins."""

    case_id: str


@dataclass(frozen=True)
class Escalated:
    """A mediator is needed for the first time: the case card exists from now on."""

    case_id: str
    at: datetime


@dataclass(frozen=True)
class Extended:
    """A party the case waits on is away: the deadline moved, the state did not (design §2.2, extension)."""

    case_id: str
    by: str
    due_at: datetime


@dataclass(frozen=True)
class AppealWindowClosed:
    """Nobody appealed the outcome in time (design §2.4): it is final, or the arbitration offer stands."""

    case_id: str
    at: datetime
    final: bool


@dataclass(frozen=True)
class QuestionAsked:
    """A mediator asked one party for information (the question as stored, with its id)."""

    question: Question


@dataclass(frozen=True)
class PayoutRefused:
    """The marketplace refused to carry out a ledger entry the case decided: the case is on hold."""

    case_id: str
    entry_id: int
    kind: LedgerKind
    amount: Money
    reason: str
    at: datetime


@dataclass(frozen=True)
class PayoutHandled:
    """An operator acted on a refused payout: sent the entry again (``entry_id``), or lifted the case's hold
    (``reason``). The mediators hear of it."""

    case_id: str
    action: Literal["resent", "hold_lifted"]
    by: str
    at: datetime
    entry_id: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class QuestionAnswered:
    """A party answered a mediator's question (their answer is evidence): the question's Answer button is done."""

    case_id: str
    question_id: int
    party: str


@dataclass(frozen=True)
class Reminded:
    """A deadline (or a window's end) is near and ``party`` may still act before it: the scheduler reminds them.
    ``offset`` is how long before ``due_at`` this reminder was due (each is sent once)."""

    case_id: str
    deadline_id: int
    kind: DeadlineKind
    offset: float
    party: str
    role: str
    due_at: datetime
    at: datetime


@dataclass(frozen=True)
class FileAltered:
    """A file of a piece of evidence no longer reads as it did when added: ``found`` is "changed" or "removed".
    The piece stays as it was; the copies shared are the file as added."""

    case_id: str
    piece: Evidence
    file: EvidenceFile
    found: str
    at: datetime


@dataclass(frozen=True)
class MediatorsLate:
    """One of the mediators' deadlines passed (issue 38): the lead mediators are told. ``mediator`` is who held the
    case, if anyone did."""

    case_id: str
    kind: DeadlineKind
    due_at: datetime
    at: datetime
    mediator: str | None


@dataclass(frozen=True)
class Assigned:
    """The case was handed to ``mediator`` by refund-bot's assignment (ASSIGNER), a lead, or the mediator who held
    it (``before``): they are told, and so is a holder a lead took it from."""

    case_id: str
    mediator: str
    by: str
    before: str | None
    at: datetime


Event = (
    AuditEvent
    | LedgerEntry
    | Evidence
    | Opened
    | Escalated
    | Extended
    | AppealWindowClosed
    | QuestionAsked
    | PayoutRefused
    | PayoutHandled
    | Reminded
    | QuestionAnswered
    | FileAltered
    | MediatorsLate
    | Assigned
)
