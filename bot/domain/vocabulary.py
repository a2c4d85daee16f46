"""The case's vocabulary (design §2.4): its stages and states, the deadlines it waits on, and the words of its
ledger and evidence. ``bot.domain.case`` is the aggregate that moves through them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.domain.money import Money

# The actor recorded when a deadline, not a person, moves a case.
SCHEDULER = "scheduler"
# The actor recorded when the marketplace's payments system answers a payout.
MARKETPLACE = "marketplace"
PAYOUT_REASON_LIMIT = 500
LINKS_PER_EVIDENCE = 10
REFERENCE_LIMIT = 100
QUESTION_LIMIT = 500


class Stage(StrEnum):
    REQUEST = "request"
    HOURLY_DISPUTE = "hourly_dispute"
    ESCROW_REFUND = "escrow_refund"
    MEDIATION = "mediation"


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


# A mediator may claim a case in these while nobody holds it.
CLAIMABLE = frozenset({State.UNASSIGNED, State.IN_REVIEW})

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
    }
)
# The request was answered (or not) and the client may ask again (design §2.2, "after decline, lapse...").
MAY_ASK_AGAIN = frozenset({State.DECLINED, State.LAPSED, State.ADJUSTED})
# States a mediator works in: the case card's queue.
WITH_MEDIATOR = frozenset(
    {State.IN_REVIEW, State.UNASSIGNED, State.CLAIMED, State.PROPOSED, State.ARBITRATION_OFFERED, State.ARBITRATION}
)


class DeadlineKind(StrEnum):
    FREELANCER_RESPONSE = "freelancer_response"
    DISPUTE_RESPONSE = "dispute_response"
    ESCROW_RESPONSE = "escrow_response"
    ESCROW_CLIENT_RESPONSE = "escrow_client_response"
    PROPOSAL_RESPONSE = "proposal_response"
    ARBITRATION_FEE = "arbitration_fee"
    REVIEW_WINDOW = "review_window"  # reminds only: the hourly week's dispute window closes, nothing expires


class LedgerKind(StrEnum):
    REFUND = "refund"  # money back to the client
    RELEASE = "release"  # the amount in dispute stays the freelancer's


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
    # The mediators' case card:
    CLAIM = "claim"
    PROPOSE = "propose"
    DECIDE = "decide"
    AWARD = "award"
    ASK = "ask"
    REASSIGN = "reassign"
    RELEASE = "release"
