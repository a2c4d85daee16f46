"""Use cases of the refund-request stage: one function per thing a person does (design §5).

Each opens the unit of work, loads, calls the domain, writes the case with its audit events, ledger entries,
deadline and the outbox messages the change causes, and commits once. Nothing here talks to Slack.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from bot.blocks import render
from bot.blocks.models import CaseView, ItemChoice, RefundForm, Terms, Unavailable
from bot.domain.case import ANSWERED, SCHEDULER, Case, Evidence, Stage, Visibility
from bot.domain.contract import Contract, ItemKind, ItemRef, refundable_balance
from bot.domain.errors import (
    CaseMovedOn,
    CaseNotFound,
    ConcurrentChange,
    ItemHasOpenCase,
    NotYourCase,
    Refused,
    UnknownContract,
    UnknownItem,
)
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.domain.routing import route_after_request
from bot.services.messages import OutboxMessage, channel, dm, group, home, response_url, thread
from bot.services.payments import LedgerOnly, Payments, store
from bot.services.ports import UnitOfWork
from bot.services.roster import Roster

# Crockford's alphabet: no I, L, O or U to misread when someone types a case id.
_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_case_id() -> str:
    return "R-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(6))


@dataclass(frozen=True)
class Deps:
    """What the use cases need from the composition root."""

    uow: Callable[[], UnitOfWork]
    clock: Callable[[], datetime]
    policy: Policy
    new_case_id: Callable[[], str] = new_case_id
    payments: Payments = field(default_factory=LedgerOnly)
    roster: Roster = field(default_factory=Roster)
    mediator_channel: str | None = None  # where case cards go (MEDIATOR_CHANNEL_ID)
    delivered: Callable[[], None] = lambda: None  # wakes this instance's relay after a commit


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


def item_key(ref: ItemRef) -> str:
    return f"{ref.kind.value}:{ref.id}"


def parse_item_key(key: str, contract_id: str) -> ItemRef:
    kind, _, ident = key.partition(":")
    try:
        return ItemRef(ItemKind(kind), ident)
    except ValueError:
        raise UnknownItem(contract_id) from None


def policy_for(uow: UnitOfWork, version: str, current: Policy) -> Policy:
    return uow.policies.get(version) or current


def load_case(uow: UnitOfWork, team_id: str, case_id: str) -> Case:
    case = uow.cases.get(team_id, case_id.strip().upper())
    if case is None:
        raise CaseNotFound(case_id)
    return case


# --- reading ----------------------------------------------------------------------------------------------


def refund_form(
    deps: Deps, team_id: str, user_id: str, contract_id: str | None = None, item: str | None = None
) -> RefundForm:
    """The caller's contracts as client and, for the chosen one, every item they can ask a refund on now."""
    now = deps.clock()
    with deps.uow() as uow:
        contracts = uow.contracts.for_client(team_id, user_id)
        form = RefundForm(contracts=[(c.id, c.title) for c in contracts], reason_limit=deps.policy.reason_max_length)
        contract = next((c for c in contracts if c.id == contract_id), None)
        if contract is None:
            return form
        choices: list[ItemChoice] = []
        unavailable: list[Unavailable] = []
        for candidate in uow.contracts.items(team_id, contract.id):
            ref = candidate.ref
            if candidate.paid_at is None:
                unavailable.append(Unavailable(candidate.label, "unpaid"))
            elif not deps.policy.request_window(candidate.paid_at).contains(now):
                unavailable.append(
                    Unavailable(
                        candidate.label, "too_old", paid_at=candidate.paid_at, limit=deps.policy.request_age_limit
                    )
                )
            elif (open_case := uow.cases.open_case_for_item(team_id, contract.id, ref)) is not None:
                unavailable.append(Unavailable(candidate.label, "open_case", case_id=open_case.id))
            else:
                refunded = uow.ledger.refunded_on_item(team_id, contract.id, ref, contract.currency)
                held = uow.cases.held_on_item(team_id, contract.id, ref, contract.currency)
                balance = refundable_balance(candidate.paid, refunded, held)
                if balance.is_positive:
                    choices.append(ItemChoice(item_key(ref), candidate.label, candidate.paid.minor, balance.minor))
                else:
                    unavailable.append(Unavailable(candidate.label, "refunded"))
    return replace(
        form,
        contract_id=contract.id,
        currency=contract.currency,
        items=choices,
        item_key=item if any(c.key == item for c in choices) else None,
        unavailable=unavailable,
    )


