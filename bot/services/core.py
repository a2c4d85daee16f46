"""The service core: what every use case shares (design §5).

``case_view`` is the case as its surfaces show it: what every change hands the notifier, and the root of the read
models (``bot.services.read_models``). A change to a case is always the same five steps, in one unit of work:
load the case, let the domain act under the policy version the case started with (and hand it to a mediator if it
now waits for one where cases are handed out), store it (state, audit,
evidence, ledger through the payments port, deadlines), queue what the change's events cause
(``bot.services.notify``), commit. Nothing here talks to Slack.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.domain.case import Case
from bot.domain.contract import Contract
from bot.domain.errors import CaseMovedOn, CaseNotFound, ConcurrentChange, Refused, UnknownContract
from bot.domain.events import Event, LedgerEntry
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.domain.routing import route_after_request
from bot.domain.visibility import cited_for_parties
from bot.domain.vocabulary import MAY_ASK_AGAIN, SCHEDULER, Stage, State
from bot.services import assignment, notify
from bot.services.locales import HeldLocales
from bot.services.messages import OutboxMessage
from bot.services.models import CaseView, Terms
from bot.services.payments import LedgerOnly, Payments
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
    locales: HeldLocales = field(default_factory=HeldLocales)

    def card_channel(self, team_id: str) -> str | None:
        """Where the workspace's case cards go: its own mediators' channel, or MEDIATOR_CHANNEL_ID."""
        return self.roster.channel(team_id, self.mediator_channel)


Act = Callable[[Case, Policy, datetime], object]
# A change that keeps losing the version check to others is given up on after this many tries.
CONFLICT_RETRIES = 5


def policy_for(uow: UnitOfWork, version: str, current: Policy) -> Policy:
    return uow.policies.get(version) or current


def load_case(uow: UnitOfWork, team_id: str, case_id: str) -> Case:
    case = uow.cases.get(team_id, case_id.strip().upper())
    if case is None:
        raise CaseNotFound(case_id)
    return case


def store(uow: UnitOfWork, case: Case, payments: Payments, *, new: bool = False) -> list[Event]:
    """Write the case with its audit events and evidence (compare-and-set on its version), and hand each ledger
    entry it caused to the payments port. Returns everything that happened, for the notifier."""
    happened = list(case.events)
    case.events[:] = [event for event in happened if not isinstance(event, LedgerEntry)]
    if new:
        uow.cases.add(case)
    else:
        uow.cases.save(case)
    for entry in happened:
        if isinstance(entry, LedgerEntry):
            payments.instruct(uow, entry)
    return happened


def change_case(deps: Deps, team_id: str, case_id: str, act: Act) -> Case:
    """Load, act, store, queue what the events cause, commit.

    When another change commits first (the version check), the act is applied again to the case that change
    left: two parties accepting a proposal at once are both recorded. Only when the act no longer applies is the
    person told that their answer was not recorded, and what got there first."""
    for attempt in range(CONFLICT_RETRIES):
        try:
            case = _apply(deps, team_id, case_id, act)
        except ConcurrentChange:
            continue
        except CaseMovedOn as moved:
            if attempt:
                raise replace(moved, raced=True) from None
            raise
        deps.delivered()
        return case
    raise _told_what_happened(deps, team_id, case_id)


def _apply(deps: Deps, team_id: str, case_id: str, act: Act) -> Case:
    now = deps.clock()
    with deps.uow() as uow:
        case = load_case(uow, team_id, case_id)
        policy = policy_for(uow, case.policy_version, deps.policy)
        act(case, policy, now)
        assignment.hand_out(deps.roster, uow, case, now)
        happened = settle(deps, uow, case, policy, now)
        uow.commit()
    assignment.count_handed_out(deps.roster, case.team_id, happened)
    return case


def settle(deps: Deps, uow: UnitOfWork, case: Case, policy: Policy, now: datetime) -> list[Event]:
    """What ends every change to a case: the mediators' deadlines brought up to date, the case stored, and what
    its events cause queued, in the change's transaction. Returns what happened."""
    case.keep_mediators_to_time(policy)
    happened = store(uow, case, deps.payments)
    queue_told(deps, uow, case, happened, now)
    return happened


