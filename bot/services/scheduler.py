"""What the clock does (design §5): every instance ticks; deadlines are rows, leased, so each
deadline acts once however many instances tick, and a crashed instance's leases lapse and are taken over."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime, timedelta

from bot.domain.case import Case
from bot.domain.contract import Contract, ItemRef
from bot.domain.errors import CaseMovedOn, DeadlineNotReached
from bot.domain.money import Money
from bot.domain.reminders import plan_reminders
from bot.domain.vocabulary import DeadlineKind, Move
from bot.logs import about
from bot.metrics import EXPIRIES, REMINDERS
from bot.services import notify
from bot.services.core import Deps, case_view, change_case
from bot.services.messages import OutboxMessage
from bot.services.models import CaseView
from bot.services.ports import LeasedDeadline, StorageUnavailable

log = logging.getLogger("refundbot.scheduler")
LEASE = timedelta(minutes=2)
BATCH = 200
# Deadlines whose reminders go to whoever may still act on an offer, not to whom the case waits on: each has its own
# handler below.
_OFFERS = (DeadlineKind.REVIEW_WINDOW, DeadlineKind.APPEAL_WINDOW)


def tick(deps: Deps, owner: str) -> int:
    """Remind whoever must act, and apply what the policy says once a deadline has passed."""
    now = deps.clock()
    with deps.uow() as uow:
        leased = uow.deadlines.lease_due(owner, now, LEASE, BATCH)
        uow.commit()
    # Reminders ahead of a deadline are most of a busy tick: they go together, in one transaction.
    reminders = [d for d in leased if d.kind not in _OFFERS and now < d.due_at]
    rest = leased
    if reminders and _remind_together(deps, reminders, owner, now):
        rest = [d for d in leased if d not in reminders]
    for deadline in rest:
        with about(team=deadline.team_id, case=deadline.case_id):
            try:
                _act(deps, deadline, owner, now)
            except StorageUnavailable as down:  # its lease lapses and it is retried
                log.warning("scheduler: deadline %s waits for the database (%s)", deadline.id, down)
            except Exception:  # one deadline's failure must not stop the others; its lease lapses and it is retried
                log.exception("scheduler: deadline %s failed", deadline.id)
    if leased:
        deps.delivered()
    return len(leased)


def _remind_together(deps: Deps, deadlines: list[LeasedDeadline], owner: str, now: datetime) -> bool:
    """False when the batch failed: then each is taken alone, so a failure stays with its own deadline."""
    try:
        _remind(deps, deadlines, owner, now)
    except StorageUnavailable:
        raise
    except Exception:
        log.exception("scheduler: a batch of %d reminders failed; taking them one by one", len(deadlines))
        return False
    return True


def _remind(deps: Deps, deadlines: list[LeasedDeadline], owner: str, now: datetime) -> None:
    """Queue the reminders now due of deadlines still ahead, and record when to look at each again."""
    with deps.uow() as uow:
        states = uow.deadlines.reminder_states([d.id for d in deadlines])
        cases: dict[tuple[str, str], Case] = {}
        contracts: dict[tuple[str, str], Contract] = {}
        refunded: dict[tuple[str, str, ItemRef], int] = {}
        for team in {d.team_id for d in deadlines}:
            found = uow.cases.get_many(team, [d.case_id for d in deadlines if d.team_id == team])
            cases |= {(team, case.id): case for case in found}
            items = {(case.contract_id, case.item) for case in found}
            contracts |= {(team, c.id): c for c in uow.contracts.get_many(team, {c for c, _ in items}).values()}
            refunded |= {(team, *pair): minor for pair, minor in uow.ledger.refunded_on_items(team, items).items()}
        views: dict[str, CaseView] = {}
        queued: dict[str, list[OutboxMessage]] = {}
        marks: list[tuple[int, tuple[float, ...], datetime]] = []
        for deadline in deadlines:
            state = states[deadline.id]
            plan = plan_reminders(deadline.due_at, state.offsets, state.sent, now)
            case = cases.get((deadline.team_id, deadline.case_id))
            if case is not None and plan.send is not None:
                if case.id not in views:
                    on_item = Money(refunded[case.team_id, case.contract_id, case.item], case.currency)
                    contract = contracts.get((case.team_id, case.contract_id))
                    views[case.id] = case_view(uow, case, now, deps.policy, contract, on_item)
                queued.setdefault(case.team_id, []).extend(
                    notify.reminder(
                        views[case.id], deadline.id, plan.send, party, case.ensure_party(party), deadline.due_at, now
                    )
                    for party in state.parties
                    if party in case.waiting_on  # a party who already accepted a proposal is not nagged
                )
            marks.append((deadline.id, plan.sent, plan.next_at))
        for team, messages in queued.items():
            uow.outbox.add_all(team, messages, now)
        uow.deadlines.reminded_all(owner, marks)
        uow.commit()
    REMINDERS.inc(sum(len(messages) for messages in queued.values()))


def _act(deps: Deps, deadline: LeasedDeadline, owner: str, now: datetime) -> None:
    if deadline.kind == DeadlineKind.REVIEW_WINDOW:
        _review_window(deps, deadline, owner, now)
        return
    if deadline.kind == DeadlineKind.APPEAL_WINDOW:
        _appeal_window(deps, deadline, owner, now)
        return
    if now >= deadline.due_at:
        # Decided a moment before the deadline, or extended: the decision (or the new deadline) stands, and this
        # deadline is already retired.
        with suppress(CaseMovedOn, DeadlineNotReached):
            change_case(
                deps, deadline.team_id, deadline.case_id, lambda case, policy, at: case.expire(now=at, policy=policy)
            )
            EXPIRIES.inc()
        return
    _remind(deps, [deadline], owner, now)


def _appeal_window(deps: Deps, deadline: LeasedDeadline, owner: str, now: datetime) -> None:
    """Design §2.4, appeal: remind the parties who may still appeal the outcome; when the window ends, the outcome
    stands (final, or the arbitration offer goes on)."""
    if now >= deadline.due_at:
        with suppress(CaseMovedOn, DeadlineNotReached):  # appealed a moment before: the window is already retired
            change_case(deps, deadline.team_id, deadline.case_id, lambda case, _, at: case.end_appeal_window(now=at))
            EXPIRIES.inc()
        return

    def tell(view: CaseView, party: str, offset: float) -> OutboxMessage | None:
        role = "client" if party == view.client_id else "freelancer"
        may = Move.APPEAL in view.moves.get(role, [])
        return notify.appeal_reminder(view, deadline.id, offset, party, role) if may else None

    _remind_of_offer(deps, deadline, owner, now, lambda case: case.is_open and case.appeal_deadline is not None, tell)


def _review_window(deps: Deps, deadline: LeasedDeadline, owner: str, now: datetime) -> None:
    """An hourly week's dispute window: remind the client while a dispute may still come; when it closes,
    nothing expires (the route after it is shown whenever the client asks again)."""
    due = deadline.due_at
    _remind_of_offer(
        deps,
        deadline,
        owner,
        now,
        lambda case: now < due and case.may_still_dispute,
        lambda view, party, offset: notify.review_reminder(view, deadline.id, offset, party, due),
    )


def _remind_of_offer(
    deps: Deps,
    deadline: LeasedDeadline,
    owner: str,
    now: datetime,
    still: Callable[[Case], bool],
    tell: Callable[[CaseView, str, float], OutboxMessage | None],
) -> None:
    """A window in which someone may take up an offer (dispute the week, appeal the outcome): while ``still`` holds,
    each of its parties ``tell`` names is reminded at the next offset due; otherwise the deadline is done."""
    with deps.uow() as uow:
        case = uow.cases.get(deadline.team_id, deadline.case_id)
        if case is None or not still(case):
            uow.deadlines.finish(deadline.id, owner, now)
            uow.commit()
            return
        state = uow.deadlines.reminder_state(deadline.id)
        plan = plan_reminders(deadline.due_at, state.offsets, state.sent, now)
        told: list[OutboxMessage] = []
        if plan.send is not None:
            view = case_view(uow, case, now, deps.policy)
            told = [m for party in state.parties if (m := tell(view, party, plan.send)) is not None]
            uow.outbox.add_all(case.team_id, told, now)
        uow.deadlines.reminded(deadline.id, owner, plan.sent, plan.next_at)
        uow.commit()
    REMINDERS.inc(len(told))
