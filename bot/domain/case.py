"""The Case aggregate: one dispute story about one item, through every stage of design §2.4.

request → (declined, lapsed or adjusted, and the client asks again) → hourly dispute | escrow refund |
non-binding mediation, → mediation → arbitration. Every transition checks actor, state, amounts and time
(``now`` is passed in), records its audit event and any ledger entries in ``events``, and refuses
anything else with a typed error from ``bot.domain.errors``. Who is a mediator at all is the roster's to say
(the service asks it); the case knows who its parties are, so a party can never mediate it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from bot.domain.calendar import require_utc
from bot.domain.contract import Contract, ContractKind, Item, ItemKind, ItemRef, Timesheet, refundable_balance
from bot.domain.errors import (
    AlreadyAnswered,
    AlreadyClaimed,
    AlreadyYours,
    AmountAboveAdjustLimit,
    AmountNotBelowRequested,
    AmountNotPositive,
    AmountOutOfRange,
    AmountOverBalance,
    AnswerTimeOver,
    AppealWindowOver,
    ArbitrationStarted,
    CaseClosed,
    CaseMovedOn,
    CertificationRequired,
    ChoiceRequired,
    CurrencyMismatch,
    DeadlineNotReached,
    DisputedTimeInvalid,
    DisputeWindowClosed,
    ExtensionUsed,
    Field,
    FirstMediatorCannotReview,
    InvalidLink,
    ItemNotPaid,
    ItemTooOld,
    NothingToExtend,
    NotOnHold,
    NotYourCase,
    NotYourClaim,
    NotYourContract,
    PartyCannotBeMediator,
    PartyCannotMediate,
    Refused,
    RouteChanged,
    TextRequired,
    TextTooLong,
    TimeOverBalance,
    TooManyLinks,
    UnknownEvidence,
    UnknownRule,
    WrongItemKind,
)
from bot.domain.events import (
    AppealWindowClosed,
    AuditEvent,
    Escalated,
    Event,
    Evidence,
    Extended,
    LedgerEntry,
    Opened,
    PayoutHandled,
    PayoutRefused,
    Question,
)
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.domain.routing import Route, RouteKind, route_after_request
from bot.domain.vocabulary import (
    APPEALABLE,
    CLAIMABLE,
    LINKS_PER_EVIDENCE,
    MARKETPLACE,
    MAY_ASK_AGAIN,
    PAYOUT_REASON_LIMIT,
    QUESTION_LIMIT,
    REFERENCE_LIMIT,
    SCHEDULER,
    WITH_MEDIATOR,
    Answer,
    Appeal,
    AppealOn,
    Deadline,
    DeadlineKind,
    DisputeDetails,
    Grounds,
    LedgerKind,
    Move,
    Stage,
    State,
    Visibility,
)

# Design §2.2, withdrawal: before a decision. Once both parties paid for arbitration the award is the decision; a
# mediator's outcome open to appeal, or appealed, is one already.
_DECIDED_BY_MEDIATORS = frozenset({State.ARBITRATION, State.DECIDED, State.RELEASED, State.APPEAL_REQUESTED})


def _allowed(check: Callable[[], object]) -> bool:
    try:
        check()
    except Refused:
        return False
    return True


def _visible(text: str) -> bool:
    """Whether a person would see anything: zero-width spaces, joiners and other format characters are not text."""
    return any(not char.isspace() and unicodedata.category(char) not in ("Cf", "Cc", "Zs") for char in text)


def _checked_text(text: str | None, what: Field, limit: int, *, required: bool) -> str | None:
    cleaned = (text or "").strip()
    if not _visible(cleaned):
        if required:
            raise TextRequired(what)
        return None
    if len(cleaned) > limit:
        raise TextTooLong(what, limit, len(cleaned))
    return cleaned


def _deadline(kind: DeadlineKind, parties: tuple[str, ...], due_at: datetime, policy: Policy) -> Deadline:
    """A deadline with the policy's reminder offsets."""
    return Deadline(kind, parties, due_at, tuple(offset.total_seconds() for offset in policy.reminder_offsets))


