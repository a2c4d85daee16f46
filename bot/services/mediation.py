"""Use cases of the mediators (design §2.4, §6): claim, release and reassign a case, propose, decide, record an
award, review an appealed outcome, and ask a party for information. Who is a mediator is the roster's to say;
which case a mediator holds is the case's."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from bot.domain.case import Case
from bot.domain.case.mediation import NotALead, NotAMediatorToAssign
from bot.domain.errors import NotAMediator, Refused
from bot.domain.events import QuestionAsked
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.domain.vocabulary import Grounds
from bot.services import notify
from bot.services.assignment import count_handed_out, hand_out
from bot.services.core import (
    Deps,
    case_view,
    change_case,
    load_case,
    party_records,
    policy_for,
    settle,
    store,
    told,
)
from bot.services.models import CaseView, DecisionForm
from bot.services.read_models import checked_view


class Mediate(BaseModel):
    team_id: str
    user_id: str
    case_id: str
    action: Literal["claim", "release", "reassign", "assign", "propose", "decide", "award", "review"]
    amount: str | None = None
    text: str | None = None
    reference: str | None = None
    to_user: str | None = None
    rule: str | None = None
    cited: tuple[int, ...] = ()

    @property
    def grounds(self) -> Grounds:
        return Grounds(self.text or "", self.rule or "", self.cited)


def show_cards(deps: Deps, team_id: str) -> int:
    """A workspace's desk was (re)set (`refundbot workspace set`): every case waiting with its mediators gets its
    card, posted in the desk's channel where it never was (the workspace had no channel when the case arrived),
    brought up to date where it was. How many."""
    where = deps.card_channel(team_id)
    if where is None:
        return 0
    now = deps.clock()
    with deps.uow() as uow:
        waiting = uow.cases.with_mediators(team_id)
        for case_id in waiting:
            case = load_case(uow, team_id, case_id)
            policy = policy_for(uow, case.policy_version, deps.policy)
            records = party_records(uow, case, now, policy)
            card = notify.case_card(
                case_view(uow, case, now, policy), where, records, f"desk:{where}:{now.isoformat()}"
            )
            uow.outbox.add(team_id, card, now)
        uow.commit()
    deps.delivered()
    return len(waiting)


# Cases looked at per sweep of those still waiting for a mediator where cases are handed out.
HAND_OUT_BATCH = 50


def hand_out_waiting(deps: Deps, limit: int = HAND_OUT_BATCH) -> int:
    """Where cases are handed out, those still waiting for a mediator (nobody was available when they came to
    wait, a mediator is back, assignment was just turned on) go to one now, the longest waiting first. Run every
    minute off the request path; a case that moved meanwhile is left to the next sweep. How many were handed out."""
    within, besides = deps.roster.assigning()
    if within is not None and not within:
        return 0
    with deps.uow() as uow:
        waiting = uow.mediators.waiting(within, besides, limit)
    handed = 0
    for team_id, case_id in waiting:
        try:
            handed += _hand_out(deps, team_id, case_id)
        except Refused:
            continue
    if handed:
        deps.delivered()
    return handed


def _hand_out(deps: Deps, team_id: str, case_id: str) -> bool:
    now = deps.clock()
    with deps.uow() as uow:
        case = load_case(uow, team_id, case_id)
        if hand_out(deps.roster, uow, case, now) is None:
            return False
        happened = settle(deps, uow, case, policy_for(uow, case.policy_version, deps.policy), now)
        uow.commit()
    count_handed_out(deps.roster, team_id, happened)
    return True


def ensure_on_roster(deps: Deps, team_id: str, user_id: str) -> None:
    if not deps.roster.is_mediator(team_id, user_id):
        raise NotAMediator()


def view_for_mediator(deps: Deps, team_id: str, user_id: str, case_id: str) -> CaseView:
    """The case behind a mediator's form (propose, decide, award, ask, reassign): only its mediator opens one."""
    ensure_on_roster(deps, team_id, user_id)
    return checked_view(deps, team_id, case_id, lambda case, now: case.ensure_case_mediator(user_id, now))


def case_for_lead(deps: Deps, team_id: str, user_id: str, case_id: str) -> CaseView:
    """A case a lead may hand to a mediator from the desk: open, in a state a mediator works in."""
    if not deps.roster.is_lead(team_id, user_id):
        raise NotALead()
    return checked_view(deps, team_id, case_id, lambda case, now: case.ensure_with_mediators())


