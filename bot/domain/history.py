"""A party's record across contracts, for mediators only (issue 16): what they asked or were asked, how it ended,
and the patterns the policy flags. Storage counts; this module says what the counts mean."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.policy import Policy


class Flag(StrEnum):
    ASKS_OFTEN = "asks_often"  # a client who asks for refunds on most paid items
    OFTEN_DISPUTED = "often_disputed"  # a freelancer whose work is often disputed


@dataclass(frozen=True)
class Tally:
    """One party's cases in one period, other than the case being looked at. A dispute is a case that went past
    the refund request (an hourly dispute, an escrow refund, mediation) and has ended; the client won it when all
    they asked was refunded, the freelancer when nothing was, and it was split otherwise."""

    cases: int = 0  # refund requests made (client) or received (freelancer)
    closed: int = 0
    refunded: int = 0  # closed with some refund
    refunded_share: float = 0.0  # the mean share of the item's price refunded, over the closed cases
    disputes_client_won: int = 0
    disputes_freelancer_won: int = 0
    disputes_split: int = 0
    paid_items: int = 0  # items paid on the party's contracts in the period

    @property
    def disputes(self) -> int:
        return self.disputes_client_won + self.disputes_freelancer_won + self.disputes_split

    def won(self, role: str) -> int:
        return self.disputes_client_won if role == "client" else self.disputes_freelancer_won

    def lost(self, role: str) -> int:
        return self.disputes_freelancer_won if role == "client" else self.disputes_client_won


def flags(role: str, tally: Tally, policy: Policy) -> tuple[Flag, ...]:
    """The patterns of ``tally`` the policy flags; none below its minimum of paid items, where a share says
    little."""
    if tally.paid_items < policy.history_min_items:
        return ()
    if role == "client" and tally.cases > policy.history_client_request_share * tally.paid_items:
        return (Flag.ASKS_OFTEN,)
    if role == "freelancer" and tally.disputes > policy.history_freelancer_dispute_share * tally.paid_items:
        return (Flag.OFTEN_DISPUTED,)
    return ()


@dataclass(frozen=True)
class PartyRecord:
    role: str  # "client" or "freelancer"
    user_id: str
    recent: Tally  # the policy's history_recent window
    all_time: Tally

    def flags(self, policy: Policy) -> dict[str, tuple[Flag, ...]]:
        return {"recent": flags(self.role, self.recent, policy), "all_time": flags(self.role, self.all_time, policy)}
