"""Design §2.4, mediation: a mediator claims the case, asks, proposes or decides on stated grounds; the parties
answer a proposal. Its outcomes may be appealed, so it builds on the appeal stage."""

from __future__ import annotations

from datetime import datetime

from bot.domain.calendar import require_utc
from bot.domain.case.appeal import AppealStage
from bot.domain.case.base import checked_text
from bot.domain.errors import (
    ChoiceRequired,
    Field,
    InvalidInput,
    NotAllowed,
    Stale,
    refusal,
)
from bot.domain.events import (
    Assigned,
    Question,
)
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.domain.vocabulary import (
    CLAIMABLE,
    QUESTION_LIMIT,
    WITH_MEDIATOR,
    Answer,
    AppealOn,
    DeadlineKind,
    Grounds,
    Stage,
    State,
)


@refusal
class NotAMediatorToAssign(InvalidInput):
    user_id: str
    field = Field.MEDIATOR


@refusal
class PartyCannotBeMediator(InvalidInput):
    """The person a case is handed to is one of its parties."""

    case_id: str
    user_id: str
    field = Field.MEDIATOR


@refusal
class AlreadyClaimed(Stale):
    case_id: str
    mediator: str
    at: datetime


@refusal
class AlreadyYours(InvalidInput):
    """A mediator tried to hand a case to themselves."""

    case_id: str
    field = Field.MEDIATOR


@refusal
class AlreadyHolds(InvalidInput):
    """A lead handed a case to the mediator who already holds it."""

    case_id: str
    mediator: str
    field = Field.MEDIATOR


@refusal
class NotALead(NotAllowed):
    """Only the lead mediators hand cases out from the desk (issue 38)."""


class MediationStage(AppealStage):
    def claim(self, *, by: str, now: datetime) -> None:
        now = require_utc(now)
        self.ensure_may_mediate(by)
        if self.mediator_id is not None and self.is_open:
            raise AlreadyClaimed(self.id, self.mediator_id, self.updated_at or self.opened_at)
        if self.state not in CLAIMABLE:
            raise self._moved_on()
        self._ensure_not_first_mediator(by)
        self.mediator_id, self.claimed_at, self.acted_at = by, now, None
        to = State.CLAIMED if self.state == State.UNASSIGNED else self.state
        self._record(self.state, to, by=by, now=now, rationale="claimed the case")

    def release(self, *, by: str, now: datetime) -> None:
        """The mediator hands the case back to the queue, before proposing or deciding."""
        now = self._ensure_holding(by, now, State.CLAIMED, State.IN_REVIEW, State.APPEAL_REQUESTED)
        self.mediator_id, self.claimed_at, self.acted_at = None, None, None
        to = State.UNASSIGNED if self.state == State.CLAIMED else self.state
        self._record(self.state, to, by=by, now=now, rationale="released the case to the queue")

    def reassign(self, to: str, *, by: str, now: datetime) -> None:
        """The mediator hands the case to another mediator (the service has checked they are one)."""
        now = self._ensure_holding(by, now, *WITH_MEDIATOR - {State.UNASSIGNED})
        if to == by:
            raise AlreadyYours(self.id)
        self._hand_to(to, by=by, now=now, rationale=f"reassigned the case to {to}")

    def assign(self, to: str, *, by: str, now: datetime, how: str) -> None:
        """Issue 38: refund-bot's automatic assignment (``by`` ASSIGNER) or a lead mediator hands the case to a
        mediator (the service has checked they are one): a case waiting for one, or one another mediator holds.
        ``how`` is the audit's rationale: which rule picked them, or that a lead did."""
        now = require_utc(now)
        self.ensure_with_mediators()
        if to == self.mediator_id:
            raise AlreadyHolds(self.id, to)
        self._hand_to(to, by=by, now=now, rationale=how)

    def barred(self) -> frozenset[str]:
        """Who may not hold the case now: its parties, and on appeal the mediator whose outcome it is."""
        first = self.appeal.first_mediator if self.state == State.APPEAL_REQUESTED and self.appeal else None
        return frozenset({self.client_id, self.freelancer_id} | ({first} if first else set()))

    def ensure_with_mediators(self) -> None:
        """Open, in a state a mediator works in: a case that may be handed to one."""
        if not self.is_open or self.state not in WITH_MEDIATOR:
            raise self._moved_on()

    def _hand_to(self, to: str, *, by: str, now: datetime, rationale: str) -> None:
        """Never to a party, nor an appeal to the mediator whose outcome it is; their deadlines start again."""
        if self.role_of(to) is not None:
            raise PartyCannotBeMediator(self.id, to)
        self._ensure_not_first_mediator(to)
        before = self.mediator_id
        self.mediator_id, self.claimed_at, self.acted_at = to, now, None
        target = State.CLAIMED if self.state == State.UNASSIGNED else self.state
        self._record(self.state, target, by=by, now=now, rationale=rationale)
        self.events.append(Assigned(self.id, to, by, before, now))

    def ensure_case_mediator(self, by: str, now: datetime) -> datetime:
        """The mediator who holds the case, in any state a mediator works in."""
        return self._ensure_holding(by, now, *WITH_MEDIATOR - {State.UNASSIGNED})

    def ask(self, role: str, text: str, *, by: str, now: datetime) -> Question:
        """The case's mediator asks one party for information; the answer is evidence both sides see."""
        if role not in ("client", "freelancer"):
            raise ChoiceRequired(Field.PARTY)
        question = checked_text(text, Field.QUESTION, QUESTION_LIMIT, required=True) or ""
        now = self.ensure_case_mediator(by, now)
        self.acted_at = self.acted_at or now
        return Question(self.id, by, self.party(role), question, now)

    def propose(self, amount: Money, *, grounds: Grounds, by: str, now: datetime, policy: Policy) -> None:
        """Mediation: a refund amount (0 … the amount at stake) on stated grounds; each party has 2 days to accept."""
        now = self._ensure_holding(by, now, State.CLAIMED)
        self._reasoned(amount, grounds, policy)
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
        self._reasoned(amount, grounds, policy)
        self._record(self.state, State.DECIDED, by=by, now=now, amount=amount, rationale=self.rationale, cite=True)
        self._offer_appeal(AppealOn.HOURLY_DECISION, amount, now=now, policy=policy)
        self._pay(amount, self.at_stake - amount, by=by, now=now)

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
