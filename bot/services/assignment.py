"""Cases handed out fairly (issue 38): a workspace that opts in (``Assignment``) has each case that comes to wait
for a mediator handed to an available one, in the change's own transaction; the mediators' availability and
load, for `refundbot mediators`. Which mediator is the domain's to say (``bot.domain.assignment``); who mediates
where, the roster's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.assignment import Standing, pick
from bot.domain.case import Case
from bot.domain.events import Assigned, Event
from bot.domain.vocabulary import ASSIGNER, Assignment
from bot.metrics import HANDED_OUT
from bot.services.ports import UnitOfWork
from bot.services.roster import Roster


def hand_out(roster: Roster, uow: UnitOfWork, case: Case, now: datetime) -> str | None:
    """A case that now waits for a mediator, in a workspace that hands cases out, goes to the mediator on its
    roster whom the workspace's rule picks: never a party, an appeal's first mediator, a mediator who just released
    it, or one away. One hand-out per workspace at a time (``lock``), so two at once do not both read the same
    turn. To whom it went, if anyone."""
    how = roster.assignment(case.team_id)
    if how is Assignment.OFF or not case.waits_for_a_mediator:
        return None
    mediators = roster.mediators(case.team_id)
    uow.mediators.lock(case.team_id)
    standings = [one for one in uow.mediators.standings(case.team_id, mediators) if one.user in mediators]
    released_by = {case.updated_by} & mediators  # a mediator who just handed it back is not given it again
    chosen = pick(how, standings, case.barred() | released_by, now)
    if chosen is None:
        return None
    case.assign(chosen, by=ASSIGNER, now=now, how=f"assigned by {how.value}")
    uow.mediators.assigned(case.team_id, chosen, now)
    return chosen


def count_handed_out(roster: Roster, team_id: str, happened: Sequence[Event]) -> None:
    """Counted once the change that handed the case out is committed: a change tried again after a conflict
    hands it out again, and only the committed try counts."""
    for event in happened:
        if isinstance(event, Assigned) and event.by == ASSIGNER:
            HANDED_OUT.labels(roster.assignment(team_id).value).inc()


@dataclass(frozen=True)
class MediatorLine:
    """One mediator in `refundbot mediators`: what they hold, whether they are away, and when they were last
    handed a case."""

    standing: Standing
    on_roster: bool
    lead: bool


def mediator_lines(roster: Roster, uow: UnitOfWork, team_id: str) -> list[MediatorLine]:
    """Each of the workspace's mediators, and anyone else who holds its cases or was marked away there."""
    mediators = roster.mediators(team_id)
    return [
        MediatorLine(one, one.user in mediators, roster.is_lead(team_id, one.user))
        for one in uow.mediators.standings(team_id, mediators | set(roster.leads(team_id)))
    ]
