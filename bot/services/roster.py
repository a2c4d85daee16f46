"""Who the mediators are (design §6), and where their case cards go, workspace by workspace.

The settings give the default (MEDIATOR_CHANNEL_ID, MEDIATOR_USER_IDS, MEDIATOR_USERGROUP_ID): the single-workspace
set-up. A workspace installed by OAuth may have a desk of its own (`refundbot workspace set`), and then only its
desk counts there: a mediator of one workspace has no say in another's cases.

User groups are resolved through ``usergroups.users.list`` off the request path (at start-up, then every few
minutes), each with its own workspace's token, so checking a click never waits on Slack; between refreshes the
last answer is used, and a failure keeps it (a Slack hiccup must not demote anyone). The desks themselves are
read again every few seconds (``refresh_desks``), so a `refundbot workspace set` reaches every running process
at once, a user group new to a desk listed then.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

log = logging.getLogger("refundbot.roster")


@dataclass(frozen=True)
class Desk:
    """One workspace's mediators: where its case cards go, who mediates, and a user group whose members do too."""

    channel: str | None
    users: frozenset[str]
    group: str | None = None


# (team id or None for the default desk, user group id) -> its members.
GroupMembers = Callable[[str | None, str], set[str]]


class Roster:
    def __init__(
        self,
        users: frozenset[str] = frozenset(),
        group: Callable[[], set[str]] | None = None,
        desks: Callable[[], Mapping[str, Desk]] | None = None,
        members: GroupMembers | None = None,
        leads: frozenset[str] = frozenset(),
    ) -> None:
        self._users = users
        self._leads = leads
        self._group = group
        self._read_desks = desks
        self._list_group = members
        # Replaced whole, so readers never see a half-made list.
        self._members: frozenset[str] = frozenset()
        self._desks: Mapping[str, Desk] = {}
        self._desk_members: Mapping[str, frozenset[str]] = {}
        self._desks_read = False

    @property
    def configured(self) -> bool:
        return bool(self._users) or self._group is not None or bool(self._desks)

    def is_mediator(self, team_id: str, user_id: str) -> bool:
        desk = self._desks.get(team_id)
        if desk is None:
            return user_id in self._users or user_id in self._members
        return user_id in desk.users or user_id in self._desk_members.get(team_id, frozenset())

    def leads(self, team_id: str) -> tuple[str, ...]:
        """The lead mediators, told when the mediators miss a deadline (MEDIATOR_LEAD_IDS)."""
        return tuple(sorted(self._leads))

    def channel(self, team_id: str, default: str | None) -> str | None:
        """Where this workspace's case cards go."""
        desk = self._desks.get(team_id)
        return default if desk is None else desk.channel

    def refresh(self) -> None:
        """Every user group listed again, and the desks read again."""
        if self._group is not None:
            self._members = self._listed("the mediator user group", self._group, self._members)
        self._refresh_desks(relist=True)

    def refresh_desks(self) -> bool:
        """The desks as the database has them now; a user group new to a desk is listed at once, the others
        keep their last listing. Whether anything changed."""
        return self._refresh_desks(relist=False)

    def _refresh_desks(self, *, relist: bool) -> bool:
        if self._read_desks is None:
            return False
        try:
            desks = dict(self._read_desks())
        except Exception as exc:
            log.warning("roster: could not read the workspaces' mediators (%s); keeping the last list", _why(exc))
            return False
        if desks == self._desks and not relist:
            return False
        members = {}
        for team, desk in desks.items():
            group, lister = desk.group, self._list_group
            if group is None or lister is None:
                continue
            before = self._desks.get(team)
            same = before is not None and before.group == group
            known = self._desk_members.get(team, frozenset()) if same else frozenset()
            if relist or not same or team not in self._desk_members:
                known = self._listed(f"{team}'s mediator user group", functools.partial(lister, team, group), known)
            members[team] = known
        changed = desks != self._desks
        first = self._desks_read is False
        self._desks, self._desk_members, self._desks_read = desks, members, True
        if changed and not first:  # a change reached this process (`refundbot workspace set`), not its start
            log.info("roster: the workspaces' mediators changed; %d workspace(s) have a desk of their own", len(desks))
        return changed

    @staticmethod
    def _listed(what: str, listing: Callable[[], set[str]], last: frozenset[str]) -> frozenset[str]:
        try:
            return frozenset(listing())
        except Exception as exc:
            log.warning("roster: could not list %s (%s); keeping the last list", what, _why(exc))
            return last


def _why(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__
