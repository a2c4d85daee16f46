"""The scheduler's SQL: lease deadlines whose next reminder or due time has come, with a lease."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from bot.domain.vocabulary import DeadlineKind
from bot.services.ports import LeasedDeadline, ReminderState
from storage import leases
from storage.tables import DeadlineRow

_TABLE = DeadlineRow.__table__
# One statement for a batch of reminders (an executemany), only where this instance still holds the lease.
_REMINDED = (
    update(_TABLE)
    .where(
        _TABLE.c.id == bindparam("b_id"),
        _TABLE.c.lease_owner == bindparam("b_owner"),
        _TABLE.c.done_at.is_(None),
    )
    .values(reminders_sent=bindparam("b_sent"), next_at=bindparam("b_next"), lease_owner=None, lease_until=None)
)


class DeadlineRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def lease_due(self, owner: str, now: datetime, lease: timedelta, limit: int) -> list[LeasedDeadline]:
        """Lease deadlines that need acting on; another instance's live lease keeps them from us (index-backed:
        ix_deadlines_due on next_at, active rows only)."""
        rows = leases.lease_due(
            self.session,
            "deadlines",
            DeadlineRow,
            lambda free: (
                select(DeadlineRow.id)
                .where(DeadlineRow.done_at.is_(None), DeadlineRow.next_at <= leases.NOW, free)
                .order_by(DeadlineRow.next_at)
                .limit(leases.LIMIT)
            ),
            owner=owner,
            now=now,
            lease=lease,
            limit=limit,
            also=[DeadlineRow.done_at.is_(None)],
            returning=[
                DeadlineRow.id,
                DeadlineRow.team_id,
                DeadlineRow.case_id,
                DeadlineRow.kind,
                DeadlineRow.due_at,
                DeadlineRow.next_at,
            ],
        )
        return [
            LeasedDeadline(row.id, row.team_id, row.case_id, DeadlineKind(row.kind), row.due_at)
            for row in sorted(rows, key=lambda row: row.next_at)
        ]

    def reminder_states(self, deadline_ids: list[int]) -> dict[int, ReminderState]:
        rows = self.session.execute(
            select(DeadlineRow.id, DeadlineRow.parties, DeadlineRow.reminder_offsets, DeadlineRow.reminders_sent).where(
                DeadlineRow.id.in_(deadline_ids)
            )
        )
        return {
            row.id: ReminderState(tuple(row.parties), tuple(row.reminder_offsets), tuple(row.reminders_sent))
            for row in rows
        }

    def reminded_all(self, owner: str, marks: list[tuple[int, tuple[float, ...], datetime]]) -> None:
        """Record, for each deadline, the reminders accounted for and when to look again; only those whose lease
        this instance holds."""
        if marks:
            self.session.connection().execute(
                _REMINDED, [{"b_id": i, "b_sent": list(sent), "b_next": at, "b_owner": owner} for i, sent, at in marks]
            )

    def finish(self, deadline_id: int, owner: str, now: datetime) -> bool:
        """Retire a deadline that needs nothing more (a reminder-only one whose time has come or gone)."""
        result = self.session.execute(
            update(DeadlineRow)
            .where(DeadlineRow.id == deadline_id, DeadlineRow.lease_owner == owner, DeadlineRow.done_at.is_(None))
            .values(done_at=now, lease_owner=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)