def case_status(deps: Deps, team_id: str, user_id: str, case_id: str) -> CaseView:
    """Only the case's parties and the mediators see it."""
    with deps.uow() as uow:
        case = load_case(uow, team_id, case_id)
        if case.role_of(user_id) is None and not deps.roster.is_mediator(user_id):
            raise NotYourCase(case.id, "client or freelancer")
        return case_view(uow, case, deps.clock(), deps.policy)


def open_cases(deps: Deps, team_id: str, user_id: str) -> list[CaseView]:
    with deps.uow() as uow:
        return [case_view(uow, case, deps.clock(), deps.policy) for case in uow.cases.open_for_user(team_id, user_id)]


def checked_view(deps: Deps, team_id: str, case_id: str, check: Callable[[Case, datetime], object]) -> CaseView:
    """The case behind a button that opens a form, refused before the form opens when ``check`` says this
    person may not use it now (stale, not theirs, too late)."""
    now = deps.clock()
    with deps.uow() as uow:
        case = load_case(uow, team_id, case_id)
        check(case, now)
        return case_view(uow, case, now, policy_for(uow, case.policy_version, deps.policy))


def case_for_answer(deps: Deps, team_id: str, user_id: str, case_id: str) -> CaseView:
    """The case behind an Adjust or Decline button: only its freelancer, only while the request waits."""
    return checked_view(deps, team_id, case_id, lambda case, now: case.ensure_freelancer_may_answer(user_id, now))


# --- changing ---------------------------------------------------------------------------------------------


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
        uow.cases.add(case)
        view = case_view(uow, case, now, deps.policy, contract).as_json()
        _queue(
            uow,
            case,
            now,
            [
                OutboxMessage(
                    case.id,
                    f"{case.id}:thread",
                    group(case.client_id, case.freelancer_id),
                    render.THREAD_ROOT,
                    view,
                    message_key=f"{case.id}:thread",
                ),
                *_case_messages(case, view),
            ],
        )
        uow.commit()
    deps.delivered()
    return case


def _told_what_happened(deps: Deps, team_id: str, case_id: str, lost: ConcurrentChange) -> Refused:
    """The loser of a race hears the winner's outcome (who, what, when), not just that it lost."""
    with deps.uow() as uow:
        case = uow.cases.get(team_id, case_id)
    if case is None or case.updated_at is None:
        return lost
    return CaseMovedOn(case.id, case.state, case.updated_by, case.updated_at)


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


def change_case(deps: Deps, team_id: str, case_id: str, act: Callable[[Case, Policy, datetime], None]) -> Case:
    """Load the case, apply one transition under the policy it started with, save it with its ledger entries
    and messages, commit. Losing a race to another change is reported as what that change did."""
    now = deps.clock()
    try:
        with deps.uow() as uow:
            case = load_case(uow, team_id, case_id)
            policy = policy_for(uow, case.policy_version, deps.policy)
            steps, escalated, extended = case.transitions, case.escalated_at is not None, case.extended_by
            act(case, policy, now)
            added = [event for event in case.new_events if isinstance(event, Evidence)]
            store(uow, case, deps.payments)
            view = case_view(uow, case, now, policy).as_json()
            messages: list[OutboxMessage] = []
            if case.extended_by != extended:
                messages += _extension_messages(case, view, deps.mediator_channel)
            elif case.transitions != steps:
                messages += _case_messages(case, view, deps.mediator_channel)
            elif added and case.escalated_at is not None and deps.mediator_channel:
                messages.append(_card(case, view, deps.mediator_channel, f"evidence:{added[-1].seq}"))
            if case.escalated_at is not None and not escalated:
                added = uow.evidence.for_case(case.id)  # the card thread starts with everything added so far
            messages += [m for evidence in added for m in _evidence_messages(case, evidence, deps.mediator_channel)]
            _queue(uow, case, now, messages)
            uow.commit()
    except ConcurrentChange as lost:
        raise _told_what_happened(deps, team_id, case_id, lost) from None
    deps.delivered()
    return case


