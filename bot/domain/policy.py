"""Policy: every number of design §2.2, with its v1 defaults. Each case stores the version it started under."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from bot.domain.calendar import ReviewCalendar, Window, require_utc
from bot.domain.files import FileRules
from bot.domain.money import Money


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


@dataclass(frozen=True)
class ArbitrationFee:
    """What each party pays to go to arbitration: ``minimum``, or ``share`` of the amount at stake if that is more
    (Freelancer.com: the greater of $5 and 5%; Upwork: a flat $291, share 0)."""

    minimum: Decimal
    share: Decimal = Decimal(0)

    def for_amount(self, at_stake: Money) -> Money:
        least = Money.parse(self.minimum, at_stake.currency)
        scaled = Money(int((Decimal(at_stake.minor) * self.share).to_integral_value(ROUND_HALF_UP)), at_stake.currency)
        return max(least, scaled)


@dataclass(frozen=True)
class Ground:
    """A rule a mediator may name as what an outcome applies, in the words both parties read, and the kinds of
    contract ("hourly", "fixed_price") it is about."""

    title: str
    kinds: tuple[str, ...] = ("hourly", "fixed_price")


V1_GROUNDS = {
    "not_delivered": Ground("The work was not delivered."),
    "not_as_agreed": Ground("What was delivered does not match what the contract asked for."),
    "partly_delivered": Ground("Part of the work was delivered as agreed; the refund covers the rest."),
    "hours_not_shown": Ground("The hours billed are not shown by the work or the work diary.", ("hourly",)),
    "hours_outside_contract": Ground("The hours billed were spent on work outside the contract.", ("hourly",)),
    "delivered_as_agreed": Ground("The work was delivered as the contract asked."),
    "no_answer": Ground("A party did not take part; the outcome rests on the other side's evidence."),
}


# Files a party may attach as evidence unless the policy says otherwise: documents, sheets, slides, images, audio,
# video, design files and archives of them; never a program or a script (an allow-list, so nothing new slips in).
_FILE_TYPES = (
    "pdf doc docx odt rtf txt md csv tsv json xml xls xlsx ods ppt pptx odp key pages numbers "
    "png jpg jpeg gif webp heic tif tiff bmp svg psd ai eps sketch fig mp3 wav m4a ogg mp4 mov webm zip"
)
V1_FILE_TYPES = tuple(_FILE_TYPES.split())


@dataclass(frozen=True)
class Appeals:
    """Design §2.4, appeal: either party may ask once per case, within ``window`` of one of ``outcomes`` (``AppealOn``
    values), for a review by a second mediator, whose outcome is final."""

    window: timedelta
    outcomes: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    version: str = "v1"
    request_age_limit: timedelta = timedelta(days=180)
    reason_max_length: int = 2000
    response_window: timedelta = timedelta(days=3)
    reminder_offsets: tuple[timedelta, ...] = (timedelta(hours=48), timedelta(hours=24), timedelta(hours=2))
    calendar: ReviewCalendar = field(default_factory=ReviewCalendar)
    dispute_response_window: timedelta = timedelta(days=3)
    escrow_response_window: timedelta = timedelta(days=7)
    escrow_client_response_window: timedelta = timedelta(days=5)
    proposal_response_window: timedelta = timedelta(days=2)
    arbitration_offer_window: timedelta = timedelta(days=7)
    arbitration_fees: dict[str, ArbitrationFee] = field(
        default_factory=lambda: {"USD": ArbitrationFee(Decimal("291.00"))}
    )
    non_binding_mediation_limit: timedelta = timedelta(days=30)
    extension: timedelta = timedelta(hours=48)
    # An adjusted refund may be at most this share of what was paid for the item (Fiverr: 60%); None: any
    # amount below what was asked.
    adjust_max_share: Decimal | None = None
    # What mediators see of a party's record (bot.domain.history): the recent window beside all time, and when a
    # pattern is flagged (more than this share of the party's paid items, once they have this many).
    history_recent: timedelta = timedelta(days=90)
    history_min_items: int = 5
    history_client_request_share: Decimal = Decimal("0.5")
    history_freelancer_dispute_share: Decimal = Decimal("0.3")
    # The rules a mediator's proposal, decision or award may name (each outcome names one), by key.
    grounds: dict[str, Ground] = field(default_factory=lambda: dict(V1_GROUNDS))
    # Whether a party may appeal a mediator's outcome to a second mediator, and which; None: no appeals (v1).
    appeals: Appeals | None = None
    # The mediators' own deadlines: to claim a case once it waits for one (escalated, appealed, or released back);
    # once one holds it, to ask, propose or decide a first time, and to give an outcome.
    mediator_claim_window: timedelta = timedelta(hours=24)
    mediator_action_window: timedelta = timedelta(hours=48)
    mediator_outcome_window: timedelta = timedelta(days=7)

    def mediator_window(self, kind: str) -> timedelta:
        """The window of one of the mediators' deadlines (a ``DeadlineKind`` value)."""
        return {
            "mediator_claim": self.mediator_claim_window,
            "mediator_action": self.mediator_action_window,
            "mediator_outcome": self.mediator_outcome_window,
        }[kind]

    # What a file attached as evidence may be (bot.domain.files).
    evidence_files: FileRules = field(default_factory=lambda: FileRules(V1_FILE_TYPES))

    def appeal_window(self, outcome: str) -> timedelta | None:
        """How long a party may appeal this kind of outcome (an ``AppealOn``), or None when it cannot be."""
        return self.appeals.window if self.appeals is not None and outcome in self.appeals.outcomes else None

    def grounds_for(self, kind: str) -> dict[str, Ground]:
        """The rules that apply to a contract of this kind, in the policy's order."""
        return {key: ground for key, ground in self.grounds.items() if kind in ground.kinds}

    def request_window(self, paid_at: datetime) -> Window:
        """Refund requests are open on an item paid within the last ``request_age_limit`` (180 days)."""
        paid_at = require_utc(paid_at)
        return Window(paid_at, paid_at + self.request_age_limit)

    def non_binding_mediation_window(self, paid_at: datetime) -> Window:
        """Hourly work outside its review window may go to mediation within 30 days of payment."""
        paid_at = require_utc(paid_at)
        return Window(paid_at, paid_at + self.non_binding_mediation_limit)

    def arbitration_fee(self, at_stake: Money) -> Money | None:
        """The fee each party pays to arbitrate ``at_stake``, if the marketplace set one for its currency."""
        fee = self.arbitration_fees.get(at_stake.currency)
        return fee.for_amount(at_stake) if fee is not None else None

    def adjust_ceiling(self, paid: Money) -> Money | None:
        """The most an adjusted refund may be on an item that cost ``paid``, when the policy caps it."""
        if self.adjust_max_share is None:
            return None
        return Money(int((Decimal(paid.minor) * self.adjust_max_share).to_integral_value(ROUND_DOWN)), paid.currency)

    def numbers(self) -> dict[str, Any]:
        """The policy as plain JSON values, stored with its version so old cases keep their rules. Made once per
        policy (it is frozen): every case view reads its terms from them. Read it, never change it."""
        if (made := self.__dict__.get("_numbers")) is None:
            made = self._plain_numbers()
            object.__setattr__(self, "_numbers", made)
        return made

    def _plain_numbers(self) -> dict[str, Any]:

        def plain(value: Any) -> Any:
            if isinstance(value, timedelta):
                return value.total_seconds()
            if isinstance(value, Decimal):
                return str(value)
            if isinstance(value, ArbitrationFee):
                return {"minimum": str(value.minimum), "share": str(value.share)}
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            return value

        return plain(asdict(self))

    @classmethod
    def from_numbers(cls, numbers: dict[str, Any]) -> Policy:
        """The policy of stored numbers. Versions stored by older releases lack the rules added since (they take
        the defaults, which are what those releases did) and state a fee as one flat amount."""
        cal = numbers["calendar"]
        share = numbers.get("adjust_max_share")
        return cls(
            version=numbers["version"],
            request_age_limit=_seconds(numbers["request_age_limit"]),
            reason_max_length=numbers["reason_max_length"],
            response_window=_seconds(numbers["response_window"]),
            reminder_offsets=tuple(_seconds(v) for v in numbers["reminder_offsets"]),
            calendar=ReviewCalendar(_seconds(cal["opens_after"]), _seconds(cal["closes_after"])),
            dispute_response_window=_seconds(numbers["dispute_response_window"]),
            escrow_response_window=_seconds(numbers["escrow_response_window"]),
            escrow_client_response_window=_seconds(numbers["escrow_client_response_window"]),
            proposal_response_window=_seconds(numbers["proposal_response_window"]),
            arbitration_offer_window=_seconds(numbers["arbitration_offer_window"]),
            arbitration_fees={k: _fee(v) for k, v in numbers["arbitration_fees"].items()},
            non_binding_mediation_limit=_seconds(numbers["non_binding_mediation_limit"]),
            extension=_seconds(numbers["extension"]),
            adjust_max_share=Decimal(share) if share is not None else None,
            history_recent=_seconds(numbers.get("history_recent", 90 * 86400)),
            history_min_items=numbers.get("history_min_items", 5),
            history_client_request_share=Decimal(numbers.get("history_client_request_share", "0.5")),
            history_freelancer_dispute_share=Decimal(numbers.get("history_freelancer_dispute_share", "0.3")),
            grounds={k: Ground(v["title"], tuple(v["kinds"])) for k, v in numbers["grounds"].items()}
            if "grounds" in numbers
            else dict(V1_GROUNDS),
            appeals=Appeals(_seconds(appeals["window"]), tuple(appeals["outcomes"]))
            if (appeals := numbers.get("appeals"))
            else None,
            mediator_claim_window=_seconds(numbers.get("mediator_claim_window", 24 * 3600)),
            mediator_action_window=_seconds(numbers.get("mediator_action_window", 48 * 3600)),
            mediator_outcome_window=_seconds(numbers.get("mediator_outcome_window", 7 * 86400)),
            evidence_files=FileRules(tuple(files["types"]), files["max_bytes"], files["max_files"])
            if (files := numbers.get("evidence_files"))
            else FileRules(V1_FILE_TYPES),
        )


def _fee(stored: str | dict[str, str]) -> ArbitrationFee:
    if isinstance(stored, str):
        return ArbitrationFee(Decimal(stored))
    return ArbitrationFee(Decimal(stored["minimum"]), Decimal(stored["share"]))
