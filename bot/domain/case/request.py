"""Design §2.2, the refund request: opened by the client, answered by the freelancer (approve, adjust, decline)
within the response window."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Self

from bot.domain.calendar import require_utc
from bot.domain.case.base import CaseBase, checked_text, new_deadline
from bot.domain.contract import Contract, Item, Timesheet, refundable_balance
from bot.domain.errors import (
    AmountNotPositive,
    AmountOverBalance,
    CurrencyMismatch,
    Field,
    InvalidInput,
    NotYourContract,
    OutOfTime,
    Stale,
    refusal,
)
from bot.domain.events import (
    Opened,
)
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.domain.vocabulary import (
    MAY_ASK_AGAIN,
    DeadlineKind,
    LedgerKind,
    Stage,
    State,
)


@refusal
class NothingRefundable(InvalidInput):
    """The chosen contract has no item a refund can be asked for now."""

    contract_id: str
    field = Field.CONTRACT


@refusal
class WrongItemKind(InvalidInput):
    contract_id: str
    kind: str
    field = Field.ITEM


@refusal
class ItemNotPaid(InvalidInput):
    item_label: str
    field = Field.ITEM


@refusal
class ItemTooOld(OutOfTime):
    """Design §2.2: eligible items were paid within the policy's request age limit (180 days in v1)."""

    item_label: str
    paid_at: datetime
    limit: timedelta
    field = Field.ITEM


@refusal
class ItemHasOpenCase(Stale):
    """Design §2.1: one open case per item at a time."""

    item_label: str
    case_id: str | None
    field = Field.ITEM


@refusal
class AmountNotBelowRequested(InvalidInput):
    """An adjusted refund is partial; a full one is Approve."""

    offered: Money
    requested: Money
    field = Field.AMOUNT


@refusal
class AmountAboveAdjustLimit(InvalidInput):
    """The policy caps an adjusted refund at a share of the item's price (Fiverr: 60%)."""

    offered: Money
    most: Money
    paid: Money
    field = Field.AMOUNT


class RequestStage(CaseBase):
    @classmethod
    def open_request(
        cls,
        *,
        case_id: str,
        contract: Contract,
        item: Item,
        amount: Money,
        reason: str,
        refunded: Money,
        held: Money,
        by: str,
        now: datetime,
        policy: Policy,
    ) -> Self:
        """Design §2.2, refund request: the contract's client, on a paid item of the last 180 days, asks for
        more than zero and at most the refundable balance, with a reason of 1–2000 characters."""
        now = require_utc(now)
        if by != contract.client_id:
            raise NotYourContract(contract.id)
        if item.contract_id != contract.id or item.ref.kind is not contract.item_kind:
            raise WrongItemKind(contract.id, contract.kind.value)
        if item.paid_at is None:
            raise ItemNotPaid(item.label)
        if not policy.request_window(item.paid_at).contains(now):
            raise ItemTooOld(item.label, item.paid_at, policy.request_age_limit)
        if amount.currency != contract.currency:
            raise CurrencyMismatch(amount.currency, contract.currency)
        if not amount.is_positive:
            raise AmountNotPositive()
        balance = refundable_balance(item.paid, refunded, held)
        if amount > balance:
            raise AmountOverBalance(amount, balance)
        text = checked_text(reason, Field.REASON, policy.reason_max_length, required=True)
        case = cls(
            id=case_id,
            team_id=contract.team_id,
            contract_id=contract.id,
            item=item.ref,
            item_label=item.label,
            client_id=contract.client_id,
            freelancer_id=contract.freelancer_id,
            paid=item.paid,
            requested=amount,
            refunded=Money.zero(amount.currency),
            reason=text or "",
            policy_version=policy.version,
            opened_at=now,
        )
        case.events.append(Opened(case.id))
        case._record(None, State.AWAITING_FREELANCER, by=by, now=now, amount=amount, rationale=text)
        case._due(DeadlineKind.FREELANCER_RESPONSE, (case.freelancer_id,), now + policy.response_window, policy)
        if isinstance(item, Timesheet) and (window := policy.calendar.review_window(item.week)).closes_at > now:
            case.review_deadline = new_deadline(DeadlineKind.REVIEW_WINDOW, (case.client_id,), window.closes_at, policy)
        return case

    @property
    def may_still_dispute(self) -> bool:
        """Hourly review window (design §2.2): an open request, or one declined, lapsed or partly refunded, can
        still become a dispute of the week; the client is reminded before that window closes."""
        return (
            self.is_open and self.stage is Stage.REQUEST and self.state in (State.AWAITING_FREELANCER, *MAY_ASK_AGAIN)
        )

    def approve(self, *, by: str, now: datetime) -> None:
        """Design §2.2, freelancer actions: Approve refunds the full requested amount."""
        now = self.ensure_freelancer_may_answer(by, now)
        self._record(self.state, State.APPROVED, by=by, now=now, amount=self.requested)
        self._pay(self.requested, Money.zero(self.currency), by=by, now=now)

    def adjust(self, amount: Money, *, note: str | None, by: str, now: datetime, policy: Policy) -> None:
        """Design §2.2, freelancer actions: Adjust refunds a smaller amount now, with an optional note."""
        now = self.ensure_freelancer_may_answer(by, now)
        self._same_currency(amount)
        if not amount.is_positive:
            raise AmountNotPositive()
        if amount >= self.requested:
            raise AmountNotBelowRequested(amount, self.requested)
        if (most := policy.adjust_ceiling(self.paid)) is not None and amount > most:
            raise AmountAboveAdjustLimit(amount, most, self.paid)
        text = checked_text(note, Field.NOTE, policy.reason_max_length, required=False)
        self.offered = amount
        self.response = text
        self._record(self.state, State.ADJUSTED, by=by, now=now, amount=amount, rationale=text)
        self.refunded = self.refunded + amount
        self._ledger(LedgerKind.REFUND, amount, by=by, now=now)

    def decline(self, *, reason: str, by: str, now: datetime, policy: Policy) -> None:
        """Design §2.2, freelancer actions: Decline needs a reason."""
        now = self.ensure_freelancer_may_answer(by, now)
        text = checked_text(reason, Field.DECLINE_REASON, policy.reason_max_length, required=True)
        self.response = text
        self._record(self.state, State.DECLINED, by=by, now=now, rationale=text)

    def ensure_freelancer_may_answer(self, by: str, now: datetime) -> datetime:
        """Only the freelancer, only while the request waits, only inside the response window."""
        return self._ensure_answer(by, now, (Stage.REQUEST,), State.AWAITING_FREELANCER, "freelancer")
