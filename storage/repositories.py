"""Repositories: domain objects in and out of the tables. SQL lives here and nowhere else."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Result,
    Row,
    Select,
    Subquery,
    and_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy import case as sa_case
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain.case import Case
from bot.domain.contract import (
    Contract,
    ContractKind,
    ContractStatus,
    Item,
    ItemKind,
    ItemRef,
    Milestone,
    MilestoneStatus,
    Timesheet,
)
from bot.domain.errors import ConcurrentChange
from bot.domain.events import AuditEvent, Evidence, LedgerEntry, Question
from bot.domain.files import EvidenceFile
from bot.domain.history import PartyRecord, Tally
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.domain.reminders import plan_reminders
from bot.domain.vocabulary import (
    CLAIMABLE,
    MEDIATOR_DEADLINES,
    Appeal,
    Deadline,
    DeadlineKind,
    LedgerKind,
    Stage,
    State,
    Visibility,
)
from bot.services.models import DeskFilters, DeskRow
from bot.services.ports import PayoutAnswer
from storage.tables import (
    AuditRow,
    CaseRow,
    ContractRow,
    DeadlineRow,
    EvidenceFileRow,
    EvidenceRow,
    LedgerRow,
    MilestoneRow,
    PayoutAnswerRow,
    PolicyRow,
    QuestionRow,
    SlackMessageRow,
    TimesheetRow,
    UtcDateTime,
)


class PolicyConflict(Exception):
    """The configured numbers differ from those already stored under the same policy version."""


def _money(minor: int | None, currency: str | None) -> Money | None:
    return None if minor is None or currency is None else Money(minor, currency)


# A click's reads of contracts, items and evidence, built once and bound at execution, as plain rows (Core): the
# ORM's get built and keyed a statement on every call, and loading objects nobody changes is most of a read.
_CONTRACTS, _MILESTONE_ROWS, _TIMESHEET_ROWS = ContractRow.__table__, MilestoneRow.__table__, TimesheetRow.__table__
_CONTRACT = select(_CONTRACTS).where(
    _CONTRACTS.c.team_id == bindparam("k_team"), _CONTRACTS.c.id == bindparam("k_contract")
)
_CLIENTS_CONTRACTS = (
    select(_CONTRACTS)
    .where(_CONTRACTS.c.team_id == bindparam("k_team"), _CONTRACTS.c.client_id == bindparam("k_client"))
    .order_by(_CONTRACTS.c.title, _CONTRACTS.c.id)
    .limit(bindparam("k_limit"))
)
_MILESTONES = (
    select(_MILESTONE_ROWS)
    .where(_MILESTONE_ROWS.c.team_id == bindparam("k_team"), _MILESTONE_ROWS.c.contract_id == bindparam("k_contract"))
    .order_by(_MILESTONE_ROWS.c.id)
)
_MILESTONE = _MILESTONES.where(_MILESTONE_ROWS.c.id == bindparam("k_milestone"))
_TIMESHEETS = (
    select(_TIMESHEET_ROWS)
    .where(_TIMESHEET_ROWS.c.team_id == bindparam("k_team"), _TIMESHEET_ROWS.c.contract_id == bindparam("k_contract"))
    .order_by(_TIMESHEET_ROWS.c.week)
)
_TIMESHEET = _TIMESHEETS.where(_TIMESHEET_ROWS.c.week == bindparam("k_week"))
_EVIDENCE = EvidenceRow.__table__
_CASE_EVIDENCE = select(_EVIDENCE).where(_EVIDENCE.c.case_id == bindparam("e_case")).order_by(_EVIDENCE.c.seq)
_INTAKE = select(_EVIDENCE.c.id).where(
    _EVIDENCE.c.team_id == bindparam("e_team"), _EVIDENCE.c.intake == bindparam("e_intake")
)


def _read(session: Session, statement: Select[Any], values: dict[str, Any]) -> Result[Any]:
    """A Core read in the unit of work: contracts the import added as objects are flushed first, as the ORM's own
    reads would (a Core statement does not autoflush)."""
    session.flush()
    return session.execute(statement, values)


class ContractRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, team_id: str, contract_id: str) -> Contract | None:
        row = _read(self.session, _CONTRACT, {"k_team": team_id, "k_contract": contract_id}).first()
        return self._contract(row) if row else None

    def get_many(self, team_id: str, contract_ids: set[str]) -> dict[str, Contract]:
        rows = self.session.scalars(
            select(ContractRow).where(ContractRow.team_id == team_id, ContractRow.id.in_(contract_ids))
        )
        return {row.id: self._contract(row) for row in rows}

    def for_client(self, team_id: str, user_id: str, limit: int) -> list[Contract]:
        rows = _read(self.session, _CLIENTS_CONTRACTS, {"k_team": team_id, "k_client": user_id, "k_limit": limit})
        return [self._contract(row) for row in rows]

    def save(self, contract: Contract, now: datetime) -> None:
        row = self.session.get(ContractRow, (contract.team_id, contract.id))
        if row is None:
            row = ContractRow(team_id=contract.team_id, id=contract.id, created_at=now)
            self.session.add(row)
        row.title = contract.title
        row.kind = contract.kind
        row.currency = contract.currency
        row.client_id = contract.client_id
        row.freelancer_id = contract.freelancer_id
        row.hourly_rate_minor = contract.hourly_rate.minor if contract.hourly_rate else None
        row.status = contract.status
        row.policy_version = contract.policy_version
        if row in self.session.new or self.session.is_modified(row):
            row.updated_at = now

    def items(self, team_id: str, contract_id: str) -> list[Item]:
        values = {"k_team": team_id, "k_contract": contract_id}
        milestones = _read(self.session, _MILESTONES, values).all()
        timesheets = _read(self.session, _TIMESHEETS, values).all()
        return [self._milestone(row) for row in milestones] + [self._timesheet(row) for row in timesheets]

    def item(self, team_id: str, contract_id: str, ref: ItemRef) -> Item | None:
        values: dict[str, Any] = {"k_team": team_id, "k_contract": contract_id}
        if ref.kind is ItemKind.MILESTONE:
            row = _read(self.session, _MILESTONE, values | {"k_milestone": ref.id}).first()
            return self._milestone(row) if row else None
        try:
            week = datetime.fromisoformat(ref.id).date()
        except ValueError:
            return None
        sheet = _read(self.session, _TIMESHEET, values | {"k_week": week}).first()
        return self._timesheet(sheet) if sheet else None

    def save_item(self, team_id: str, item: Item) -> None:
        if isinstance(item, Milestone):
            row = self.session.get(MilestoneRow, (team_id, item.contract_id, item.id))
            if row is None:
                row = MilestoneRow(team_id=team_id, contract_id=item.contract_id, id=item.id)
                self.session.add(row)
            row.title = item.title
            row.amount_minor = item.amount.minor
            row.currency = item.amount.currency
            row.status = item.status
            row.funded_at = item.funded_at
            row.submitted_at = item.submitted_at
            row.released_at = item.released_at
            return
        sheet = self.session.get(TimesheetRow, (team_id, item.contract_id, item.week))
        if sheet is None:
            sheet = TimesheetRow(team_id=team_id, contract_id=item.contract_id, week=item.week)
            self.session.add(sheet)
        sheet.minutes = item.minutes
        sheet.amount_minor = item.amount.minor
        sheet.currency = item.amount.currency
        sheet.billed_at = item.billed_at
        sheet.paid_at = item.paid_at

    @staticmethod
    def _contract(row: ContractRow | Row[Any]) -> Contract:
        return Contract(
            team_id=row.team_id,
            id=row.id,
            title=row.title,
            kind=ContractKind(row.kind),
            currency=row.currency,
            client_id=row.client_id,
            freelancer_id=row.freelancer_id,
            hourly_rate=_money(row.hourly_rate_minor, row.currency),
            status=ContractStatus(row.status),
            policy_version=row.policy_version,
        )

    @staticmethod
    def _milestone(row: MilestoneRow | Row[Any]) -> Milestone:
        return Milestone(
            contract_id=row.contract_id,
            id=row.id,
            title=row.title,
            amount=Money(row.amount_minor, row.currency),
            status=MilestoneStatus(row.status),
            funded_at=row.funded_at,
            submitted_at=row.submitted_at,
            released_at=row.released_at,
        )

    @staticmethod
    def _timesheet(row: TimesheetRow | Row[Any]) -> Timesheet:
        return Timesheet(
            contract_id=row.contract_id,
            week=row.week,
            minutes=row.minutes,
            amount=Money(row.amount_minor, row.currency),
            billed_at=row.billed_at,
            paid_at=row.paid_at,
        )


_CASES = CaseRow.__table__
_DEADLINES = DeadlineRow.__table__
_DEADLINE_COLUMNS = [column.label(f"deadline_{column.name}") for column in _DEADLINES.c]
# Built once, executed with parameters: SQLAlchemy caches their compiled form, which a statement built anew for
# each case (its values inlined) would have to look up by a key of all its 35 values every time.
_CHANGING = [c.name for c in _CASES.c if c.name not in ("id", "team_id", "contract_id", "version")]
_LOAD_CASES = (
    select(_CASES, *_DEADLINE_COLUMNS)
    .outerjoin(_DEADLINES, and_(_DEADLINES.c.case_id == _CASES.c.id, _DEADLINES.c.done_at.is_(None)))
    .order_by(_CASES.c.opened_at, _CASES.c.id, _DEADLINES.c.due_at)
)
_ONE_CASE = (_CASES.c.id == bindparam("b_id"), _CASES.c.team_id == bindparam("b_team"))
_ON_ITEM = (
    _CASES.c.team_id == bindparam("b_team"),
    _CASES.c.contract_id == bindparam("b_contract"),
    _CASES.c.item_kind == bindparam("b_kind"),
    _CASES.c.item_id == bindparam("b_item"),
    _CASES.c.closed_at.is_(None),
)
# The reads of every click, each built (and its cache key made) once: a statement built anew for each call cost
# more to build and key than to run.
_CASE_BY_ID = _LOAD_CASES.where(*_ONE_CASE)
_CASE_BY_REQUEST_KEY = _LOAD_CASES.where(
    _CASES.c.team_id == bindparam("b_team"), _CASES.c.request_key == bindparam("b_request_key")
)
_OPEN_CASE_ON_ITEM = _LOAD_CASES.where(*_ON_ITEM)
_HELD_ON_ITEM = select(func.coalesce(func.sum(_CASES.c.requested_minor - _CASES.c.refunded_minor), 0)).where(*_ON_ITEM)
_ADD_CASE = insert(_CASES)
_SAVE_CASE = (
    update(_CASES)
    .where(_CASES.c.id == bindparam("b_id"), _CASES.c.version == bindparam("b_version"))
    .values(version=bindparam("b_next"), **{name: bindparam(f"v_{name}") for name in _CHANGING})
)
_ADD_AUDIT = insert(AuditRow.__table__)
_ADD_EVIDENCE = insert(EvidenceRow.__table__)
_ADD_EVIDENCE_FILES = insert(EvidenceFileRow.__table__)
_ADD_DEADLINES = insert(_DEADLINES)
_RETIRE_DEADLINES = (
    update(_DEADLINES).where(_DEADLINES.c.id.in_(bindparam("b_ids", expanding=True))).values(done_at=bindparam("b_at"))
)


@dataclass(frozen=True)
class _Active:
    """An active deadline row, as read with its case."""

    id: int
    kind: DeadlineKind
    parties: tuple[str, ...]
    due_at: datetime
    reminder_offsets: tuple[float, ...]


@dataclass(frozen=True)
class _DeskQuery:
    due: Subquery
    next_due: ColumnElement[datetime]
    where: ColumnElement[bool]
    sections: dict[str, ColumnElement[bool]]


def _on_item(team_id: str, contract_id: str, item: ItemRef) -> dict[str, Any]:
    return {"b_team": team_id, "b_contract": contract_id, "b_kind": item.kind, "b_item": item.id}


def _record_statement(role: str) -> Select[Any]:
    """A party's record as one statement, built once per role (building it was most of a proposal's cost): the
    measures of their other cases, all time and recently; then the items paid on their contracts, likewise."""
    who = CaseRow.client_id if role == "client" else CaseRow.freelancer_id
    refunded, asked = CaseRow.refunded_minor, CaseRow.requested_minor
    closed = CaseRow.closed_at.is_not(None)
    dispute = closed & (CaseRow.stage != Stage.REQUEST)
    share = cast(refunded, Float) / func.nullif(CaseRow.paid_minor, 0)
    since = bindparam("r_since", type_=UtcDateTime())
    measures: list[Any] = []
    for period in (true(), CaseRow.opened_at >= since):
        measures += [
            func.count().filter(period),
            func.count().filter(period & closed),
            func.count().filter(period & closed & (refunded > 0)),
            func.avg(share).filter(period & closed),
            func.count().filter(period & dispute & (refunded >= asked)),
            func.count().filter(period & dispute & (refunded == 0)),
            func.count().filter(period & dispute & (refunded > 0) & (refunded < asked)),
        ]
    party = ContractRow.client_id if role == "client" else ContractRow.freelancer_id
    theirs = (ContractRow.team_id == bindparam("r_team")) & (party == bindparam("r_user"))
    paid: list[Any] = []  # milestones all time, recently; timesheets all time, recently
    for rows, paid_at, condition in (
        (
            MilestoneRow,
            MilestoneRow.released_at,
            (MilestoneRow.status == MilestoneStatus.RELEASED) & MilestoneRow.released_at.is_not(None),
        ),
        (TimesheetRow, TimesheetRow.paid_at, TimesheetRow.paid_at.is_not(None)),
    ):
        joined = (ContractRow.team_id == rows.team_id) & (ContractRow.id == rows.contract_id)
        counted = select(func.count()).select_from(rows).join(ContractRow, joined).where(theirs, condition)
        paid += [counted.scalar_subquery(), counted.where(paid_at >= since).scalar_subquery()]
    return select(*measures, *paid).where(
        CaseRow.team_id == bindparam("r_team"), who == bindparam("r_user"), CaseRow.id != bindparam("r_excluding")
    )


_RECORD = {role: _record_statement(role) for role in ("client", "freelancer")}


class CaseRepository:
    """Cases with their active deadline; saving also appends the audit events and evidence they caused.

    Ledger entries are the payments port's to record (``bot.services.payments``), so they must be taken off
    the case before it is saved."""

    def __init__(self, session: Session) -> None:
        self.session = session
        # Each case's active deadlines as read: saving compares against them instead of reading them again. No
        # one changes them meanwhile unnoticed: that takes a save, which the version check catches.
        self._active: dict[str, list[_Active]] = {}

    def _load(self, *where: ColumnElement[bool], params: dict[str, Any] | None = None) -> list[Case]:
        """Cases with their active deadlines read in one statement, so a decision committing in between can
        never pair a waiting case with an already retired deadline. Plain rows (Core): a case is read and
        written a few times per click, and the ORM's objects cost more than they give here."""
        return self._loaded(_LOAD_CASES.where(*where), params)

    def _loaded(self, statement: Select[Any], params: dict[str, Any] | None = None) -> list[Case]:
        rows = self.session.execute(statement, params).all()
        found: dict[str, tuple[Row[Any], list[_Active]]] = {}
        for row in rows:
            active = found.setdefault(row.id, (row, []))[1]
            if row.deadline_id is not None:
                active.append(
                    _Active(
                        row.deadline_id,
                        DeadlineKind(row.deadline_kind),
                        tuple(row.deadline_parties),
                        row.deadline_due_at,
                        tuple(row.deadline_reminder_offsets),
                    )
                )
        self._active.update((case_id, active) for case_id, (_, active) in found.items())
        return [self._case(row, active) for row, active in found.values()]

    def get(self, team_id: str, case_id: str) -> Case | None:
        # Scoped by workspace: another workspace's case does not exist for this one.
        found = self._loaded(_CASE_BY_ID, {"b_id": case_id, "b_team": team_id})
        return found[0] if found else None

    def get_many(self, team_id: str, case_ids: list[str]) -> list[Case]:
        return self._load(CaseRow.id.in_(case_ids), CaseRow.team_id == team_id) if case_ids else []

    def by_request_key(self, team_id: str, request_key: str) -> Case | None:
        found = self._loaded(_CASE_BY_REQUEST_KEY, {"b_team": team_id, "b_request_key": request_key})
        return found[0] if found else None

    def open_case_for_item(self, team_id: str, contract_id: str, item: ItemRef) -> Case | None:
        found = self._loaded(_OPEN_CASE_ON_ITEM, _on_item(team_id, contract_id, item))
        return found[0] if found else None

    def held_on_item(self, team_id: str, contract_id: str, item: ItemRef, currency: str) -> Money:
        """What open cases on the item keep out of its refundable balance: requested minus refunded."""
        held = self.session.scalar(_HELD_ON_ITEM, _on_item(team_id, contract_id, item))
        return Money(int(held or 0), currency)

    def _mine(self, team_id: str, user_id: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
        """(this person's open cases, those of them waiting for their answer as freelancer)."""
        mine = and_(
            CaseRow.team_id == team_id,
            CaseRow.closed_at.is_(None),
            (CaseRow.client_id == user_id) | (CaseRow.freelancer_id == user_id),
        )
        waiting = and_(CaseRow.state == State.AWAITING_FREELANCER, CaseRow.freelancer_id == user_id)
        return mine, waiting

    def most_urgent_for_user(self, team_id: str, user_id: str, *, waiting: bool, limit: int) -> list[Case]:
        mine, waits = self._mine(team_id, user_id)
        next_due = (
            select(func.min(DeadlineRow.due_at))
            .where(DeadlineRow.case_id == CaseRow.id, DeadlineRow.done_at.is_(None))
            .scalar_subquery()
        )
        ids = self.session.scalars(
            select(CaseRow.id)
            .where(mine, waits if waiting else ~waits)
            .order_by(next_due.is_(None), next_due, CaseRow.opened_at, CaseRow.id)
            .limit(limit)
        ).all()
        order = {case_id: n for n, case_id in enumerate(ids)}
        return sorted(self._load(CaseRow.id.in_(ids)), key=lambda case: order[case.id]) if ids else []

    def count_open_for_user(self, team_id: str, user_id: str) -> tuple[int, int]:
        mine, waits = self._mine(team_id, user_id)
        waiting, others = self.session.execute(
            select(
                func.count().filter(waits),
                func.count().filter(~waits),
            ).where(mine)
        ).one()
        return int(waiting), int(others)

    def with_mediators(self, team_id: str) -> list[str]:
        found = self.session.scalars(
            select(CaseRow.id)
            .where(CaseRow.team_id == team_id, CaseRow.closed_at.is_(None), CaseRow.escalated_at.is_not(None))
            .order_by(CaseRow.escalated_at, CaseRow.id)
        )
        return list(found)

    def _desk(self, team_id: str, mediator_id: str, filters: DeskFilters, now: datetime) -> _DeskQuery:
        # Each case's next deadline, aggregated once and joined: at 10,000 cases a subquery per case took 74 ms on
        # PostgreSQL against 44 (bench.desk; SQLite 34 against 45 ms).
        due = (
            select(DeadlineRow.case_id, func.min(DeadlineRow.due_at).label("at"))
            .where(DeadlineRow.team_id == team_id, DeadlineRow.done_at.is_(None))
            .group_by(DeadlineRow.case_id)
            .subquery()
        )
        next_due = due.c.at
        where = [CaseRow.team_id == team_id, CaseRow.closed_at.is_(None)]
        if filters.stage is not None:
            where.append(CaseRow.stage == filters.stage)
        if filters.kind is not None:
            where.append(CaseRow.item_kind == (ItemKind.TIMESHEET if filters.kind == "hourly" else ItemKind.MILESTONE))
        if filters.overdue:
            where.append(next_due < now)
        unclaimed = CaseRow.mediator_id.is_(None) & CaseRow.state.in_(sorted(CLAIMABLE))
        sections = {"unclaimed": unclaimed, "mine": CaseRow.mediator_id == mediator_id}
        sections["rest"] = ~unclaimed & ((CaseRow.mediator_id != mediator_id) | CaseRow.mediator_id.is_(None))
        return _DeskQuery(due, next_due, and_(*where), sections)

    def desk(
        self, team_id: str, mediator_id: str, section: str, filters: DeskFilters, now: datetime, offset: int, limit: int
    ) -> list[DeskRow]:
        """One page of a part of the mediators' desk (unclaimed, mine, the rest), soonest deadline first, then the
        longest waiting: one statement, however many cases the workspace has."""
        q = self._desk(team_id, mediator_id, filters, now)
        since = func.coalesce(CaseRow.escalated_at, CaseRow.opened_at)
        rows = self.session.execute(
            select(
                CaseRow.id,
                CaseRow.item_label,
                ContractRow.title,
                CaseRow.client_id,
                CaseRow.freelancer_id,
                CaseRow.currency,
                func.coalesce(CaseRow.disputed_minor, CaseRow.requested_minor - CaseRow.refunded_minor),
                type_coerce(q.next_due, UtcDateTime()),  # an aggregate keeps no column type: UTC again
                CaseRow.stage,
                CaseRow.state,
                CaseRow.mediator_id,
                type_coerce(since, UtcDateTime()),
                SlackMessageRow.permalink,
                CaseRow.appeal,
                CaseRow.mediators_late,
            )
            .join(ContractRow, (ContractRow.team_id == CaseRow.team_id) & (ContractRow.id == CaseRow.contract_id))
            .outerjoin(q.due, q.due.c.case_id == CaseRow.id)
            .outerjoin(
                SlackMessageRow,
                (SlackMessageRow.team_id == CaseRow.team_id) & (SlackMessageRow.message_key == CaseRow.id + ":card"),
            )
            .where(q.where, q.sections[section])
            .order_by(q.next_due.is_(None), q.next_due, since, CaseRow.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [
            DeskRow(
                id=row[0],
                item_label=row[1],
                contract_title=row[2],
                client_id=row[3],
                freelancer_id=row[4],
                currency=row[5],
                at_stake_minor=int(row[6]),
                due_at=row[7].isoformat() if row[7] is not None else None,
                stage=Stage(row[8]),
                state=State(row[9]),
                mediator_id=row[10],
                # An appeal waits from when it was made; the case from when it first needed a mediator.
                waiting_since=(row[13] or {}).get("at") or row[11].isoformat(),
                card_link=row[12],
                first_mediator=(row[13] or {}).get("first_mediator"),
                mediators_late={kind: missed[0] for kind, missed in (row[14] or {}).items()},
            )
            for row in rows
        ]

    def desk_counts(self, team_id: str, mediator_id: str, filters: DeskFilters, now: datetime) -> dict[str, int]:
        q = self._desk(team_id, mediator_id, filters, now)
        counting = select(*(func.count().filter(condition) for condition in q.sections.values())).select_from(CaseRow)
        if filters.overdue:
            counting = counting.outerjoin(q.due, q.due.c.case_id == CaseRow.id)
        counts = self.session.execute(counting.where(q.where)).one()
        return {name: int(count) for name, count in zip(q.sections, counts, strict=True)}

    def party_record(self, team_id: str, role: str, user_id: str, excluding: str, since: datetime) -> PartyRecord:
        """A party's record in this workspace, other than case ``excluding``: all time, and since ``since``. One
        statement: the measures of the cases, then the items paid on their contracts."""
        values = {"r_team": team_id, "r_user": user_id, "r_excluding": excluding, "r_since": since}
        found = self.session.execute(_RECORD[role], values).one()
        paid = found[14:]
        tallies = []
        for n, period_items in enumerate((paid[0] + paid[2], paid[1] + paid[3])):
            counted, closed_count, refunded_count, mean, client_won, freelancer_won, split = found[n * 7 : n * 7 + 7]
            tallies.append(
                Tally(
                    cases=int(counted),
                    closed=int(closed_count),
                    refunded=int(refunded_count),
                    refunded_share=float(mean or 0.0),
                    disputes_client_won=int(client_won),
                    disputes_freelancer_won=int(freelancer_won),
                    disputes_split=int(split),
                    paid_items=int(period_items),
                )
            )
        return PartyRecord(role, user_id, recent=tallies[1], all_time=tallies[0])

    def add(self, case: Case) -> None:
        """Insert a new case; another case opened a moment earlier on the same item (or by the same form
        submission) wins through the unique indexes, and this one reports ConcurrentChange."""
        try:
            self.session.execute(
                _ADD_CASE,
                {"id": case.id, "team_id": case.team_id, "contract_id": case.contract_id, "version": 1}
                | self._values(case),
            )
        except IntegrityError:
            raise ConcurrentChange(case.id) from None
        case.version = 1
        self._active[case.id] = []
        self._write_events(case)

    def save(self, case: Case) -> None:
        # The case row first: its compare-and-set on version decides the race before any event is written.
        values = {f"v_{name}": value for name, value in self._values(case).items()}
        changed = self.session.execute(
            _SAVE_CASE, {"b_id": case.id, "b_version": case.version, "b_next": case.version + 1} | values
        )
        if changed.rowcount != 1:
            raise ConcurrentChange(case.id)
        case.version += 1
        self._write_events(case)

    def _write_events(self, case: Case) -> None:
        changed_at = case.updated_at or case.opened_at
        audit: list[dict[str, Any]] = []
        evidence: list[dict[str, Any]] = []
        for event in case.events:
            if isinstance(event, LedgerEntry):
                raise ValueError("ledger entries go through the payments port, not the case repository")
            if isinstance(event, AuditEvent):
                changed_at = max(changed_at, event.at)  # an extension moves the deadline, not updated_at
                audit.append(self._audit_values(case, event))
            elif isinstance(event, Evidence):  # the other events are told, not kept
                evidence.append(self._evidence_values(case, event))
        case.events.clear()
        if audit:
            self.session.execute(_ADD_AUDIT, audit)
        if evidence:
            self.session.execute(_ADD_EVIDENCE, evidence)
            files = [
                {"team_id": case.team_id, "case_id": piece["case_id"], "seq": piece["seq"], "file_id": each["file_id"]}
                for piece in evidence
                for each in piece["files"] or ()
            ]
            if files:
                self.session.execute(_ADD_EVIDENCE_FILES, files)
        self._sync_deadline(case, changed_at)

    def _sync_deadline(self, case: Case, now: datetime) -> None:
        """Retire the active rows the case no longer wants as they are, and add the ones it wants anew, as of
        ``now`` (the change's time)."""
        active = self._active.pop(case.id, None)
        if active is None:
            active = [
                _Active(row.id, DeadlineKind(row.kind), tuple(row.parties), row.due_at, tuple(row.reminder_offsets))
                for row in self.session.execute(
                    select(_DEADLINES).where(_DEADLINES.c.case_id == case.id, _DEADLINES.c.done_at.is_(None))
                )
            ]
        wanted = {deadline.kind: deadline for deadline in case.deadlines}
        retired = []
        for row in active:
            if (want := wanted.get(row.kind)) and (want.parties, want.due_at) == (row.parties, row.due_at):
                del wanted[want.kind]  # already stored as it is
            else:
                retired.append(row.id)
        if retired:  # first, so that the unique (case, kind) active index never sees the old row and the new
            self.session.execute(_RETIRE_DEADLINES, {"b_ids": retired, "b_at": now})
        new = []
        for deadline in wanted.values():
            offsets = tuple(sorted(deadline.reminder_offsets, reverse=True))
            # Offsets already past when the deadline is set (a window shorter than 48 h) are skipped, not sent late.
            plan = plan_reminders(deadline.due_at, offsets, (), now)
            new.append(
                {
                    "team_id": case.team_id,
                    "case_id": case.id,
                    "kind": deadline.kind,
                    "parties": list(deadline.parties),
                    "due_at": deadline.due_at,
                    "reminder_offsets": list(offsets),
                    "reminders_sent": list(plan.sent),
                    "next_at": plan.next_at,
                }
            )
        if new:
            self.session.execute(_ADD_DEADLINES, new)

    @staticmethod
    def _values(case: Case) -> dict[str, Any]:
        return {
            "item_kind": case.item.kind,
            "item_id": case.item.id,
            "item_label": case.item_label,
            "client_id": case.client_id,
            "freelancer_id": case.freelancer_id,
            "currency": case.currency,
            "paid_minor": case.paid.minor,
            "requested_minor": case.requested.minor,
            "offered_minor": case.offered.minor if case.offered else None,
            "refunded_minor": case.refunded.minor,
            "reason": case.reason,
            "response": case.response,
            "stage": case.stage,
            "state": case.state,
            "policy_version": case.policy_version,
            "opened_at": case.opened_at,
            "updated_at": case.updated_at or case.opened_at,
            "updated_by": case.updated_by,
            "closed_at": case.closed_at,
            "transitions": case.transitions,
            "request_key": case.request_key,
            "disputed_minor": case.disputed.minor if case.disputed else None,
            "disputed_minutes": case.disputed_minutes,
            "dispute_reason": case.dispute_reason,
            "statement": case.statement,
            "binding": case.binding,
            "mediator_id": case.mediator_id,
            "proposal_minor": case.proposal.minor if case.proposal else None,
            "rationale": case.rationale,
            "rule": case.rule,
            "cited": list(case.cited),
            "answers": dict(case.answers),
            "award_reference": case.award_reference,
            "outcome_minor": case.outcome.minor if case.outcome else None,
            "appeal": case.appeal.as_json() if case.appeal else None,
            "evidence_count": case.evidence_count,
            "escalated_at": case.escalated_at,
            "extended_by": list(case.extended_by),
            "payout_hold": case.payout_hold,
            "mediators_late": {k: [due.isoformat(), at.isoformat()] for k, (due, at) in case.mediators_late.items()}
            or None,
            "claimed_at": case.claimed_at,
            "acted_at": case.acted_at,
        }

    @staticmethod
    def _evidence_values(case: Case, event: Evidence) -> dict[str, Any]:
        return {
            "team_id": case.team_id,
            "case_id": event.case_id,
            "seq": event.seq,
            "author": event.author,
            "role": event.role,
            "text": event.text,
            "links": list(event.links),
            "visibility": event.visibility,
            "answers": event.answers,
            "at": event.at,
            "files": [asdict(each) for each in event.files] or None,
            "intake": event.intake,
        }

    @staticmethod
    def _audit_values(case: Case, event: AuditEvent) -> dict[str, Any]:
        return {
            "team_id": case.team_id,
            "case_id": event.case_id,
            "seq": event.seq,
            "actor": event.actor,
            "stage": event.stage,
            "from_state": event.from_state,
            "to_state": event.to_state,
            "amount_minor": event.amount.minor if event.amount else None,
            "currency": event.amount.currency if event.amount else None,
            "rationale": event.rationale,
            "rule": event.rule,
            "cited": list(event.cited) or None,
            "policy_version": event.policy_version,
            "at": event.at,
        }

    @staticmethod
    def _case(row: Row[Any], active: list[_Active]) -> Case:
        deadlines = {d.kind: Deadline(d.kind, d.parties, d.due_at, d.reminder_offsets) for d in active}
        review = deadlines.pop(DeadlineKind.REVIEW_WINDOW, None)
        appeal_window = deadlines.pop(DeadlineKind.APPEAL_WINDOW, None)
        theirs = tuple(deadlines.pop(kind) for kind in list(deadlines) if kind in MEDIATOR_DEADLINES)
        return Case(
            id=row.id,
            team_id=row.team_id,
            contract_id=row.contract_id,
            item=ItemRef(ItemKind(row.item_kind), row.item_id),
            item_label=row.item_label,
            client_id=row.client_id,
            freelancer_id=row.freelancer_id,
            paid=Money(row.paid_minor, row.currency),
            requested=Money(row.requested_minor, row.currency),
            reason=row.reason,
            policy_version=row.policy_version,
            opened_at=row.opened_at,
            stage=Stage(row.stage),
            state=State(row.state),
            offered=_money(row.offered_minor, row.currency),
            refunded=Money(row.refunded_minor, row.currency),
            response=row.response,
            deadline=next(iter(deadlines.values()), None),
            review_deadline=review,
            appeal_deadline=appeal_window,
            updated_by=row.updated_by,
            updated_at=row.updated_at,
            closed_at=row.closed_at,
            transitions=row.transitions,
            request_key=row.request_key,
            disputed=_money(row.disputed_minor, row.currency),
            disputed_minutes=row.disputed_minutes,
            dispute_reason=row.dispute_reason,
            statement=row.statement,
            binding=row.binding,
            mediator_id=row.mediator_id,
            proposal=_money(row.proposal_minor, row.currency),
            rationale=row.rationale,
            rule=row.rule,
            cited=tuple(row.cited or ()),
            answers=dict(row.answers or {}),
            award_reference=row.award_reference,
            outcome=_money(row.outcome_minor, row.currency),
            appeal=Appeal.from_json(row.appeal, row.currency) if row.appeal else None,
            evidence_count=row.evidence_count,
            escalated_at=row.escalated_at,
            mediator_deadlines=theirs,
            mediators_late={
                kind: (datetime.fromisoformat(due), datetime.fromisoformat(at))
                for kind, (due, at) in (row.mediators_late or {}).items()
            },
            claimed_at=row.claimed_at,
            acted_at=row.acted_at,
            extended_by=tuple(row.extended_by or ()),
            payout_hold=row.payout_hold,
            version=row.version,
        )


# What a case or an item refunded: its refunds less the refund reversals of reviewed appeals.
_REFUNDED = func.coalesce(
    func.sum(
        sa_case(
            (LedgerRow.kind == LedgerKind.REFUND, LedgerRow.amount_minor),
            (LedgerRow.kind == LedgerKind.REFUND_REVERSAL, -LedgerRow.amount_minor),
            else_=0,
        )
    ),
    0,
)
# Built once (every transition that pays reads it, and every case view): the item's refunds, bound at execution.
_REFUNDED_ON_ITEM = select(_REFUNDED).where(
    LedgerRow.team_id == bindparam("b_team"),
    LedgerRow.contract_id == bindparam("b_contract"),
    LedgerRow.item_kind == bindparam("b_kind"),
    LedgerRow.item_id == bindparam("b_item"),
)
_ADD_LEDGER = insert(LedgerRow.__table__).returning(LedgerRow.__table__.c.id)


class LedgerRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, entry: LedgerEntry) -> int:
        """Appended with Core (an ORM flush of one row cost more than the insert), its id returned."""
        row = {
            "team_id": entry.team_id,
            "case_id": entry.case_id,
            "contract_id": entry.contract_id,
            "item_kind": entry.item.kind,
            "item_id": entry.item.id,
            "kind": entry.kind,
            "amount_minor": entry.amount.minor,
            "currency": entry.amount.currency,
            "actor": entry.actor,
            "policy_version": entry.policy_version,
            "at": entry.at,
        }
        return int(self.session.execute(_ADD_LEDGER, row).scalar_one())

    def record_answer(self, answer: PayoutAnswer) -> bool:
        builder = pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        kept = self.session.execute(
            builder(PayoutAnswerRow.__table__)
            .values(
                entry_id=answer.entry_id,
                outcome=answer.outcome,
                reason=answer.reason,
                reference=answer.reference,
                answered_at=answer.at,
            )
            .on_conflict_do_nothing(index_elements=["entry_id"])
        )
        return bool(kept.rowcount)

    def refunded_on_item(self, team_id: str, contract_id: str, item: ItemRef, currency: str) -> Money:
        return Money(int(self.session.scalar(_REFUNDED_ON_ITEM, _on_item(team_id, contract_id, item)) or 0), currency)

    def refunded_on_items(self, team_id: str, items: set[tuple[str, ItemRef]]) -> dict[tuple[str, ItemRef], int]:
        """What was refunded on each (contract, item), in minor units, in one query; nothing refunded is 0."""
        if not items:
            return {}
        rows = self.session.execute(
            select(LedgerRow.contract_id, LedgerRow.item_kind, LedgerRow.item_id, _REFUNDED)
            .where(
                LedgerRow.team_id == team_id,
                LedgerRow.contract_id.in_({contract_id for contract_id, _ in items}),
            )
            .group_by(LedgerRow.contract_id, LedgerRow.item_kind, LedgerRow.item_id)
        )
        found = {
            (contract_id, ItemRef(ItemKind(kind), item_id)): int(total) for contract_id, kind, item_id, total in rows
        }
        return {pair: found.get(pair, 0) for pair in items}

    def for_case(self, case_id: str) -> list[LedgerEntry]:
        rows = self.session.scalars(select(LedgerRow).where(LedgerRow.case_id == case_id).order_by(LedgerRow.id))
        return [self._entry(row) for row in rows]

    def entry(self, entry_id: int) -> LedgerEntry | None:
        row = self.session.get(LedgerRow, entry_id)
        return self._entry(row) if row is not None else None

    def refusal(self, entry_id: int) -> str | None:
        answer = self.session.get(PayoutAnswerRow, entry_id)
        return (answer.reason or "") if answer is not None and answer.outcome == "refused" else None

    def forget_answer(self, entry_id: int) -> None:
        self.session.execute(delete(PayoutAnswerRow).where(PayoutAnswerRow.entry_id == entry_id))

    @staticmethod
    def _entry(row: LedgerRow) -> LedgerEntry:
        return LedgerEntry(
            team_id=row.team_id,
            case_id=row.case_id,
            contract_id=row.contract_id,
            item=ItemRef(ItemKind(row.item_kind), row.item_id),
            kind=LedgerKind(row.kind),
            amount=Money(row.amount_minor, row.currency),
            actor=row.actor,
            policy_version=row.policy_version,
            at=row.at,
        )


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def for_case(self, case_id: str) -> list[AuditEvent]:
        rows = self.session.scalars(select(AuditRow).where(AuditRow.case_id == case_id).order_by(AuditRow.seq))
        return [
            AuditEvent(
                case_id=row.case_id,
                seq=row.seq,
                actor=row.actor,
                stage=Stage(row.stage),
                from_state=State(row.from_state) if row.from_state else None,
                to_state=State(row.to_state),
                amount=_money(row.amount_minor, row.currency),
                rationale=row.rationale,
                policy_version=row.policy_version,
                at=row.at,
                rule=row.rule,
                cited=tuple(row.cited or ()),
            )
            for row in rows
        ]


class EvidenceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def for_case(self, case_id: str) -> list[Evidence]:
        return [_piece(row) for row in self.session.execute(_CASE_EVIDENCE, {"e_case": case_id})]

    def holding(self, team_id: str, file_id: str) -> list[Evidence]:
        """Every piece that carries this Slack file and whose read of it found nothing wrong yet."""
        found = self.session.execute(
            select(_EVIDENCE)
            .join(
                EvidenceFileRow,
                (EvidenceFileRow.team_id == _EVIDENCE.c.team_id)
                & (EvidenceFileRow.case_id == _EVIDENCE.c.case_id)
                & (EvidenceFileRow.seq == _EVIDENCE.c.seq),
            )
            .where(
                EvidenceFileRow.team_id == team_id, EvidenceFileRow.file_id == file_id, EvidenceFileRow.found.is_(None)
            )
            .order_by(_EVIDENCE.c.id)
        )
        return [_piece(row) for row in found]

    def note_found(self, team_id: str, case_id: str, seq: int, file_id: str, found: str, at: datetime) -> bool:
        """Record what a read of the file found (``changed``, ``removed``), once: False when it was already."""
        noted = self.session.execute(
            update(EvidenceFileRow)
            .where(
                EvidenceFileRow.team_id == team_id,
                EvidenceFileRow.case_id == case_id,
                EvidenceFileRow.seq == seq,
                EvidenceFileRow.file_id == file_id,
                EvidenceFileRow.found.is_(None),
            )
            .values(found=found, found_at=at)
        )
        return noted.rowcount == 1

    def has_intake(self, team_id: str, intake: str) -> bool:
        """Whether the piece a form's files were read for is already recorded (its reading was retried)."""
        return self.session.execute(_INTAKE, {"e_team": team_id, "e_intake": intake}).first() is not None


def _piece(row: Any) -> Evidence:
    return Evidence(
        case_id=row.case_id,
        seq=row.seq,
        author=row.author,
        role=row.role,
        text=row.text,
        links=tuple(row.links),
        visibility=Visibility(row.visibility),
        at=row.at,
        answers=row.answers,
        files=tuple(EvidenceFile(**each) for each in row.files or ()),
        intake=row.intake,
    )


class QuestionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, team_id: str, question: Question) -> Question:
        row = QuestionRow(
            team_id=team_id,
            case_id=question.case_id,
            asked_by=question.asked_by,
            asked=question.asked,
            text=question.text,
            at=question.at,
        )
        self.session.add(row)
        self.session.flush()
        return replace(question, id=row.id)

    def get(self, team_id: str, question_id: int) -> Question | None:
        row = self.session.get(QuestionRow, question_id)
        if row is None or row.team_id != team_id:
            return None
        return Question(row.case_id, row.asked_by, row.asked, row.text, row.at, row.id)


class PolicyRepository:
    """A stored version's numbers never change (``register`` refuses that), so each is read once per database:
    ``known`` is shared by every unit of work on the same sessions."""

    def __init__(self, session: Session, known: dict[str, Policy] | None = None) -> None:
        self.session = session
        self.known = {} if known is None else known

    def register(self, policy: Policy, now: datetime) -> None:
        """Store this version's numbers the first time; refuse the same version with other numbers."""
        numbers = policy.numbers()
        row = self.session.get(PolicyRow, policy.version)
        if row is None:
            self.session.add(PolicyRow(version=policy.version, numbers=numbers, registered_at=now))
            self.session.flush()
        elif (stored := Policy.from_numbers(row.numbers)) != policy:
            # Compared as policies, not JSON: a version stored before a rule existed has that rule's default.
            was = stored.numbers()
            changed = sorted(k for k in numbers if numbers[k] != was.get(k))
            raise PolicyConflict(
                f"policy version {policy.version} is already stored with other numbers ({', '.join(changed)}); "
                "give the policy file a new version so cases opened under the old rules keep them"
            )

    def get(self, version: str) -> Policy | None:
        if (policy := self.known.get(version)) is None:
            row = self.session.get(PolicyRow, version)
            if row is None:
                return None
            policy = self.known[version] = Policy.from_numbers(row.numbers)
        return policy
