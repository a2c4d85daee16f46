"""The view models: what the use cases hand the Slack edge, for ``bot.blocks`` to render. Plain JSON in and out,
so the outbox can carry them. They carry what the domain decided (the amount at stake, each role's moves, whether
the deadline moved the case), so presentation never re-derives a rule."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.domain.contract import ContractKind
from bot.domain.events import Evidence
from bot.domain.files import FileRules
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.domain.routing import RouteKind
from bot.domain.vocabulary import CLAIMABLE, Move, Stage, State


@dataclass(frozen=True)
class Terms:
    """The numbers of a case's own policy version that its texts state (design §2.2; durations in seconds): a
    message says what the rules of its case say, not what the current policy would. Deadlines themselves are
    shown as dates, so only the windows a text announces before they start are here."""

    dispute_response_window: float
    escrow_response_window: float
    escrow_client_response_window: float
    proposal_response_window: float
    extension: float
    reason_max_length: int
    adjust_max_share: str | None = None  # an adjusted refund's cap, as a share of the price ("0.60")
    appeals: dict[str, Any] | None = None  # {"window": seconds, "outcomes": [...]}, when the policy offers appeals

    @classmethod
    def of(cls, policy: Policy) -> Terms:
        numbers = policy.numbers()
        return cls(**{f.name: numbers[f.name] for f in fields(cls)})

    def span(self, name: str) -> timedelta:
        return timedelta(seconds=getattr(self, name))

    def appeal_window(self, outcome: str) -> timedelta | None:
        """How long a party may appeal this kind of outcome (an ``AppealOn``), or None."""
        if not self.appeals or outcome not in self.appeals["outcomes"]:
            return None
        return timedelta(seconds=self.appeals["window"])


V1_TERMS = Terms.of(Policy())


@dataclass(frozen=True)
class CaseView:
    """A case as one party sees it at one moment (a snapshot taken in the transaction that changed it)."""

    id: str
    contract_id: str
    contract_title: str
    contract_kind: ContractKind
    item_label: str
    client_id: str
    freelancer_id: str
    currency: str
    paid_minor: int
    refunded_before_minor: int  # refunded on the item by earlier cases
    requested_minor: int
    refunded_minor: int  # refunded by this case
    offered_minor: int | None
    reason: str
    response: str | None
    state: State
    updated_by: str
    updated_at: str
    due_at: str | None
    policy_version: str
    next_step: dict[str, Any] | None = None  # the route of design §2.3, once the request is answered
    stage: Stage = Stage.REQUEST
    disputed_minor: int | None = None  # the amount at stake after the request stage
    disputed_minutes: int | None = None
    dispute_reason: str | None = None
    statement: str | None = None
    binding: bool = True
    mediator_id: str | None = None
    proposal_minor: int | None = None
    rationale: str | None = None
    rule: str | None = None  # the policy rule the mediator's outcome applies, and its words
    rule_title: str | None = None
    cited: list[dict[str, Any]] = field(default_factory=list)  # what a party may read of each item it relied on
    answers: dict[str, str] = field(default_factory=dict)
    award_reference: str | None = None
    # An outcome open to appeal (design §2.4): until when, and what it gives the client in its stage; once appealed,
    # the appeal (by, role, reason, at, outcome, first_mediator, amount_minor, refunded_minor).
    appeal_until: str | None = None
    outcome_minor: int | None = None
    appeal: dict[str, Any] | None = None
    evidence_count: int = 0
    fee_minor: int | None = None  # the arbitration fee per party, when the policy sets one for this currency
    adjust_max_minor: int | None = None  # the most an adjusted refund may be, when the policy caps it
    waiting_on: list[str] = field(default_factory=list)
    open: bool = True
    extended_by: list[str] = field(default_factory=list)  # roles that have had their extension
    payout_hold: str | None = None  # the marketplace's reason for refusing a payout, while the case is on hold
    deadline_reason: str | None = None  # why the scheduler moved the case, when it was the last to
    terms: Terms = V1_TERMS
    at_stake_minor: int = 0  # what the current stage decides
    by_deadline: bool = False  # the last change was the scheduler's, not a person's
    escalated: bool = False  # a mediator has been needed: the case card exists
    mediator_due: dict[str, str] = field(default_factory=dict)  # the mediators' deadlines owed: kind → due
    mediators_late: dict[str, str] = field(default_factory=dict)  # and those missed: kind → the due time missed
    moves: dict[str, list[Move]] = field(default_factory=dict)  # role ("client", "freelancer", "mediator") → Move

    def as_json(self) -> dict[str, Any]:
        """Plain JSON, made once per view (it is frozen): each of a change's messages carries it, and only reads
        it."""
        if (made := self.__dict__.get("_json")) is None:
            made = asdict(self)
            object.__setattr__(self, "_json", made)
        return made

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CaseView:
        """A view from the outbox. One queued before an upgrade may lack newer fields (they take their defaults,
        v1 terms included) or carry retired ones (dropped), so it still renders rather than dying."""
        known = {f.name for f in fields(cls)}
        kept = {k: v for k, v in data.items() if k in known}
        if isinstance(kept.get("terms"), dict):
            kept["terms"] = Terms(**kept["terms"])
        kept["state"], kept["contract_kind"] = State(kept["state"]), ContractKind(kept["contract_kind"])
        kept["stage"] = Stage(kept.get("stage", Stage.REQUEST))
        kept["moves"] = {role: [Move(move) for move in moves] for role, moves in (kept.get("moves") or {}).items()}
        return cls(**kept)

    def money(self, minor: int) -> Money:
        return Money(minor, self.currency)

    @property
    def due(self) -> datetime | None:
        return datetime.fromisoformat(self.due_at) if self.due_at else None

    @property
    def at(self) -> datetime:
        return datetime.fromisoformat(self.updated_at)

    @property
    def appealable_until(self) -> datetime | None:
        return datetime.fromisoformat(self.appeal_until) if self.appeal_until else None

    @property
    def at_stake(self) -> Money:
        return self.money(self.at_stake_minor)

    def may(self, role: str, move: Move) -> bool:
        return move in self.moves.get(role, ())


@dataclass(frozen=True)
class ItemChoice:
    key: str  # "milestone:M-1" or "timesheet:2026-11-16"
    label: str
    paid_minor: int
    balance_minor: int


@dataclass(frozen=True)
class Unavailable:
    """An item of the chosen contract that is not offered, and why."""

    label: str
    why: Literal["unpaid", "too_old", "open_case", "refunded"]
    paid_at: datetime | None = None
    limit: timedelta | None = None  # the policy's request age limit, for "too_old"
    case_id: str | None = None  # the open case, for "open_case"


@dataclass(frozen=True)
class RefundForm:
    """What the /refund modal offers one client: their contracts, the chosen one's refundable items."""

    contracts: list[tuple[str, str]]  # (id, title)
    reason_limit: int = 2000  # the current policy's, for a new request
    contract_id: str | None = None
    currency: str | None = None
    items: list[ItemChoice] = field(default_factory=list)
    item_key: str | None = None
    unavailable: list[Unavailable] = field(default_factory=list)  # the contract's other items
    locale: str | None = None  # the client's, as Slack last gave it (None before the relay has written to them)

    @property
    def item(self) -> ItemChoice | None:
        return next((choice for choice in self.items if choice.key == self.item_key), None)