_LINK = re.compile(r"^https?://[^\s<>|]+$")


def _checked_links(links: tuple[str, ...]) -> tuple[str, ...]:
    cleaned = tuple(link.strip() for link in links if link.strip())
    if len(cleaned) > LINKS_PER_EVIDENCE:
        raise TooManyLinks(LINKS_PER_EVIDENCE)
    for link in cleaned:
        if len(link) > 500 or not _LINK.match(link):
            raise InvalidLink(link)
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
    state: str = State.AWAITING_FREELANCER
    offered: Money | None = None
    response: str | None = None
    deadline: Deadline | None = None
    review_deadline: Deadline | None = None  # hourly: while a dispute of the week may still come, its window's end
    updated_by: str = ""
    updated_at: datetime | None = None
    closed_at: datetime | None = None
    transitions: int = 0
    request_key: str | None = None  # the submission that opened it, so a resubmission finds it
    # After the request stage:
    disputed: Money | None = None  # the amount at stake in the current stage
    disputed_minutes: int | None = None
    dispute_reason: str | None = None  # the client's, when asking again
    statement: str | None = None  # the freelancer's, when contesting
    binding: bool = True  # False for hourly mediation outside the review window
    mediator_id: str | None = None
    proposal: Money | None = None
    rationale: str | None = None  # the mediator's latest, shown to both parties
    rule: str | None = None  # the policy rule the mediator's latest outcome applies
    cited: tuple[int, ...] = ()  # the evidence items it relied on
    answers: dict[str, str] = field(default_factory=dict)  # role → Answer, for the open proposal or offer
    award_reference: str | None = None
    # An outcome a party may appeal (design §2.4): what it gives the client in its stage, and the window's end.
    outcome: Money | None = None
    appeal_deadline: Deadline | None = None
    appeal: Appeal | None = None  # once a party asked for a review
    evidence_count: int = 0
    escalated_at: datetime | None = None  # when a mediator was first needed: the case card exists from then on
    extended_by: tuple[str, ...] = ()  # the roles that have had their extension (design §2.2: once per case)
    payout_hold: str | None = None  # why the marketplace refused a payout this case decided, while it is on hold
    version: int = 0
    # What happened since the case was loaded, in order: written by the unit of work, told by the notifier.
    events: list[Event] = field(default_factory=list, compare=False, repr=False)

    @property
    def currency(self) -> str:
        return self.paid.currency

    @property
    def contract_kind(self) -> ContractKind:
        return ContractKind.HOURLY if self.item.kind is ItemKind.TIMESHEET else ContractKind.FIXED_PRICE

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def at_stake(self) -> Money:
        """What the current stage decides: the disputed amount, or what the request still asks for."""
        return self.disputed if self.disputed is not None else self.requested - self.refunded

    @property
    def held(self) -> Money:
        """What this case keeps out of the item's refundable balance while it is open."""
        return self.at_stake if self.is_open else Money.zero(self.currency)

    def role_of(self, user: str) -> str | None:
        return "client" if user == self.client_id else "freelancer" if user == self.freelancer_id else None

    def ensure_party(self, user: str) -> str:
        """The user's role in the case; anyone else is refused."""
        role = self.role_of(user)
        if role is None:
            raise NotYourCase(self.id, "client or freelancer")
        return role

    def party(self, role: str) -> str:
        return self.client_id if role == "client" else self.freelancer_id

    @property
    def waiting_on(self) -> tuple[str, ...]:
        """The parties whose move it is now (the reminders' recipients)."""
        if self.state == State.AWAITING_FREELANCER:
            return (self.freelancer_id,)
        if self.state == State.FREELANCER_DISPUTED or self.state in MAY_ASK_AGAIN:
            return (self.client_id,)
        if self.state in (State.PROPOSED, State.ARBITRATION_OFFERED):
            return tuple(self.party(role) for role in ("client", "freelancer") if role not in self.answers)
        return ()

    # --- the refund request ---------------------------------------------------------------------------

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
        text = _checked_text(reason, Field.REASON, policy.reason_max_length, required=True)
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
            case.review_deadline = _deadline(DeadlineKind.REVIEW_WINDOW, (case.client_id,), window.closes_at, policy)
        return case

    @property
    def deadlines(self) -> tuple[Deadline, ...]:
        """Every deadline the scheduler must watch for this case now."""
        review = (self.review_deadline,) if self.review_deadline and self.may_still_dispute else ()
        appeal = (self.appeal_deadline,) if self.appeal_deadline and self.is_open else ()
        return ((self.deadline,) if self.deadline else ()) + review + appeal

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
        text = _checked_text(note, Field.NOTE, policy.reason_max_length, required=False)
        self.offered = amount
        self.response = text
        self._record(self.state, State.ADJUSTED, by=by, now=now, amount=amount, rationale=text)
        self.refunded = self.refunded + amount
        self._ledger(LedgerKind.REFUND, amount, by=by, now=now)

    def decline(self, *, reason: str, by: str, now: datetime, policy: Policy) -> None:
        """Design §2.2, freelancer actions: Decline needs a reason."""
        now = self.ensure_freelancer_may_answer(by, now)
        text = _checked_text(reason, Field.DECLINE_REASON, policy.reason_max_length, required=True)
        self.response = text
        self._record(self.state, State.DECLINED, by=by, now=now, rationale=text)

    def ensure_freelancer_may_answer(self, by: str, now: datetime) -> datetime:
        """Only the freelancer, only while the request waits, only inside the response window."""
        return self._ensure_answer(by, now, (Stage.REQUEST,), State.AWAITING_FREELANCER, "freelancer")

    # --- asking again (design §2.3) --------------------------------------------------------------------

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
                self.dispute_reason = _checked_text(text, Field.REASON, policy.reason_max_length, required=False)
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
        reason = _checked_text(details.reason, Field.REASON, policy.reason_max_length, required=True)
        if not details.certified:
            raise CertificationRequired()
        self.disputed, self.disputed_minutes, self.dispute_reason = amount, details.minutes, reason
        self._enter(Stage.HOURLY_DISPUTE, State.AWAITING_FREELANCER, by=by, now=now, amount=amount, rationale=reason)
        self._due(DeadlineKind.DISPUTE_RESPONSE, (self.freelancer_id,), now + policy.dispute_response_window, policy)

    # --- the freelancer answers a dispute or an escrow refund --------------------------------------------

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
        self.statement = _checked_text(statement, Field.STATEMENT, policy.reason_max_length, required=True)
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

    # --- mediators ---------------------------------------------------------------------------------------

    def ensure_may_mediate(self, by: str) -> None:
        """A mediator who is a party to the case can never act on it (design §6)."""
        if self.role_of(by) is not None:
            raise PartyCannotMediate(self.id)

    def claim(self, *, by: str, now: datetime) -> None:
        now = require_utc(now)
        self.ensure_may_mediate(by)
        if self.mediator_id is not None and self.is_open:
            raise AlreadyClaimed(self.id, self.mediator_id, self.updated_at or self.opened_at)
        if self.state not in CLAIMABLE:
            raise self._moved_on()
        self._ensure_not_first_mediator(by)
        self.mediator_id = by
        to = State.CLAIMED if self.state == State.UNASSIGNED else self.state
        self._record(self.state, to, by=by, now=now, rationale="claimed the case")

    def release(self, *, by: str, now: datetime) -> None:
        """The mediator hands the case back to the queue, before proposing or deciding."""
        now = self._ensure_holding(by, now, State.CLAIMED, State.IN_REVIEW, State.APPEAL_REQUESTED)
        self.mediator_id = None
        to = State.UNASSIGNED if self.state == State.CLAIMED else self.state
        self._record(self.state, to, by=by, now=now, rationale="released the case to the queue")

    def reassign(self, to: str, *, by: str, now: datetime) -> None:
        """The mediator hands the case to another mediator (the service has checked they are one)."""
        now = self._ensure_holding(by, now, *WITH_MEDIATOR - {State.UNASSIGNED})
        if self.role_of(to) is not None:
            raise PartyCannotBeMediator(self.id, to)
        if to == by:
            raise AlreadyYours(self.id)
        self._ensure_not_first_mediator(to)
        self.mediator_id = to
        self._record(self.state, self.state, by=by, now=now, rationale=f"reassigned the case to {to}")

    def ensure_case_mediator(self, by: str, now: datetime) -> datetime:
        """The mediator who holds the case, in any state a mediator works in."""
        return self._ensure_holding(by, now, *WITH_MEDIATOR - {State.UNASSIGNED})

    def ask(self, role: str, text: str, *, by: str, now: datetime) -> Question:
        """The case's mediator asks one party for information; the answer is evidence both sides see."""
        if role not in ("client", "freelancer"):
            raise ChoiceRequired(Field.PARTY)
        question = _checked_text(text, Field.QUESTION, QUESTION_LIMIT, required=True) or ""
        now = self.ensure_case_mediator(by, now)
        return Question(self.id, by, self.party(role), question, now)

    def propose(self, amount: Money, *, grounds: Grounds, by: str, now: datetime, policy: Policy) -> None:
        """Mediation: a refund amount (0 … the amount at stake) on stated grounds; each party has 2 days to accept."""
        now = self._ensure_holding(by, now, State.CLAIMED)
        self._in_range(amount)
        self._reasoned(grounds, policy)
        self.proposal = amount
        self.answers = {}
        self._record(self.state, State.PROPOSED, by=by, now=now, amount=amount, rationale=self.rationale, cite=True)
        parties = (self.client_id, self.freelancer_id)
        self._due(DeadlineKind.PROPOSAL_RESPONSE, parties, now + policy.proposal_response_window, policy)

    def decide(self, amount: Money, *, grounds: Grounds, by: str, now: datetime, policy: Policy) -> None:
        """Hourly dispute in review: the mediator's decision is final and carries its grounds."""
        now = self._ensure_holding(by, now, State.IN_REVIEW)
        if self.stage is not Stage.HOURLY_DISPUTE:
            raise self._moved_on()
        self._in_range(amount)
        self._reasoned(grounds, policy)
        self._record(self.state, State.DECIDED, by=by, now=now, amount=amount, rationale=self.rationale, cite=True)
        self._offer_appeal(AppealOn.HOURLY_DECISION, amount, now=now, policy=policy)
        self._pay(amount, self.at_stake - amount, by=by, now=now)

    def _reasoned(self, grounds: Grounds, policy: Policy) -> None:
        """A mediator's outcome states its rationale, names a rule of the case's policy for its kind of contract,
        and cites the evidence it relied on: at least one item once the case has any (design §6)."""
        rationale = _checked_text(grounds.rationale, Field.RATIONALE, policy.reason_max_length, required=True)
        if not grounds.rule:
            raise ChoiceRequired(Field.RULE)
        if grounds.rule not in policy.grounds_for(self.contract_kind):
            raise UnknownRule(grounds.rule)
        cited = tuple(sorted(set(grounds.cited)))
        if unknown := [seq for seq in cited if not 1 <= seq <= self.evidence_count]:
            raise UnknownEvidence(unknown[0], self.evidence_count)
        if not cited and self.evidence_count:
            raise ChoiceRequired(Field.CITED)
        self.rationale, self.rule, self.cited = rationale, grounds.rule, cited

    def answer_proposal(self, accept: bool, *, by: str, now: datetime, policy: Policy) -> None:
        """Both accept → settled at the proposal; a rejection → arbitration is offered (binding mediation) or the
        case closes with nothing more refunded (non-binding)."""
        role = self._ensure_party_answer(by, now, State.PROPOSED, "proposal")
        if accept:
            self.answers = self.answers | {role: Answer.ACCEPT}
            if len(self.answers) < 2:
                self._record(self.state, self.state, by=by, now=now, amount=self.proposal, rationale="accepted")
                return
            proposal = self.proposal or Money.zero(self.currency)
            self._record(self.state, State.SETTLED, by=by, now=now, amount=proposal, rationale="accepted")
            self._pay(proposal, self.at_stake - proposal, by=by, now=now)
            return
        self.answers = self.answers | {role: Answer.REJECT}
        self._proposal_rejected(by=by, now=now, policy=policy, rationale="rejected the proposal")

    def _proposal_rejected(self, *, by: str, now: datetime, policy: Policy, rationale: str) -> None:
        """Non-binding: the case closes with nothing more refunded. Binding: arbitration is offered. Either outcome
        may be appealed when the policy says so."""
        if not self.binding:
            self._record(self.state, State.RELEASED, by=by, now=now, amount=self.at_stake, rationale=rationale)
            self._offer_appeal(AppealOn.REJECTED_PROPOSAL, Money.zero(self.currency), now=now, policy=policy)
            self._pay(Money.zero(self.currency), self.at_stake, by=by, now=now)
            return
        self.answers = {}
        self._record(self.state, State.ARBITRATION_OFFERED, by=by, now=now, amount=self.at_stake, rationale=rationale)
        parties = (self.client_id, self.freelancer_id)
        self._due(DeadlineKind.ARBITRATION_FEE, parties, now + policy.arbitration_offer_window, policy)
        self._offer_appeal(AppealOn.REJECTED_PROPOSAL, self.proposal, now=now, policy=policy)

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
        self._in_range(amount)
        award_reference = _checked_text(reference, Field.AWARD_REFERENCE, REFERENCE_LIMIT, required=True)
        self._reasoned(grounds, policy)
        self.award_reference = award_reference
        self._record(self.state, State.AWARDED, by=by, now=now, amount=amount, rationale=self.rationale, cite=True)
        self._pay(amount, self.at_stake - amount, by=by, now=now)

    # --- appeal (design §2.4) ----------------------------------------------------------------------------

    def _offer_appeal(self, on: AppealOn, amount: Money | None, *, now: datetime, policy: Policy) -> None:
        """When the case's policy lets a party appeal this outcome, and no appeal was made yet, the case stays open
        through the appeal window; ``amount`` is what the outcome gives the client in its stage."""
        window = policy.appeal_window(on)
        if window is None or self.appeal is not None:
            return
        self.outcome = amount or Money.zero(self.currency)
        parties = (self.client_id, self.freelancer_id)
        self.appeal_deadline = _deadline(DeadlineKind.APPEAL_WINDOW, parties, now + window, policy)

    def ensure_party_may_appeal(self, by: str, now: datetime) -> tuple[str, datetime]:
        """Either party, once per case, within the window, of an outcome the policy lets them appeal; a rejected
        proposal only while nobody has paid for arbitration instead."""
        now = require_utc(now)
        role = self.ensure_party(by)
        if not self.is_open or self.appeal_deadline is None or self.state not in APPEALABLE:
            raise self._moved_on()
        if now >= self.appeal_deadline.due_at:
            raise AppealWindowOver(self.appeal_deadline.due_at)
        if self.state == State.ARBITRATION_OFFERED and self.answers:
            raise ArbitrationStarted("client" if "client" in self.answers else "freelancer")
        return role, now

    def request_appeal(self, *, reason: str, by: str, now: datetime, policy: Policy) -> None:
        """Design §2.4, appeal: a party asks, with a reason, for a second mediator to review the outcome. A decision
        or a release already paid out stays paid until the review adjusts it; an arbitration offer ends."""
        role, now = self.ensure_party_may_appeal(by, now)
        text = _checked_text(reason, Field.REASON, policy.reason_max_length, required=True) or ""
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
        self._in_range(amount)
        self._reasoned(grounds, policy)
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

    # --- evidence ----------------------------------------------------------------------------------------

    def add_evidence(
        self,
        *,
        text: str | None,
        links: tuple[str, ...],
        visibility: Visibility,
        by: str,
        now: datetime,
        policy: Policy,
        answers: str | None = None,
    ) -> Evidence:
        """Either party, while the case is open: words, links or Slack file permalinks, frozen once added."""
        now = require_utc(now)
        role = self.ensure_party_may_add_evidence(by)
        kept = _checked_text(text, Field.EVIDENCE, policy.reason_max_length, required=False)
        shown = _checked_links(links)
        if kept is None and not shown:
            raise TextRequired(Field.EVIDENCE)
        self.evidence_count += 1
        evidence = Evidence(self.id, self.evidence_count, by, role, kept, shown, visibility, now, answers)
        self.events.append(evidence)
        return evidence

    def ensure_party_may_add_evidence(self, by: str) -> str:
        role = self.ensure_party(by)
        if not self.is_open:
            raise CaseClosed(self.id)
        return role

    # --- everyone ----------------------------------------------------------------------------------------

    def withdraw(self, *, by: str, now: datetime) -> None:
        """Design §2.2, withdrawal: the client may withdraw any open case before a decision; once both parties
        paid for arbitration, the award is the decision."""
        now = self.ensure_client_may_withdraw(by, now)
        self._record(self.state, State.WITHDRAWN, by=by, now=now)
        self.closed_at = now

    def ensure_client_may_withdraw(self, by: str, now: datetime) -> datetime:
        now = require_utc(now)
        if by != self.client_id:
            raise NotYourCase(self.id, "client")
        if not self.is_open or self.state in _DECIDED_BY_MEDIATORS:
            raise self._moved_on()
        return now

    def extend(self, *, by: str, now: datetime, policy: Policy) -> None:
        """Design §2.2, extension: a party whose answer the case waits on may ask once per case for more time
        while away. The deadline moves (its reminders with it) for everyone it waits on; the state does not."""
        now, deadline = self.ensure_party_may_extend(by, now)
        role = self.ensure_party(by)
        due = deadline.due_at + policy.extension
        why = f"the {role} is away and asked for more time: the deadline moves to {due:%d %b %Y %H:%M} UTC"
        self._log(self.state, self.state, by=by, now=now, rationale=why)
        self.extended_by = (*self.extended_by, role)
        self.deadline = replace(deadline, due_at=due)
        self.events.append(Extended(self.id, by, due))

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

    def ensure_party_may_extend(self, by: str, now: datetime) -> tuple[datetime, Deadline]:
        now = require_utc(now)
        role = self.ensure_party(by)
        if not self.is_open or self.deadline is None:
            raise self._moved_on()
        if by not in self.waiting_on:
            raise NothingToExtend(self.id)
        if now >= self.deadline.due_at:
            raise AnswerTimeOver(self.deadline.due_at)
        if role in self.extended_by:
            raise ExtensionUsed(self.id)
        return now, self.deadline

    def moves(self, role: str, now: datetime) -> tuple[Move, ...]:
        """What this party may do now, decided by the same checks the actions make, so a message never offers a
        button its click would refuse (and never hides one it would take)."""
        me = self.party(role)
        checks = {
            Move.ANSWER: lambda: self.ensure_freelancer_may_answer(me, now),
            Move.RESPOND: lambda: self.ensure_freelancer_may_respond(me, now),
            Move.ANSWER_POSITION: lambda: self.ensure_client_may_respond(me, now),
            Move.ANSWER_PROPOSAL: lambda: self._ensure_party_answer(me, now, State.PROPOSED, "proposal"),
            Move.ARBITRATE: lambda: self._ensure_party_answer(me, now, State.ARBITRATION_OFFERED, "arbitration offer"),
            Move.ASK_AGAIN: lambda: self.ensure_client_may_ask_again(me, now),
            Move.EXTEND: lambda: self.ensure_party_may_extend(me, now),
            Move.WITHDRAW: lambda: self.ensure_client_may_withdraw(me, now),
            Move.ADD_EVIDENCE: lambda: self.ensure_party_may_add_evidence(me),
            Move.APPEAL: lambda: self.ensure_party_may_appeal(me, now),
        }
        return tuple(move for move, check in checks.items() if _allowed(check))

    def mediator_moves(self) -> tuple[Move, ...]:
        """What the case card offers: Claim while nobody holds the case, then its mediator's actions."""
        if not self.is_open:
            return ()
        if self.mediator_id is None:
            return (Move.CLAIM,) if self.state in CLAIMABLE else ()
        only = {
            State.CLAIMED: (Move.PROPOSE, Move.RELEASE),
            State.IN_REVIEW: (Move.DECIDE, Move.RELEASE),
            State.ARBITRATION: (Move.AWARD,),
            State.APPEAL_REQUESTED: (Move.REVIEW, Move.RELEASE),
        }.get(State(self.state), ())
        return (*only, Move.ASK, Move.REASSIGN) if self.state in WITH_MEDIATOR else ()

    def expire(self, *, now: datetime, policy: Policy) -> None:
        """Design §2.2, what silence means when a deadline passes (the scheduler calls this)."""
        now = require_utc(now)
        if self.deadline is None or not self.is_open:
            raise self._moved_on()
        if now < self.deadline.due_at:
            raise DeadlineNotReached(self.deadline.due_at)
        by = SCHEDULER
        match self.stage, self.state:
            case Stage.REQUEST, State.AWAITING_FREELANCER:
                why = "the freelancer did not answer within the response window"
                self._record(self.state, State.LAPSED, by=by, now=now, rationale=why)
            case Stage.HOURLY_DISPUTE, State.AWAITING_FREELANCER:
                why = "the freelancer did not answer the dispute in time, so a mediator decides"
                self._record(self.state, State.IN_REVIEW, by=by, now=now, rationale=why)
            case Stage.ESCROW_REFUND, State.AWAITING_FREELANCER:
                why = "the freelancer did not answer the escrow refund in time, so the client is refunded"
                self._record(self.state, State.REFUNDED, by=by, now=now, amount=self.at_stake, rationale=why)
                self._pay(self.at_stake, Money.zero(self.currency), by=by, now=now)
            case Stage.ESCROW_REFUND, State.FREELANCER_DISPUTED:
                why = "the client did not answer the freelancer's dispute in time, so the funds stay released"
                self._record(self.state, State.RELEASED, by=by, now=now, amount=self.at_stake, rationale=why)
                self._pay(Money.zero(self.currency), self.at_stake, by=by, now=now)
            case Stage.MEDIATION, State.PROPOSED:
                silent = [role for role in ("client", "freelancer") if role not in self.answers]
                why = f"no answer from the {' and the '.join(silent)}, which counts as rejecting the proposal"
                self._proposal_rejected(by=by, now=now, policy=policy, rationale=why)
            case Stage.MEDIATION, State.ARBITRATION_OFFERED:
                self._fee_rule(now=now)
            case _:
                raise self._moved_on()

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

    # --- the rules every transition shares ---------------------------------------------------------------

    def _ensure_answer(self, by: str, now: datetime, stages: tuple[Stage, ...], state: State, role: str) -> datetime:
        now = require_utc(now)
        if by != self.party(role):
            raise NotYourCase(self.id, role)
        if self.stage not in stages or self.state != state:
            raise self._moved_on()
        if self.deadline is not None and now >= self.deadline.due_at:
            raise AnswerTimeOver(self.deadline.due_at)
        return now

    def _ensure_party_answer(
        self, by: str, now: datetime, state: State, what: Literal["proposal", "arbitration offer"]
    ) -> str:
        now = require_utc(now)
        role = self.ensure_party(by)
        if self.state != state:
            raise self._moved_on()
        if role in self.answers:
            raise AlreadyAnswered(what)
        if self.deadline is not None and now >= self.deadline.due_at:
            raise AnswerTimeOver(self.deadline.due_at)
        return role

    def _ensure_holding(self, by: str, now: datetime, *states: State) -> datetime:
        """``by`` is the mediator who claimed this case, and it is in one of ``states``."""
        now = require_utc(now)
        self.ensure_may_mediate(by)
        if self.state == State.UNASSIGNED and State.CLAIMED in states:
            raise NotYourClaim(self.id, None)
        if self.state not in states or not self.is_open:
            raise self._moved_on()
        if self.mediator_id != by:
            raise NotYourClaim(self.id, self.mediator_id)
        return now

    def _in_range(self, amount: Money) -> None:
        self._same_currency(amount)
        zero = Money.zero(self.currency)
        if amount < zero or amount > self.at_stake:
            raise AmountOutOfRange(amount, zero, self.at_stake)

    def _same_currency(self, amount: Money) -> None:
        if amount.currency != self.currency:
            raise CurrencyMismatch(amount.currency, self.currency)

    def _moved_on(self) -> CaseMovedOn:
        return CaseMovedOn(self.id, self.state, self.updated_by, self.updated_at or self.opened_at)

    def _due(self, kind: DeadlineKind, parties: tuple[str, ...], due_at: datetime, policy: Policy) -> None:
        self.deadline = _deadline(kind, parties, due_at, policy)

    def _enter(
        self,
        stage: Stage,
        state: State,
        *,
        by: str,
        now: datetime,
        amount: Money | None = None,
        rationale: str | None = None,
    ) -> None:
        previous = self.state
        self.stage = stage
        self._record(previous, state, by=by, now=now, amount=amount, rationale=rationale)

    def _record(
        self,
        from_state: str | None,
        to_state: str,
        *,
        by: str,
        now: datetime,
        amount: Money | None = None,
        rationale: str | None = None,
        cite: bool = False,
    ) -> None:
        self._log(from_state, to_state, by=by, now=now, amount=amount, rationale=rationale, cite=cite)
        if to_state != self.state:
            # A state that waits on someone sets its own deadline after this, and an outcome its appeal window.
            self.deadline = None
            self.appeal_deadline = None
        if to_state in WITH_MEDIATOR and self.escalated_at is None:
            self.escalated_at = now
            self.events.append(Escalated(self.id, now))
        self.state = to_state
        self.updated_by = by
        self.updated_at = now

    def _log(
        self,
        from_state: str | None,
        to_state: str,
        *,
        by: str,
        now: datetime,
        amount: Money | None = None,
        rationale: str | None = None,
        cite: bool = False,
    ) -> None:
        """One audit row; every change to a case writes exactly one. ``cite``: a mediator's outcome, whose row
        keeps the rule it applied and the evidence it relied on."""
        self.transitions += 1
        self.events.append(
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
                rule=self.rule if cite else None,
                cited=self.cited if cite else (),
            )
        )

    def _pay(self, refund: Money, release: Money, *, by: str, now: datetime) -> None:
        """An outcome: the refund to the client and the amount left with the freelancer, then the case closes."""
        if refund.is_positive:
            self.refunded = self.refunded + refund
            self._ledger(LedgerKind.REFUND, refund, by=by, now=now)
        if release.is_positive:
            self._ledger(LedgerKind.RELEASE, release, by=by, now=now)
        self.deadline = None
        if self.appeal_deadline is None:  # an outcome that may be appealed stays open through the window
            self.closed_at = now

    def _ledger(self, kind: LedgerKind, amount: Money, *, by: str, now: datetime) -> None:
        self.events.append(
            LedgerEntry(
                team_id=self.team_id,
                case_id=self.id,
                contract_id=self.contract_id,
                item=self.item,
                kind=kind,
                amount=amount,
                actor=by,
                policy_version=self.policy_version,
                at=now,
            )
        )
