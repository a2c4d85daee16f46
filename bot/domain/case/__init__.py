"""The Case aggregate: one dispute story about one item, through every stage of design §2.4.

request → (declined, lapsed or adjusted, and the client asks again) → hourly dispute | escrow refund |
non-binding mediation, → mediation → arbitration. Every transition checks actor, state, amounts and time
(``now`` is passed in), records its audit event and any ledger entries in ``events``, and refuses
anything else with a typed error from ``bot.domain.errors``. Who is a mediator at all is the roster's to say
(the service asks it); the case knows who its parties are, so a party can never mediate it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.domain.calendar import require_utc
from bot.domain.case.arbitration import ArbitrationStage
from bot.domain.case.base import allowed, checked_links, checked_text
from bot.domain.case.dispute import DisputeStage
from bot.domain.case.mediation import MediationStage
from bot.domain.case.payout import PayoutStage
from bot.domain.case.request import RequestStage
from bot.domain.errors import (
    AnswerTimeOver,
    CaseClosed,
    DeadlineNotReached,
    Field,
    NotYourCase,
    Stale,
    TextRequired,
    TooManyFiles,
    refusal,
)
from bot.domain.events import Evidence, Extended, MediatorsLate, Question, QuestionAnswered, Reminded
from bot.domain.files import EvidenceFile
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.domain.vocabulary import (
    CLAIMABLE,
    MEDIATOR_DEADLINES,
    SCHEDULER,
    WITH_MEDIATOR,
    Deadline,
    DeadlineKind,
    Move,
    Stage,
    State,
    Visibility,
)

# Design §2.2, withdrawal: before a decision. Once both parties paid for arbitration the award is the decision; a
# mediator's outcome open to appeal, or appealed, is one already.
_DECIDED_BY_MEDIATORS = frozenset({State.ARBITRATION, State.DECIDED, State.RELEASED, State.APPEAL_REQUESTED})


@refusal
class NothingToExtend(Stale):
    case_id: str


@refusal
class ExtensionUsed(Stale):
    """Design §2.2: one extension per party per case."""

    case_id: str


class Case(RequestStage, DisputeStage, MediationStage, ArbitrationStage, PayoutStage):
    """One dispute story about one item; each stage's moves come from its module, and what follows holds in every
    stage: evidence, withdrawal, the extension, what each person may do now, and what a deadline's passing means."""

    def add_evidence(
        self,
        *,
        text: str | None,
        links: tuple[str, ...],
        visibility: Visibility,
        by: str,
        now: datetime,
        policy: Policy,
        answers: Question | None = None,
        files: tuple[EvidenceFile, ...] = (),
        intake: str | None = None,
    ) -> Evidence:
        """Either party, while the case is open: words, links or files (read and hashed by then), frozen once
        added; an answer to a mediator's question quotes it."""
        now = require_utc(now)
        role = self.ensure_party_may_add_evidence(by)
        kept = checked_text(text, Field.EVIDENCE, policy.reason_max_length, required=False)
        shown = checked_links(links)
        if len(files) > policy.evidence_files.max_files:
            raise TooManyFiles(len(files), policy.evidence_files.max_files)
        if kept is None and not shown and not files:
            raise TextRequired(Field.EVIDENCE)
        self.evidence_count += 1
        quoted = answers.text if answers else None
        evidence = Evidence(self.id, self.evidence_count, by, role, kept, shown, visibility, now, quoted, files, intake)
        self.events.append(evidence)
        if answers is not None and answers.id is not None:
            self.events.append(QuestionAnswered(self.id, answers.id, by))
        return evidence

    def ensure_party_may_add_evidence(self, by: str) -> str:
        role = self.ensure_party(by)
        if not self.is_open:
            raise CaseClosed(self.id)
        return role

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
        return tuple(move for move, check in checks.items() if allowed(check))

    def reminders(
        self,
        deadline_id: int,
        kind: DeadlineKind,
        parties: tuple[str, ...],
        offset: float,
        due_at: datetime,
        now: datetime,
    ) -> list[Reminded]:
        """Who of a deadline's ``parties`` is reminded at this offset: whoever may still act before it. A response
        is owed by whom the case waits on (a party who already accepted a proposal is not nagged); an appeal may
        come from a party who may still appeal; a dispute of the week from the client while one may still come."""
        now = require_utc(now)
        if kind in MEDIATOR_DEADLINES:  # the mediators': still owed, or nobody is reminded
            if not any(d.kind is kind and d.due_at == due_at for d in self.mediator_deadlines):
                return []
            return [Reminded(self.id, deadline_id, kind, offset, self.mediator_id or "", "mediator", due_at, now)]
        roles = {party: self.ensure_party(party) for party in parties}
        if kind is DeadlineKind.APPEAL_WINDOW:
            still = [party for party, role in roles.items() if Move.APPEAL in self.moves(role, now)]
        elif kind is DeadlineKind.REVIEW_WINDOW:
            still = list(parties) if now < due_at and self.may_still_dispute else []
        else:
            still = [party for party in parties if party in self.waiting_on]
        return [Reminded(self.id, deadline_id, kind, offset, party, roles[party], due_at, now) for party in still]

    def offers(self, kind: DeadlineKind, due_at: datetime, now: datetime) -> bool:
        """Whether a window that offers a move (appeal the outcome, dispute the week) is still open to it; when it
        is not, its deadline is done."""
        if kind is DeadlineKind.APPEAL_WINDOW:
            return self.is_open and self.appeal_deadline is not None
        return now < due_at and self.may_still_dispute

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
        }.get(self.state, ())
        return (*only, Move.ASK, Move.REASSIGN) if self.state in WITH_MEDIATOR else ()

    def mediators_missed(self, kind: DeadlineKind, *, now: datetime) -> None:
        """Issue 38: one of the mediators' deadlines passed (to claim, to act a first time, to give an outcome). The
        lead mediators hear of it, and the desk and the card show it; nothing changes for the parties: a
        mediator's lateness never decides against them."""
        now = require_utc(now)
        missed = next((d for d in self.mediator_deadlines if d.kind is kind), None)
        if missed is None:
            raise self._moved_on()
        if now < missed.due_at:
            raise DeadlineNotReached(missed.due_at)
        self.events.append(MediatorsLate(self.id, kind, missed.due_at, now, self.mediator_id))
        self.mediators_late[kind] = (missed.due_at, now)
        self.mediator_deadlines = tuple(d for d in self.mediator_deadlines if d.kind is not kind)

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
