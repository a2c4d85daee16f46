"""What each surface's message carries to its builder: one typed payload per surface, versioned.

The notifier builds a payload; the outbox keeps its ``as_json``; the relay reads it back with ``from_json`` and
hands it to the surface's one builder (``bot.blocks.render``). A case's fields are kept flat beside the payload's
own, as every release has stored them, so a row queued by the release before reads the same. ``v`` is the shape's
version: a row of a newer shape than this code knows is refused, not half-read (a data migration brings older ones
up to date).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from typing import Any, ClassVar, Self

from bot.domain.errors import Refused
from bot.domain.events import Evidence
from bot.domain.files import EvidenceFile
from bot.domain.vocabulary import LedgerKind, Visibility
from bot.services.messages import Surface
from bot.services.models import CaseView, DeskFilters, DeskRow


class NewerPayload(ValueError):
    """A row written by a newer release than this one, in a shape this code does not know."""


class Versioned:
    VERSION: ClassVar[int] = 1

    @classmethod
    def check(cls, data: dict[str, Any]) -> None:
        if int(data.get("v", 1)) > cls.VERSION:
            raise NewerPayload(f"{cls.__name__} v{data.get('v')} is newer than this release's v{cls.VERSION}")


@dataclass(frozen=True)
class CaseShown(Versioned):
    """A case as it stands: the parties' DMs, the thread's root and its timeline lines, the payout hold's line."""

    case: CaseView

    def as_json(self) -> dict[str, Any]:
        return {"v": self.VERSION} | self.case.as_json() | self._own()

    def _own(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "case"}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        cls.check(data)
        own = {f.name: data.get(f.name) for f in fields(cls) if f.name != "case"}
        return cls(case=CaseView.from_json(data), **own)


@dataclass(frozen=True, kw_only=True)
class CardShown(CaseShown):
    """The mediators' case card: the case and, for their eyes only, each party's record."""

    records: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class ReminderShown(CaseShown):
    """Before a deadline, to a party who still owes an answer, in the words for their role."""

    hours_left: float
    role: str


@dataclass(frozen=True, kw_only=True)
class AppealReminderShown(CaseShown):
    role: str


@dataclass(frozen=True, kw_only=True)
class ReviewReminderShown(CaseShown):
    closes_at: str  # the hourly week's review window's end

    @property
    def closes(self) -> datetime:
        return datetime.fromisoformat(self.closes_at)


@dataclass(frozen=True, kw_only=True)
class AppealClosedShown(CaseShown):
    final: bool  # the outcome is final (else the arbitration offer stands)


@dataclass(frozen=True, kw_only=True)
class ExtendedShown(CaseShown):
    by: str  # the party who asked for more time


@dataclass(frozen=True, kw_only=True)
class QuestionShown(CaseShown):
    question: str
    question_id: int | None  # the Answer button carries only this (given when the question was stored)
    asked: str  # the party asked
    by: str  # the mediator


@dataclass(frozen=True, kw_only=True)
class PayoutRefusedShown(CaseShown):
    entry_id: int
    entry_kind: LedgerKind
    entry_minor: int
    payout_reason: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        shown = super().from_json(data)
        return replace(shown, entry_kind=LedgerKind(shown.entry_kind))


@dataclass(frozen=True, kw_only=True)
class PayoutHandledShown(CaseShown):
    action: str  # "resent" or "hold_lifted"
    by: str
    entry_id: int | None = None
    why: str | None = None


@dataclass(frozen=True, kw_only=True)
class MediatorReminderShown(CaseShown):
    """Before one of the mediators' deadlines (a ``DeadlineKind`` value), and how many hours are left."""

    kind: str
    hours_left: float


@dataclass(frozen=True, kw_only=True)
class AssignedShown(CaseShown):
    """The case was handed to ``mediator`` by ``by`` (refund-bot's assignment, a lead, or its last holder); told to
    ``reader``: the mediator who now holds it, or the one a lead took it from."""

    mediator: str
    by: str
    reader: str


@dataclass(frozen=True, kw_only=True)
class MediatorsLateShown(CaseShown):
    """One of the mediators' deadlines passed; who held the case then, if anyone."""

    kind: str
    mediator: str | None = None


@dataclass(frozen=True)
class EvidenceShown(Versioned):
    """One piece of evidence, where its visibility lets it go."""

    evidence: Evidence

    def as_json(self) -> dict[str, Any]:
        item = self.evidence
        return {"v": self.VERSION} | asdict(item) | {"links": list(item.links), "at": item.at.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        cls.check(data)
        names = {f.name for f in fields(Evidence)}
        item = {k: v for k, v in data.items() if k in names}
        item |= {
            "links": tuple(item.get("links") or ()),
            "visibility": Visibility(item["visibility"]),
            "at": datetime.fromisoformat(item["at"]),
            "files": tuple(EvidenceFile(**each) for each in item.get("files") or ()),
        }
        return cls(Evidence(**item))


@dataclass(frozen=True)
class FileCopyShown(Versioned):
    """One file of a piece of evidence, to copy into a thread its readers see (the copy is checked against
    ``file.sha256``)."""

    case_id: str
    seq: int
    role: str
    file: EvidenceFile

    def as_json(self) -> dict[str, Any]:
        return {"v": self.VERSION} | asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        cls.check(data)
        return cls(data["case_id"], data["seq"], data["role"], EvidenceFile(**data["file"]))


@dataclass(frozen=True)
class FileAlteredShown(FileCopyShown):
    """A file of a piece no longer reads as it did when added: ``found`` is "changed" or "removed"."""

    found: str = "changed"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        cls.check(data)
        return cls(data["case_id"], data["seq"], data["role"], EvidenceFile(**data["file"]), data["found"])


@dataclass(frozen=True)
class FairnessShown(Versioned):
    """A month's fairness report (``bot.services.fairness``): the period, and the report as it computed it."""

    since: str
    until: str
    report: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"v": self.VERSION} | asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        cls.check(data)
        return cls(data["since"], data["until"], data["report"])


