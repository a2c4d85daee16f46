"""Design §2.3, after the request: the client asks again by the route the policy gives (an hourly dispute inside
the week's review window, the escrow refund, or non-binding mediation), and the freelancer and client answer it."""

from __future__ import annotations

from datetime import datetime

from bot.domain.calendar import require_utc
from bot.domain.case.base import CaseBase, checked_text
from bot.domain.contract import ContractKind, Item, Timesheet, refundable_balance
from bot.domain.errors import (
    AmountNotPositive,
    AmountOverBalance,
    Field,
    InvalidInput,
    NotYourCase,
    OutOfTime,
    Stale,
    refusal,
)
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.domain.routing import Route, RouteKind, route_after_request
from bot.domain.vocabulary import (
    MAY_ASK_AGAIN,
    DeadlineKind,
    DisputeDetails,
    Stage,
    State,
)


@refusal
class TimeOrAmount(InvalidInput):
    """An hourly dispute claims time or an amount: one of them, not both and not neither."""

    field = Field.AMOUNT


@refusal
class TimeOverBalance(InvalidInput):
    """An hourly dispute's time is worth more than what is left to refund on the week."""

    minutes: int
    worth: Money
    balance: Money
    field = Field.TIME


@refusal
class InvalidTime(InvalidInput):
    """Disputed hours are whole and not negative; minutes are whole, 0 to 59."""

    hours: str
    minutes: str
    field = Field.TIME


@refusal
class DisputedTimeInvalid(InvalidInput):
    """Design §2.2, hourly dispute: more than nothing, and at most the week's billed time."""

    minutes: int
    week_minutes: int
    field = Field.TIME


@refusal
class CertificationRequired(InvalidInput):
    field = Field.CERTIFICATION


@refusal
class DisputeWindowClosed(OutOfTime):
    """Design §2.2: an hourly dispute is possible only inside the week's review window."""

    week_label: str
    opens_at: datetime
    closes_at: datetime


@refusal
class RouteChanged(Stale):
    """The form was opened for one route, and by the time it was sent the policy gives another."""

    expected: str
    actual: str


