"""Many cases at once, for the scheduler's scale tests and bench/tick.py: one real case is made through the
services, then copied in SQL (INSERT … SELECT over a counting CTE), on SQLite and PostgreSQL alike.

Each copy gets its own item (one open case per item), its own audit row and its own deadline; only the first
``due`` copies' deadlines have come, the rest are due a year later, as in a live system."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Integer, String, Table, cast, insert, literal, select, true
from sqlalchemy import case as when
from sqlalchemy.orm import Session

from storage.tables import AuditRow, CaseRow, DeadlineRow, MilestoneRow


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
) -> None:
    """``count`` copies of case ``template_id`` (a waiting request on a milestone), ids ``prefix1…``; the
    first ``due`` have their deadline's next step at ``next_at``, the others a year after it."""
    case = session.get(CaseRow, template_id)
    assert case is not None, template_id
    milestone = (MilestoneRow.contract_id == case.contract_id) & (MilestoneRow.id == case.item_id)
    _copy(session, MilestoneRow.__table__, milestone, count, {"id": _tag(f"{prefix}-M")}, start)
    _copy(
        session,
        CaseRow.__table__,
        CaseRow.id == template_id,
        count,
        {"id": _tag(prefix), "item_id": _tag(f"{prefix}-M"), "request_key": None},
        start,
    )
    _copy(session, AuditRow.__table__, AuditRow.case_id == template_id, count, {"case_id": _tag(prefix)}, start)
    later = next_at + timedelta(days=365)
    _copy(
        session,
        DeadlineRow.__table__,
        (DeadlineRow.case_id == template_id) & DeadlineRow.done_at.is_(None),
        count,
        {
            "case_id": _tag(prefix),
            "next_at": lambda n: when((n < start + due, literal(next_at)), else_=literal(later)),
        },
        start,
    )
