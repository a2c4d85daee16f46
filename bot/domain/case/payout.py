"""Design §4, payments: a payout the marketplace refused puts the case on hold, until it is sent again and
accepted or an operator lifts the hold."""

from __future__ import annotations

from datetime import datetime

from bot.domain.calendar import require_utc
from bot.domain.case.base import CaseBase
from bot.domain.errors import (
    Field,
    Stale,
    TextRequired,
    refusal,
)
from bot.domain.events import (
    PayoutHandled,
    PayoutRefused,
)
from bot.domain.money import Money
from bot.domain.vocabulary import (
    MARKETPLACE,
    PAYOUT_REASON_LIMIT,
    LedgerKind,
)


@refusal
class NotOnHold(Stale):
    """Only a case a refused payout put on hold can have its hold lifted."""

    case_id: str


@refusal
class NotRefused(Stale):
    """Only an entry the marketplace refused is sent again by hand; the others are delivered on their own."""

    entry_id: int


class PayoutStage(CaseBase):
    def hold_payout(self, entry_id: int, kind: LedgerKind, amount: Money, reason: str, *, now: datetime) -> None:
        """Design §4, payments: the marketplace refused to carry out a refund or release this case decided. The
        outcome stands and the ledger keeps it; the money has not moved, so the case is on hold for the mediators."""
        now = require_utc(now)
        reason = " ".join(reason.split())[:PAYOUT_REASON_LIMIT] or "no reason given"
        self._log(self.state, self.state, by=MARKETPLACE, now=now, amount=amount, rationale=f"{kind} refused: {reason}")
        self.payout_hold = reason
        self.events.append(PayoutRefused(self.id, entry_id, kind, amount, reason, now))

    def resend_payout(self, entry_id: int, kind: LedgerKind, amount: Money, *, by: str, now: datetime) -> None:
        """An operator sends a refused entry to the marketplace again (its reason fixed on their side). The hold
        stays until the marketplace accepts it or an operator lifts it."""
        now = require_utc(now)
        self._log(self.state, self.state, by=by, now=now, amount=amount, rationale=f"{kind} {entry_id} sent again")
        self.events.append(PayoutHandled(self.id, "resent", by, now, entry_id=entry_id))

    def lift_payout_hold(self, reason: str, *, by: str, now: datetime) -> None:
        """An operator lifts the hold a refused payout put on the case (the money moved another way, say), with
        the reason on record."""
        now = require_utc(now)
        if self.payout_hold is None:
            raise NotOnHold(self.id)
        reason = " ".join(reason.split())[:PAYOUT_REASON_LIMIT]
        if not reason:
            raise TextRequired(Field.REASON)
        self._log(self.state, self.state, by=by, now=now, rationale=f"payout hold lifted: {reason}")
        self.payout_hold = None
        self.events.append(PayoutHandled(self.id, "hold_lifted", by, now, reason=reason))
