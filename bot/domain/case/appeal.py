"""Design §2.4, appeal: an outcome the policy lets a party appeal stays open through its window; a second mediator
reviews it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from bot.domain.calendar import require_utc
from bot.domain.case.base import CaseBase, checked_text, new_deadline
from bot.domain.errors import (
    DeadlineNotReached,
    Field,
    NotAllowed,
    OutOfTime,
    Stale,
    refusal,
)
from bot.domain.events import (
    AppealWindowClosed,
)
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.domain.vocabulary import (
    APPEALABLE,
    SCHEDULER,
    Answer,
    Appeal,
    AppealOn,
    DeadlineKind,
    Grounds,
    LedgerKind,
    Stage,
    State,
)


@refusal
class AppealWindowOver(OutOfTime):
    """Design §2.4, appeal: the time to ask for a review of the outcome has passed; it stands. ``closed_at``: when
    the window closed, where the case keeps it (an arbitration offer that stood beyond it does not)."""

    closed_at: datetime | None


@refusal
class ArbitrationStarted(Stale):
    """A party has agreed to arbitration and paid its fee: the rejected proposal goes there, not to a review."""

    role: Literal["client", "freelancer"]


@refusal
class FirstMediatorCannotReview(NotAllowed):
    """Design §2.4, appeal: the mediator whose outcome is appealed cannot review it."""

    case_id: str
    mediator: str
    field = Field.MEDIATOR


class AppealStage(CaseBase):
    def _offer_appeal(self, on: AppealOn, amount: Money | None, *, now: datetime, policy: Policy) -> None:
        """When the case's policy lets a party appeal this outcome, and no appeal was made yet, the case stays open
        through the appeal window; ``amount`` is what the outcome gives the client in its stage."""
        window = policy.appeal_window(on)
        if window is None or self.appeal is not None:
            return
        self.outcome = amount or Money.zero(self.currency)
        parties = (self.client_id, self.freelancer_id)
        self.appeal_deadline = new_deadline(DeadlineKind.APPEAL_WINDOW, parties, now + window, policy)

    def ensure_party_may_appeal(self, by: str, now: datetime) -> tuple[str, datetime]:
        """Either party, once per case, within the window, of an outcome the policy lets them appeal; a rejected
        proposal only while nobody has paid for arbitration instead."""
        now = require_utc(now)
        role = self.ensure_party(by)
        if self.appeal is None and self.state in APPEALABLE and self.outcome is not None:
            # An outcome that was open to appeal: the late or the outrun are told why, not that the case moved.
            if self.state == State.ARBITRATION_OFFERED and Answer.PAID in self.answers.values():
                raise ArbitrationStarted("client" if "client" in self.answers else "freelancer")
            if self.appeal_deadline is None:
                raise AppealWindowOver(self.closed_at)
        if not self.is_open or self.appeal_deadline is None or self.state not in APPEALABLE:
            raise self._moved_on()
        if now >= self.appeal_deadline.due_at:
            raise AppealWindowOver(self.appeal_deadline.due_at)
        return role, now

    def request_appeal(self, *, reason: str, by: str, now: datetime, policy: Policy) -> None:
        """Design §2.4, appeal: a party asks, with a reason, for a second mediator to review the outcome. A decision
        or a release already paid out stays paid until the review adjusts it; an arbitration offer ends."""
        role, now = self.ensure_party_may_appeal(by, now)
        text = checked_text(reason, Field.REASON, policy.reason_max_length, required=True) or ""
        outcome = self.outcome or Money.zero(self.currency)
        paid = outcome if self.state == State.DECIDED else Money.zero(self.currency)
        self.appeal = Appeal(by, role, text, now, self.state, self.stage, self.mediator_id, outcome, paid)
        self.mediator_id = None
        self.answers = {}
        self._enter(Stage.APPEAL, State.APPEAL_REQUESTED, by=by, now=now, amount=outcome, rationale=text)

    def review(self, amount: Money, *, grounds: Grounds, by: str, now: datetime, policy: Policy) -> None:
        """Design §2.4, appeal: the second mediator confirms the outcome or changes it, on stated grounds; final.
        What the outcome paid out is adjusted by new ledger entries, never rewritten."""
        now = self._ensure_holding(by, now, State.APPEAL_REQUESTED)
        appeal = self.appeal
        if appeal is None:
            raise self._moved_on()
        self._reasoned(amount, grounds, policy)
        self.outcome = amount
        self._record(self.state, State.REVIEWED, by=by, now=now, amount=amount, rationale=self.rationale, cite=True)
        if appeal.outcome == State.ARBITRATION_OFFERED:  # nothing was paid out: the review decides it all
            self._pay(amount, self.at_stake - amount, by=by, now=now)
            return
        if amount > appeal.refunded:
            more = amount - appeal.refunded
            self.refunded = self.refunded + more
            self._ledger(LedgerKind.REFUND, more, by=by, now=now)
            self._ledger(LedgerKind.RELEASE_REVERSAL, more, by=by, now=now)
        elif amount < appeal.refunded:
            back = appeal.refunded - amount
            self.refunded = self.refunded - back
            self._ledger(LedgerKind.REFUND_REVERSAL, back, by=by, now=now)
            self._ledger(LedgerKind.RELEASE, back, by=by, now=now)
        self.closed_at = now

    def end_appeal_window(self, *, now: datetime) -> None:
        """Design §2.4, appeal: silence through the window keeps the outcome. A decision or a release becomes
        final and the case closes; an arbitration offer stands until its own deadline."""
        now = require_utc(now)
        if self.appeal_deadline is None or not self.is_open:
            raise self._moved_on()
        if now < self.appeal_deadline.due_at:
            raise DeadlineNotReached(self.appeal_deadline.due_at)
        self.appeal_deadline = None
        final = self.state != State.ARBITRATION_OFFERED
        why = "nobody asked for a review in time, so " + (
            "the outcome is final" if final else "the arbitration offer stands"
        )
        self._log(self.state, self.state, by=SCHEDULER, now=now, rationale=why)
        if final:
            self.closed_at = now
        self.events.append(AppealWindowClosed(self.id, now, final))

    def _ensure_not_first_mediator(self, mediator: str) -> None:
        if self.state == State.APPEAL_REQUESTED and self.appeal and mediator == self.appeal.first_mediator:
            raise FirstMediatorCannotReview(self.id, mediator)
