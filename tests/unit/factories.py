"""Small builders for domain objects, so each test states only what it is about."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

import pytest

from bot.domain.case import Case
from bot.domain.contract import (
    Contract,
    ContractKind,
    ContractStatus,
    Milestone,
    MilestoneStatus,
    Timesheet,
)
from bot.domain.errors import Refused
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.domain.vocabulary import Grounds

CLIENT = "U0CLIENT"
FREELANCER = "U0FREELANCER"
STRANGER = "U0STRANGER"
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
POLICY = Policy()


def contract(kind: ContractKind = ContractKind.FIXED_PRICE, currency: str = "USD", **changes) -> Contract:
    fields = {
        "team_id": "T0001",
        "id": "C-100",
        "title": "Logo redesign",
        "kind": kind,
        "currency": currency,
        "client_id": CLIENT,
        "freelancer_id": FREELANCER,
        "hourly_rate": Money.parse("40", currency) if kind is ContractKind.HOURLY else None,
        "status": ContractStatus.ACTIVE,
        "policy_version": "v1",
    }
    return Contract(**(fields | changes))


def milestone(amount: str = "250.00", currency: str = "USD", **changes) -> Milestone:
    fields = {
        "contract_id": "C-100",
        "id": "M-1",
        "title": "Concepts",
        "amount": Money.parse(amount, currency),
        "status": MilestoneStatus.RELEASED,
        "released_at": datetime(2026, 11, 2, 10, 0, tzinfo=UTC),
    }
    return Milestone(**(fields | changes))


def timesheet(amount: str = "400.00", currency: str = "USD", **changes) -> Timesheet:
    fields = {
        "contract_id": "C-100",
        "week": date(2026, 11, 16),
        "minutes": 600,
        "amount": Money.parse(amount, currency),
        "billed_at": datetime(2026, 11, 23, 0, 0, tzinfo=UTC),
        "paid_at": datetime(2026, 11, 23, 6, 0, tzinfo=UTC),
    }
    return Timesheet(**(fields | changes))


def because(rationale: str, *cited: int, rule: str = "partly_delivered") -> Grounds:
    """A mediator's grounds: the rationale, a rule of v1 that fits any contract, and the evidence cited."""
    return Grounds(rationale, rule, cited)


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


def open_case(amount: str = "100.00", *, now: datetime = NOW, refunded: str = "0", held: str = "0", **changes) -> Case:
    """A waiting refund request on the fixed-price milestone; ``changes`` override any other argument."""
    args = {
        "case_id": "R-1",
        "contract": contract(),
        "item": milestone(),
        "amount": usd(amount),
        "reason": "The concepts were not what we agreed.",
        "refunded": usd(refunded),
        "held": usd(held),
        "by": CLIENT,
        "now": now,
        "policy": POLICY,
    }
    return Case.open_request(**(args | changes))


@contextmanager
def refused(kind: type[Refused], **facts: object) -> Iterator[None]:
    """The block is refused with ``kind``, carrying these facts (the sentence people read is the edge's)."""
    with pytest.raises(kind) as caught:
        yield
    found = {name: getattr(caught.value, name) for name in facts}
    assert found == facts
