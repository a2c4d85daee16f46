"""People's locales, as the relay last learnt them from Slack."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.tables import PersonRow

_PEOPLE = PersonRow.__table__
# Built once: the relay asks it of each reader it has not held yet.
_KNOWN = select(_PEOPLE.c.locale, _PEOPLE.c.checked_at).where(
    _PEOPLE.c.team_id == bindparam("p_team"), _PEOPLE.c.user_id == bindparam("p_user")
)


class PeopleRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def known(self, team_id: str, user_id: str) -> tuple[str, datetime] | None:
        """The locale last learnt and when."""
        row = self.session.execute(_KNOWN, {"p_team": team_id, "p_user": user_id}).first()
        return (row.locale, row.checked_at) if row else None

    def locale(self, team_id: str, user_id: str) -> str | None:
        found = self.known(team_id, user_id)
        return found[0] if found else None

    def remember(self, team_id: str, user_id: str, locale: str, now: datetime) -> None:
        """Two relays learning the same person at once both write the same answer: the later one stands."""
        builder = pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = builder(PersonRow.__table__).values(team_id=team_id, user_id=user_id, locale=locale, checked_at=now)
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["team_id", "user_id"],
                set_={"locale": statement.excluded.locale, "checked_at": statement.excluded.checked_at},
            )
        )
