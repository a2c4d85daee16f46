"""Configuration from the environment and an optional ``.env`` file (README, "Configuration").

A missing or malformed setting stops start-up with one readable line naming the variable; never a traceback.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.blocks.refusals import PLAIN, sentence
from bot.domain.calendar import ReviewCalendar
from bot.domain.errors import Refused
from bot.domain.money import Money
from bot.domain.policy import Policy

_V1 = Policy()
# What the app asks each workspace for when it is installed; manifest.yml lists the same (a test holds them equal).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "mpim:write",
    "users:read",
    "usergroups:read",
    "im:history",
    "mpim:history",
    "channels:history",
    "groups:history",
)
_SLACK_ID = {
    "workspace": re.compile(r"^T[A-Z0-9]{2,}$"),
    "user": re.compile(r"^[UW][A-Z0-9]{2,}$"),
    "channel": re.compile(r"^[CG][A-Z0-9]{2,}$"),
    "user group": re.compile(r"^S[A-Z0-9]{2,}$"),
}


class ConfigError(Exception):
    """One line for the operator: which variable, and what is wrong with it."""


def slack_id(kind: str, value: str) -> str:
    if not _SLACK_ID[kind].match(value):
        raise ValueError(f"{value!r} is not a Slack {kind} id")
    return value


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be a positive duration, e.g. P3D or PT48H")
    return value


def _seconds(value: Any) -> Any:
    """The README's two forms of a duration: ISO 8601 ("P3D", "PT48H") or a count of seconds ("259200").
    Pydantic alone reads a bare number in a string as a clock time and refuses it, and takes "12:00" as twelve
    minutes, which nobody means by a response window."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    if text.upper().lstrip("+-").startswith("P"):
        return text.upper()
    raise ValueError("must be an ISO 8601 duration such as P3D or PT48H, or a number of seconds")