def case_for_mediators(deps: Deps, team_id: str, user_id: str, case_id: str) -> CaseView:
    """A case as its card shows it, for any mediator on the roster (reading it helps decide whether to claim)."""
    ensure_on_roster(deps, team_id, user_id)
    return checked_view(deps, team_id, case_id, lambda case, now: None)


def decision_form(deps: Deps, team_id: str, user_id: str, case_id: str) -> DecisionForm:
    """Propose, Decide, Record award or Review: the case's mediator chooses the rule applied and the evidence relied
    on."""
    ensure_on_roster(deps, team_id, user_id)
    now = deps.clock()
    with deps.uow() as uow:
        case = load_case(uow, team_id, case_id)
        case.ensure_case_mediator(user_id, now)
        policy = policy_for(uow, case.policy_version, deps.policy)
        rules = {key: ground.title for key, ground in policy.grounds_for(case.contract_kind).items()}
        evidence = sorted(uow.evidence.for_case(case.id), key=lambda item: item.seq, reverse=True)
        return DecisionForm(case_view(uow, case, now, policy), rules, evidence)


def records_for_mediator(deps: Deps, team_id: str, user_id: str, case_id: str) -> dict[str, Any]:
    """Both parties' records as of now, for a mediator on the roster (any of them: a record helps decide whether
    to claim)."""
    ensure_on_roster(deps, team_id, user_id)
    now = deps.clock()
    with deps.uow() as uow:
        case = load_case(uow, team_id, case_id)
        return party_records(uow, case, now, policy_for(uow, case.policy_version, deps.policy))


def mediate(deps: Deps, cmd: Mediate) -> Case:
    if cmd.action == "assign":  # a lead, from the desk: they need not mediate themselves
        if not deps.roster.is_lead(cmd.team_id, cmd.user_id):
            raise NotALead()
    else:
        ensure_on_roster(deps, cmd.team_id, cmd.user_id)
    if cmd.action in ("reassign", "assign") and not deps.roster.is_mediator(cmd.team_id, cmd.to_user or ""):
        raise NotAMediatorToAssign(cmd.to_user or "")

    def act(case: Case, policy: Policy, now: datetime) -> None:
        by = cmd.user_id
        match cmd.action:
            case "claim":
                case.claim(by=by, now=now)
            case "release":
                case.release(by=by, now=now)
            case "reassign":
                case.reassign(cmd.to_user or "", by=by, now=now)
            case "assign":
                case.assign(cmd.to_user or "", by=by, now=now, how=f"handed the case to {cmd.to_user}")
            case "propose":
                case.propose(_amount(cmd, case), grounds=cmd.grounds, by=by, now=now, policy=policy)
            case "decide":
                case.decide(_amount(cmd, case), grounds=cmd.grounds, by=by, now=now, policy=policy)
            case "award":
                amount, reference = _amount(cmd, case), cmd.reference or ""
                case.record_award(amount, reference=reference, grounds=cmd.grounds, by=by, now=now, policy=policy)
            case "review":
                case.review(_amount(cmd, case), grounds=cmd.grounds, by=by, now=now, policy=policy)

    return change_case(deps, cmd.team_id, cmd.case_id, act)


def _amount(cmd: Mediate, case: Case) -> Money:
    return Money.parse((cmd.amount or "").strip(), case.currency)


def ask(deps: Deps, team_id: str, user_id: str, case_id: str, role: str, question: str) -> None:
    """The mediator asks one party for information: the question is kept (the Answer button carries its id), and
    the notifier tells the party and the case thread. Of the case itself, asking changes only that its mediator has
    acted (issue 38: their first-action deadline is met)."""
    ensure_on_roster(deps, team_id, user_id)
    now = deps.clock()
    with deps.uow() as uow:
        case = load_case(uow, team_id, case_id)
        question = case.ask(role, question, by=user_id, now=now)
        case.keep_mediators_to_time(policy_for(uow, case.policy_version, deps.policy))
        store(uow, case, deps.payments)
        asked = uow.questions.add(team_id, question)
        uow.outbox.add_all(team_id, told(deps, uow, case, [QuestionAsked(asked)], now), now)
        uow.commit()
    deps.delivered()
