"""Use cases after "no" (design §2.3, §2.4): asking again, disputes, escrow refunds, mediation, arbitration,
evidence and the mediator's questions. Each is one transition through ``refunds.change_case``, so state,
audit, ledger (through the payments port), deadlines and every Slack message commit together."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from bot.blocks import render
from bot.blocks.models import AskAgainForm, CaseView
from bot.domain.case import QUESTION_LIMIT, Case, DisputeClaim, Evidence, Question, Visibility
from bot.domain.contract import Timesheet, refundable_balance
from bot.domain.errors import (
    CaseNotFound,
    ChoiceRequired,
    Field,
    InvalidTime,
    NotAMediator,
    NotAMediatorToAssign,
    NotYourCase,
    QuestionNotFound,
    TextRequired,
    TextTooLong,
    TimeOrAmount,
)
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.domain.routing import RouteKind, route_after_request
from bot.services.messages import OutboxMessage, dm, thread
from bot.services.refunds import Deps, case_view, change_case, checked_view, load_case, policy_for


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
    question_id: int | None = None  # the mediator's question this answers


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
        return AskAgainForm(
            case=case_view(uow, case, now, policy, contract),
            route=route.kind.value,
            until=route.until,
            review_opens_at=route.review.opens_at if route.review else None,
            review_closes_at=route.review.closes_at if route.review else None,
            mediation_closes_at=route.mediation.closes_at if route.mediation else None,
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
        raise InvalidTime(hours or "", minutes or "") from None
    if whole_hours < 0 or not 0 <= extra < 60:
        raise InvalidTime(hours or "", minutes or "")
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
            raise TimeOrAmount()
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
    """The mediator asks one party for information: a DM with an Answer button, and a line in the case thread.
    The question is kept, so the button carries only its id."""
    ensure_mediator(deps, user_id)
    if role not in ("client", "freelancer"):
        raise ChoiceRequired(Field.PARTY)
    text = (question or "").strip()
    if not text:
        raise TextRequired(Field.QUESTION)
    if len(text) > QUESTION_LIMIT:
        raise TextTooLong(Field.QUESTION, QUESTION_LIMIT, len(text))
    now = deps.clock()
    with deps.uow() as uow:
        case = load_case(uow, team_id, case_id)
        case.ensure_mediator(user_id, now)
        asked = uow.questions.add(team_id, Question(case.id, user_id, case.party(role), text, now))
        view = case_view(uow, case, now, deps.policy).as_json() | {
            "question": text,
            "question_id": asked.id,
            "asked": asked.asked,
            "by": user_id,
        }
        key = f"{case.id}:question:{asked.id}"
        for message in (
            OutboxMessage(case.id, f"{key}:dm", dm(asked.asked), render.QUESTION, view),
            OutboxMessage(case.id, f"{key}:thread", thread(f"{case.id}:thread"), render.QUESTION_LINE, view),
        ):
            uow.outbox.add(team_id, message, now)
        uow.commit()
    deps.delivered()


def question_for_party(deps: Deps, team_id: str, user_id: str, question_id: str) -> tuple[CaseView, Question]:
    """The question behind an Answer button, and its case: only the party it was asked of answers it."""
    now = deps.clock()
    with deps.uow() as uow:
        question = uow.questions.get(team_id, int(question_id)) if question_id.isdigit() else None
        if question is None:
            raise QuestionNotFound(question_id)
        case = load_case(uow, team_id, question.case_id)
        role = case.ensure_party(user_id)
        if question.asked != user_id:
            raise NotYourCase(case.id, "client" if role == "freelancer" else "freelancer")
        return case_view(uow, case, now, deps.policy), question


# --- evidence -------------------------------------------------------------------------------------------------


def add_evidence(deps: Deps, cmd: AddEvidence) -> Evidence:
    """Frozen once added. Both-sides evidence goes to the case thread; every piece goes to the mediators' card
    thread once the case has one; mediator-only evidence goes nowhere a party reads. An answer to a mediator's
    question quotes the question it answers."""
    added: list[Evidence] = []
    answers = None
    if cmd.question_id is not None:
        answers = question_for_party(deps, cmd.team_id, cmd.user_id, str(cmd.question_id))[1].text

    def act(case: Case, policy: Policy, now: datetime) -> None:
        added.append(
            case.add_evidence(
                text=cmd.text,
                links=tuple(cmd.links),
                visibility=cmd.visibility,
                by=cmd.user_id,
                now=now,
                policy=policy,
                answers=answers,
            )
        )

    change_case(deps, cmd.team_id, cmd.case_id, act)
    return added[0]
