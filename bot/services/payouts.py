"""The marketplace's answers to payouts (design §4): kept on their ledger entries; a refusal holds the case. And
what an operator does about a refusal (`refundbot payouts`): send the entry again, or lift the hold."""

from __future__ import annotations

from bot.domain.case import Case
from bot.domain.case.payout import NotRefused
from bot.domain.errors import ConcurrentChange
from bot.domain.money import Money
from bot.domain.vocabulary import MARKETPLACE
from bot.services import core
from bot.services.messages import OutboxMessage, Surface, payments_endpoint
from bot.services.payments import payout_document
from bot.services.ports import PayoutAnswer


def record_answer(deps: core.Deps, team_id: str, answer: PayoutAnswer) -> bool:
    """Keep the answer on its entry, once: a delivery repeated after a lost answer changes nothing. A refusal
    puts the case on hold and tells the mediators, in the same transaction. False when already answered."""
    for _ in range(core.CONFLICT_RETRIES):
        try:
            return _record(deps, team_id, answer)
        except ConcurrentChange:
            continue
    raise ConcurrentChange(answer.case_id)


def _record(deps: core.Deps, team_id: str, answer: PayoutAnswer) -> bool:
    with deps.uow() as uow:
        if not uow.ledger.record_answer(answer):
            return False
        case = core.load_case(uow, team_id, answer.case_id)
        if answer.outcome == "refused":
            amount = Money(answer.amount_minor, answer.currency)
            case.hold_payout(answer.entry_id, answer.kind, amount, answer.reason or "", now=answer.at)
        elif case.payout_hold is not None:  # an entry sent again went through: what held the case is done
            case.lift_payout_hold(f"the marketplace accepted entry {answer.entry_id}", by=MARKETPLACE, now=answer.at)
        if case.events:
            happened = core.store(uow, case, deps.payments)
            core.queue_told(deps, uow, case, happened, answer.at)
        uow.commit()
    deps.delivered()
    return True


def resend(deps: core.Deps, entry_id: int, by: str) -> Case:
    """Send a refused entry to the marketplace again, under its own idempotency key; the case stays on hold
    until the marketplace accepts it. An audit row says who, and the mediators hear of it."""

    for _ in range(core.CONFLICT_RETRIES):
        try:
            case = _resend(deps, entry_id, by)
        except ConcurrentChange:
            continue
        deps.delivered()
        return case
    raise ConcurrentChange(str(entry_id))


def _resend(deps: core.Deps, entry_id: int, by: str) -> Case:
    """The case's change and the entry's new instruction, in one unit of work (``core.change_case``'s act has no
    unit of work to queue the instruction in)."""
    now = deps.clock()
    with deps.uow() as uow:
        entry = uow.ledger.entry(entry_id)
        if entry is None or uow.ledger.refusal(entry_id) is None:
            raise NotRefused(entry_id)
        case = core.load_case(uow, entry.team_id, entry.case_id)
        case.resend_payout(entry_id, entry.kind, entry.amount, by=by, now=now)
        uow.ledger.forget_answer(entry_id)
        document = payout_document(entry_id, entry)
        again = f"{document['id']}:again:{case.transitions}"
        uow.outbox.add(
            entry.team_id,
            OutboxMessage(f"{entry.case_id}:payouts", again, payments_endpoint(), Surface.PAYOUT, document),
            now,
        )
        happened = core.store(uow, case, deps.payments)
        core.queue_told(deps, uow, case, happened, now)
        uow.commit()
    return case


def lift_hold(deps: core.Deps, team_id: str, case_id: str, reason: str, by: str) -> Case:
    """Lift the hold a refused payout put on a case, with the reason on record; the mediators hear of it."""
    return core.change_case(deps, team_id, case_id, lambda case, _, now: case.lift_payout_hold(reason, by=by, now=now))