Duration = Annotated[
    timedelta,
    BeforeValidator(_seconds),
    Field(description="ISO 8601 duration such as P3D or PT48H, or seconds"),
]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    # OAuth (many workspaces, HTTP only), under Bolt's own setting names; SLACK_CLIENT_ID turns it on.
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_scopes: Annotated[list[str], NoDecode] = list(BOT_SCOPES)
    slack_user_scopes: Annotated[list[str], NoDecode] = []
    slack_redirect_uri: str | None = None
    slack_install_path: str = "/slack/install"
    slack_redirect_uri_path: str = "/slack/oauth_redirect"
    # Signs the marketplace's pushes to POST /api/v1/contracts; unset, the API is off.
    marketplace_api_secret: SecretStr | None = None
    # Each ledger entry (refund, release) is POSTed here, signed with PAYMENTS_WEBHOOK_SECRET (bot.payouts).
    payments_webhook_url: str | None = None
    payments_webhook_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    # Seconds between two messages to one channel or person: Slack takes about one per second per channel.
    slack_pace_seconds: float = Field(1.0, ge=0, le=60)
    # Sent outbox rows are kept this long (for `refundbot outbox` and an operator's questions), then purged.
    outbox_retention_days: int = Field(14, ge=1, le=3650)
    # false: the web workers only answer Slack, and `refundbot worker` (its own process) relays and ticks.
    serve_workers: bool = True
    database_url: str = "sqlite:///refundbot.db"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    port: int = Field(3000, ge=1, le=65535)
    # Socket Mode serves no HTTP for Slack; set this to answer /healthz and /readyz on it all the same.
    health_port: int | None = Field(None, ge=1, le=65535)
    # uvicorn worker processes under gunicorn (HTTP mode); each holds its own database pool and relay.
    web_concurrency: int = Field(2, ge=1, le=64)
    mediator_channel_id: str | None = None
    mediator_user_ids: Annotated[list[str], NoDecode] = []
    mediator_usergroup_id: str | None = None

    policy_version: str = Field(_V1.version, min_length=1, max_length=32)
    policy_request_age_limit: Duration = _V1.request_age_limit
    policy_reason_max_length: int = Field(_V1.reason_max_length, ge=1, le=2900)
    policy_response_window: Duration = _V1.response_window
    policy_reminder_offsets: Annotated[list[Duration], NoDecode] = list(_V1.reminder_offsets)
    policy_review_window_opens_after: Duration = _V1.calendar.opens_after
    policy_review_window_closes_after: Duration = _V1.calendar.closes_after
    policy_dispute_response_window: Duration = _V1.dispute_response_window
    policy_escrow_response_window: Duration = _V1.escrow_response_window
    policy_escrow_client_response_window: Duration = _V1.escrow_client_response_window
    policy_proposal_response_window: Duration = _V1.proposal_response_window
    policy_arbitration_offer_window: Duration = _V1.arbitration_offer_window
    policy_arbitration_fees: dict[str, Decimal] = _V1.arbitration_fees
    policy_non_binding_mediation_limit: Duration = _V1.non_binding_mediation_limit
    policy_extension: Duration = _V1.extension

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("slack_scopes", "slack_user_scopes", mode="before")
    @classmethod
    def _scopes(cls, value: Any) -> Any:
        return [scope.strip() for scope in value.split(",") if scope.strip()] if isinstance(value, str) else value

    @field_validator("slack_install_path", "slack_redirect_uri_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not re.fullmatch(r"/[A-Za-z0-9/_.-]*", value) or value in ("/slack/events", "/healthz", "/readyz"):
            raise ValueError("must be a path of its own such as /slack/install")
        return value

    @property
    def oauth(self) -> bool:
        """Installed by OAuth in any number of workspaces, rather than one workspace's bot token."""
        return self.slack_client_id is not None

    @field_validator("payments_webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http(s) URL such as https://payments.example.com/refund-bot")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("is not a database URL; use sqlite:///file.db or postgresql://user@host/db") from None
        backend = url.get_backend_name()
        if backend == "postgresql":
            return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        if backend != "sqlite":
            raise ValueError(f"names {backend!r}; refund-bot runs on sqlite or postgresql")
        return value

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _any_case(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        return value.strip().upper() if info.field_name == "log_level" else value.strip().lower()

    @field_validator("mediator_channel_id")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        return slack_id("channel", value) if value else None

    @field_validator("mediator_usergroup_id")
    @classmethod
    def _usergroup(cls, value: str | None) -> str | None:
        return slack_id("user group", value) if value else None

    @field_validator("mediator_user_ids", mode="before")
    @classmethod
    def _users(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return [slack_id("user", v) for v in value]

    @field_validator("policy_reminder_offsets", mode="before")
    @classmethod
    def _offsets_list(cls, value: Any) -> Any:
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value

    @field_validator("policy_reminder_offsets")
    @classmethod
    def _offsets(cls, value: list[timedelta]) -> list[timedelta]:
        return sorted((_positive(v) for v in value), reverse=True)

    @field_validator(
        "policy_request_age_limit",
        "policy_response_window",
        "policy_dispute_response_window",
        "policy_escrow_response_window",
        "policy_escrow_client_response_window",
        "policy_proposal_response_window",
        "policy_arbitration_offer_window",
        "policy_non_binding_mediation_limit",
        "policy_extension",
        "policy_review_window_opens_after",
        "policy_review_window_closes_after",
    )
    @classmethod
    def _durations(cls, value: timedelta) -> timedelta:
        return _positive(value)

    @field_validator("policy_arbitration_fees")
    @classmethod
    def _fees(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for currency, fee in value.items():
            try:
                money = Money.parse(fee, currency)
            except Refused as exc:
                raise ValueError(sentence(exc, PLAIN)) from None
            if money.minor < 0:
                raise ValueError(f"the {currency} fee cannot be negative")
        return value

    @model_validator(mode="after")
    def _one_mode(self) -> Settings:
        if not self.oauth:
            return self
        if not self.slack_client_secret:
            raise ValueError("SLACK_CLIENT_ID needs SLACK_CLIENT_SECRET (Basic Information → App Credentials)")
        if self.slack_bot_token or self.slack_app_token:
            raise ValueError(
                "set SLACK_CLIENT_ID (OAuth: installs in many workspaces, HTTP) or SLACK_BOT_TOKEN (one workspace, "
                "HTTP or Socket Mode with SLACK_APP_TOKEN), not both"
            )
        return self

    @model_validator(mode="after")
    def _webhook_signed(self) -> Settings:
        if self.payments_webhook_url and not self.payments_webhook_secret:
            raise ValueError("PAYMENTS_WEBHOOK_URL needs PAYMENTS_WEBHOOK_SECRET, to sign what it is sent")
        return self

    @model_validator(mode="after")
    def _review_window(self) -> Settings:
        if self.policy_review_window_closes_after <= self.policy_review_window_opens_after:
            raise ValueError("POLICY_REVIEW_WINDOW_CLOSES_AFTER must be later than POLICY_REVIEW_WINDOW_OPENS_AFTER")
        return self

    def policy(self) -> Policy:
        return Policy(
            version=self.policy_version,
            request_age_limit=self.policy_request_age_limit,
            reason_max_length=self.policy_reason_max_length,
            response_window=self.policy_response_window,
            reminder_offsets=tuple(self.policy_reminder_offsets),
            calendar=ReviewCalendar(self.policy_review_window_opens_after, self.policy_review_window_closes_after),
            dispute_response_window=self.policy_dispute_response_window,
            escrow_response_window=self.policy_escrow_response_window,
            escrow_client_response_window=self.policy_escrow_client_response_window,
            proposal_response_window=self.policy_proposal_response_window,
            arbitration_offer_window=self.policy_arbitration_offer_window,
            arbitration_fees=dict(self.policy_arbitration_fees),
            non_binding_mediation_limit=self.policy_non_binding_mediation_limit,
            extension=self.policy_extension,
        )


_SECRETS = {
    "slack_bot_token",
    "slack_signing_secret",
    "slack_app_token",
    "marketplace_api_secret",
    "payments_webhook_secret",
    "slack_client_secret",
}


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        message = str(item["msg"]).removeprefix("Value error, ")
        if not item["loc"]:
            problems.append(message)
            continue
        field = str(item["loc"][0])
        shown = "" if field in _SECRETS or item["type"] == "missing" else f" (got {item['input']!r})"
        problems.append(f"{field.upper()}: {message}{shown}")
    return "; ".join(problems)


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning every way they can be wrong into one ``ConfigError`` line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except SettingsError as exc:
        # pydantic-settings refuses undecodable JSON (e.g. POLICY_ARBITRATION_FEES) before validation runs.
        match = re.search(r'field "(\w+)"', str(exc))
        name = match.group(1).upper() if match else "a setting"
        raise ConfigError(f'{name}: is not valid JSON, e.g. {{"USD": "291.00"}}') from None
