"""Policies as data (design §2.2): one YAML file per preset, validated here (``bot.blocks.policy`` says them in
plain words).

A preset ships in this folder; an operator's own file (``POLICY_FILE``) has the same fields. Each file's comments
give the public source of each number. The version a file names is stored with every case opened under it, so
a file's numbers may not change under the same version (``PolicyRepository.register`` refuses that).
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from bot.domain.calendar import ReviewCalendar
from bot.domain.contract import ContractKind
from bot.domain.errors import Refused, TooManyDecimals
from bot.domain.files import SLACK_FILE_INPUT_BYTES, SLACK_FILE_INPUT_FILES, FileRules
from bot.domain.money import Money
from bot.domain.policy import V1_FILE_TYPES, V1_GROUNDS, Appeals, ArbitrationFee, Ground, Policy
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


# Never evidence, whatever a policy file lists: programs and scripts.
_PROGRAMS = (
    "exe msi bat cmd com scr pif cpl dll sys sh bash zsh ps1 psm1 vbs vbe js jse mjs wsf wsh hta jar apk ipa app "
    "dmg pkg deb rpm run bin elf py pyc rb pl php lua command scpt applescript reg lnk"
)
PROGRAM_TYPES = frozenset(_PROGRAMS.split())


class EvidenceFilesIn(_Strict):
    """The files a party may attach as evidence: their types by extension, each at most ``max_bytes`` (Slack's
    file input takes 10 MB), at most ``max_files`` to a piece."""

    types: list[Annotated[str, Field(pattern=r"^[a-z0-9]{1,10}$")]] = Field(min_length=1, max_length=200)
    max_bytes: int = Field(SLACK_FILE_INPUT_BYTES, ge=1, le=SLACK_FILE_INPUT_BYTES)
    max_files: int = Field(SLACK_FILE_INPUT_FILES, ge=1, le=SLACK_FILE_INPUT_FILES)

    @field_validator("types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        if programs := sorted(set(value) & PROGRAM_TYPES):
            raise ValueError(f"{', '.join(programs)}: programs and scripts are never taken as evidence")
        return list(dict.fromkeys(value))


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
    # Absent: refund-bot's list (bot.domain.policy.V1_FILE_TYPES), 10 MB, 10 files.
    evidence_files: EvidenceFilesIn | None = None
    # Absent: 24 hours, 48 hours and 7 days (what files written before mediators had deadlines get).
    mediator_claim_window: Duration = timedelta(hours=24)
    mediator_action_window: Duration = timedelta(hours=48)
    mediator_outcome_window: Duration = timedelta(days=7)

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
            except TooManyDecimals as exc:
                raise ValueError(f"{currency}: {currency} amounts take at most {exc.places} decimals") from None
            except Refused:  # a currency without a minor unit, or a minimum past what an amount can hold
                raise ValueError(f"{currency}: {fee.minimum} is not an amount in {currency}") from None
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
            mediator_claim_window=self.mediator_claim_window,
            mediator_action_window=self.mediator_action_window,
            mediator_outcome_window=self.mediator_outcome_window,
            evidence_files=FileRules(
                tuple(self.evidence_files.types), self.evidence_files.max_bytes, self.evidence_files.max_files
            )
            if self.evidence_files
            else FileRules(V1_FILE_TYPES),
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
