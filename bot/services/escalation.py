"""Use cases after "no" (design §2.3, §2.4): asking again, disputes, escrow refunds, mediation, arbitration,
evidence and the mediator's questions. Each is one transition through ``refunds.change_case``, so state,
audit, ledger (through the payments port), deadlines and every Slack message commit together."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from bot.blocks import render
from bot.blocks.models import AskAgainForm, CaseView
from bot.domain.case import Case, DisputeClaim, Evidence, Visibility
from bot.domain.contract import Timesheet, refundable_balance
from bot.domain.errors import (
    CaseNotFound,
    InvalidAmount,
    NotAMediator,
    NotAMediatorToAssign,
    TextRequired,
    TextTooLong,
)
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.domain.routing import RouteKind, route_after_request
from bot.services.messages import OutboxMessage, dm, thread
from bot.services.refunds import Deps, case_view, change_case, checked_view, load_case, policy_for

QUESTION_LIMIT = 500


class AskAgain(BaseModel):
    team_id: str
    user_id: str
    case_id: str
    route: RouteKind
    reason: str | None = None
    certified: bool = False
    hours: str | None = None
    minutes: str | None = None
    amount: str | None = None


class Mediate(BaseModel):
    team_id: str
    user_id: str
    case_id: str
    action: Literal["claim", "release", "reassign", "propose", "decide", "award"]
    amount: str | None = None
    text: str | None = None
    reference: str | None = None
    to_user: str | None = None


class AddEvidence(BaseModel):
    team_id: str
    user_id: str
    case_id: str
    text: str | None = None
    links: list[str] = []
    visibility: Visibility = Visibility.BOTH_SIDES
    answers: str | None = None


# --- the client asks again ---------------------------------------------------------------------------------


def ask_again_form(deps: Deps, team_id: str, user_id: str, case_id: str) -> AskAgainForm:
    now = deps.clock()
    with deps.uow() as uow:
        case = load_case(uow, team_id, case_id)
        case.ensure_client_may_ask_again(user_id, now)
        contract = uow.contracts.get(team_id, case.contract_id)
        item = uow.contracts.item(team_id, case.contract_id, case.item)
        if contract is None or item is None:
            raise CaseNotFound(case_id)
        policy = policy_for(uow, case.policy_version, deps.policy)
        route = route_after_request(contract.kind, item, now, policy)
        refunded = uow.ledger.refunded_on_item(team_id, case.contract_id, case.item, case.currency)
        window = policy.calendar.review_window(item.week) if isinstance(item, Timesheet) else None
        return AskAgainForm(
            case=case_view(uow, case, now, policy, contract),
            route=route.kind.value,
            until=route.until,
            closed_at=route.closed_at,
            review_opens_at=window.opens_at if window else None,
            review_closes_at=window.last_second if window else None,
            week_minutes=item.minutes if isinstance(item, Timesheet) else None,
            balance_minor=refundable_balance(item.paid, refunded, Money.zero(case.currency)).minor,
        )


def _minutes(hours: str | None, minutes: str | None) -> int | None:
    if not (hours or "").strip() and not (minutes or "").strip():
        return None
    try:
        whole_hours = int((hours or "0").strip())
        extra = int((minutes or "0").strip())
    except ValueError:
        raise InvalidAmount("Hours and minutes must be whole numbers, such as 2 and 30.") from None
    if whole_hours < 0 or not 0 <= extra < 60:
        raise InvalidAmount("Hours must be 0 or more, and minutes between 0 and 59.")
    return whole_hours * 60 + extra


def ask_again(deps: Deps, cmd: AskAgain) -> Case:
    """The client confirms the route they were shown; the domain checks it is still the route now."""
    with deps.uow() as uow:
        case = load_case(uow, cmd.team_id, cmd.case_id)
        contract = uow.contracts.get(cmd.team_id, case.contract_id)
        item = uow.contracts.item(cmd.team_id, case.contract_id, case.item)
        refunded = uow.ledger.refunded_on_item(cmd.team_id, case.contract_id, case.item, case.currency)
    if contract is None or item is None:
        raise CaseNotFound(cmd.case_id)
    claim = None
    if cmd.route is RouteKind.HOURLY_DISPUTE:
        minutes = _minutes(cmd.hours, cmd.minutes)
        amount = (cmd.amount or "").strip()
        if (minutes is None) == (not amount):
            raise InvalidAmount("Give the disputed time or an amount, not both.")
        claim = DisputeClaim(
            reason=cmd.reason or "",
            certified=cmd.certified,
            minutes=minutes,
            amount=Money.parse(amount, case.currency) if amount else None,
        )
    elif cmd.route is RouteKind.MEDIATION:
        claim = DisputeClaim(reason=cmd.reason or "", certified=False)

    def act(case: Case, policy: Policy, now: datetime) -> None:
        case.request_again(
            kind=contract.kind,
            item=item,
            refunded_on_item=refunded,
            expected=cmd.route,
            by=cmd.user_id,
            now=now,
            policy=policy,
            claim=claim,
        )

    return change_case(deps, cmd.team_id, cmd.case_id, act)


# --- the parties answer --------------------------------------------------------------------------------------


def respond(deps: Deps, team_id: str, user_id: str, case_id: str, accept: bool, statement: str | None = None) -> Case:
    """The freelancer accepts a dispute or escrow refund (refund), or contests it with a statement."""

    def act(case: Case, policy: Policy, now: datetime) -> None:
        if accept:
            case.accept_claim(by=user_id, now=now)
        else:
            case.contest_claim(statement=statement or "", by=user_id, now=now, policy=policy)

    return change_case(deps, team_id, case_id, act)


def position(deps: Deps, team_id: str, user_id: str, case_id: str, accept: bool) -> Case:
    """The client accepts the freelancer's escrow dispute (no refund) or rejects it (→ mediation)."""

    def act(case: Case, _: Policy, now: datetime) -> None:
        if accept:
            case.accept_position(by=user_id, now=now)
        else:
            case.reject_position(by=user_id, now=now)

    return change_case(deps, team_id, case_id, act)