class DisputeStage(CaseBase):
    def ensure_client_may_ask_again(self, by: str, now: datetime) -> datetime:
        now = require_utc(now)
        if by != self.client_id:
            raise NotYourCase(self.id, "client")
        if self.stage is not Stage.REQUEST or self.state not in MAY_ASK_AGAIN:
            raise self._moved_on()
        return now

    def request_again(
        self,
        *,
        kind: ContractKind,
        item: Item,
        refunded_on_item: Money,
        expected: RouteKind,
        by: str,
        now: datetime,
        policy: Policy,
        details: DisputeDetails | None = None,
    ) -> Route:
        """The client takes a declined, lapsed or partly refunded request further, by the route the policy gives
        now. ``expected`` is the route the client saw and confirmed; if time moved it elsewhere, nothing happens."""
        now = self.ensure_client_may_ask_again(by, now)
        route = route_after_request(kind, item, now, policy)
        if route.kind is not expected:
            if expected is RouteKind.HOURLY_DISPUTE and isinstance(item, Timesheet):
                window = policy.calendar.review_window(item.week)
                raise DisputeWindowClosed(item.label, window.opens_at, window.closes_at)
            raise RouteChanged(expected.value, route.kind.value)
        match route.kind:
            case RouteKind.HOURLY_DISPUTE:
                if not isinstance(item, Timesheet) or details is None:
                    raise ValueError("an hourly dispute needs the timesheet week and the client's dispute details")
                self._open_dispute(item, details, refunded_on_item, by=by, now=now, policy=policy)
            case RouteKind.ESCROW_REFUND:
                self.disputed = self.requested - self.refunded
                self._enter(Stage.ESCROW_REFUND, State.AWAITING_FREELANCER, by=by, now=now, amount=self.disputed)
                self._due(
                    DeadlineKind.ESCROW_RESPONSE, (self.freelancer_id,), now + policy.escrow_response_window, policy
                )
            case RouteKind.MEDIATION:
                self.disputed = self.requested - self.refunded
                self.binding = False
                text = details.reason if details else None
                self.dispute_reason = checked_text(text, Field.REASON, policy.reason_max_length, required=False)
                self._enter(
                    Stage.MEDIATION,
                    State.UNASSIGNED,
                    by=by,
                    now=now,
                    amount=self.disputed,
                    rationale=self.dispute_reason,
                )
            case RouteKind.CLOSED:
                self._record(self.state, State.CLOSED_OUT_OF_WINDOW, by=by, now=now)
                self.closed_at = now
        return route

    def _open_dispute(
        self,
        item: Timesheet,
        details: DisputeDetails,
        refunded_on_item: Money,
        *,
        by: str,
        now: datetime,
        policy: Policy,
    ) -> None:
        """Design §2.2, hourly dispute: time (≤ the week's) or an amount (≤ what is left of the payment), reasons,
        and the client's certification."""
        if (details.minutes is None) == (details.amount is None):
            raise ValueError("a dispute claims time or an amount, not both")
        if details.minutes is not None:
            if not 0 < details.minutes <= item.minutes:
                raise DisputedTimeInvalid(details.minutes, item.minutes)
            amount = Money(item.paid.minor * details.minutes // item.minutes, self.currency)
            balance = refundable_balance(item.paid, refunded_on_item, Money.zero(self.currency))
            if amount > balance:  # said about the time typed, under its field
                raise TimeOverBalance(details.minutes, amount, balance)
        else:
            amount = details.amount or Money.zero(self.currency)
            self._same_currency(amount)
        if not amount.is_positive:
            raise AmountNotPositive()
        balance = refundable_balance(item.paid, refunded_on_item, Money.zero(self.currency))
        if amount > balance:
            raise AmountOverBalance(amount, balance)
        reason = checked_text(details.reason, Field.REASON, policy.reason_max_length, required=True)
        if not details.certified:
            raise CertificationRequired()
        self.disputed, self.disputed_minutes, self.dispute_reason = amount, details.minutes, reason
        self._enter(Stage.HOURLY_DISPUTE, State.AWAITING_FREELANCER, by=by, now=now, amount=amount, rationale=reason)
        self._due(DeadlineKind.DISPUTE_RESPONSE, (self.freelancer_id,), now + policy.dispute_response_window, policy)

    def ensure_freelancer_may_respond(self, by: str, now: datetime) -> datetime:
        stages = (Stage.HOURLY_DISPUTE, Stage.ESCROW_REFUND)
        return self._ensure_answer(by, now, stages, State.AWAITING_FREELANCER, "freelancer")

    def concede(self, *, by: str, now: datetime) -> None:
        """Hourly dispute or escrow refund: the freelancer accepts, and the client is refunded."""
        now = self.ensure_freelancer_may_respond(by, now)
        self._record(self.state, State.REFUNDED, by=by, now=now, amount=self.at_stake)
        self._pay(self.at_stake, Money.zero(self.currency), by=by, now=now)

    def contest(self, *, statement: str, by: str, now: datetime, policy: Policy) -> None:
        """Hourly: contest → a mediator decides. Fixed-price: dispute → the client accepts or rejects."""
        now = self.ensure_freelancer_may_respond(by, now)
        self.statement = checked_text(statement, Field.STATEMENT, policy.reason_max_length, required=True)
        if self.stage is Stage.HOURLY_DISPUTE:
            self._record(self.state, State.IN_REVIEW, by=by, now=now, rationale=self.statement)
            return
        self._record(self.state, State.FREELANCER_DISPUTED, by=by, now=now, rationale=self.statement)
        due = now + policy.escrow_client_response_window
        self._due(DeadlineKind.ESCROW_CLIENT_RESPONSE, (self.client_id,), due, policy)

    def ensure_client_may_respond(self, by: str, now: datetime) -> datetime:
        return self._ensure_answer(by, now, (Stage.ESCROW_REFUND,), State.FREELANCER_DISPUTED, "client")

    def accept_position(self, *, by: str, now: datetime) -> None:
        """The client accepts the freelancer's escrow dispute: nothing is refunded, the amount stays released."""
        now = self.ensure_client_may_respond(by, now)
        self._record(self.state, State.RELEASED, by=by, now=now, amount=self.at_stake)
        self._pay(Money.zero(self.currency), self.at_stake, by=by, now=now)

    def reject_position(self, *, by: str, now: datetime) -> None:
        """The client rejects the freelancer's escrow dispute: a mediator takes it (binding)."""
        now = self.ensure_client_may_respond(by, now)
        self._enter(Stage.MEDIATION, State.UNASSIGNED, by=by, now=now, amount=self.at_stake)
