"""Design §2.2, arbitration: a rejected binding proposal is offered to arbitration; both parties pay the fee, the
arbitrator's award closes the case, and the fee rule decides when they do not."""

from __future__ import annotations

from datetime import datetime

from bot.domain.case.base import CaseBase, checked_text
from bot.domain.errors import (
    Field,
)
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.domain.vocabulary import (
    REFERENCE_LIMIT,
    SCHEDULER,
    Answer,
    Grounds,
    State,
)


class ArbitrationStage(CaseBase):
    def agree_to_arbitrate(self, *, by: str, now: datetime) -> None:
        """A party agrees to binding arbitration and pays the fee; when both have, the mediator arbitrates."""
        role = self._ensure_party_answer(by, now, State.ARBITRATION_OFFERED, "arbitration offer")
        self.answers = self.answers | {role: Answer.PAID}
        self.appeal_deadline = None  # a party chose arbitration: the proposal is no longer reviewed
        to = State.ARBITRATION if len(self.answers) == 2 else self.state
        self._record(self.state, to, by=by, now=now, rationale="agreed to arbitration and paid the fee")

    def record_award(
        self, amount: Money, *, reference: str, grounds: Grounds, by: str, now: datetime, policy: Policy
    ) -> None:
        """The binding award (amount refunded to the client, and the arbitrator's reference) closes the case."""
        now = self._ensure_holding(by, now, State.ARBITRATION)

        def award_reference() -> str | None:
            return checked_text(reference, Field.AWARD_REFERENCE, REFERENCE_LIMIT, required=True)

        self._reasoned(amount, grounds, policy, award_reference)
        self.award_reference = award_reference()
        self._record(self.state, State.AWARDED, by=by, now=now, amount=amount, rationale=self.rationale, cite=True)
        self._pay(amount, self.at_stake - amount, by=by, now=now)

    def _fee_rule(self, *, now: datetime) -> None:
        """Design §2.2, arbitration offer: neither paid → refund to the client; one paid → that party wins."""
        paid = set(self.answers)
        if paid == {"freelancer"}:
            why = "only the freelancer paid the arbitration fee"
            self._record(self.state, State.RELEASED, by=SCHEDULER, now=now, amount=self.at_stake, rationale=why)
            self._pay(Money.zero(self.currency), self.at_stake, by=SCHEDULER, now=now)
            return
        why = "only the client paid the arbitration fee" if paid else "neither party paid the arbitration fee"
        self._record(self.state, State.REFUNDED, by=SCHEDULER, now=now, amount=self.at_stake, rationale=why)
        self._pay(self.at_stake, Money.zero(self.currency), by=SCHEDULER, now=now)