@dataclass(frozen=True)
class AskAgainForm:
    """What the client sees before confirming "Request again": the route, why, and what the route needs."""

    case: CaseView
    route: RouteKind
    until: datetime | None  # when the route closes (a window's end: shown as its last second)
    review_opens_at: datetime | None  # hourly: the week's review window, for the message
    review_closes_at: datetime | None
    mediation_closes_at: datetime | None  # hourly: the end of non-binding mediation
    week_minutes: int | None
    balance_minor: int  # the most an hourly dispute may claim


@dataclass(frozen=True)
class DecisionForm:
    """What the case's mediator chooses from when proposing, deciding or recording an award: the rules of the
    case's policy for its kind of contract (key → words), and every piece of its evidence, newest first."""

    case: CaseView
    rules: dict[str, str]
    evidence: list[Evidence]


# The mediators' desk (App Home, design §3): its parts, in the order shown, and the rows of each on one page.
# Cases shown in each part of the Home tab: two blocks a case, well inside Slack's 100 blocks for a view.
HOME_SHOWN = 20
DESK_SECTIONS = ("unclaimed", "mine", "rest")
DESK_PAGE = 10


@dataclass(frozen=True)
class DeskFilters:
    """What a mediator narrows the desk to: a stage, a contract kind ("hourly", "fixed_price"), or only the
    cases whose deadline has passed without the scheduler acting yet."""

    stage: Stage | None = None
    kind: ContractKind | None = None
    overdue: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeskFilters:
        stage, kind = data.get("stage"), data.get("kind")
        return cls(Stage(stage) if stage else None, ContractKind(kind) if kind else None, bool(data.get("overdue")))


