"""The Case aggregate: one dispute story about one item (design §2.1, §2.4).

This module holds the refund-request stage. Every transition checks actor, state, amounts and time (``now`` is
passed in), records the audit event and any ledger entry it caused in ``new_events``, and refuses anything
else with a typed error from ``bot.domain.errors``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.domain.calendar import require_utc
from bot.domain.contract import Contract, Item, ItemRef, refundable_balance
from bot.domain.errors import (
    AmountNotBelowRequested,
    AmountNotPositive,
    AmountOverBalance,
    CaseMovedOn,
    CurrencyMismatch,
    DeadlineNotReached,
    ItemNotPaid,
    ItemTooOld,
    NotYourCase,
    NotYourContract,
    TextRequired,
    TextTooLong,
    WindowClosed,
    WrongItemKind,
)
from bot.domain.money import Money
from bot.domain.policy import Policy

# The actor recorded when a deadline, not a person, moves a case.
SCHEDULER = "scheduler"


class Stage(StrEnum):
    REQUEST = "request"


class RequestState(StrEnum):
    AWAITING_FREELANCER = "awaiting_freelancer"
    APPROVED = "approved"
    ADJUSTED = "adjusted"
    DECLINED = "declined"
    LAPSED = "lapsed"
    WITHDRAWN = "withdrawn"


class DeadlineKind(StrEnum):
    FREELANCER_RESPONSE = "freelancer_response"


class LedgerKind(StrEnum):
    REFUND = "refund"


@dataclass(frozen=True)
class Deadline:
    """Who must act by when; the scheduler reminds them at ``due_at`` minus each offset, then acts."""

    kind: DeadlineKind
    party: str
    due_at: datetime
    reminder_offsets: tuple[float, ...]  # seconds before due_at


@dataclass(frozen=True)
class AuditEvent:
    case_id: str
    seq: int
    actor: str
    stage: Stage
    from_state: str | None
    to_state: str
    amount: Money | None
    rationale: str | None
    policy_version: str
    at: datetime


@dataclass(frozen=True)
class LedgerEntry:
    team_id: str
    case_id: str
    contract_id: str
    item: ItemRef
    kind: LedgerKind
    amount: Money
    actor: str
    policy_version: str
    at: datetime


def _checked_text(text: str | None, what: str, limit: int, *, required: bool) -> str | None:
    cleaned = (text or "").strip()
    if not cleaned:
        if required:
            raise TextRequired(what)
        return None
    if len(cleaned) > limit:
        raise TextTooLong(what, limit, len(cleaned))
    return cleaned


@dataclass
class Case:
    id: str
    team_id: str
    contract_id: str
    item: ItemRef
    item_label: str
    client_id: str
    freelancer_id: str
    paid: Money
    requested: Money
    refunded: Money
    reason: str
    policy_version: str
    opened_at: datetime
    stage: Stage = Stage.REQUEST
    state: str = RequestState.AWAITING_FREELANCER
    offered: Money | None = None
    response: str | None = None
    deadline: Deadline | None = None
    updated_by: str = ""
    updated_at: datetime | None = None
    closed_at: datetime | None = None
    transitions: int = 0
    request_key: str | None = None  # the submission that opened it, so a resubmission finds it
    version: int = 0
    new_events: list[AuditEvent | LedgerEntry] = field(default_factory=list, compare=False, repr=False)

    @property
    def currency(self) -> str:
        return self.paid.currency

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def held(self) -> Money:
        """What this case keeps out of the item's refundable balance while it is open."""
        return self.requested - self.refunded if self.is_open else Money.zero(self.currency)

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
    ) -> Case:
        """Design §2.2, refund request: the contract's client, on a paid item of the last 180 days, asks for
        more than zero and at most the refundable balance, with a reason of 1–2000 characters."""
        now = require_utc(now)
        if by != contract.client_id:
            raise NotYourContract(contract.id)
        if item.contract_id != contract.id or item.ref.kind is not contract.item_kind:
            raise WrongItemKind(contract.id, contract.kind)
        if item.paid_at is None:
            raise ItemNotPaid(item.label)
        if not policy.request_window(item.paid_at).contains(now):
            raise ItemTooOld(item.label, item.paid_at, policy.request_age_limit.days)
        if amount.currency != contract.currency:
            raise CurrencyMismatch(amount.currency, contract.currency)
        if not amount.is_positive:
            raise AmountNotPositive()
        balance = refundable_balance(item.paid, refunded, held)
        if amount > balance:
            raise AmountOverBalance(amount, balance)
        text = _checked_text(reason, "reason", policy.reason_max_length, required=True)
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
            deadline=Deadline(
                DeadlineKind.FREELANCER_RESPONSE,
                contract.freelancer_id,
                now + policy.response_window,
                tuple(offset.total_seconds() for offset in policy.reminder_offsets),
            ),
        )
        case._record(None, RequestState.AWAITING_FREELANCER, by=by, now=now, amount=amount, rationale=text)
        return case

    def approve(self, *, by: str, now: datetime) -> None:
        """Design §2.2, freelancer actions: Approve refunds the full requested amount."""
        now = self.ensure_freelancer_may_answer(by, now)
        self.refunded = self.refunded + self.requested
        self._record(self.state, RequestState.APPROVED, by=by, now=now, amount=self.requested)
        self._ledger(self.requested, by=by, now=now)
        self.closed_at = now

    def adjust(self, amount: Money, *, note: str | None, by: str, now: datetime, policy: Policy) -> None:
        """Design §2.2, freelancer actions: Adjust refunds a smaller amount now, with an optional note."""
        now = self.ensure_freelancer_may_answer(by, now)
        if amount.currency != self.currency:
            raise CurrencyMismatch(amount.currency, self.currency)
        if not amount.is_positive:
            raise AmountNotPositive()
        if amount >= self.requested:
            raise AmountNotBelowRequested(amount, self.requested)
        text = _checked_text(note, "note", policy.reason_max_length, required=False)
        self.offered = amount
        self.refunded = self.refunded + amount
        self.response = text
        self._record(self.state, RequestState.ADJUSTED, by=by, now=now, amount=amount, rationale=text)
        self._ledger(amount, by=by, now=now)

    def decline(self, *, reason: str, by: str, now: datetime, policy: Policy) -> None:
        """Design §2.2, freelancer actions: Decline needs a reason."""
        now = self.ensure_freelancer_may_answer(by, now)
        text = _checked_text(reason, "reason for declining", policy.reason_max_length, required=True)
        self.response = text
        self._record(self.state, RequestState.DECLINED, by=by, now=now, rationale=text)

    def withdraw(self, *, by: str, now: datetime) -> None:
        """Design §2.2, withdrawal: the client may withdraw an open case before a decision."""
        now = require_utc(now)
        if by != self.client_id:
            raise NotYourCase(self.id, "client")
        self._require_state(RequestState.AWAITING_FREELANCER)
        self._record(self.state, RequestState.WITHDRAWN, by=by, now=now)
        self.closed_at = now

    def lapse(self, *, now: datetime) -> None:
        """Design §2.2: a request the freelancer leaves unanswered past the response window lapses."""
        now = require_utc(now)
        self._require_state(RequestState.AWAITING_FREELANCER)
        if now < self._due_at:
            raise DeadlineNotReached(self._due_at)
        self._record(self.state, RequestState.LAPSED, by=SCHEDULER, now=now)

    def ensure_freelancer_may_answer(self, by: str, now: datetime) -> datetime:
        """Only the freelancer, only while the request waits, only inside the response window."""
        now = require_utc(now)
        if by != self.freelancer_id:
            raise NotYourCase(self.id, "freelancer")
        self._require_state(RequestState.AWAITING_FREELANCER)
        if now >= self._due_at:
            raise WindowClosed("response window for this request", self._due_at)
        return now

    @property
    def _due_at(self) -> datetime:
        if self.deadline is None:  # every awaiting state is opened with its deadline
            raise RuntimeError(f"case {self.id} is {self.state} without a deadline")
        return self.deadline.due_at

    def _require_state(self, expected: str) -> None:
        if self.state != expected:
            raise CaseMovedOn(self.id, self.state, self.updated_by, self.updated_at or self.opened_at)

    def _record(
        self,
        from_state: str | None,
        to_state: str,
        *,
        by: str,
        now: datetime,
        amount: Money | None = None,
        rationale: str | None = None,
    ) -> None:
        self.transitions += 1
        self.new_events.append(
            AuditEvent(
                case_id=self.id,
                seq=self.transitions,
                actor=by,
                stage=self.stage,
                from_state=from_state,
                to_state=to_state,
                amount=amount,
                rationale=rationale,
                policy_version=self.policy_version,
                at=now,
            )
        )
        self.state = to_state
        self.updated_by = by
        self.updated_at = now
        if to_state != RequestState.AWAITING_FREELANCER:
            self.deadline = None

    def _ledger(self, amount: Money, *, by: str, now: datetime) -> None:
        self.new_events.append(
            LedgerEntry(
                team_id=self.team_id,
                case_id=self.id,
                contract_id=self.contract_id,
                item=self.item,
                kind=LedgerKind.REFUND,
                amount=amount,
                actor=by,
                policy_version=self.policy_version,
                at=now,
            )
        )
