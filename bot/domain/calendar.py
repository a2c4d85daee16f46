"""The hourly review-window calendar (design §2.2), in UTC.

A billing week runs Monday 00:00 to Sunday 23:59:59 UTC. Its review (dispute) window opens the following
Monday at 12:00 UTC and closes at the end of that Friday (23:59:59 UTC). Windows are half-open
``[opens_at, closes_at)`` so Saturday 00:00:00 is already outside.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta


def require_utc(instant: datetime) -> datetime:
    """Every rule compares UTC instants; a naive datetime is a bug upstream, not a time zone to guess."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{instant!r} has no time zone; rules work on aware UTC instants")
    return instant.astimezone(UTC)


@dataclass(frozen=True)
class Window:
    opens_at: datetime
    closes_at: datetime

    def contains(self, now: datetime) -> bool:
        return self.opens_at <= require_utc(now) < self.closes_at

    @property
    def last_second(self) -> datetime:
        """The last instant people are told about ("Friday 23:59:59")."""
        return self.closes_at - timedelta(seconds=1)


@dataclass(frozen=True)
class ReviewCalendar:
    opens_after: timedelta = timedelta(days=7, hours=12)
    closes_after: timedelta = timedelta(days=12)

    @staticmethod
    def billing_week(instant: datetime) -> date:
        """The Monday that starts the billing week holding ``instant``."""
        day = require_utc(instant).date()
        return day - timedelta(days=day.weekday())

    def review_window(self, week: date) -> Window:
        if week.weekday() != 0:
            raise ValueError(f"a billing week starts on a Monday; {week.isoformat()} is a {week:%A}")
        start = datetime.combine(week, time(0), tzinfo=UTC)
        return Window(start + self.opens_after, start + self.closes_after)
