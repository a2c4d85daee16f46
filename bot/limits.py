"""Slack's rate limits, kept by the relay so that what Slack limits waits alone (design §6).

Slack limits each Web API method per app per workspace by tier (Tier 2 20, Tier 3 50, Tier 4 100 calls a
minute), ``chat.postMessage`` to about one message a second per channel, and, for apps distributed outside the
Slack Marketplace, ``conversations.history`` and ``conversations.replies`` to one call a minute with at most 15
messages. A 429's ``Retry-After`` holds the scope it concerns: the channel for a post, the method in that
workspace for anything else. The relay asks ``take`` before each call; a scope that has no room raises
``Throttled`` naming when it will, and only that row waits, while every other row goes on at Slack's pace.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from datetime import datetime, timedelta
from enum import StrEnum

from bot.metrics import SLACK_RATE_LIMITED

log = logging.getLogger("refundbot.relay")

MINUTE = timedelta(minutes=1)
# Calls a minute per workspace, by the tier Slack's method reference gives.
PER_MINUTE = {
    "usergroups.users.list": 20,  # Tier 2
    "chat.update": 50,  # Tier 3
    "conversations.open": 50,
    "conversations.history": 50,
    "conversations.replies": 50,
    "users.info": 100,  # Tier 4
    "views.publish": 100,
    "chat.getPermalink": 100,  # special: "hundreds of requests per minute"
    "files.info": 100,  # Tier 4
    # A copy (bot.files): files.getUploadURLExternal and files.completeUploadExternal, both Tier 4, one each.
    "files.upload_v2": 100,
}
# Posts are paced per channel (the relay's SLACK_PACE_SECONDS), and a 429 for one holds its channel alone; Slack's
# workspace-wide limit for them is unpublished. Every other method's scope is the method in the workspace.
POST = "chat.postMessage"
LOOKUPS = frozenset({"conversations.history", "conversations.replies"})
# Outside the Marketplace: one lookup a minute per workspace, 15 messages at most.
DISTRIBUTED_LOOKUPS_PER_MINUTE = 1
DISTRIBUTED_LOOKUP_LIMIT = 15
LOOKUP_LIMIT = 200


class Distribution(StrEnum):
    """How the app reaches its workspaces, which decides Slack's limits on reading messages back."""

    INTERNAL = "internal"  # built by and for its own organisation
    MARKETPLACE = "marketplace"  # approved for the Slack Marketplace
    DISTRIBUTED = "distributed"  # installed by OAuth outside the Marketplace


class Throttled(Exception):
    """A call must not go before ``until``: its scope is at its limit, or Slack said to wait."""

    def __init__(self, scope: str, until: datetime) -> None:
        super().__init__(f"{scope} is rate limited until {until:%H:%M:%S}")
        self.scope = scope
        self.until = until


class SlackLimits:
    """Each workspace's calls per method in the last minute, and the scopes Slack told to wait. ``paced`` False
    keeps only Slack's answers (``Retry-After``): for a stand-in that limits nothing, on a clock that stands still."""

    def __init__(self, distribution: Distribution = Distribution.INTERNAL, *, paced: bool = True) -> None:
        self.distribution = distribution
        self.paced = paced
        self._calls: dict[tuple[str, str], deque[datetime]] = {}
        self._held: dict[str, datetime] = {}  # scope → until, from Retry-After
        self._lock = threading.Lock()

    @property
    def lookup_limit(self) -> int:
        """How many messages one history or replies call may ask for."""
        return DISTRIBUTED_LOOKUP_LIMIT if self.distribution is Distribution.DISTRIBUTED else LOOKUP_LIMIT

    def per_minute(self, method: str) -> int | None:
        if method in LOOKUPS and self.distribution is Distribution.DISTRIBUTED:
            return DISTRIBUTED_LOOKUPS_PER_MINUTE
        return PER_MINUTE.get(method)

    def take(self, team: str, method: str, channel: str | None, now: datetime) -> None:
        """Count one call of ``method`` in ``team`` now (a post: to ``channel``), or raise Throttled if its scope
        has no room."""
        scope = _scope(team, method, channel)
        with self._lock:
            until = self._held.get(scope)
            if until is not None:
                if until > now:
                    raise Throttled(scope, until)
                del self._held[scope]
            allowed = self.per_minute(method) if self.paced else None
            if allowed is None:
                return
            calls = self._calls.setdefault((team, method), deque())
            while calls and calls[0] <= now - MINUTE:
                calls.popleft()
            if len(calls) >= allowed:
                raise Throttled(_scope(team, method, None), calls[0] + MINUTE)
            calls.append(now)

    def refused(self, team: str, method: str, channel: str | None, retry_after: int | None, now: datetime) -> datetime:
        """Slack answered 429: hold the scope it concerns (a post's ``channel``, else the method in the workspace)
        for ``Retry-After``, say so once per hold, and count it. Returns when the scope may be tried again."""
        scope = _scope(team, method, channel)
        until = now + timedelta(seconds=retry_after if retry_after is not None else 60)
        SLACK_RATE_LIMITED.labels(method).inc()
        with self._lock:
            held = self._held.get(scope)
            self._held[scope] = max(until, held or until)
            if held is not None and held > now:
                return self._held[scope]
        log.warning("relay: Slack rate-limits %s for %ss; only what goes there waits", scope, retry_after)
        return until

    def forget(self, now: datetime) -> None:
        """Drop what is long past, so a long-lived relay keeps only the last minute."""
        with self._lock:
            self._held = {scope: until for scope, until in self._held.items() if until > now}
            for key in [key for key, calls in self._calls.items() if not calls or calls[-1] <= now - MINUTE]:
                del self._calls[key]


def _scope(team: str, method: str, channel: str | None) -> str:
    return f"{method} in {channel} ({team})" if channel else f"{method} in workspace {team}"
