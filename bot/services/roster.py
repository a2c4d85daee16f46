"""Who the mediators are (design §6): a configured list of users, and/or the members of a Slack user group.

The group is resolved through ``usergroups.users.list`` off the request path (at start-up and by the ticker),
so checking a click never waits on Slack; between refreshes the last answer is used.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("refundbot.roster")


class Roster:
    def __init__(self, users: frozenset[str] = frozenset(), group: Callable[[], set[str]] | None = None) -> None:
        self._users = users
        self._group = group
        self._members: frozenset[str] = frozenset()  # replaced whole, so readers never see a half-made list

    @property
    def configured(self) -> bool:
        return bool(self._users) or self._group is not None

    def is_mediator(self, user_id: str) -> bool:
        return user_id in self._users or user_id in self._members

    def refresh(self) -> None:
        """Reload the group's members; on failure keep the last list (a Slack hiccup must not demote anyone)."""
        if self._group is None:
            return
        try:
            members = frozenset(self._group())
        except Exception as exc:
            why = " ".join(str(exc).split())[:200] or type(exc).__name__
            log.warning("roster: could not list the mediator user group (%s); keeping the last list", why)
            return
        self._members = members
