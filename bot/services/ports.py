"""Ports the use cases depend on; ``storage`` provides the real ones, ``tests`` the fakes."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol, Self

from bot.domain.assignment import Standing
from bot.domain.case import Case
from bot.domain.contract import Contract, Item, ItemRef
from bot.domain.events import AuditEvent, Evidence, LedgerEntry, Question
from bot.domain.history import PartyRecord
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.domain.vocabulary import DeadlineKind, LedgerKind
from bot.services.messages import OutboxMessage
from bot.services.models import DeskFilters, DeskRow


class StorageUnavailable(Exception):
    """The database did not answer (down, unreachable, locked past its timeout); the unit of work rolled back,
    so nothing was written."""


class StorageBusy(StorageUnavailable):
    """The database answers, but what this change needs was held by another transaction past the lock bound,
    or a statement ran past its bound; the unit of work rolled back, so nothing was written."""


class Contracts(Protocol):
    def get(self, team_id: str, contract_id: str) -> Contract | None: ...
    def get_many(self, team_id: str, contract_ids: set[str]) -> dict[str, Contract]: ...
    def for_client(self, team_id: str, user_id: str, limit: int) -> list[Contract]:
        """The first ``limit`` of this client's contracts, by title."""
        ...

    def items(self, team_id: str, contract_id: str) -> list[Item]: ...
    def save(self, contract: Contract, now: datetime) -> None: ...
    def item(self, team_id: str, contract_id: str, ref: ItemRef) -> Item | None: ...
    def save_item(self, team_id: str, item: Item) -> None: ...


class Cases(Protocol):
    def get(self, team_id: str, case_id: str) -> Case | None: ...
    def get_many(self, team_id: str, case_ids: list[str]) -> list[Case]: ...
    def by_request_key(self, team_id: str, request_key: str) -> Case | None: ...
    def open_case_for_item(self, team_id: str, contract_id: str, item: ItemRef) -> Case | None: ...
    def most_urgent_for_user(self, team_id: str, user_id: str, *, waiting: bool, limit: int) -> list[Case]:
        """Open cases of this person, soonest deadline first: those waiting for their answer as freelancer
        (``waiting``), or the others."""
        ...

    def count_open_for_user(self, team_id: str, user_id: str) -> tuple[int, int]:
        """How many open cases wait for this person's answer as freelancer, and how many others they have."""
        ...

    def desk(
        self, team_id: str, mediator_id: str, section: str, filters: DeskFilters, now: datetime, offset: int, limit: int
    ) -> list[DeskRow]:
        """A page of one part of the mediators' desk (``DESK_SECTIONS``): open cases nobody holds that a mediator
        may claim, this mediator's, or the rest; soonest deadline first, then the longest waiting."""
        ...

    def desk_counts(self, team_id: str, mediator_id: str, filters: DeskFilters, now: datetime) -> dict[str, int]:
        """How many cases each part of the desk has under these filters."""
        ...

    def party_record(self, team_id: str, role: str, user_id: str, excluding: str, since: datetime) -> PartyRecord:
        """A party's record across contracts, other than case ``excluding``: all time, and since ``since``."""
        ...

    def held_on_item(self, team_id: str, contract_id: str, item: ItemRef, currency: str) -> Money: ...

    def with_mediators(self, team_id: str) -> list[str]:
        """The open cases of a workspace that have reached its mediators (each has a case card), oldest first."""
        ...

    def add(self, case: Case) -> None: ...
    def save(self, case: Case) -> None: ...


class Outbox(Protocol):
    def add(self, team_id: str, message: OutboxMessage, now: datetime) -> None: ...
    def add_all(self, team_id: str, messages: Iterable[OutboxMessage], now: datetime) -> None: ...
    def kept_at(self, team_id: str, channel: str, ts: str) -> str | None: ...


Outcome = Literal["accepted", "refused"]


@dataclass(frozen=True)
class PayoutAnswer:
    """The marketplace's answer to one ledger entry."""

    entry_id: int
    case_id: str
    kind: LedgerKind
    amount_minor: int
    currency: str
    outcome: Outcome
    reason: str | None
    reference: str | None
    at: datetime