def queue_told(deps: Deps, uow: UnitOfWork, case: Case, happened: list[Event], now: datetime) -> None:
    """Queue what a stored change's events cause, in the change's own transaction."""
    uow.outbox.add_all(case.team_id, told(deps, uow, case, happened, now), now)


def told(
    deps: Deps, uow: UnitOfWork, case: Case, happened: Sequence[Event], now: datetime, view: CaseView | None = None
) -> list[OutboxMessage]:
    """What events cause (a change's, or the scheduler's reminders), through the one notifier. ``view`` is the case
    as it now stands, made here unless given; its evidence and its parties' records are read only if a message
    needs them."""
    return notify.case_messages(
        happened,
        view or case_view(uow, case, now, deps.policy),
        deps.card_channel(case.team_id),
        lambda: uow.evidence.for_case(case.id),
        lambda: party_records(uow, case, now, policy_for(uow, case.policy_version, deps.policy)),
        deps.roster.leads(case.team_id),
    )


def party_records(uow: UnitOfWork, case: Case, now: datetime, policy: Policy) -> dict[str, Any]:
    """Each party's record across contracts (other cases than this one), for the mediators' eyes only: the case
    card and its History form. Plain JSON, with the flags of the case's policy."""
    people = (("client", case.client_id), ("freelancer", case.freelancer_id))
    return records_of(uow, case.team_id, people, case.id, now, policy)


def records_of(
    uow: UnitOfWork,
    team_id: str,
    people: Sequence[tuple[str, str]],
    excluding: str,
    now: datetime,
    policy: Policy,
) -> dict[str, Any]:
    """The records of ``people`` (role, user), other than case ``excluding``, as plain JSON with their flags."""
    since = now - policy.history_recent
    shown: dict[str, Any] = {"recent_seconds": policy.history_recent.total_seconds()}
    for role, user in people:
        record = uow.cases.party_record(team_id, role, user, excluding, since)
        shown[role] = {
            "user": user,
            "recent": asdict(record.recent),
            "all_time": asdict(record.all_time),
            "flags": {period: [flag.value for flag in found] for period, found in record.flags(policy).items()},
        }
    return shown


def _told_what_happened(deps: Deps, team_id: str, case_id: str) -> Refused:
    """Lost every try to changes that kept coming: the person hears the last one (who, what, when)."""
    with deps.uow() as uow:
        case = load_case(uow, team_id, case_id)
    if case.updated_at is None:
        return ConcurrentChange(case.id)
    return CaseMovedOn(case.id, case.state, case.updated_by, case.updated_at, raced=True)


def tell(deps: Deps, team_id: str, user_id: str, url: str | None, refusal: Refused, key: str) -> None:
    """Answer a click that changed nothing (stale, foreign, too late) privately, through its response_url, or
    in a DM when it came with none (a global shortcut); the relay words the refusal in the reader's locale."""
    with deps.uow() as uow:
        uow.outbox.add(team_id, notify.refusal(user_id, url, refusal, key), deps.clock())
        uow.commit()
    deps.delivered()


