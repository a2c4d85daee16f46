"""The case's vocabulary (design §2.4): its stages and states, the deadlines it waits on, and the words of its
ledger and evidence. ``bot.domain.case`` is the aggregate that moves through them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.domain.money import Money

# The actor recorded when a deadline, not a person, moves a case.
SCHEDULER = "scheduler"
# The actor recorded when the marketplace's payments system answers a payout.
MARKETPLACE = "marketplace"
# The actor recorded when refund-bot hands a waiting case to a mediator (a workspace's automatic assignment).
ASSIGNER = "assigner"
PAYOUT_REASON_LIMIT = 500
LINKS_PER_EVIDENCE = 10
REFERENCE_LIMIT = 100
QUESTION_LIMIT = 500


class Assignment(StrEnum):
    """How a workspace's waiting cases find a mediator (issue 38): claimed from the desk, or handed to the available
    mediator whose turn it is (the one assigned longest ago) or who holds the fewest cases."""

    OFF = "off"
    ROUND_ROBIN = "round-robin"
    LEAST_LOADED = "least-loaded"


class Stage(StrEnum):
    REQUEST = "request"
    HOURLY_DISPUTE = "hourly_dispute"
    ESCROW_REFUND = "escrow_refund"
    MEDIATION = "mediation"
    APPEAL = "appeal"  # a second mediator reviews a decision or a rejected proposal (when the policy offers it)


class State(StrEnum):
    AWAITING_FREELANCER = "awaiting_freelancer"
    APPROVED = "approved"
    ADJUSTED = "adjusted"
    DECLINED = "declined"
    LAPSED = "lapsed"
    WITHDRAWN = "withdrawn"
    CLOSED_OUT_OF_WINDOW = "closed_out_of_window"
    REFUNDED = "refunded"
    IN_REVIEW = "in_review"
    DECIDED = "decided"
    FREELANCER_DISPUTED = "freelancer_disputed"
    RELEASED = "released"
    UNASSIGNED = "unassigned"
    CLAIMED = "claimed"
    PROPOSED = "proposed"
    SETTLED = "settled"
    ARBITRATION_OFFERED = "arbitration_offered"
    ARBITRATION = "arbitration"
    AWARDED = "awarded"
    APPEAL_REQUESTED = "appeal_requested"
    REVIEWED = "reviewed"


# A mediator may claim a case in these while nobody holds it.
CLAIMABLE = frozenset({State.UNASSIGNED, State.IN_REVIEW, State.APPEAL_REQUESTED})

# Design §2.4: nothing leaves these; the case is closed.
TERMINAL = frozenset(
    {
        State.APPROVED,
        State.WITHDRAWN,
        State.CLOSED_OUT_OF_WINDOW,
        State.REFUNDED,
        State.DECIDED,
        State.RELEASED,
        State.SETTLED,
        State.AWARDED,
        State.REVIEWED,
    }
)
# Outcomes a party may appeal, when the case's policy offers it: while the window is open the case stays open (a
# decision or a release is paid out at once; the arbitration offer of a binding mediation stands beside it).
APPEALABLE = frozenset({State.DECIDED, State.RELEASED, State.ARBITRATION_OFFERED})
# The request was answered (or not) and the client may ask again (design §2.2, "after decline, lapse...").
MAY_ASK_AGAIN = frozenset({State.DECLINED, State.LAPSED, State.ADJUSTED})
# States a mediator works in: the case card's queue.
WITH_MEDIATOR = frozenset(
    {
        State.IN_REVIEW,
        State.UNASSIGNED,
        State.CLAIMED,
        State.PROPOSED,
        State.ARBITRATION_OFFERED,
        State.ARBITRATION,
        State.APPEAL_REQUESTED,
    }
)


class DeadlineKind(StrEnum):
    FREELANCER_RESPONSE = "freelancer_response"
    DISPUTE_RESPONSE = "dispute_response"
    ESCROW_RESPONSE = "escrow_response"
    ESCROW_CLIENT_RESPONSE = "escrow_client_response"
    PROPOSAL_RESPONSE = "proposal_response"
    ARBITRATION_FEE = "arbitration_fee"
    REVIEW_WINDOW = "review_window"  # reminds only: the hourly week's dispute window closes, nothing expires
    APPEAL_WINDOW = "appeal_window"  # while either party may still appeal an outcome; when it ends, the outcome stands
    # The mediators' own (issue 38): each reminds them and tells the lead mediators once it passes, and never decides
    # anything against a party. While nobody holds a case that waits for a mediator, to claim it; once one holds
    # it, their first question, proposal or decision, and their outcome.
    MEDIATOR_CLAIM = "mediator_claim"
    MEDIATOR_ACTION = "mediator_action"
    MEDIATOR_OUTCOME = "mediator_outcome"


MEDIATOR_DEADLINES = frozenset(
    {DeadlineKind.MEDIATOR_CLAIM, DeadlineKind.MEDIATOR_ACTION, DeadlineKind.MEDIATOR_OUTCOME}
)
# Where the mediator holding a case owes it an outcome (a proposal, a decision, a review).
OWES_OUTCOME = frozenset({State.CLAIMED, State.IN_REVIEW, State.APPEAL_REQUESTED})


class LedgerKind(StrEnum):
    """What an entry records. A reviewed appeal adjusts earlier entries with reversals, never by rewriting them:
    what a case refunded is its refunds less its refund reversals."""

    REFUND = "refund"  # money back to the client
    RELEASE = "release"  # the amount in dispute stays the freelancer's
    REFUND_REVERSAL = "refund_reversal"  # part of an earlier refund goes back to the freelancer
    RELEASE_REVERSAL = "release_reversal"  # part of an earlier release is refunded instead (with a refund entry)


class AppealOn(StrEnum):
    """The outcomes a policy may let a party appeal to a second mediator."""

    HOURLY_DECISION = "hourly_decision"  # a mediator's decision on an hourly dispute
    REJECTED_PROPOSAL = "rejected_proposal"  # a mediator's proposal that a party rejected (or let lapse)


class Visibility(StrEnum):
    BOTH_SIDES = "both_sides"
    MEDIATOR_ONLY = "mediator_only"


class Answer(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    PAID = "paid"  # agreed to arbitration and paid the fee


@dataclass(frozen=True)
class Deadline:
    """Who must act by when; the scheduler reminds them at ``due_at`` minus each offset, then acts."""

    kind: DeadlineKind
    parties: tuple[str, ...]
    due_at: datetime
    reminder_offsets: tuple[float, ...]  # seconds before due_at


@dataclass(frozen=True)
class DisputeDetails:
    """What the client disputes on an hourly week: time (minutes) or an amount, why, and their certification."""

    reason: str
    certified: bool
    minutes: int | None = None
    amount: Money | None = None


@dataclass(frozen=True)
class Grounds:
    """What a mediator's proposal, decision or award rests on: the rationale both parties read, the policy rule
    it applies (a key of ``Policy.grounds``), and the numbers of the evidence items it relied on."""

    rationale: str
    rule: str
    cited: tuple[int, ...] = ()


@dataclass(frozen=True)
class Appeal:
    """A party asked a second mediator to review an outcome (design §2.4, appeal). ``amount`` is what the outcome
    gave the client in its stage (the decision, the proposal, or nothing for a release); ``refunded`` what of it
    was already paid out, which the review adjusts."""

    by: str
    role: str
    reason: str
    at: datetime
    outcome: State  # the state appealed: decided, released or arbitration_offered
    stage: Stage  # the stage it was reached in
    first_mediator: str | None  # who may not review it
    amount: Money
    refunded: Money

    def as_json(self) -> dict[str, Any]:
        """Plain values, as the case keeps them and its surfaces read them."""
        return {
            "by": self.by,
            "role": self.role,
            "reason": self.reason,
            "at": self.at.isoformat(),
            "outcome": self.outcome.value,
            "stage": self.stage.value,
            "first_mediator": self.first_mediator,
            "amount_minor": self.amount.minor,
            "refunded_minor": self.refunded.minor,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], currency: str) -> Appeal:
        return cls(
            by=data["by"],
            role=data["role"],
            reason=data["reason"],
            at=datetime.fromisoformat(data["at"]),
            outcome=State(data["outcome"]),
            stage=Stage(data["stage"]),
            first_mediator=data["first_mediator"],
            amount=Money(data["amount_minor"], currency),
            refunded=Money(data["refunded_minor"], currency),
        )


class Move(StrEnum):
    """What someone may do on a case now: the buttons its messages show (``Case.moves``)."""

    ANSWER = "answer"  # the freelancer approves, adjusts or declines the request
    RESPOND = "respond"  # the freelancer accepts or contests a dispute or an escrow refund
    ANSWER_POSITION = "answer_position"  # the client accepts or rejects the freelancer's escrow dispute
    ANSWER_PROPOSAL = "answer_proposal"
    ARBITRATE = "arbitrate"  # agree to binding arbitration and pay the fee
    ASK_AGAIN = "ask_again"
    WITHDRAW = "withdraw"
    EXTEND = "extend"
    ADD_EVIDENCE = "add_evidence"
    APPEAL = "appeal"  # ask a second mediator to review the outcome
    # The mediators' case card:
    CLAIM = "claim"
    PROPOSE = "propose"
    DECIDE = "decide"
    AWARD = "award"
    REVIEW = "review"  # the second mediator confirms or changes the appealed outcome
    ASK = "ask"
    REASSIGN = "reassign"
    RELEASE = "release"