@dataclass(frozen=True)
class DeskRow:
    """One case on the desk: what a mediator needs to pick it, read in one statement for a whole page."""

    id: str
    item_label: str
    contract_title: str
    client_id: str
    freelancer_id: str
    currency: str
    at_stake_minor: int
    due_at: str | None  # its next deadline
    stage: Stage
    state: State
    mediator_id: str | None
    waiting_since: str  # escalated (or opened, before a mediator was needed); an appeal, since it was made
    card_link: str | None  # the case card's permalink, once the relay has posted it
    first_mediator: str | None = None  # an appeal's: whose outcome it is, who may not review it
    mediators_late: dict[str, str] = field(default_factory=dict)  # the mediators' deadlines missed: kind → due

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeskRow:
        return cls(**data | {"stage": Stage(data["stage"]), "state": State(data["state"])})

    def money(self, minor: int) -> Money:
        return Money(minor, self.currency)

    def claimable_by(self, mediator: str) -> bool:
        return self.mediator_id is None and self.state in CLAIMABLE and mediator != self.first_mediator


@dataclass(frozen=True)
class FilesFromMessage:
    """Add as evidence: the case the message's thread is, or (from a DM with the app) the cases to choose among."""

    case: CaseView | None
    choices: list[CaseView]


@dataclass(frozen=True)
class EvidenceForm:
    """The Add evidence form's case, and what a file attached to it may be under the case's own policy."""

    case: CaseView
    files: FileRules


@dataclass(frozen=True)
class ClosedCase:
    """A case closed in the period, as the report reads it."""

    team_id: str
    kind: str  # hourly, fixed_price
    route: str  # the stage it ended in
    state: str
    opened_at: datetime
    closed_at: datetime
    requested_minor: int
    disputed_minor: int | None
    refunded_minor: int
    mediator_id: str | None
    appeal: dict[str, Any] | None

    @property
    def outcome(self) -> str:
        if self.state == State.WITHDRAWN:
            return "withdrawn"
        asked = self.disputed_minor if self.disputed_minor is not None else self.requested_minor
        if self.refunded_minor <= 0:
            return "none"
        return "full" if self.refunded_minor >= asked else "part"

    @property
    def hours(self) -> float:
        return (self.closed_at - self.opened_at).total_seconds() / 3600

    @property
    def share(self) -> float:
        return self.refunded_minor / self.requested_minor if self.requested_minor else 0.0

    @property
    def appeal_changed(self) -> bool | None:
        """Whether the second mediator's review changed what the appealed outcome gave the client (None: none)."""
        if self.appeal is None:
            return None
        return self.refunded_minor != int(self.appeal.get("amount_minor") or 0)