@dataclass(frozen=True)
class RefusalShown(Versioned):
    """A click that changed nothing, for the clicker alone; worded in their locale at send time."""

    refusal: Refused

    def as_json(self) -> dict[str, Any]:
        return {"v": self.VERSION} | self.refusal.as_json()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        cls.check(data)
        return cls(Refused.from_json(data))


@dataclass(frozen=True)
class HomeShown(Versioned):
    """A party's App Home: the cases waiting on them, their other open cases, and how many more there are."""

    user: str
    waiting: list[CaseView]
    others: list[CaseView]
    more: int

    def as_json(self) -> dict[str, Any]:
        return {
            "v": self.VERSION,
            "user": self.user,
            "waiting": [case.as_json() for case in self.waiting],
            "others": [case.as_json() for case in self.others],
            "more": self.more,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        cls.check(data)
        waiting = [CaseView.from_json(case) for case in data["waiting"]]
        return cls(data["user"], waiting, [CaseView.from_json(case) for case in data["others"]], data["more"])


@dataclass(frozen=True)
class DeskPart:
    offset: int
    total: int
    rows: list[DeskRow]


@dataclass(frozen=True)
class DeskShown(Versioned):
    """A mediator's App Home: a page of each part of the desk, under their filters, and why their last click on it
    changed nothing."""

    user: str
    now: datetime
    filters: DeskFilters
    sections: dict[str, DeskPart]
    notice: Refused | None = None
    lead: bool = False  # a lead mediator's: each case may be handed to a mediator from it

    def as_json(self) -> dict[str, Any]:
        return {
            "v": self.VERSION,
            "user": self.user,
            "now": self.now.isoformat(),
            "filters": asdict(self.filters),
            "sections": {name: asdict(part) for name, part in self.sections.items()},
            "notice": self.notice.as_json() if self.notice is not None else None,
            "lead": self.lead,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        cls.check(data)
        sections = {
            name: DeskPart(part["offset"], part["total"], [DeskRow.from_json(row) for row in part["rows"]])
            for name, part in data["sections"].items()
        }
        notice = Refused.from_json(data["notice"]) if data.get("notice") else None
        at, filters = datetime.fromisoformat(data["now"]), DeskFilters.from_json(data["filters"])
        return cls(data["user"], at, filters, sections, notice, data.get("lead", False))


# CaseShown's kinds (CardShown, ReminderShown, …) are CaseShown too.
Payload = (
    CaseShown
    | MediatorReminderShown
    | MediatorsLateShown
    | AssignedShown
    | EvidenceShown
    | FileCopyShown
    | FileAlteredShown
    | RefusalShown
    | HomeShown
    | DeskShown
)

# Each surface's payload type: what the notifier queues for it and what its builder is handed.
PAYLOADS: dict[Surface, type[Any]] = {
    Surface.FREELANCER_REQUEST: CaseShown,
    Surface.CLIENT_REQUEST: CaseShown,
    Surface.THREAD_ROOT: CaseShown,
    Surface.TIMELINE: CaseShown,
    Surface.CASE_CARD: CardShown,
    Surface.EVIDENCE: EvidenceShown,
    Surface.EVIDENCE_KEPT: EvidenceShown,
    Surface.FILE_COPY: FileCopyShown,
    Surface.FILE_ALTERED: FileAlteredShown,
    Surface.MEDIATOR_REMINDER: MediatorReminderShown,
    Surface.MEDIATORS_LATE: MediatorsLateShown,
    Surface.MEDIATOR_ASSIGNED: AssignedShown,
    Surface.FAIRNESS_REPORT: FairnessShown,
    Surface.QUESTION: QuestionShown,
    Surface.QUESTION_LINE: QuestionShown,
    Surface.EXTENDED: ExtendedShown,
    Surface.REMINDER: ReminderShown,
    Surface.REVIEW_REMINDER: ReviewReminderShown,
    Surface.APPEAL_REMINDER: AppealReminderShown,
    Surface.APPEAL_CLOSED: AppealClosedShown,
    Surface.REFUSAL: RefusalShown,
    Surface.HOME: HomeShown,
    Surface.DESK: DeskShown,
    Surface.PAYOUT_HELD: PayoutRefusedShown,
    Surface.PAYOUT_REFUSED: PayoutRefusedShown,
    Surface.PAYOUT_HANDLED: PayoutHandledShown,
    Surface.STALE_NUDGES: CaseShown,
    Surface.QUESTION_ANSWERED: CaseShown,
}


def read(surface: Surface, data: dict[str, Any]) -> Payload:
    """A queued row's payload, typed, for its surface's builder."""
    shown: Payload = PAYLOADS[surface].from_json(data)
    return shown
