"""What every stage of a case shares: its facts, whose it is, and the rules every transition follows (one audit
row per change, deadlines, ledger entries, the moved-on refusal). Each stage's moves live in its own module and
build on these."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, TypeVar

from bot.domain.calendar import require_utc
from bot.domain.contract import ContractKind, ItemKind, ItemRef
from bot.domain.errors import (
    AlreadyAnswered,
    AmountOutOfRange,
    AnswerTimeOver,
    CaseMovedOn,
    ChoiceRequired,
    CurrencyMismatch,
    Field,
    InvalidInput,
    InvalidLink,
    NotYourCase,
    NotYourClaim,
    PartyCannotMediate,
    Refused,
    TextRequired,
    TextTooLong,
    TooManyLinks,
    UnknownEvidence,
    UnknownRule,
    one_or_all,
)
from bot.domain.events import (
    AuditEvent,
    Escalated,
    Event,
    LedgerEntry,
)
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.domain.vocabulary import (
    CLAIMABLE,
    LINKS_PER_EVIDENCE,
    MAY_ASK_AGAIN,
    OWES_OUTCOME,
    WITH_MEDIATOR,
    Appeal,
    Deadline,
    DeadlineKind,
    Grounds,
    LedgerKind,
    Stage,
    State,
)

T = TypeVar("T")


def allowed(check: Callable[[], object]) -> bool:
    try:
        check()
    except Refused:
        return False
    return True


def visible(text: str) -> bool:
    """Whether a person would see anything: zero-width spaces, joiners and other format characters are not text."""
    return any(not char.isspace() and unicodedata.category(char) not in ("Cf", "Cc", "Zs") for char in text)


def checked_text(text: str | None, what: Field, limit: int, *, required: bool) -> str | None:
    cleaned = (text or "").strip()
    if not visible(cleaned):
        if required:
            raise TextRequired(what)
        return None
    if len(cleaned) > limit:
        raise TextTooLong(what, limit, len(cleaned))
    return cleaned


def new_deadline(kind: DeadlineKind, parties: tuple[str, ...], due_at: datetime, policy: Policy) -> Deadline:
    """A deadline with the policy's reminder offsets."""
    return Deadline(kind, parties, due_at, tuple(offset.total_seconds() for offset in policy.reminder_offsets))


_LINK = re.compile(r"^https?://[^\s<>|]+$")


def checked_links(links: tuple[str, ...]) -> tuple[str, ...]:
    cleaned = tuple(link.strip() for link in links if link.strip())
    if len(cleaned) > LINKS_PER_EVIDENCE:
        raise TooManyLinks(LINKS_PER_EVIDENCE)
    for link in cleaned:
        if len(link) > 500 or not _LINK.match(link):
            raise InvalidLink(link)
    return cleaned


@dataclass
class CaseBase:
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
    state: State = State.AWAITING_FREELANCER
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
    # The mediators' own deadlines (issue 38), and those that passed: kind → (the due time missed, when it was seen).
    mediator_deadlines: tuple[Deadline, ...] = ()
    mediators_late: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)
    claimed_at: datetime | None = None  # when the mediator who holds it took it
    acted_at: datetime | None = None  # their first question, proposal or decision since
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

    @property
    def deadlines(self) -> tuple[Deadline, ...]:
        """Every deadline the scheduler must watch for this case now."""
        review = (self.review_deadline,) if self.review_deadline and self.may_still_dispute else ()
        appeal = (self.appeal_deadline,) if self.appeal_deadline and self.is_open else ()
        return ((self.deadline,) if self.deadline else ()) + review + appeal + self.mediator_deadlines

    @property
    def waits_for_a_mediator(self) -> bool:
        """Open, in a state a mediator claims, and nobody holds it."""
        return self.is_open and self.state in CLAIMABLE and self.mediator_id is None

    def keep_mediators_to_time(self, policy: Policy) -> None:
        """Issue 38: the mediators' own deadlines, under the case's policy. A case that waits for a mediator is to be
        claimed within the claim window of when it began to wait (escalated, appealed, or released back); the
        mediator who holds a case owes it a first question, proposal or decision, and an outcome, within their
        windows of taking it. A deadline no longer owed goes, and so does the mark of having missed it; a deadline
        missed is not set again. Called after every change."""
        owed: dict[str, datetime] = {}
        if self.waits_for_a_mediator:
            owed[DeadlineKind.MEDIATOR_CLAIM] = (self.updated_at or self.opened_at) + policy.mediator_claim_window
        elif self.is_open and self.mediator_id and self.claimed_at and self.state in OWES_OUTCOME:
            if self.acted_at is None:
                owed[DeadlineKind.MEDIATOR_ACTION] = self.claimed_at + policy.mediator_action_window
            owed[DeadlineKind.MEDIATOR_OUTCOME] = self.claimed_at + policy.mediator_outcome_window
        self.mediators_late = {k: v for k, v in self.mediators_late.items() if owed.get(k) == v[0]}
        parties = (self.mediator_id,) if self.mediator_id else ()
        deadlines = []
        for kind, due in owed.items():
            if kind in self.mediators_late:
                continue
            window = policy.mediator_window(kind)
            offsets = tuple(offset.total_seconds() for offset in policy.reminder_offsets if offset < window)
            deadlines.append(Deadline(DeadlineKind(kind), parties, due, offsets))
        self.mediator_deadlines = tuple(deadlines)

    def ensure_may_mediate(self, by: str) -> None:
        """A mediator who is a party to the case can never act on it (design §6)."""
        if self.role_of(by) is not None:
            raise PartyCannotMediate(self.id)

    def _reasoned(self, amount: Money, grounds: Grounds, policy: Policy, *more: Callable[[], object]) -> None:
        """A mediator's outcome gives an amount in range, states its rationale, names a rule of the case's policy
        for its kind of contract, and cites the evidence it relied on: at least one item once the case has any
        (design §6). Every problem of the form is refused at once; ``more`` are the form's other checks."""
        found: list[InvalidInput] = []

        def check(step: Callable[[], T]) -> T | None:
            try:
                return step()
            except InvalidInput as problem:
                found.append(problem)
                return None

        check(lambda: self._in_range(amount))
        rationale = check(
            lambda: checked_text(grounds.rationale, Field.RATIONALE, policy.reason_max_length, required=True)
        )
        if not grounds.rule:
            found.append(ChoiceRequired(Field.RULE))
        elif grounds.rule not in policy.grounds_for(self.contract_kind):
            found.append(UnknownRule(grounds.rule))
        cited = tuple(sorted(set(grounds.cited)))
        if unknown := [seq for seq in cited if not 1 <= seq <= self.evidence_count]:
            found.append(UnknownEvidence(unknown[0], self.evidence_count))
        elif not cited and self.evidence_count:
            found.append(ChoiceRequired(Field.CITED))
        for step in more:
            check(step)
        if problem := one_or_all(found):
            raise problem
        self.rationale, self.rule, self.cited = rationale, grounds.rule, cited

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
        self.deadline = new_deadline(kind, parties, due_at, policy)

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
        from_state: State | None,
        to_state: State,
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
        from_state: State | None,
        to_state: State,
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
