"""What the clock does (design §5): every instance ticks; deadlines are rows, leased, so each
deadline acts once however many instances tick, and a crashed instance's leases lapse and are taken over."""

from __future__ import annotations

import logging
from contextlib import suppress
from datetime import datetime, timedelta

from bot.domain.case import Case
from bot.domain.contract import Contract, ItemRef
from bot.domain.errors import CaseMovedOn, DeadlineNotReached
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.domain.reminders import plan_reminders
from bot.domain.vocabulary import MEDIATOR_DEADLINES, DeadlineKind
from bot.logs import about
from bot.metrics import EXPIRIES, MEDIATORS_LATE, REMINDERS
from bot.services.core import Deps, case_view, change_case, told
from bot.services.messages import OutboxMessage
from bot.services.models import CaseView
from bot.services.ports import LeasedDeadline, StorageUnavailable, UnitOfWork

log = logging.getLogger("refundbot.scheduler")
LEASE = timedelta(minutes=2)
BATCH = 200
# Windows that offer a move (dispute the week, appeal the outcome) rather than wait for an answer: once the offer is
# taken up or gone, their deadline is done.
_OFFERS = (DeadlineKind.REVIEW_WINDOW, DeadlineKind.APPEAL_WINDOW)


def tick(deps: Deps, owner: str) -> int:
    """Remind whoever must act, and apply what the policy says once a deadline has passed."""
    now = deps.clock()
    with deps.uow() as uow:
        leased = uow.deadlines.lease_due(owner, now, LEASE, BATCH)
        uow.commit()
    # Reminders ahead of a deadline are most of a busy tick: they go together, in one transaction.
    reminders = [d for d in leased if now < d.due_at]
    rest = [d for d in leased if d.due_at <= now]
    if reminders and not _remind_together(deps, reminders, owner, now):
        rest = leased
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
    """Queue the reminders now due of deadlines still ahead, and record when to look at each again. The case says
    who is reminded (``Case.reminders``); what they are told is the notifier's, as for every change."""
    with deps.uow() as uow:
        states = uow.deadlines.reminder_states([d.id for d in deadlines])
        known = _Known(uow, deps.policy, deadlines)
        queued: dict[str, list[OutboxMessage]] = {}
        marks: list[tuple[int, tuple[float, ...], datetime]] = []
        for deadline in deadlines:
            case = known.cases.get((deadline.team_id, deadline.case_id))
            if case is None or (deadline.kind in _OFFERS and not case.offers(deadline.kind, deadline.due_at, now)):
                uow.deadlines.finish(deadline.id, owner, now)  # the offer was taken up or is gone: nothing to remind
                continue
            state = states[deadline.id]
            plan = plan_reminders(deadline.due_at, state.offsets, state.sent, now)
            if plan.send is not None:
                due = (deadline.id, deadline.kind, state.parties, plan.send, deadline.due_at, now)
                if reminded := case.reminders(*due):
                    queued.setdefault(case.team_id, []).extend(
                        told(deps, uow, case, reminded, now, known.view(case, now))
                    )
            marks.append((deadline.id, plan.sent, plan.next_at))
        for team, messages in queued.items():
            uow.outbox.add_all(team, messages, now)
        uow.deadlines.reminded_all(owner, marks)
        uow.commit()
    REMINDERS.inc(sum(len(messages) for messages in queued.values()))


class _Known:
    """A batch's cases, their contracts and what was refunded on their items, each read once for the whole batch;
    and each case's view, made once however many of its deadlines remind."""

    def __init__(self, uow: UnitOfWork, policy: Policy, deadlines: list[LeasedDeadline]) -> None:
        self.uow, self.policy = uow, policy
        self.cases: dict[tuple[str, str], Case] = {}
        self.contracts: dict[tuple[str, str], Contract] = {}
        self.refunded: dict[tuple[str, str, ItemRef], int] = {}
        for team in {d.team_id for d in deadlines}:
            found = uow.cases.get_many(team, [d.case_id for d in deadlines if d.team_id == team])
            self.cases |= {(team, case.id): case for case in found}
            items = {(case.contract_id, case.item) for case in found}
            contracts = uow.contracts.get_many(team, {c for c, _ in items}).values()
            self.contracts |= {(team, contract.id): contract for contract in contracts}
            self.refunded |= {(team, *pair): minor for pair, minor in uow.ledger.refunded_on_items(team, items).items()}
        self.views: dict[str, CaseView] = {}

    def view(self, case: Case, now: datetime) -> CaseView:
        if case.id not in self.views:
            on_item = Money(self.refunded.get((case.team_id, case.contract_id, case.item), 0), case.currency)
            contract = self.contracts.get((case.team_id, case.contract_id))
            self.views[case.id] = case_view(self.uow, case, now, self.policy, contract, on_item)
        return self.views[case.id]


def _act(deps: Deps, deadline: LeasedDeadline, owner: str, now: datetime) -> None:
    if now < deadline.due_at:
        _remind(deps, [deadline], owner, now)
        return
    if deadline.kind is DeadlineKind.REVIEW_WINDOW:  # the week's dispute window closed: nothing expires
        with deps.uow() as uow:
            uow.deadlines.finish(deadline.id, owner, now)
            uow.commit()
        return
    # Decided a moment before the deadline, appealed a moment before the window's end, or extended: the decision
    # (or the new deadline) stands, and this deadline is already retired.
    with suppress(CaseMovedOn, DeadlineNotReached):
        if deadline.kind in MEDIATOR_DEADLINES:  # the leads are told; nothing is decided for anyone
            kind = deadline.kind
            change_case(
                deps, deadline.team_id, deadline.case_id, lambda case, _, at: case.mediators_missed(kind, now=at)
            )
            MEDIATORS_LATE.labels(kind.value).inc()
        elif deadline.kind is DeadlineKind.APPEAL_WINDOW:  # nobody appealed: the outcome stands (design §2.4)
            change_case(deps, deadline.team_id, deadline.case_id, lambda case, _, at: case.end_appeal_window(now=at))
        else:
            change_case(
                deps, deadline.team_id, deadline.case_id, lambda case, policy, at: case.expire(now=at, policy=policy)
            )
        EXPIRIES.inc()