def answer_proposal(deps: Deps, team_id: str, user_id: str, case_id: str, accept: bool) -> Case:
    return change_case(
        deps,
        team_id,
        case_id,
        lambda case, policy, now: case.answer_proposal(accept, by=user_id, now=now, policy=policy),
    )


def agree_to_arbitrate(deps: Deps, team_id: str, user_id: str, case_id: str) -> Case:
    return change_case(deps, team_id, case_id, lambda case, _, now: case.agree_to_arbitrate(by=user_id, now=now))


def case_for_party(deps: Deps, team_id: str, user_id: str, case_id: str) -> CaseView:
    """The case behind a party's form (evidence, an answer), refused early for anyone else."""
    return checked_view(deps, team_id, case_id, lambda case, _: case.ensure_party(user_id))


def case_to_contest(deps: Deps, team_id: str, user_id: str, case_id: str) -> CaseView:
    """The case behind Contest / Dispute: only its freelancer, only while the answer is due."""
    return checked_view(deps, team_id, case_id, lambda case, now: case.ensure_freelancer_may_respond(user_id, now))


# --- mediators ------------------------------------------------------------------------------------------------


def ensure_mediator(deps: Deps, user_id: str) -> None:
    if not deps.roster.is_mediator(user_id):
        raise NotAMediator()


def case_for_mediator(deps: Deps, team_id: str, user_id: str, case_id: str) -> CaseView:
    """The case behind a mediator's form (propose, decide, award, ask, reassign): only its mediator opens one."""
    ensure_mediator(deps, user_id)
    return checked_view(deps, team_id, case_id, lambda case, now: case.ensure_mediator(user_id, now))


def mediate(deps: Deps, cmd: Mediate) -> Case:
    ensure_mediator(deps, cmd.user_id)
    if cmd.action == "reassign" and not deps.roster.is_mediator(cmd.to_user or ""):
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
            case "propose":
                case.propose(_amount(cmd, case), rationale=cmd.text or "", by=by, now=now, policy=policy)
            case "decide":
                case.decide(_amount(cmd, case), rationale=cmd.text or "", by=by, now=now, policy=policy)
            case "award":
                amount = _amount(cmd, case)
                reference = cmd.reference or ""
                case.record_award(amount, reference=reference, rationale=cmd.text or "", by=by, now=now, policy=policy)

    return change_case(deps, cmd.team_id, cmd.case_id, act)


def _amount(cmd: Mediate, case: Case) -> Money:
    return Money.parse((cmd.amount or "").strip(), case.currency)


def ask(deps: Deps, team_id: str, user_id: str, case_id: str, role: str, question: str) -> None:
    """The mediator asks one party for information: a DM with an Answer button, and a line in the case thread."""
    ensure_mediator(deps, user_id)
    text = (question or "").strip()
    if not text:
        raise TextRequired("question")
    if len(text) > QUESTION_LIMIT:
        raise TextTooLong("question", QUESTION_LIMIT, len(text))
    now = deps.clock()
    with deps.uow() as uow:
        case = load_case(uow, team_id, case_id)
        case.ensure_mediator(user_id, now)
        if role not in ("client", "freelancer"):
            raise TextRequired("party to ask")
        asked = case.party(role)
        view = case_view(uow, case, now, deps.policy).as_json() | {"question": text, "asked": asked, "by": user_id}
        key = f"{case.id}:question:{user_id}:{now.timestamp()}"
        for message in (
            OutboxMessage(case.id, f"{key}:dm", dm(asked), render.QUESTION, view),
            OutboxMessage(case.id, f"{key}:thread", thread(f"{case.id}:thread"), render.QUESTION_LINE, view),
        ):
            uow.outbox.add(team_id, message, now)
        uow.commit()
    deps.delivered()


# --- evidence -------------------------------------------------------------------------------------------------


def add_evidence(deps: Deps, cmd: AddEvidence) -> Evidence:
    """Frozen once added. Both-sides evidence goes to the case thread; every piece goes to the mediators' card
    thread once the case has one; mediator-only evidence goes nowhere a party reads."""
    added: list[Evidence] = []

    def act(case: Case, policy: Policy, now: datetime) -> None:
        added.append(
            case.add_evidence(
                text=cmd.text,
                links=tuple(cmd.links),
                visibility=cmd.visibility,
                by=cmd.user_id,
                now=now,
                policy=policy,
                answers=cmd.answers,
            )
        )

    change_case(deps, cmd.team_id, cmd.case_id, act)
    return added[0]
