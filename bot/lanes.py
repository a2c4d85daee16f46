"""A lane of the outbox worked off the request path by a worker of its own (``storage.outbox.Lane``): the payouts
sender (``bot.payouts``) and the files reader (``bot.files``). Each leases the next row of each of its streams,
works it, and settles it: done, tried again later with back-off (following a ``Retry-After``), or parked as dead
for the operator (`refundbot outbox retry --dead`) once no retry can help or the attempts run out.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.logs import about
from bot.services.ports import StorageUnavailable
from storage.db import background
from storage.outbox import Lane, LeasedMessage, OutboxRepository


class Undeliverable(Exception):
    """Not done, permanently (the operator must look) or not."""

    def __init__(self, error: str, *, permanent: bool) -> None:
        super().__init__(error)
        self.error = error
        self.permanent = permanent


class Later(Undeliverable):
    """Not done, or answered "not now": try again after ``wait`` (or the back-off)."""

    def __init__(self, error: str, wait: timedelta | None = None) -> None:
        super().__init__(error, permanent=False)
        self.wait = wait


class Dead(Undeliverable):
    """Answered in a way no retry can change: the operator must look."""

    def __init__(self, error: str) -> None:
        super().__init__(error, permanent=True)


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """What a lane's HTTP client does with a redirect: follows none. A payment instruction is never re-sent
    elsewhere on an endpoint's say-so, and a bot token never goes where Slack points (it redirects a download it
    will not serve to its sign-in page)."""

    def redirect_request(self, *_: Any, **__: Any) -> None:
        return None


class LaneWorker:
    lane: Lane
    log: logging.Logger

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        owner: str,
        clock: Callable[[], datetime],
        lease: timedelta,
        batch: int,
        max_attempts: int,
        first_wait: timedelta,
        max_wait: timedelta,
    ) -> None:
        self.sessions = sessions
        self.owner = owner
        self.clock = clock
        self.lease = lease
        self.batch = batch
        self.max_attempts = max_attempts
        self.first_wait = first_wait
        self.max_wait = max_wait
        self.wake = threading.Event()
        self._database_warned_at = -60.0

    def work(self, row: LeasedMessage) -> None:
        """Do what the row asks; raise ``Later`` or ``Dead`` when it is not done."""
        raise NotImplementedError

    def describe(self, row: LeasedMessage) -> str:
        """The row, as the log names it."""
        raise NotImplementedError

    def run_once(self) -> int:
        """Work the rows due now, each stream's next one; returns how many were attempted."""
        with background():
            with self.sessions.begin() as session:
                rows = OutboxRepository(session).lease_due(
                    self.owner, self.clock(), self.lease, self.batch, lane=self.lane
                )
            for row in rows:
                with about(team=row.team_id, case=row.view.get("case") or row.view.get("case_id")):
                    self._work(row)
        return len(rows)

    def run(self, stop: threading.Event, idle: float = 1.0) -> None:
        while not stop.is_set():
            try:
                if self.run_once():
                    continue
            except (SQLAlchemyError, StorageUnavailable) as exc:  # leased rows come back when their lease ends
                if time.monotonic() - self._database_warned_at >= 60:
                    self._database_warned_at = time.monotonic()
                    error = " ".join(str(exc).split())[:200]
                    self.log.warning("%s: the database is unavailable (%s); retrying", self.lane, error)
            except Exception:
                self.log.exception("%s: a batch failed; trying again shortly", self.lane)
            self.wake.wait(idle)
            self.wake.clear()

    def _work(self, row: LeasedMessage) -> None:
        try:
            self.work(row)
        except Later as later:
            self._later(row, str(later), later.wait)
            return
        except Dead as dead:
            self._dead(row, str(dead))
            return
        with self.sessions.begin() as session:
            OutboxRepository(session).sent_all([row.id], self.owner, self.clock())

    def _later(self, row: LeasedMessage, error: str, wait: timedelta | None) -> None:
        if row.attempts >= self.max_attempts:
            self._dead(row, f"gave up after {row.attempts} attempts; last: {error}")
            return
        backoff = min(self.first_wait * 2 ** (row.attempts - 1), self.max_wait)
        at = self.clock() + min(max(wait or backoff, self.first_wait), self.max_wait)
        self.log.warning(
            "%s: %s not done (%s); next attempt at %s", self.lane, self.describe(row), error, f"{at:%H:%M:%S}"
        )
        with self.sessions.begin() as session:
            OutboxRepository(session).retry(row.id, self.owner, at, error[:1000], in_doubt=False)

    def _dead(self, row: LeasedMessage, error: str) -> None:
        self.log.error(
            "%s: %s parked for the operator (%s); `refundbot outbox retry --dead` tries it again",
            self.lane,
            self.describe(row),
            error,
        )
        with self.sessions.begin() as session:
            OutboxRepository(session).dead(row.id, self.owner, error[:1000])
