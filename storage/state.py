"""The figures an operator watches, read at a scrape (``bot.metrics``): the outbox, the deadlines, the cases."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain.money import Money
from storage.outbox import OutboxRepository
from storage.tables import CaseRow, DeadlineRow, LedgerRow

# A deadline passed this long ago and still not applied means no ticker is running (they tick every 5 s).
OVERDUE_AFTER = timedelta(minutes=1)


def operations(session: Session, now: datetime) -> dict[str, Any]:
    outbox = OutboxRepository(session)
    oldest = outbox.oldest_pending()
    active = DeadlineRow.done_at.is_(None)
    return {
        "outbox": outbox.counts(),
        "payouts": outbox.counts(payouts=True),
        "payouts_on_hold": session.scalar(select(func.count()).where(CaseRow.payout_hold.is_not(None))) or 0,
        "oldest_pending_seconds": max((now - oldest[0]).total_seconds(), 0.0) if oldest else 0.0,
        "deadlines_due": session.scalar(select(func.count()).where(active, DeadlineRow.next_at <= now)) or 0,
        "deadlines_overdue": session.scalar(
            select(func.count()).where(active, DeadlineRow.due_at <= now - OVERDUE_AFTER)
        )
        or 0,
        "cases_by_stage": {
            stage: count
            for stage, count in session.execute(
                select(CaseRow.stage, func.count()).where(CaseRow.closed_at.is_(None)).group_by(CaseRow.stage)
            )
        },
    }


def next_deadline(session: Session) -> dict[str, Any] | None:
    """The next moment a deadline acts (a reminder, or its expiry), and what it is: the sandbox's clock jumps there."""
    row = session.execute(
        select(DeadlineRow.case_id, DeadlineRow.kind, DeadlineRow.next_at, DeadlineRow.due_at)
        .where(DeadlineRow.done_at.is_(None))
        .order_by(DeadlineRow.next_at, DeadlineRow.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    return {"case_id": row.case_id, "kind": row.kind, "at": row.next_at, "reminder": row.next_at < row.due_at}


def recent_ledger(session: Session, limit: int) -> list[dict[str, Any]]:
    """The newest ledger entries, newest first."""
    rows = session.scalars(select(LedgerRow).order_by(LedgerRow.id.desc()).limit(limit))
    return [
        {
            "id": row.id,
            "case_id": row.case_id,
            "kind": row.kind,
            "amount": str(Money(row.amount_minor, row.currency).amount),
            "currency": row.currency,
            "actor": row.actor,
            "at": row.at,
        }
        for row in rows
    ]
