"""Use cases of the refund-request stage (design §2.2): the client asks, the freelancer approves, adjusts or
declines; and what either party may do at any stage (withdraw, ask for more time). Nothing here talks to Slack."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from bot.domain.case import Case
from bot.domain.case.request import ItemHasOpenCase
from bot.domain.contract import ItemKind, ItemRef
from bot.domain.errors import ConcurrentChange, UnknownContract, UnknownItem
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.services.core import Deps, case_view, change_case, store, told
from bot.services.models import CaseView
from bot.services.read_models import checked_view


class RequestRefund(BaseModel):
    team_id: str
    user_id: str
    contract_id: str = Field(min_length=1)
    item_key: str = Field(min_length=1)
    amount: str
    reason: str
    request_key: str = Field(min_length=1, max_length=100)


class AnswerRequest(BaseModel):
    team_id: str
    user_id: str
    case_id: str
    action: Literal["approve", "adjust", "decline"]
    amount: str | None = None
    text: str | None = None


class WithdrawRequest(BaseModel):
    team_id: str
    user_id: str
    case_id: str


def parse_item_key(key: str, contract_id: str) -> ItemRef:
    kind, _, ident = key.partition(":")
    try:
        return ItemRef(ItemKind(kind), ident)
    except ValueError:
        raise UnknownItem(contract_id) from None


def view_for_answer(deps: Deps, team_id: str, user_id: str, case_id: str) -> CaseView:
    """The case behind an Adjust or Decline button: only its freelancer, only while the request waits."""
    return checked_view(deps, team_id, case_id, lambda case, now: case.ensure_freelancer_may_answer(user_id, now))


def request_refund(deps: Deps, cmd: RequestRefund) -> Case:
    """The client asks; a resubmission of the same form finds the case the first one opened, even when both
    arrive at once, and a request racing another on the same item is told which case won."""
    try:
        return _request(deps, cmd)
    except (ConcurrentChange, ItemHasOpenCase) as lost:
        # The twin submission may have committed between our look for it and our look at the item.
        with deps.uow() as uow:
            if (first := uow.cases.by_request_key(cmd.team_id, cmd.request_key)) is not None:
                return first
            if isinstance(lost, ItemHasOpenCase):
                raise
            ref = parse_item_key(cmd.item_key, cmd.contract_id)
            item = uow.contracts.item(cmd.team_id, cmd.contract_id, ref)
            winner = uow.cases.open_case_for_item(cmd.team_id, cmd.contract_id, ref)
        raise ItemHasOpenCase(item.label if item else "This item", winner.id if winner else None) from None


def _request(deps: Deps, cmd: RequestRefund) -> Case:
    now = deps.clock()
    with deps.uow() as uow:
        already = uow.cases.by_request_key(cmd.team_id, cmd.request_key)
        if already is not None:
            return already
        contract = uow.contracts.get(cmd.team_id, cmd.contract_id)
        if contract is None or contract.client_id != cmd.user_id:
            raise UnknownContract(cmd.contract_id)
        ref = parse_item_key(cmd.item_key, contract.id)
        item = uow.contracts.item(cmd.team_id, contract.id, ref)
        if item is None:
            raise UnknownItem(contract.id)
        if (open_case := uow.cases.open_case_for_item(cmd.team_id, contract.id, ref)) is not None:
            raise ItemHasOpenCase(item.label, open_case.id)
        case = Case.open_request(
            case_id=deps.new_case_id(),
            contract=contract,
            item=item,
            amount=Money.parse(cmd.amount, contract.currency),
            reason=cmd.reason,
            refunded=uow.ledger.refunded_on_item(cmd.team_id, contract.id, ref, contract.currency),
            held=uow.cases.held_on_item(cmd.team_id, contract.id, ref, contract.currency),
            by=cmd.user_id,
            now=now,
            policy=deps.policy,
        )
        case.request_key = cmd.request_key
        happened = store(uow, case, deps.payments, new=True)
        view = case_view(uow, case, now, deps.policy, contract)
        uow.outbox.add_all(case.team_id, told(deps, uow, case, happened, now, view), now)
        uow.commit()
    deps.delivered()
    return case


def answer_request(deps: Deps, cmd: AnswerRequest) -> Case:
    """The freelancer approves, adjusts or declines; both parties' messages and the thread follow."""

    def act(case: Case, policy: Policy, now: datetime) -> None:
        if cmd.action == "approve":
            case.approve(by=cmd.user_id, now=now)
        elif cmd.action == "adjust":
            amount = Money.parse(cmd.amount or "", case.currency)
            case.adjust(amount, note=cmd.text, by=cmd.user_id, now=now, policy=policy)
        else:
            case.decline(reason=cmd.text or "", by=cmd.user_id, now=now, policy=policy)

    return change_case(deps, cmd.team_id, cmd.case_id, act)


def withdraw_request(deps: Deps, cmd: WithdrawRequest) -> Case:
    return change_case(deps, cmd.team_id, cmd.case_id, lambda case, _, now: case.withdraw(by=cmd.user_id, now=now))


def extend(deps: Deps, team_id: str, user_id: str, case_id: str) -> Case:
    """The party the case waits on is away: they get the policy's extension, once per case."""
    return change_case(
        deps, team_id, case_id, lambda case, policy, now: case.extend(by=user_id, now=now, policy=policy)
    )