def case_view(
    uow: UnitOfWork,
    case: Case,
    now: datetime,
    current: Policy,
    contract: Contract | None = None,
    on_item: Money | None = None,
) -> CaseView:
    """The case as its surfaces show it, under the policy version it started with (whatever ``current`` is).
    ``contract`` and ``on_item`` (refunded on the case's item so far) are read unless given."""
    policy = policy_for(uow, case.policy_version, current)
    contract = contract or uow.contracts.get(case.team_id, case.contract_id)
    if contract is None:
        raise UnknownContract(case.contract_id)
    if on_item is None:
        on_item = uow.ledger.refunded_on_item(case.team_id, case.contract_id, case.item, case.currency)
    answering = case.stage is Stage.REQUEST and case.state is State.AWAITING_FREELANCER
    offered = case.stage is Stage.MEDIATION and case.binding  # arbitration, and its fee, may come
    return CaseView(
        id=case.id,
        contract_id=contract.id,
        contract_title=contract.title,
        contract_kind=contract.kind,
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
        next_step=_next_step(uow, case, contract, now, policy),
        stage=case.stage,
        **_later_stages(uow, case, policy),
        fee_minor=fee.minor if offered and (fee := policy.arbitration_fee(case.at_stake)) else None,
        adjust_max_minor=most.minor if answering and (most := policy.adjust_ceiling(case.paid)) else None,
        waiting_on=list(case.waiting_on),
        open=case.is_open,
        extended_by=list(case.extended_by),
        payout_hold=case.payout_hold,
        terms=Terms.of(policy),
        deadline_reason=_deadline_reason(uow, case),
        at_stake_minor=case.at_stake.minor,
        by_deadline=case.updated_by == SCHEDULER,
        escalated=case.escalated_at is not None,
        moves={
            "client": list(case.moves("client", now)),
            "freelancer": list(case.moves("freelancer", now)),
            "mediator": list(case.mediator_moves()),
        },
    )


def _next_step(uow: UnitOfWork, case: Case, contract: Contract, now: datetime, policy: Policy) -> dict[str, Any] | None:
    """Design §2.3: once the request is answered, the route "Request again" would take now, and until when."""
    if case.stage is not Stage.REQUEST or case.state not in MAY_ASK_AGAIN:
        return None
    item = uow.contracts.item(case.team_id, case.contract_id, case.item)
    if item is None or item.paid_at is None:
        return None
    route = route_after_request(contract.kind, item, now, policy)
    return {
        "route": route.kind.value,
        "until": route.until.isoformat() if route.until else None,
        "review_closes_at": route.review.closes_at.isoformat() if route.review else None,
        "mediation_closes_at": route.mediation.closes_at.isoformat() if route.mediation else None,
    }


def _later_stages(uow: UnitOfWork, case: Case, policy: Policy) -> dict[str, Any]:
    """What the stages after the request add: the dispute, the mediator's outcome and its grounds, the appeal."""
    return {
        "disputed_minor": case.disputed.minor if case.disputed else None,
        "disputed_minutes": case.disputed_minutes,
        "dispute_reason": case.dispute_reason,
        "statement": case.statement,
        "binding": case.binding,
        "mediator_id": case.mediator_id,
        "proposal_minor": case.proposal.minor if case.proposal else None,
        "rationale": case.rationale,
        "rule": case.rule,
        "rule_title": ground.title if case.rule and (ground := policy.grounds.get(case.rule)) else None,
        "cited": _cited(uow, case),
        "answers": dict(case.answers),
        "award_reference": case.award_reference,
        "appeal_until": case.appeal_deadline.due_at.isoformat() if case.appeal_deadline and case.is_open else None,
        "outcome_minor": case.outcome.minor if case.outcome else None,
        "appeal": case.appeal.as_json() if case.appeal else None,
        "evidence_count": case.evidence_count,
        "mediator_due": {d.kind.value: d.due_at.isoformat() for d in case.mediator_deadlines},
        "mediators_late": {kind: due.isoformat() for kind, (due, _) in case.mediators_late.items()},
    }


def _cited(uow: UnitOfWork, case: Case) -> list[dict[str, Any]]:
    """The evidence the mediator's outcome relied on, as both parties may read it: a mediator-only item by its
    number and author alone, since its words never reach the other side."""
    if not case.cited:
        return []
    wanted = set(case.cited)
    return [cited_for_parties(item) for item in uow.evidence.for_case(case.id) if item.seq in wanted]


def _deadline_reason(uow: UnitOfWork, case: Case) -> str | None:
    """Why the scheduler moved the case, when it was the last to: the parties are told why, not just when."""
    if case.updated_by != SCHEDULER:
        return None
    by_scheduler = [event for event in uow.audit.for_case(case.id) if event.actor == SCHEDULER]
    return by_scheduler[-1].rationale if by_scheduler else None
