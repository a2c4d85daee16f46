"""Contracts and their items (design §2.1): milestones of fixed-price work, timesheet weeks of hourly work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from bot.domain.money import Money


class ContractKind(StrEnum):
    HOURLY = "hourly"
    FIXED_PRICE = "fixed_price"


class ContractStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


class MilestoneStatus(StrEnum):
    FUNDED = "funded"
    SUBMITTED = "submitted"
    RELEASED = "released"


class ItemKind(StrEnum):
    MILESTONE = "milestone"
    TIMESHEET = "timesheet"


@dataclass(frozen=True)
class ItemRef:
    """Names one item of a contract: a milestone by its id, a timesheet by its week's Monday (ISO date)."""

    kind: ItemKind
    id: str


@dataclass(frozen=True)
class Contract:
    team_id: str
    id: str
    title: str
    kind: ContractKind
    currency: str
    client_id: str
    freelancer_id: str
    hourly_rate: Money | None
    status: ContractStatus
    policy_version: str

    @property
    def item_kind(self) -> ItemKind:
        return ItemKind.TIMESHEET if self.kind is ContractKind.HOURLY else ItemKind.MILESTONE


@dataclass(frozen=True)
class Milestone:
    contract_id: str
    id: str
    title: str
    amount: Money
    status: MilestoneStatus
    funded_at: datetime | None = None
    submitted_at: datetime | None = None
    released_at: datetime | None = None

    @property
    def ref(self) -> ItemRef:
        return ItemRef(ItemKind.MILESTONE, self.id)

    @property
    def label(self) -> str:
        return f"Milestone “{self.title}”"

    @property
    def paid_at(self) -> datetime | None:
        """A milestone is paid when its funds are released to the freelancer."""
        return self.released_at if self.status is MilestoneStatus.RELEASED else None

    @property
    def paid(self) -> Money:
        return self.amount if self.paid_at else Money.zero(self.amount.currency)


@dataclass(frozen=True)
class Timesheet:
    contract_id: str
    week: date
    minutes: int
    amount: Money
    billed_at: datetime | None = None
    paid_at: datetime | None = None

    @property
    def ref(self) -> ItemRef:
        return ItemRef(ItemKind.TIMESHEET, self.week.isoformat())

    @property
    def label(self) -> str:
        return f"Week of {self.week:%d %b %Y}"

    @property
    def paid(self) -> Money:
        return self.amount if self.paid_at else Money.zero(self.amount.currency)


Item = Milestone | Timesheet


def refundable_balance(paid: Money, refunded: Money, held: Money) -> Money:
    """Design §2.2: paid − refunded − held by other open cases, never below zero."""
    balance = paid - refunded - held
    return balance if balance.minor > 0 else Money.zero(paid.currency)