def tell(deps: Deps, team_id: str, user_id: str, url: str, refusal: Refused, key: str) -> None:
    """Answer a click that changed nothing (stale, foreign, too late) privately, through its response_url; the
    relay words the refusal in the reader's locale."""
    with deps.uow() as uow:
        message = OutboxMessage(
            f"user:{user_id}", f"notice:{key}", response_url(url, user_id), render.REFUSAL, refusal.as_json()
        )
        uow.outbox.add(team_id, message, deps.clock())
        uow.commit()
    deps.delivered()


def show_home(deps: Deps, team_id: str, user_id: str, opened_at: str) -> None:
    """Publish this person's App Home (through the outbox: views.publish is no call for the ack path)."""
    cases = [view.as_json() for view in open_cases(deps, team_id, user_id)]
    with deps.uow() as uow:
        message = OutboxMessage(
            f"home:{user_id}",
            f"home:{user_id}:{opened_at}",
            home(user_id),
            render.HOME,
            {"user": user_id, "cases": cases},
        )
        uow.outbox.add(team_id, message, deps.clock())
        uow.commit()
    deps.delivered()


# --- what the parties see ---------------------------------------------------------------------------------


def _case_messages(case: Case, view: dict[str, Any], mediator_channel: str | None = None) -> list[OutboxMessage]:
    """After each transition: a line in the case thread, both parties' DMs brought up to date, and the
    mediators' case card once the case has needed one."""
    step = case.transitions
    messages = [
        OutboxMessage(case.id, f"{case.id}:timeline:{step}", thread(f"{case.id}:thread"), render.TIMELINE, view),
        OutboxMessage(
            case.id,
            f"{case.id}:freelancer:{step}",
            dm(case.freelancer_id),
            render.FREELANCER_REQUEST,
            view,
            message_key=f"{case.id}:freelancer",
        ),
        OutboxMessage(
            case.id,
            f"{case.id}:client:{step}",
            dm(case.client_id),
            render.CLIENT_REQUEST,
            view,
            message_key=f"{case.id}:client",
        ),
    ]
    if case.escalated_at is not None and mediator_channel:
        messages.append(_card(case, view, mediator_channel, str(step)))
    return messages


def _extension_messages(case: Case, view: dict[str, Any], mediator_channel: str | None) -> list[OutboxMessage]:
    """An extension moves the deadline, not the case: the DMs and the card show the new date in place, and the
    thread and the other side are told who asked and until when (an in-place edit notifies nobody)."""
    step = case.transitions
    asker = case.party(case.extended_by[-1])
    other = case.client_id if asker == case.freelancer_id else case.freelancer_id
    told = view | {"by": asker}
    return [
        *(m for m in _case_messages(case, view, mediator_channel) if m.surface != render.TIMELINE),
        OutboxMessage(case.id, f"{case.id}:timeline:{step}", thread(f"{case.id}:thread"), render.EXTENDED, told),
        OutboxMessage(case.id, f"{case.id}:extended:{step}:{other}", dm(other), render.EXTENDED, told),
    ]


def _card(case: Case, view: dict[str, Any], mediator_channel: str, version: str) -> OutboxMessage:
    return OutboxMessage(
        case.id,
        f"{case.id}:card:{version}",
        channel(mediator_channel),
        render.CASE_CARD,
        view,
        message_key=f"{case.id}:card",
    )


