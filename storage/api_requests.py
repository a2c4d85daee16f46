"""The marketplace API's replay guard: each signed push is taken once."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.services.ports import StorageUnavailable
from storage.tables import ApiRequestRow


class ApiRequests:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def first_time(self, signature: str, now: datetime, keep: timedelta) -> bool:
        """Record a signature; False if it was seen before (a replay). Those older than ``keep`` are forgotten
        on the way: a request that old is refused as stale before it gets here."""
        digest = hashlib.sha256(signature.encode()).hexdigest()
        try:
            with self.sessions.begin() as session:
                session.execute(delete(ApiRequestRow).where(ApiRequestRow.seen_at < now - keep))
                session.execute(insert(ApiRequestRow).values(signature=digest, seen_at=now))
        except IntegrityError:
            return False
        except OperationalError as exc:
            raise StorageUnavailable(str(exc.orig or exc)) from None
        return True

    def forget(self, signature: str) -> None:
        """A request that failed on our side (the database, mid-import) may be sent again as it was."""
        digest = hashlib.sha256(signature.encode()).hexdigest()
        with self.sessions.begin() as session:
            session.execute(delete(ApiRequestRow).where(ApiRequestRow.signature == digest))
