"""Each workspace's own mediators (``bot.services.roster.Desk``), kept in ``workspaces``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.vocabulary import Assignment
from bot.services.roster import Desk
from storage.tables import WorkspaceRow


class WorkspaceDesks:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def __call__(self) -> dict[str, Desk]:
        with self.sessions() as session:
            return {row.team_id: _desk(row) for row in session.scalars(select(WorkspaceRow))}

    def set(self, team_id: str, desk: Desk, now: datetime) -> None:
        with self.sessions.begin() as session:
            row = session.get(WorkspaceRow, team_id) or WorkspaceRow(team_id=team_id)
            row.mediator_channel_id = desk.channel
            row.mediator_user_ids = sorted(desk.users)
            row.mediator_usergroup_id = desk.group
            row.assignment = desk.assignment.value
            row.lead_user_ids = sorted(desk.leads)
            row.lead_usergroup_id = desk.lead_group
            row.updated_at = now
            session.add(row)


def _desk(row: WorkspaceRow) -> Desk:
    return Desk(
        row.mediator_channel_id,
        frozenset(row.mediator_user_ids),
        row.mediator_usergroup_id,
        Assignment(row.assignment or Assignment.OFF),
        frozenset(row.lead_user_ids or ()),
        row.lead_usergroup_id,
    )
