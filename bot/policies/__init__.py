"""Policies as data (design §2.2): one YAML file per preset, validated here, and the rules said in plain words.

A preset ships in this folder; an operator's own file (``POLICY_FILE``) has the same fields. Each file's comments
give the public source of each number. The version a file names is stored with every case opened under it, so
a file's numbers may not change under the same version (``PolicyRepository.register`` refuses that).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import yaml
from babel.numbers import format_percent
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from bot.blocks.format import DEFAULT_LOCALE, duration, money, window_end
from bot.blocks.refusals import PLAIN, sentence
from bot.domain.calendar import ReviewCalendar
from bot.domain.contract import ContractKind
from bot.domain.errors import Refused
from bot.domain.money import Money
from bot.domain.policy import V1_GROUNDS, Appeals, ArbitrationFee, Ground, Policy
from bot.domain.vocabulary import AppealOn

PRESETS_DIR = Path(__file__).parent
# Read whenever the settings are (every command, every worker): libyaml's safe loader where PyYAML has it.
SAFE_YAML = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DEFAULT_PRESET = "refundbot"


class PolicyFileError(Exception):
    """A policy file that cannot be used, said in one line naming the file and the field."""


def _seconds(value: Any) -> Any:
    """ISO 8601 ("P3D", "PT48H") or a count of seconds. Pydantic alone reads "12:00" as twelve minutes and a
    bare number in a string as a clock time; neither is what anyone means by a response window."""
    if isinstance(value, bool):
        raise ValueError("must be an ISO 8601 duration such as P3D or PT48H, or a number of seconds")
    if not isinstance(value, str):
        return value
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    if text.upper().lstrip("+-").startswith("P"):
        return text.upper()
    raise ValueError("must be an ISO 8601 duration such as P3D or PT48H, or a number of seconds")


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be a positive duration, e.g. P3D or PT48H")
    return value


Duration = Annotated[timedelta, BeforeValidator(_seconds), AfterValidator(_positive)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeeIn(_Strict):
    minimum: Decimal = Field(ge=0)
    share: Decimal = Field(Decimal(0), ge=0, le=1)


class ReviewWindowIn(_Strict):
    """Offsets from the start of the billing week (Monday 00:00 UTC)."""

    opens_after: Duration
    closes_after: Duration


class GroundIn(_Strict):
    """A rule a mediator may name: its words (a select option shows at most 75 characters) and the kinds of
    contract it is about."""

    title: str = Field(min_length=1, max_length=75)
    applies_to: list[ContractKind] = Field(min_length=1)


_RULE_KEY = r"^[a-z][a-z0-9_]{0,63}$"


class AppealsIn(_Strict):
    """Design §2.4, appeal: how long after an outcome a party may ask for a second mediator's review, and of which
    outcomes (hourly_decision, rejected_proposal). Not "on": YAML reads a bare on as true."""

    window: Duration
    outcomes: list[AppealOn] = Field(min_length=1)


class PolicyFile(_Strict):
    title: str = Field(min_length=1, max_length=120)
    version: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    request_age_limit: Duration
    reason_max_length: int = Field(ge=1, le=2900)  # a reason is quoted in a 3,000-character section
    response_window: Duration
    reminder_offsets: list[Duration] = Field(max_length=10)
    review_window: ReviewWindowIn
    dispute_response_window: Duration
    escrow_response_window: Duration
    escrow_client_response_window: Duration
    proposal_response_window: Duration
    arbitration_offer_window: Duration
    arbitration_fees: dict[str, FeeIn]
    non_binding_mediation_limit: Duration
    extension: Duration
    adjust_max_share: Decimal | None = Field(None, gt=0, lt=1)
    history_recent: Duration
    history_min_items: int = Field(ge=1, le=10_000)
    history_client_request_share: Decimal = Field(gt=0, le=1)
    history_freelancer_dispute_share: Decimal = Field(gt=0, le=1)
    # A file without its own rules takes v1's (bot.domain.policy.V1_GROUNDS).
    grounds: dict[Annotated[str, Field(pattern=_RULE_KEY)], GroundIn] | None = None
    # null or absent: no appeals.
    appeals: AppealsIn | None = None

    @field_validator("grounds")
    @classmethod
    def _grounds(cls, value: dict[str, GroundIn] | None) -> dict[str, GroundIn] | None:
        if value is None:
            return value
        for kind in ContractKind:
            offered = [key for key, ground in value.items() if kind in ground.applies_to]
            if not offered:
                raise ValueError(f"no rule applies to {kind.value} contracts, so no mediator could decide one")
            if len(offered) > 100:
                raise ValueError(f"{len(offered)} rules apply to {kind.value} contracts; a Slack select shows 100")
        return value

    @field_validator("review_window")
    @classmethod
    def _window(cls, value: ReviewWindowIn) -> ReviewWindowIn:
        if value.closes_after <= value.opens_after:
            raise ValueError("closes_after must be later than opens_after")
        return value

    @field_validator("arbitration_fees")
    @classmethod
    def _fees(cls, value: dict[str, FeeIn]) -> dict[str, FeeIn]:
        for currency, fee in value.items():
            try:
                Money.parse(fee.minimum, currency)
            except Refused as exc:
                raise ValueError(f"{currency}: {sentence(exc, PLAIN)}") from None
        return value

    def policy(self) -> Policy:
        return Policy(
            version=self.version,
            request_age_limit=self.request_age_limit,
            reason_max_length=self.reason_max_length,
            response_window=self.response_window,
            reminder_offsets=tuple(sorted(self.reminder_offsets, reverse=True)),  # latest first, as reminders go
            calendar=ReviewCalendar(self.review_window.opens_after, self.review_window.closes_after),
            dispute_response_window=self.dispute_response_window,
            escrow_response_window=self.escrow_response_window,
            escrow_client_response_window=self.escrow_client_response_window,
            proposal_response_window=self.proposal_response_window,
            arbitration_offer_window=self.arbitration_offer_window,
            arbitration_fees={c: ArbitrationFee(fee.minimum, fee.share) for c, fee in self.arbitration_fees.items()},
            non_binding_mediation_limit=self.non_binding_mediation_limit,
            extension=self.extension,
            adjust_max_share=self.adjust_max_share,
            history_recent=self.history_recent,
            history_min_items=self.history_min_items,
            history_client_request_share=self.history_client_request_share,
            history_freelancer_dispute_share=self.history_freelancer_dispute_share,
            grounds=dict(V1_GROUNDS)
            if self.grounds is None
            else {
                key: Ground(ground.title, tuple(kind.value for kind in ground.applies_to))
                for key, ground in self.grounds.items()
            },
            appeals=Appeals(self.appeals.window, tuple(dict.fromkeys(on.value for on in self.appeals.outcomes)))
            if self.appeals
            else None,
        )


def presets() -> list[str]:
    return sorted(path.stem for path in PRESETS_DIR.glob("*.yaml"))


def preset_path(name: str) -> Path:
    if name not in presets():
        raise PolicyFileError(f"{name!r} is not a preset; the presets are {', '.join(presets())}")
    return PRESETS_DIR / f"{name}.yaml"


def read_policy_file(path: Path) -> PolicyFile:
    """The file's rules, or one line saying which field is wrong and why."""
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_YAML)
    except OSError as exc:
        raise PolicyFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise PolicyFileError(f"{path}: is not YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(document, dict):
        raise PolicyFileError(f"{path}: must be a mapping of rule names to numbers, like the presets")
    try:
        return PolicyFile.model_validate(document)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "the file"
            problems.append(f"{where}: {str(error['msg']).removeprefix('Value error, ')}")
        raise PolicyFileError(f"{path}: {'; '.join(problems)}") from None


_MONDAY = datetime(2024, 1, 1, tzinfo=UTC)  # any Monday: the calendar's offsets count from one


def _review_window(calendar: ReviewCalendar) -> str:
    """ "from Monday 12:00 UTC to Friday 23:59 UTC of the week after the billing week", from its offsets."""
    opens, closes = _MONDAY + calendar.opens_after, window_end(_MONDAY + calendar.closes_after)

    def week(at: datetime) -> str:
        later = (at - _MONDAY).days // 7
        return "the billing week" if later == 0 else "the week after it" if later == 1 else f"{later} weeks after it"

    if week(opens) == week(closes):
        return f"from {opens:%A %H:%M} UTC to {closes:%A %H:%M} UTC of {week(closes)}"
    return f"from {opens:%A %H:%M} UTC of {week(opens)} to {closes:%A %H:%M} UTC of {week(closes)}"


def _fee(fee: ArbitrationFee, currency: str) -> str:
    least = money(Money.parse(fee.minimum, currency))
    if not fee.share:
        return f"{least} per party"
    share = format_percent(fee.share, locale=DEFAULT_LOCALE, decimal_quantization=False)
    return f"{share} of the amount at stake per party, at least {least}"


def _listed(spans: tuple[timedelta, ...]) -> str:
    shown = [duration(span) for span in spans]
    return ", ".join(shown[:-1]) + f" and {shown[-1]}" if len(shown) > 1 else "".join(shown)


def describe(rules: PolicyFile) -> list[str]:
    """The policy in plain words, as `refundbot policy show` prints it."""
    policy = rules.policy()
    partial = (
        "any amount below what was asked"
        if policy.adjust_max_share is None
        else f"at most {format_percent(policy.adjust_max_share, locale=DEFAULT_LOCALE)} of the item's price"
    )
    reminders = f"reminders {_listed(policy.reminder_offsets)} before it" if policy.reminder_offsets else "no reminders"
    fees = "; ".join(f"{currency}: {_fee(fee, currency)}" for currency, fee in sorted(policy.arbitration_fees.items()))
    return [
        f"{rules.title}: policy version {policy.version}",
        f"- A client may ask for a refund on an item paid within the last {duration(policy.request_age_limit)}, "
        f"with a reason of up to {policy.reason_max_length:,} characters.",
        f"- The freelancer has {duration(policy.response_window)} to approve, refund part of it ({partial}) or "
        "decline; if they do not answer, the request lapses and the client may take it further.",
        f"- Whoever must act before a deadline is sent {reminders}.",
        "- Hourly work is disputed only in its review window, "
        f"{_review_window(policy.calendar)} (a billing week runs Monday to Sunday, UTC); the freelancer then has "
        f"{duration(policy.dispute_response_window)} to accept or "
        "contest, and a contest goes to a mediator, whose decision is "
        + ("open to appeal (below)." if policy.appeal_window(AppealOn.HOURLY_DECISION) else "final."),
        "- Hourly work outside its review window may go to non-binding mediation within "
        f"{duration(policy.non_binding_mediation_limit)} of payment.",
        f"- Fixed price: the freelancer has {duration(policy.escrow_response_window)} to refund from escrow or "
        "dispute (silence refunds the client); after a dispute the client has "
        f"{duration(policy.escrow_client_response_window)} to accept it or ask a mediator (silence accepts).",
        f"- A mediator's proposal: each party has {duration(policy.proposal_response_window)} to accept.",
        f"- Arbitration: each party has {duration(policy.arbitration_offer_window)} to agree and pay the fee "
        f"({fees or 'none set'}); if neither does, the client is refunded, and if one does, that party wins.",
        f"- Each party may ask once per case for {duration(policy.extension)} more.",
        f"- Mediators see each party's record over the last {duration(policy.history_recent)} and all time. It is "
        "flagged when a client asked for refunds on more than "
        f"{_share(policy.history_client_request_share)} of their paid items, or a freelancer's work was disputed "
        f"on more than {_share(policy.history_freelancer_dispute_share)} of theirs, once they have "
        f"{policy.history_min_items} paid items.",
        "- A mediator's proposal, decision or award states its rationale, cites the evidence it relied on and "
        "names one of these rules:",
        *(f"  - {ground.title} ({_kinds(ground.kinds)})" for ground in policy.grounds.values()),
        _appeals(policy.appeals),
    ]


_APPEALABLE = {
    AppealOn.HOURLY_DECISION: "a mediator's decision on an hourly dispute",
    AppealOn.REJECTED_PROPOSAL: "a mediator's proposal that a party rejected or let lapse",
}


def _appeals(appeals: Appeals | None) -> str:
    if appeals is None:
        return "- There is no appeal to a second mediator."
    outcomes = " and ".join(_APPEALABLE[AppealOn(on)] for on in appeals.outcomes)
    return (
        f"- Appeal: after {outcomes}, either party may ask once, with a reason, within {duration(appeals.window)}, "
        "for a second mediator to review it; the review confirms or changes the outcome and is final. An outcome "
        "already paid out is adjusted by new ledger entries. Silence keeps the outcome."
    )


def _kinds(kinds: tuple[str, ...]) -> str:
    return "any contract" if len(kinds) > 1 else f"{kinds[0].replace('_', '-')} contracts"


def _share(share: Decimal) -> str:
    return format_percent(share, locale=DEFAULT_LOCALE, decimal_quantization=False)
