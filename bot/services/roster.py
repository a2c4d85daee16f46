"""Who the mediators are (design §6), who leads them, how their cases are handed out, and where their case cards go,
workspace by workspace.

The settings give the default desk (MEDIATOR_CHANNEL_ID, MEDIATOR_USER_IDS, MEDIATOR_USERGROUP_ID,
MEDIATOR_LEAD_IDS, MEDIATOR_LEAD_USERGROUP_ID, MEDIATOR_ASSIGNMENT): the single-workspace set-up. A workspace
installed by OAuth may have a desk of its own (`refundbot workspace set`), and then only its desk counts there: a
mediator of one workspace has no say in another's cases.

User groups are resolved through ``usergroups.users.list`` off the request path (at start-up, then every few
minutes), each with its own workspace's token, so checking a click never waits on Slack; between refreshes the
last answer is used, and a failure keeps it (a Slack hiccup must not demote anyone). The desks themselves are
read again every few seconds (``refresh_desks``), so a `refundbot workspace set` reaches every running process
at once, a user group new to a desk listed then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from bot.domain.vocabulary import Assignment

log = logging.getLogger("refundbot.roster")


@dataclass(frozen=True)
class Desk:
    """One workspace's mediators: where its case cards go, who mediates (users, and a user group's members), who
    leads them (told when a deadline of theirs passes; may hand cases out from the desk), and whether waiting cases
    are handed out by refund-bot."""

    channel: str | None
    users: frozenset[str]
    group: str | None = None
    assignment: Assignment = Assignment.OFF
    leads: frozenset[str] = frozenset()
    lead_group: str | None = None

    @property
    def groups(self) -> Iterator[str]:
        yield from (group for group in (self.group, self.lead_group) if group is not None)


# (team id or None for the default desk, user group id) -> its members.
GroupMembers = Callable[[str | None, str], set[str]]
_NOBODY: frozenset[str] = frozenset()


class Roster:
    def __init__(
        self,
        default: Desk = Desk(None, _NOBODY),
        desks: Callable[[], Mapping[str, Desk]] | None = None,
        members: GroupMembers | None = None,
    ) -> None:
        self._default = default
        self._read_desks = desks
        self._list_group = members
        # Replaced whole, so readers never see a half-made list.
        self._desks: Mapping[str, Desk] = {}
        self._members: Mapping[tuple[str | None, str], frozenset[str]] = {}
        self._desks_read = False

    @property
    def configured(self) -> bool:
        default = self._default
        return bool(default.users) or default.group is not None or bool(self._desks)

    def _desk(self, team_id: str) -> tuple[str | None, Desk]:
        desk = self._desks.get(team_id)
        return (None, self._default) if desk is None else (team_id, desk)

    def _of_group(self, team: str | None, group: str | None) -> frozenset[str]:
        return _NOBODY if group is None else self._members.get((team, group), _NOBODY)

    def is_mediator(self, team_id: str, user_id: str) -> bool:
        team, desk = self._desk(team_id)
        return user_id in desk.users or user_id in self._of_group(team, desk.group)

    def mediators(self, team_id: str) -> frozenset[str]:
        """Everyone who mediates in this workspace, as last listed."""
        team, desk = self._desk(team_id)
        return desk.users | self._of_group(team, desk.group)

    def leads(self, team_id: str) -> tuple[str, ...]:
        """The workspace's lead mediators: told when the mediators miss a deadline; they hand cases out."""
        team, desk = self._desk(team_id)
        return tuple(sorted(desk.leads | self._of_group(team, desk.lead_group)))

    def is_lead(self, team_id: str, user_id: str) -> bool:
        team, desk = self._desk(team_id)
        return user_id in desk.leads or user_id in self._of_group(team, desk.lead_group)

    def desk(self, team_id: str) -> Desk:
        """The workspace's desk as configured: its own, or the settings'."""
        return self._desk(team_id)[1]

    def assignment(self, team_id: str) -> Assignment:
        return self.desk(team_id).assignment

    def assigning(self) -> tuple[frozenset[str] | None, frozenset[str]]:
        """Where waiting cases are handed out: (the workspaces, or None for every one but those with a desk of their
        own, the settings' desk assigning; the workspaces that do not)."""
        on = frozenset(team for team, desk in self._desks.items() if desk.assignment is not Assignment.OFF)
        if self._default.assignment is Assignment.OFF:
            return on, frozenset()
        return None, frozenset(self._desks) - on

    def channel(self, team_id: str, default: str | None) -> str | None:
        """Where this workspace's case cards go."""
        desk = self._desks.get(team_id)
        return default if desk is None else desk.channel

    def refresh(self) -> None:
        """Every user group listed again, and the desks read again."""
        self._refresh(relist=True)

    def refresh_desks(self) -> bool:
        """The desks as the database has them now; a user group new to a desk is listed at once, the others
        keep their last listing. Whether anything changed."""
        return self._refresh(relist=False)

    def _refresh(self, *, relist: bool) -> bool:
        desks = self._desks
        if self._read_desks is not None:
            try:
                desks = dict(self._read_desks())
            except Exception as exc:
                log.warning("roster: could not read the workspaces' mediators (%s); keeping the last list", _why(exc))
                if not relist:
                    return False
        changed = desks != self._desks
        if not changed and not relist:
            return False
        wanted = [(None, group) for group in self._default.groups]
        wanted += [(team, group) for team, desk in desks.items() for group in desk.groups]
        members = {}
        for key in wanted:
            known = self._members.get(key)
            if relist or known is None:
                known = self._listed(key, known or _NOBODY)
            members[key] = known
        first = self._desks_read is False
        self._desks, self._members, self._desks_read = desks, members, True
        if changed and not first:  # a change reached this process (`refundbot workspace set`), not its start
            log.info("roster: the workspaces' mediators changed; %d workspace(s) have a desk of their own", len(desks))
        return changed

    def _listed(self, key: tuple[str | None, str], last: frozenset[str]) -> frozenset[str]:
        team, group = key
        if self._list_group is None:
            return last
        try:
            return frozenset(self._list_group(team, group))
        except Exception as exc:
            whose = "the settings'" if team is None else f"{team}'s"
            log.warning("roster: could not list %s user group %s (%s); keeping the last list", whose, group, _why(exc))
            return last


def _why(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__