def _evidence_messages(case: Case, evidence: Evidence, mediator_channel: str | None) -> list[OutboxMessage]:
    """Both-sides evidence in the case thread; every piece in the card's thread once there is a card."""
    view = {
        "case_id": case.id,
        "seq": evidence.seq,
        "author": evidence.author,
        "role": evidence.role,
        "text": evidence.text,
        "links": list(evidence.links),
        "visibility": evidence.visibility.value,
        "at": evidence.at.isoformat(),
        "answers": evidence.answers,
    }
    key = f"{case.id}:evidence:{evidence.seq}"
    messages = []
    if evidence.visibility is Visibility.BOTH_SIDES:
        messages.append(OutboxMessage(case.id, f"{key}:thread", thread(f"{case.id}:thread"), render.EVIDENCE, view))
    if case.escalated_at is not None and mediator_channel:
        messages.append(OutboxMessage(case.id, f"{key}:card", thread(f"{case.id}:card"), render.EVIDENCE, view))
    return messages


def _queue(uow: UnitOfWork, case: Case, now: datetime, messages: list[OutboxMessage]) -> None:
    for message in messages:
        uow.outbox.add(case.team_id, message, now)


def case_view(
    uow: UnitOfWork, case: Case, now: datetime, current: Policy, contract: Contract | None = None
) -> CaseView:
    """The case as its surfaces show it, under the policy version it started with (whatever ``current`` is)."""
    policy = policy_for(uow, case.policy_version, current)
    contract = contract or uow.contracts.get(case.team_id, case.contract_id)
    if contract is None:
        raise UnknownContract(case.contract_id)
    on_item = uow.ledger.refunded_on_item(case.team_id, case.contract_id, case.item, case.currency)
    next_step = None
    if case.stage is Stage.REQUEST and case.state in ANSWERED:
        item = uow.contracts.item(case.team_id, case.contract_id, case.item)
        if item is not None and item.paid_at is not None:
            route = route_after_request(contract.kind, item, now, policy)
            next_step = {
                "route": route.kind.value,
                "until": route.until.isoformat() if route.until else None,
                "review_closes_at": route.review.closes_at.isoformat() if route.review else None,
                "mediation_closes_at": route.mediation.closes_at.isoformat() if route.mediation else None,
            }
    return CaseView(
        id=case.id,
        contract_id=contract.id,
        contract_title=contract.title,
        contract_kind=contract.kind.value,
        item_label=case.item_label,
        client_id=case.client_id,
        freelancer_id=case.freelancer_id,
        currency=case.currency,
        paid_minor=case.paid.minor,
        refunded_before_minor=(on_item - case.refunded).minor,
        requested_minor=case.requested.minor,
        refunded_minor=case.refunded.minor,
        offered_minor=case.offered.minor if case.offered else None,
        reason=case.reason,
        response=case.response,
        state=case.state,
        updated_by=case.updated_by,
        updated_at=(case.updated_at or case.opened_at).isoformat(),
        due_at=case.deadline.due_at.isoformat() if case.deadline else None,
        policy_version=case.policy_version,
        next_step=next_step,
        stage=case.stage.value,
        disputed_minor=case.disputed.minor if case.disputed else None,
        disputed_minutes=case.disputed_minutes,
        dispute_reason=case.dispute_reason,
        statement=case.statement,
        binding=case.binding,
        mediator_id=case.mediator_id,
        proposal_minor=case.proposal.minor if case.proposal else None,
        rationale=case.rationale,
        answers=dict(case.answers),
        award_reference=case.award_reference,
        evidence_count=case.evidence_count,
        fee_minor=fee.minor if (fee := policy.arbitration_fee(case.currency)) else None,
        waiting_on=list(case.waiting_on),
        open=case.is_open,
        extended_by=list(case.extended_by),
        terms=Terms.of(policy),
        deadline_reason=_deadline_reason(uow, case),
    )


def _deadline_reason(uow: UnitOfWork, case: Case) -> str | None:
    """Why the scheduler moved the case, when it was the last to: the parties are told why, not just when."""
    if case.updated_by != SCHEDULER:
        return None
    by_scheduler = [event for event in uow.audit.for_case(case.id) if event.actor == SCHEDULER]
    return by_scheduler[-1].rationale if by_scheduler else None
