"""Issue 38: which mediator a waiting case is handed to, when its workspace hands cases out (``Assignment``).

Round-robin gives it to the available mediator handed a case longest ago (never, first): a turn that survives
restarts, several instances and mediators joining or leaving, since it is a date per mediator and not a position
in a list. Least-loaded gives it to the one holding the fewest open cases, the turn breaking ties. Never to a
party of the case, nor an appeal to the mediator whose outcome it is, nor back to a mediator who just released it;
nor to anyone away."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.domain.vocabulary import Assignment

_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Standing:
    """A mediator of one workspace as assignment weighs them."""

    user: str
    holds: int = 0  # open cases they hold, in a state a mediator works in
    last_assigned: datetime | None = None
    away_until: datetime | None = None

    def away(self, now: datetime) -> bool:
        return self.away_until is not None and now < self.away_until

    @property
    def turn(self) -> tuple[datetime, str]:
        return self.last_assigned or _NEVER, self.user


def pick(how: Assignment, standings: Iterable[Standing], barred: Iterable[str], now: datetime) -> str | None:
    """The mediator ``how`` hands the case to, among ``standings`` not ``barred`` and not away; None if nobody is."""
    out = set(barred)
    free = [one for one in standings if one.user not in out and not one.away(now)]
    if how is Assignment.OFF or not free:
        return None
    if how is Assignment.LEAST_LOADED:
        return min(free, key=lambda one: (one.holds, *one.turn)).user
    return min(free, key=lambda one: one.turn).user
