"""Reminders before a deadline (design §2.2: 48 h, 24 h and 2 h before the freelancer's response is due).

At most one reminder per deadline and offset (design §6). If several fall due at once (an instance was down,
or the window was shorter than the offsets), only the latest is sent: two stale reminders in a row help nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.calendar import require_utc


@dataclass(frozen=True)
class ReminderPlan:
    send: float | None  # the offset (seconds before due) to remind for now, if one has come
    sent: tuple[float, ...]  # every offset now accounted for, sent or skipped
    next_at: datetime  # when the scheduler must look at this deadline again


def plan_reminders(
    due_at: datetime, offsets: tuple[float, ...], sent: tuple[float, ...], now: datetime
) -> ReminderPlan:
    now = require_utc(now)
    came = [o for o in offsets if o not in sent and due_at - timedelta(seconds=o) <= now]
    accounted = tuple(sorted(set(sent) | set(came), reverse=True))
    upcoming = [due_at - timedelta(seconds=o) for o in offsets if o not in accounted]
    return ReminderPlan(min(came) if came else None, accounted, min([*upcoming, due_at]))
