"""The mediators as assignment weighs them (issue 38): each one's open cases, availability and turn, per
workspace; and the cases that wait for a mediator."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bot.domain.assignment import Standing
from bot.domain.vocabulary import CLAIMABLE, WITH_MEDIATOR
from storage.tables import CaseRow, MediatorRow

# Which team's assignments hold the lock is in the key: hashtext of a prefixed team id.
_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('refundbot-assign:' || :team))")
# SQLite: a write that changes nothing still takes the database's one write lock (and this process's writer queue,
# storage.db), which every hand-out, in any workspace, then waits for.
_WRITE_LOCK = text("UPDATE mediators SET updated_at = updated_at WHERE 0 = 1")


class MediatorRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def lock(self, team_id: str) -> None:
        """Hand one of the workspace's cases out at a time, to the transaction's end: two at once would otherwise
        both read the same mediator's load and turn before either wrote."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(_LOCK, {"team": team_id})
        else:
            self.session.execute(_WRITE_LOCK)

    def standings(self, team_id: str, users: Iterable[str]) -> list[Standing]:
        """``users`` (and anyone who holds an open case or has a row here), as assignment weighs them."""
        held = self.loads(team_id)
        rows = {
            row.user_id: row for row in self.session.scalars(select(MediatorRow).where(MediatorRow.team_id == team_id))
        }
        everyone = set(users) | set(held) | set(rows)
        return [
            Standing(
                user,
                held.get(user, 0),
                rows[user].last_assigned_at if user in rows else None,
                rows[user].away_until if user in rows else None,
            )
            for user in sorted(everyone)
        ]

    def loads(self, team_id: str) -> dict[str, int]:
        counted = self.session.execute(
            select(CaseRow.mediator_id, func.count())
            .where(
                CaseRow.team_id == team_id,
                CaseRow.closed_at.is_(None),
                CaseRow.state.in_(sorted(WITH_MEDIATOR)),
                CaseRow.mediator_id.is_not(None),
            )
            .group_by(CaseRow.mediator_id)
        )
        return {user: n for user, n in counted if user is not None}

    def assigned(self, team_id: str, user_id: str, now: datetime) -> None:
        row = self._row(team_id, user_id, now)
        row.last_assigned_at = now

    def set_away(self, team_id: str, user_id: str, until: datetime | None, now: datetime) -> None:
        row = self._row(team_id, user_id, now)
        row.away_until = until

    def _row(self, team_id: str, user_id: str, now: datetime) -> MediatorRow:
        row = self.session.get(MediatorRow, (team_id, user_id))
        if row is None:
            row = MediatorRow(team_id=team_id, user_id=user_id)
            self.session.add(row)
        row.updated_at = now
        return row

    def waiting(self, within: Collection[str] | None, besides: Collection[str], limit: int) -> list[tuple[str, str]]:
        """(team, case) of open cases that wait for a mediator, longest waiting first: in the workspaces
        ``within`` (None: every one) but not those ``besides``."""
        where = [CaseRow.closed_at.is_(None), CaseRow.state.in_(sorted(CLAIMABLE)), CaseRow.mediator_id.is_(None)]
        if within is not None:
            where.append(CaseRow.team_id.in_(sorted(within)))
        if besides:
            where.append(CaseRow.team_id.not_in(sorted(besides)))
        found = self.session.execute(
            select(CaseRow.team_id, CaseRow.id).where(*where).order_by(CaseRow.updated_at, CaseRow.id).limit(limit)
        )
        return [(team, case) for team, case in found]

    def teams(self) -> list[str]:
        """The workspaces this database knows: those with cases or with mediators' rows."""
        known = select(CaseRow.team_id).distinct().union(select(MediatorRow.team_id).distinct())
        return sorted(self.session.scalars(known))
