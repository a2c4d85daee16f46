"""Many cases at once, for the scheduler's scale tests and bench/tick.py: one real case is made through the
services, then copied in SQL (INSERT … SELECT over a counting CTE), on SQLite and PostgreSQL alike.

Each copy gets its own item (one open case per item), its own audit row and its own deadline; only the first
``due`` copies' deadlines have come, the rest are due a year later, as in a live system."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Integer, String, Table, cast, func, insert, literal, select, true
from sqlalchemy import case as when
from sqlalchemy.orm import Session

from bot.domain.case import Case
from bot.domain.policy import Policy
from bot.services.core import Deps
from bot.services.importing import DEMO, import_contracts, read_import_file
from bot.services.ports import UnitOfWork
from bot.services.requests import RequestRefund, request_refund
from storage.tables import AuditRow, CaseRow, DeadlineRow, MilestoneRow


def demo_request(uow: Callable[[], UnitOfWork], policy: Policy, at: datetime) -> Case:
    """The demo set, and one waiting $10.00 request on its milestone "Concepts" opened ``at``."""
    import_contracts(read_import_file(DEMO), uow(), at, policy)
    ask = RequestRefund(
        team_id="T0DEMO01",
        user_id="U0CLIENT01",
        contract_id="C-100",
        item_key="milestone:M-1",
        amount="10.00",
        reason="One of many.",
        request_key="template",
    )
    return request_refund(Deps(uow=uow, clock=lambda: at, policy=policy), ask)


def _copy(
    session: Session,
    table: Table,
    where: ColumnElement[bool],
    count: int,
    changed: dict[str, object],
    start: int,
) -> None:
    """Insert ``count`` copies of the row ``where`` picks; ``changed`` maps columns to values or to callables
    of the copy's number (a SQL expression)."""
    numbers = select(literal(start, Integer).label("n")).cte("numbers", recursive=True)
    numbers = numbers.union_all(select(numbers.c.n + 1).where(numbers.c.n < start + count - 1))
    template = select(table).where(where).subquery()
    columns = [c.name for c in table.columns if c.name in changed or not (c.primary_key and c.autoincrement is True)]
    exprs = []
    for name in columns:
        value = changed.get(name, template.c[name])
        exprs.append(value(numbers.c.n) if callable(value) else value)
    session.execute(insert(table).from_select(columns, select(*exprs).select_from(template).join(numbers, true())))


def _tag(prefix: str) -> object:
    return lambda n: literal(prefix, String) + cast(n, String)


def copy_case(
    session: Session,
    template_id: str,
    count: int,
    *,
    due: int,
    next_at: datetime,
    prefix: str = "B",
    start: int = 1,
    freelancers: int | None = None,
) -> None:
    """``count`` copies of case ``template_id`` (a waiting request on a milestone), ids ``prefix1…``; the
    first ``due`` have their deadline's next step at ``next_at``, the others a year after it. With
    ``freelancers``, the copies' freelancers are that many different people (U0F0…), not the template's."""
    case = session.get(CaseRow, template_id)
    assert case is not None, template_id
    milestone = (MilestoneRow.contract_id == case.contract_id) & (MilestoneRow.id == case.item_id)
    _copy(session, MilestoneRow.__table__, milestone, count, {"id": _tag(f"{prefix}-M")}, start)
    person = (lambda n: literal("U0F", String) + cast(n % freelancers, String)) if freelancers else None
    cases: dict[str, object] = {"id": _tag(prefix), "item_id": _tag(f"{prefix}-M"), "request_key": None}
    deadlines: dict[str, object] = {
        "case_id": _tag(prefix),
        "next_at": lambda n: when((n < start + due, literal(next_at)), else_=literal(next_at + timedelta(days=365))),
    }
    if person:
        array = func.json_build_array if session.get_bind().dialect.name == "postgresql" else func.json_array
        cases["freelancer_id"] = person
        deadlines["parties"] = lambda n: array(person(n))
    _copy(session, CaseRow.__table__, CaseRow.id == template_id, count, cases, start)
    _copy(session, AuditRow.__table__, AuditRow.case_id == template_id, count, {"case_id": _tag(prefix)}, start)
    active = (DeadlineRow.case_id == template_id) & DeadlineRow.done_at.is_(None)
    _copy(session, DeadlineRow.__table__, active, count, deadlines, start)
