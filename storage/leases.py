"""Claiming rows with a lease: the one mechanism behind the outbox relay and the scheduler (design §5)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import BindParameter, ColumnElement, Row, Select, Update, bindparam, update
from sqlalchemy.orm import Session

# What changes from one lease to the next is bound at execution, so each lease statement is built (and its cache key
# made) once: building it was most of an empty poll's CPU, and the relay and the ticker poll all the time.
NOW: BindParameter[Any] = bindparam("lease_now")
LIMIT: BindParameter[Any] = bindparam("lease_limit")
_OWNER, _UNTIL = bindparam("lease_owner_value"), bindparam("lease_until_value")
_BUILT: dict[tuple[Hashable, str], Update] = {}


class Leasable(Protocol):
    id: Any
    lease_owner: Any
    lease_until: Any


def lease_free(model: type[Leasable]) -> ColumnElement[bool]:
    """Never leased, or the instance that held the lease let it run out (it crashed, or hung), as of ``NOW``."""
    return model.lease_until.is_(None) | (model.lease_until < NOW)


def lease_due(
    session: Session,
    key: Hashable,
    model: type[Leasable],
    candidates: Callable[[ColumnElement[bool]], Select[Any]],
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    also: Sequence[ColumnElement[bool]] = (),
    returning: Sequence[ColumnElement[Any]] = (),
    **values: Any,
) -> Sequence[Row[Any]]:
    """Lease the rows ``candidates`` picks among the free ones (using ``NOW`` and ``LIMIT``), and return their
    ``returning`` columns (all by default) as plain rows: building ORM objects, and decoding columns nobody reads,
    is most of a large lease's time. ``key`` names the statement, built the first time and reused after: what it
    is built from must not change between calls.

    PostgreSQL skips rows another instance is leasing (SKIP LOCKED); the lease is checked again in the UPDATE,
    which is what keeps SQLite (no SKIP LOCKED) and READ COMMITTED from handing one row to two instances.
    """
    dialect = session.get_bind().dialect.name
    if (statement := _BUILT.get((key, dialect))) is None:
        free = lease_free(model)
        picked = candidates(free)
        if dialect == "postgresql":
            picked = picked.with_for_update(skip_locked=True)
        table = model.__table__  # type: ignore[attr-defined]  (Core: plain rows, only the columns asked for)
        statement = _BUILT[key, dialect] = (
            update(table)
            .where(model.id.in_(picked.scalar_subquery()), free, *also)
            .values(lease_owner=_OWNER, lease_until=_UNTIL, **values)
            .returning(*(returning or table.columns))
        )
    bound = {"lease_now": now, "lease_limit": limit, "lease_owner_value": owner, "lease_until_value": now + lease}
    return session.execute(statement, bound).all()