class Ledger(Protocol):
    def add(self, entry: LedgerEntry) -> int:
        """Record the entry; its id."""
        ...

    def record_answer(self, answer: PayoutAnswer) -> bool:
        """Keep the marketplace's answer to an entry, unless it has one: whether it was kept."""
        ...

    def entry(self, entry_id: int) -> LedgerEntry | None: ...

    def refusal(self, entry_id: int) -> str | None:
        """Why the marketplace refused the entry, or None when it has not (yet, or at all)."""
        ...

    def forget_answer(self, entry_id: int) -> None:
        """The entry is sent again: its next answer is the one that counts (the audit trail keeps the old)."""
        ...

    def refunded_on_item(self, team_id: str, contract_id: str, item: ItemRef, currency: str) -> Money: ...
    def refunded_on_items(self, team_id: str, items: set[tuple[str, ItemRef]]) -> dict[tuple[str, ItemRef], int]: ...


@dataclass(frozen=True)
class LeasedDeadline:
    """What a lease hands the scheduler: which deadline, and whether it has come (the reminder details are read
    when a reminder is due, so a large lease decodes nothing it may not need)."""

    id: int
    team_id: str
    case_id: str
    kind: DeadlineKind
    due_at: datetime


@dataclass(frozen=True)
class ReminderState:
    parties: tuple[str, ...]  # who must act
    offsets: tuple[float, ...]  # seconds before due_at
    sent: tuple[float, ...]  # offsets already accounted for


class Deadlines(Protocol):
    def lease_due(self, owner: str, now: datetime, lease: timedelta, limit: int) -> list[LeasedDeadline]: ...
    def reminder_states(self, deadline_ids: list[int]) -> dict[int, ReminderState]: ...
    def reminded_all(self, owner: str, marks: list[tuple[int, tuple[float, ...], datetime]]) -> None:
        """``reminded`` for many deadlines: (id, reminders accounted for, when to look again) each."""
        ...

    def finish(self, deadline_id: int, owner: str, now: datetime) -> bool: ...


class EvidenceLog(Protocol):
    def for_case(self, case_id: str) -> list[Evidence]: ...
    def has_intake(self, team_id: str, intake: str) -> bool: ...
    def holding(self, team_id: str, file_id: str) -> list[Evidence]: ...
    def note_found(self, team_id: str, case_id: str, seq: int, file_id: str, found: str, at: datetime) -> bool: ...


class Questions(Protocol):
    def add(self, team_id: str, question: Question) -> Question: ...
    def get(self, team_id: str, question_id: int) -> Question | None: ...


class AuditTrail(Protocol):
    def for_case(self, case_id: str) -> list[AuditEvent]: ...


class Policies(Protocol):
    def register(self, policy: Policy, now: datetime) -> None: ...
    def get(self, version: str) -> Policy | None: ...


class People(Protocol):
    def locale(self, team_id: str, user_id: str) -> str | None: ...


class Mediators(Protocol):
    def lock(self, team_id: str) -> None: ...
    def standings(self, team_id: str, users: Iterable[str]) -> list[Standing]: ...
    def assigned(self, team_id: str, user_id: str, now: datetime) -> None: ...
    def set_away(self, team_id: str, user_id: str, until: datetime | None, now: datetime) -> None: ...
    def waiting(self, within: Collection[str] | None, besides: Collection[str], limit: int) -> list[tuple[str, str]]:
        """(team, case) of cases waiting for a mediator, longest first: in ``within`` (None: all), not ``besides``."""
        ...

    def teams(self) -> list[str]: ...


class UnitOfWork(Protocol):
    contracts: Contracts
    cases: Cases
    ledger: Ledger
    evidence: EvidenceLog
    questions: Questions
    audit: AuditTrail
    policies: Policies
    outbox: Outbox
    deadlines: Deadlines
    people: People
    mediators: Mediators

    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> None: ...
    def commit(self) -> None: ...
