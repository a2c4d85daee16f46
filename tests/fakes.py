"""An in-memory unit of work implementing ``bot.services.ports``: the use cases and the notifier run against it in
milliseconds. ``tests/integration/test_ports.py`` runs the same checks on it, on SQLite and on PostgreSQL, so it
cannot drift from the real repositories unnoticed.

A unit of work reads and writes a private copy of the database and publishes it on commit, as a transaction
does; a case saved from a stale read, or a second open case on one item, loses with ``ConcurrentChange``.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Self

from bot.domain.assignment import Standing
from bot.domain.case import Case
from bot.domain.contract import Contract, Item, ItemKind, ItemRef
from bot.domain.errors import ConcurrentChange
from bot.domain.events import AuditEvent, Evidence, LedgerEntry, Question
from bot.domain.history import PartyRecord, Tally
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.domain.reminders import plan_reminders
from bot.domain.vocabulary import CLAIMABLE, WITH_MEDIATOR, DeadlineKind, LedgerKind, Stage
from bot.services.messages import OutboxMessage
from bot.services.models import DeskFilters, DeskRow
from bot.services.ports import LeasedDeadline, PayoutAnswer, ReminderState


@dataclass
class DeadlineRow:
    id: int
    team_id: str
    case_id: str
    kind: str
    parties: tuple[str, ...]
    due_at: datetime
    offsets: tuple[float, ...]
    sent: tuple[float, ...]
    next_at: datetime | None
    done_at: datetime | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = None


@dataclass
class Tables:
    contracts: dict[tuple[str, str], Contract] = field(default_factory=dict)
    items: dict[tuple[str, str, ItemRef], Item] = field(default_factory=dict)
    cases: dict[tuple[str, str], Case] = field(default_factory=dict)
    ledger: list[LedgerEntry] = field(default_factory=list)
    audit: list[AuditEvent] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    file_findings: dict[tuple[str, str, int, str], str] = field(default_factory=dict)
    questions: dict[int, tuple[str, Question]] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)
    outbox: dict[str, tuple[str, OutboxMessage]] = field(default_factory=dict)  # dedupe key → (team, message)
    deadlines: dict[int, DeadlineRow] = field(default_factory=dict)
    payout_answers: dict[int, PayoutAnswer] = field(default_factory=dict)
    locales: dict[tuple[str, str], str] = field(default_factory=dict)
    mediators: dict[tuple[str, str], Standing] = field(default_factory=dict)  # (team, user) → away, last assigned


class FakeDatabase:
    """The committed state, shared by every unit of work made from it (as instances share a database)."""

    def __init__(self) -> None:
        self.tables = Tables()
        self._ids = itertools.count(1)

    def __call__(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)

    def next_id(self) -> int:
        return next(self._ids)

    @property
    def messages(self) -> list[OutboxMessage]:
        """What has been queued for Slack, in queue order."""
        return [message for _, message in self.tables.outbox.values()]


class FakeUnitOfWork:
    def __init__(self, database: FakeDatabase) -> None:
        self._database = database

    def __enter__(self) -> Self:
        self._base = copy.deepcopy(self._database.tables)
        self._work = copy.deepcopy(self._base)
        tables, ids = self._work, self._database.next_id
        self.contracts = FakeContracts(tables)
        self.cases = FakeCases(tables, ids)
        self.ledger = FakeLedger(tables)
        self.evidence = FakeEvidence(tables)
        self.questions = FakeQuestions(tables, ids)
        self.audit = FakeAudit(tables)
        self.policies = FakePolicies(tables)
        self.outbox = FakeOutbox(tables)
        self.deadlines = FakeDeadlines(tables)
        self.people = FakePeople(tables)
        self.mediators = FakeMediators(tables)
        return self

    def __exit__(self, *args: object) -> None:
        self._work = self._base = Tables()  # whatever was not committed is gone

    def commit(self) -> None:
        """Merge what this transaction wrote into the committed state. A case written here that another
        transaction wrote since this one read it (or a second open case on its item) loses, as it does on a
        real database; nothing of the loser is kept."""
        base, work, committed = self._base, self._work, self._database.tables
        written = {key: case for key, case in work.cases.items() if base.cases.get(key) != case}
        for key, case in written.items():
            read, now = base.cases.get(key), committed.cases.get(key)
            if (read.version if read else None) != (now.version if now else None):
                raise ConcurrentChange(case.id)
            if read is None and FakeCases(committed, self._database.next_id).open_case_for_item(
                case.team_id, case.contract_id, case.item
            ):
                raise ConcurrentChange(case.id)
        committed.cases |= written
        for name in (
            "contracts",
            "items",
            "questions",
            "policies",
            "deadlines",
            "payout_answers",
            "locales",
            "mediators",
        ):
            mine, theirs = getattr(base, name), getattr(committed, name)
            theirs |= {k: v for k, v in getattr(work, name).items() if mine.get(k) != v}
        for key, queued in work.outbox.items():
            committed.outbox.setdefault(key, queued)  # the dedupe key: the first to commit wins
        for name in ("ledger", "audit", "evidence"):  # append-only
            getattr(committed, name).extend(getattr(work, name)[len(getattr(base, name)) :])
        self._base = copy.deepcopy(committed)
        self._work = copy.deepcopy(self._base)
        self._rebind()

    def _rebind(self) -> None:
        for port in (
            self.contracts,
            self.cases,
            self.ledger,
            self.evidence,
            self.questions,
            self.audit,
            self.policies,
            self.outbox,
            self.deadlines,
            self.people,
            self.mediators,
        ):
            port.t = self._work


class FakeMediators:
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    def lock(self, team_id: str) -> None:
        pass  # a fake unit of work commits whole; two at once lose on the cases they both wrote

    def standings(self, team_id: str, users: Iterable[str]) -> list[Standing]:
        held: dict[str, int] = {}
        for case in self.t.cases.values():
            if case.team_id == team_id and case.is_open and case.mediator_id and case.state in WITH_MEDIATOR:
                held[case.mediator_id] = held.get(case.mediator_id, 0) + 1
        rows = {user: row for (team, user), row in self.t.mediators.items() if team == team_id}
        everyone = set(users) | set(held) | set(rows)
        return [replace(rows.get(user, Standing(user)), holds=held.get(user, 0)) for user in sorted(everyone)]

    def assigned(self, team_id: str, user_id: str, now: datetime) -> None:
        row = self.t.mediators.get((team_id, user_id), Standing(user_id))
        self.t.mediators[team_id, user_id] = replace(row, last_assigned=now)

    def set_away(self, team_id: str, user_id: str, until: datetime | None, now: datetime) -> None:
        row = self.t.mediators.get((team_id, user_id), Standing(user_id))
        self.t.mediators[team_id, user_id] = replace(row, away_until=until)

    def waiting(self, within: Iterable[str] | None, besides: Iterable[str], limit: int) -> list[tuple[str, str]]:
        inside = None if within is None else set(within)
        found = [
            case
            for case in self.t.cases.values()
            if case.waits_for_a_mediator and (inside is None or case.team_id in inside) and case.team_id not in besides
        ]
        found.sort(key=lambda case: (case.updated_at or case.opened_at, case.id))
        return [(case.team_id, case.id) for case in found[:limit]]

    def teams(self) -> list[str]:
        return sorted({team for team, _ in self.t.cases} | {team for team, _ in self.t.mediators})


class FakePeople:
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    def locale(self, team_id: str, user_id: str) -> str | None:
        return self.t.locales.get((team_id, user_id))


class FakeContracts:
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    def get(self, team_id: str, contract_id: str) -> Contract | None:
        return self.t.contracts.get((team_id, contract_id))

    def get_many(self, team_id: str, contract_ids: set[str]) -> dict[str, Contract]:
        return {c.id: c for (team, _), c in self.t.contracts.items() if team == team_id and c.id in contract_ids}

    def for_client(self, team_id: str, user_id: str, limit: int) -> list[Contract]:
        mine = [c for (team, _), c in self.t.contracts.items() if team == team_id and c.client_id == user_id]
        return sorted(mine, key=lambda c: (c.title, c.id))[:limit]

    def items(self, team_id: str, contract_id: str) -> list[Item]:
        found = [item for (team, cid, _), item in self.t.items.items() if (team, cid) == (team_id, contract_id)]
        return sorted(found, key=lambda item: (item.ref.kind != "milestone", item.ref.id))

    def save(self, contract: Contract, now: datetime) -> None:
        self.t.contracts[contract.team_id, contract.id] = contract

    def item(self, team_id: str, contract_id: str, ref: ItemRef) -> Item | None:
        return self.t.items.get((team_id, contract_id, ref))

    def save_item(self, team_id: str, item: Item) -> None:
        self.t.items[team_id, item.contract_id, item.ref] = item


def _next_due(case: Case) -> datetime | None:
    return min((d.due_at for d in case.deadlines), default=None)


class FakeCases:
    def __init__(self, tables: Tables, ids: object) -> None:
        self.t = tables
        self._ids = ids

    def _where(self, team_id: str, *, open_only: bool = False) -> list[Case]:
        found = [c for (team, _), c in self.t.cases.items() if team == team_id and not (open_only and c.closed_at)]
        return [copy.deepcopy(c) for c in sorted(found, key=lambda c: (c.opened_at, c.id))]

    def get(self, team_id: str, case_id: str) -> Case | None:
        return next((c for c in self._where(team_id) if c.id == case_id), None)

    def get_many(self, team_id: str, case_ids: list[str]) -> list[Case]:
        return [c for c in self._where(team_id) if c.id in case_ids]

    def by_request_key(self, team_id: str, request_key: str) -> Case | None:
        return next((c for c in self._where(team_id) if c.request_key == request_key), None)

    def open_case_for_item(self, team_id: str, contract_id: str, item: ItemRef) -> Case | None:
        on_item = (c for c in self._where(team_id, open_only=True) if (c.contract_id, c.item) == (contract_id, item))
        return next(on_item, None)

    def _mine(self, team_id: str, user_id: str) -> list[Case]:
        return [c for c in self._where(team_id, open_only=True) if user_id in (c.client_id, c.freelancer_id)]

    def _waits(self, case: Case, user_id: str) -> bool:
        return case.state == "awaiting_freelancer" and case.freelancer_id == user_id

    def most_urgent_for_user(self, team_id: str, user_id: str, *, waiting: bool, limit: int) -> list[Case]:
        found = [c for c in self._mine(team_id, user_id) if self._waits(c, user_id) == waiting]

        def urgency(case: Case) -> tuple[bool, datetime, datetime, str]:
            due = min((d.due_at for d in case.deadlines), default=None)
            return due is None, due or case.opened_at, case.opened_at, case.id

        return sorted(found, key=urgency)[:limit]

    def count_open_for_user(self, team_id: str, user_id: str) -> tuple[int, int]:
        mine = self._mine(team_id, user_id)
        waiting = sum(self._waits(c, user_id) for c in mine)
        return waiting, len(mine) - waiting

    def held_on_item(self, team_id: str, contract_id: str, item: ItemRef, currency: str) -> Money:
        held = sum(
            c.requested.minor - c.refunded.minor
            for c in self._where(team_id, open_only=True)
            if (c.contract_id, c.item) == (contract_id, item)
        )
        return Money(held, currency)

    def _desk(self, team_id: str, mediator_id: str, filters: DeskFilters, now: datetime) -> dict[str, list[Case]]:
        due = _next_due

        def kept(case: Case) -> bool:
            kind = "hourly" if case.item.kind is ItemKind.TIMESHEET else "fixed_price"
            return (
                filters.stage in (None, case.stage)
                and filters.kind in (None, kind)
                and (not filters.overdue or ((at := due(case)) is not None and at < now))
            )

        cases = [c for c in self._where(team_id, open_only=True) if kept(c)]
        cases.sort(key=lambda c: (due(c) is None, due(c) or now, c.escalated_at or c.opened_at, c.id))
        unclaimed = [c for c in cases if c.mediator_id is None and c.state in CLAIMABLE]
        mine = [c for c in cases if c.mediator_id == mediator_id]
        rest = [c for c in cases if c not in unclaimed and c not in mine]
        return {"unclaimed": unclaimed, "mine": mine, "rest": rest}

    def with_mediators(self, team_id: str) -> list[str]:
        waiting = [c for c in self.t.cases.values() if c.team_id == team_id and c.is_open and c.escalated_at]
        return [c.id for c in sorted(waiting, key=lambda c: (c.escalated_at, c.id))]

    def desk(
        self, team_id: str, mediator_id: str, section: str, filters: DeskFilters, now: datetime, offset: int, limit: int
    ) -> list[DeskRow]:
        page = self._desk(team_id, mediator_id, filters, now)[section][offset : offset + limit]
        return [
            DeskRow(
                id=c.id,
                item_label=c.item_label,
                contract_title=self.t.contracts[team_id, c.contract_id].title,
                client_id=c.client_id,
                freelancer_id=c.freelancer_id,
                currency=c.currency,
                at_stake_minor=c.at_stake.minor,
                due_at=due.isoformat() if (due := _next_due(c)) else None,
                stage=c.stage,
                state=c.state,
                mediator_id=c.mediator_id,
                waiting_since=(c.appeal.at if c.appeal else c.escalated_at or c.opened_at).isoformat(),
                card_link=None,
                first_mediator=c.appeal.first_mediator if c.appeal else None,
            )
            for c in page
        ]

    def desk_counts(self, team_id: str, mediator_id: str, filters: DeskFilters, now: datetime) -> dict[str, int]:
        return {name: len(cases) for name, cases in self._desk(team_id, mediator_id, filters, now).items()}

    def party_record(self, team_id: str, role: str, user_id: str, excluding: str, since: datetime) -> PartyRecord:
        def tally(cases: list[Case], items: list[Item]) -> Tally:
            closed = [c for c in cases if c.closed_at]
            disputes = [c for c in closed if c.stage is not Stage.REQUEST]
            return Tally(
                cases=len(cases),
                closed=len(closed),
                refunded=sum(c.refunded.minor > 0 for c in closed),
                refunded_share=sum(c.refunded.minor / c.paid.minor for c in closed) / len(closed) if closed else 0.0,
                disputes_client_won=sum(c.refunded >= c.requested for c in disputes),
                disputes_freelancer_won=sum(c.refunded.minor == 0 for c in disputes),
                disputes_split=sum(0 < c.refunded.minor < c.requested.minor for c in disputes),
                paid_items=len(items),
            )

        theirs = [c for c in self._where(team_id) if getattr(c, f"{role}_id") == user_id and c.id != excluding]
        contracts = {
            cid
            for (team, cid), k in self.t.contracts.items()
            if team == team_id and getattr(k, f"{role}_id") == user_id
        }
        paid = [
            item
            for (team, cid, _), item in self.t.items.items()
            if team == team_id and cid in contracts and item.paid_at is not None
        ]
        recent = tally([c for c in theirs if c.opened_at >= since], [i for i in paid if i.paid_at >= since])
        return PartyRecord(role, user_id, recent=recent, all_time=tally(theirs, paid))

    def add(self, case: Case) -> None:
        """The unique indexes: one open case per item, one case per form submission."""
        others = self._where(case.team_id)
        if any(c.id == case.id or (case.request_key and c.request_key == case.request_key) for c in others) or (
            self.open_case_for_item(case.team_id, case.contract_id, case.item) is not None
        ):
            raise ConcurrentChange(case.id)
        self._write(case)

    def save(self, case: Case) -> None:
        stored = self.t.cases.get((case.team_id, case.id))
        if stored is None or stored.version != case.version:
            raise ConcurrentChange(case.id)
        self._write(case)

    def _write(self, case: Case) -> None:
        changed_at = case.updated_at or case.opened_at
        for event in case.events:
            if isinstance(event, LedgerEntry):
                raise ValueError("ledger entries go through the payments port, not the case repository")
            if isinstance(event, AuditEvent):
                changed_at = max(changed_at, event.at)
                self.t.audit.append(event)
            elif isinstance(event, Evidence):
                self.t.evidence.append(event)
        case.events.clear()
        self._sync_deadlines(case, changed_at)
        case.version += 1
        self.t.cases[case.team_id, case.id] = copy.deepcopy(case)

    def _sync_deadlines(self, case: Case, now: datetime) -> None:
        wanted = {d.kind: d for d in case.deadlines}
        for row in (r for r in self.t.deadlines.values() if r.case_id == case.id and r.done_at is None):
            want = wanted.get(row.kind)
            if want is not None and (want.parties, want.due_at) == (row.parties, row.due_at):
                del wanted[want.kind]
            else:
                row.done_at = now
        for deadline in wanted.values():
            offsets = tuple(sorted(deadline.reminder_offsets, reverse=True))
            plan = plan_reminders(deadline.due_at, offsets, (), now)
            row = DeadlineRow(
                self._ids(),  # type: ignore[operator]
                case.team_id,
                case.id,
                deadline.kind,
                deadline.parties,
                deadline.due_at,
                offsets,
                plan.sent,
                plan.next_at,
            )
            self.t.deadlines[row.id] = row


class FakeLedger:
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    def add(self, entry: LedgerEntry) -> int:
        self.t.ledger.append(entry)
        return len(self.t.ledger)

    def record_answer(self, answer: PayoutAnswer) -> bool:
        return self.t.payout_answers.setdefault(answer.entry_id, answer) is answer

    def entry(self, entry_id: int) -> LedgerEntry | None:
        return self.t.ledger[entry_id - 1] if 0 < entry_id <= len(self.t.ledger) else None

    def refusal(self, entry_id: int) -> str | None:
        answer = self.t.payout_answers.get(entry_id)
        return (answer.reason or "") if answer is not None and answer.outcome == "refused" else None

    def forget_answer(self, entry_id: int) -> None:
        self.t.payout_answers.pop(entry_id, None)

    def refunded_on_item(self, team_id: str, contract_id: str, item: ItemRef, currency: str) -> Money:
        sign = {LedgerKind.REFUND: 1, LedgerKind.REFUND_REVERSAL: -1}
        refunds = (
            sign.get(e.kind, 0) * e.amount.minor
            for e in self.t.ledger
            if (e.team_id, e.contract_id, e.item) == (team_id, contract_id, item)
        )
        return Money(sum(refunds), currency)

    def refunded_on_items(self, team_id: str, items: set[tuple[str, ItemRef]]) -> dict[tuple[str, ItemRef], int]:
        return {(c, item): self.refunded_on_item(team_id, c, item, "USD").minor for c, item in items}

    def for_case(self, case_id: str) -> list[LedgerEntry]:
        return [e for e in self.t.ledger if e.case_id == case_id]


class FakeAudit:
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    def for_case(self, case_id: str) -> list[AuditEvent]:
        return sorted((e for e in self.t.audit if e.case_id == case_id), key=lambda e: e.seq)


class FakeEvidence:
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    def for_case(self, case_id: str) -> list[Evidence]:
        return sorted((e for e in self.t.evidence if e.case_id == case_id), key=lambda e: e.seq)

    def has_intake(self, team_id: str, intake: str) -> bool:
        return any(e.intake == intake and (team_id, e.case_id) in self.t.cases for e in self.t.evidence)

    def holding(self, team_id: str, file_id: str) -> list[Evidence]:
        return [
            e
            for e in self.t.evidence
            if (team_id, e.case_id) in self.t.cases
            and any(f.file_id == file_id for f in e.files)
            and (team_id, e.case_id, e.seq, file_id) not in self.t.file_findings
        ]

    def note_found(self, team_id: str, case_id: str, seq: int, file_id: str, found: str, at: datetime) -> bool:
        key = (team_id, case_id, seq, file_id)
        if key in self.t.file_findings:
            return False
        self.t.file_findings[key] = found
        return True


class FakeQuestions:
    def __init__(self, tables: Tables, ids: object) -> None:
        self.t = tables
        self._ids = ids

    def add(self, team_id: str, question: Question) -> Question:
        kept = replace(question, id=self._ids())  # type: ignore[operator]
        self.t.questions[kept.id] = (team_id, kept)  # type: ignore[index]
        return kept

    def get(self, team_id: str, question_id: int) -> Question | None:
        team, question = self.t.questions.get(question_id, (None, None))
        return question if team == team_id else None


class FakePolicies:
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    def register(self, policy: Policy, now: datetime) -> None:
        self.t.policies.setdefault(policy.version, policy)

    def get(self, version: str) -> Policy | None:
        return self.t.policies.get(version)


class FakeOutbox:
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    def add(self, team_id: str, message: OutboxMessage, now: datetime) -> None:
        self.t.outbox.setdefault(message.dedupe_key, (team_id, message))

    def add_all(self, team_id: str, messages: Iterable[OutboxMessage], now: datetime) -> None:
        for message in messages:
            self.add(team_id, message, now)

    def kept_at(self, team_id: str, channel: str, ts: str) -> str | None:
        return None  # nothing here is ever posted to Slack


class FakeDeadlines:
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    def _held(self, deadline_id: int, owner: str) -> DeadlineRow | None:
        row = self.t.deadlines.get(deadline_id)
        return row if row and row.lease_owner == owner and row.done_at is None else None

    def lease_due(self, owner: str, now: datetime, lease: timedelta, limit: int) -> list[LeasedDeadline]:
        due = [
            r
            for r in self.t.deadlines.values()
            if r.done_at is None
            and r.next_at is not None
            and r.next_at <= now
            and (r.lease_until is None or r.lease_until < now)
        ]
        leased = sorted(due, key=lambda r: r.next_at or now)[:limit]
        for row in leased:
            row.lease_owner, row.lease_until = owner, now + lease
        return [LeasedDeadline(r.id, r.team_id, r.case_id, DeadlineKind(r.kind), r.due_at) for r in leased]

    def reminded_all(self, owner: str, marks: list[tuple[int, tuple[float, ...], datetime]]) -> None:
        for deadline_id, sent, next_at in marks:
            if (row := self._held(deadline_id, owner)) is not None:
                row.sent, row.next_at, row.lease_owner, row.lease_until = sent, next_at, None, None

    def reminder_states(self, deadline_ids: list[int]) -> dict[int, ReminderState]:
        return {
            i: ReminderState(self.t.deadlines[i].parties, self.t.deadlines[i].offsets, self.t.deadlines[i].sent)
            for i in deadline_ids
        }

    def finish(self, deadline_id: int, owner: str, now: datetime) -> bool:
        if (row := self._held(deadline_id, owner)) is None:
            return False
        row.done_at, row.lease_owner, row.lease_until = now, None, None
        return True
