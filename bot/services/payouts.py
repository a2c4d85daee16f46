"""The marketplace's answers to payouts (design §4): kept on their ledger entries; a refusal holds the case."""

from __future__ import annotations

from bot.domain.errors import ConcurrentChange
from bot.domain.money import Money
from bot.services import core
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
        if answer.outcome == "refused":
            case = core.load_case(uow, team_id, answer.case_id)
            policy = core.policy_for(uow, case.policy_version, deps.policy)
            amount = Money(answer.amount_minor, answer.currency)
            case.hold_payout(answer.entry_id, answer.kind, amount, answer.reason or "", now=answer.at)
            happened = core.store(uow, case, deps.payments)
            core.queue_told(deps, uow, case, happened, answer.at, policy)
        uow.commit()
    deps.delivered()
    return True
