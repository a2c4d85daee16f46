"""Claiming rows with a lease: the one mechanism behind the outbox relay and the scheduler (design §5)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Row, Select, update
from sqlalchemy.orm import Session


class Leasable(Protocol):
    id: Any
    lease_owner: Any
    lease_until: Any


def lease_free(model: type[Leasable], now: datetime) -> ColumnElement[bool]:
    """Never leased, or the instance that held the lease let it run out (it crashed, or hung)."""
    return model.lease_until.is_(None) | (model.lease_until < now)


def lease_due(
    session: Session,
    model: type[Leasable],
    candidates: Callable[[ColumnElement[bool]], Select[Any]],
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    also: Sequence[ColumnElement[bool]] = (),
    returning: Sequence[ColumnElement[Any]] = (),
    **values: Any,
) -> Sequence[Row[Any]]:
    """Lease the rows ``candidates`` picks among the free ones, and return their ``returning`` columns (all by
    default) as plain rows: building ORM objects, and decoding columns nobody reads, is most of a large
    lease's time.

    PostgreSQL skips rows another instance is leasing (SKIP LOCKED); the lease is checked again in the UPDATE,
    which is what keeps SQLite (no SKIP LOCKED) and READ COMMITTED from handing one row to two instances.
    """
    free = lease_free(model, now)
    picked = candidates(free)
    if session.get_bind().dialect.name == "postgresql":
        picked = picked.with_for_update(skip_locked=True)
    table = model.__table__  # type: ignore[attr-defined]  (Core: plain rows, only the columns asked for)
    return session.execute(
        update(table)
        .where(model.id.in_(picked.scalar_subquery()), free, *also)
        .values(lease_owner=owner, lease_until=now + lease, **values)
        .returning(*(returning or table.columns))
    ).all()
