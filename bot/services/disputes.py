"""Use cases after "no" (design §2.3, §2.4): the client asks again along the route the policy gives now (an
hourly dispute, the escrow refund process, mediation), and the parties answer: the freelancer a dispute or an
escrow refund, the client the freelancer's position, both a mediator's proposal or an arbitration offer. Each is
one transition through ``core.change_case``."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel

from bot.domain.case import Case
from bot.domain.case.dispute import InvalidTime, TimeOrAmount
from bot.domain.errors import CaseNotFound
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.domain.routing import RouteKind
from bot.domain.vocabulary import DisputeDetails
from bot.services.core import Deps, change_case, load_case
from bot.services.models import CaseView
from bot.services.read_models import checked_view


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


_WHOLE = re.compile(r"\d{1,6}", re.ASCII)  # int() alone would take "1_0", " +5" and other scripts' digits


def _minutes(hours: str | None, minutes: str | None) -> int | None:
    if not (hours or "").strip() and not (minutes or "").strip():
        return None
    typed = [(part or "0").strip() or "0" for part in (hours, minutes)]
    if not all(_WHOLE.fullmatch(part) for part in typed):
        raise InvalidTime(hours or "", minutes or "")
    whole_hours, extra = (int(part) for part in typed)
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
    details = None
    if cmd.route is RouteKind.HOURLY_DISPUTE:
        minutes = _minutes(cmd.hours, cmd.minutes)
        amount = (cmd.amount or "").strip()
        if (minutes is None) == (not amount):
            raise TimeOrAmount()
        details = DisputeDetails(
            reason=cmd.reason or "",
            certified=cmd.certified,
            minutes=minutes,
            amount=Money.parse(amount, case.currency) if amount else None,
        )
    elif cmd.route is RouteKind.MEDIATION:
        details = DisputeDetails(reason=cmd.reason or "", certified=False)

    def act(case: Case, policy: Policy, now: datetime) -> None:
        case.request_again(
            kind=contract.kind,
            item=item,
            refunded_on_item=refunded,
            expected=cmd.route,
            by=cmd.user_id,
            now=now,
            policy=policy,
            details=details,
        )

    return change_case(deps, cmd.team_id, cmd.case_id, act)


# --- the parties answer --------------------------------------------------------------------------------------


def respond(deps: Deps, team_id: str, user_id: str, case_id: str, accept: bool, statement: str | None = None) -> Case:
    """The freelancer accepts a dispute or escrow refund (refund), or contests it with a statement."""

    def act(case: Case, policy: Policy, now: datetime) -> None:
        if accept:
            case.concede(by=user_id, now=now)
        else:
            case.contest(statement=statement or "", by=user_id, now=now, policy=policy)

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


def appeal(deps: Deps, team_id: str, user_id: str, case_id: str, reason: str | None) -> Case:
    """Design §2.4, appeal: either party asks, once and with a reason, for a second mediator's review."""
    return change_case(
        deps,
        team_id,
        case_id,
        lambda case, policy, now: case.request_appeal(reason=reason or "", by=user_id, now=now, policy=policy),
    )


def view_to_appeal(deps: Deps, team_id: str, user_id: str, case_id: str) -> CaseView:
    """The case behind Ask for a review: a party, while the outcome may still be appealed."""
    return checked_view(deps, team_id, case_id, lambda case, now: case.ensure_party_may_appeal(user_id, now))


def view_to_contest(deps: Deps, team_id: str, user_id: str, case_id: str) -> CaseView:
    """The case behind Contest / Dispute: only its freelancer, only while the answer is due."""
    return checked_view(deps, team_id, case_id, lambda case, now: case.ensure_freelancer_may_respond(user_id, now))
