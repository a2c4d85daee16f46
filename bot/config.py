"""Configuration from the environment and an optional ``.env`` file (README, "Configuration").

A missing or malformed setting stops start-up with one readable line naming the variable; never a traceback.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.domain.policy import Policy
from bot.domain.vocabulary import Assignment
from bot.limits import Distribution
from bot.policies import DEFAULT_PRESET, PolicyFile, PolicyFileError, preset_path, presets, read_policy_file

# What the app asks each workspace for when it is installed; manifest.yml lists the same (a test holds them equal).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "mpim:write",
    "users:read",
    "usergroups:read",
    "files:read",
    "files:write",
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


class ApiKey(BaseModel):
    """One of the push API's signing keys: its secret, and the workspaces it may push for (all, unset)."""

    secret: SecretStr
    teams: list[str] | None = None

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("a key's secret must be at least 16 characters (a random one: openssl rand -hex 32)")
        return value

    @field_validator("teams")
    @classmethod
    def _teams(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [slack_id("workspace", team) for team in value]


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
    # Signs the marketplace's pushes to POST /api/v1/contracts that name no key; with MARKETPLACE_API_KEYS unset
    # too, the API is off.
    marketplace_api_secret: SecretStr | None = None
    # The push API's keys, as JSON: {"KEY-ID": {"secret": "...", "teams": ["T0..."]}, ...}. A push names its key
    # (X-Refundbot-Key-Id); two active at once let a secret rotate without downtime; "teams" scopes a key.
    marketplace_api_keys: dict[str, ApiKey] = {}
    # Each ledger entry (refund, release) is POSTed here, signed with PAYMENTS_WEBHOOK_SECRET (bot.payouts).
    payments_webhook_url: str | None = None
    payments_webhook_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    # Seconds between two messages to one channel or person: Slack takes about one per second per channel.
    slack_pace_seconds: float = Field(1.0, ge=0, le=60)
    # How the app reaches its workspaces, which sets Slack's limits on reading messages back: "internal" (built
    # for one organisation), "marketplace" (approved for the Slack Marketplace), or "distributed" (installed by
    # OAuth outside it: one conversations.history/replies call a minute of 15 messages). Default: "distributed"
    # with SLACK_CLIENT_ID, else "internal".
    slack_distribution: Distribution | None = None
    # Sent outbox rows are kept this long (for `refundbot outbox` and an operator's questions), then purged.
    outbox_retention_days: int = Field(14, ge=1, le=3650)
    # false: the web workers only answer Slack, and `refundbot worker` (its own process) relays and ticks.
    serve_workers: bool = True
    database_url: str = "sqlite:///refundbot.db"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    # HTTP mode: where the server listens. Loopback by default, for a proxy on the same machine (deploy/nginx);
    # 0.0.0.0 or :: listens on every interface.
    host: str = "127.0.0.1"
    port: int = Field(3000, ge=1, le=65535)
    # HTTP mode: /metrics, /healthz and /readyz on a port of their own (on METRICS_HOST, default HOST); /metrics
    # then leaves PORT, which the proxy publishes.
    metrics_port: int | None = Field(None, ge=1, le=65535)
    metrics_host: str | None = None
    # Socket Mode and `refundbot worker` serve no HTTP for Slack; set this to answer /healthz, /readyz (and, for
    # the worker, /metrics) on it all the same.
    health_port: int | None = Field(None, ge=1, le=65535)
    # uvicorn worker processes under gunicorn (HTTP mode); each holds its own database pool and relay.
    web_concurrency: int = Field(2, ge=1, le=64)
    # gunicorn: a worker silent this long is restarted; a stop or reload gives the requests under way this long.
    web_timeout: int = Field(30, ge=1, le=3600)
    web_graceful_timeout: int = Field(30, ge=1, le=3600)
    # Seconds an idle keep-alive connection stays open: longer than a proxy keeps its own to the app (nginx: 4 s).
    web_keepalive: int = Field(5, ge=1, le=600)
    # A request's headers must arrive within this many seconds (Slack sends a request whole); then 408 and closed.
    header_timeout: float = Field(10.0, gt=0, le=300)
    # gunicorn's own command-line options under its own variable's name, parsed by gunicorn after the settings above.
    gunicorn_cmd_args: str | None = None
    mediator_channel_id: str | None = None
    fairness_report_channel: str | None = None  # where last month's fairness report is posted, on the 1st
    mediator_user_ids: Annotated[list[str], NoDecode] = []
    mediator_usergroup_id: str | None = None
    mediator_lead_ids: Annotated[list[str], NoDecode] = []
    mediator_lead_usergroup_id: str | None = None
    mediator_assignment: Assignment = Assignment.OFF  # waiting cases handed out by refund-bot (issue 38)

    # The rules (design §2.2): a preset shipped in bot/policies, or a YAML file of the operator's own.
    policy_preset: str = DEFAULT_PRESET
    policy_file: Path | None = None
    _rules_read: PolicyFile = PrivateAttr()

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

    def report_key(self) -> bytes:
        """What the fairness report's pseudonyms are keyed by: the app's own secret, so they stay the same from one
        report to the next and nobody without it can tell who they stand for."""
        secret = self.slack_signing_secret or self.slack_client_secret
        return secret.get_secret_value().encode() if secret else b"refund-bot"

    @property
    def oauth(self) -> bool:
        """Installed by OAuth in any number of workspaces, rather than one workspace's bot token."""
        return self.slack_client_id is not None

    @property
    def distribution(self) -> Distribution:
        if self.slack_distribution is not None:
            return self.slack_distribution
        return Distribution.DISTRIBUTED if self.oauth else Distribution.INTERNAL

    @field_validator("host", "metrics_host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9.-]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*", value):
            raise ValueError("must be an address or a host name, such as 127.0.0.1, 0.0.0.0 or ::1")
        return value

    @model_validator(mode="after")
    def _ports_apart(self) -> Settings:
        if self.metrics_port == self.port:
            raise ValueError(f"METRICS_PORT must differ from PORT ({self.port}): it serves /metrics apart from Slack")
        return self

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

    @field_validator("mediator_channel_id", "fairness_report_channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        return slack_id("channel", value) if value else None

    @field_validator("mediator_usergroup_id", "mediator_lead_usergroup_id")
    @classmethod
    def _usergroup(cls, value: str | None) -> str | None:
        return slack_id("user group", value) if value else None

    @field_validator("mediator_user_ids", "mediator_lead_ids", mode="before")
    @classmethod
    def _users(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return [slack_id("user", v) for v in value]

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

    @field_validator("policy_preset")
    @classmethod
    def _preset(cls, value: str) -> str:
        if value not in presets():
            raise ValueError(f"is not a preset; the presets are {', '.join(presets())}")
        return value

    @model_validator(mode="after")
    def _rules(self) -> Settings:
        """The policy is read with the settings, so a bad file stops start-up like any bad setting."""
        if self.policy_file is not None and "policy_preset" in self.model_fields_set:
            raise ValueError("set POLICY_PRESET (a shipped preset) or POLICY_FILE (your own file), not both")
        path = self.policy_file or preset_path(self.policy_preset)
        try:
            self._rules_read = read_policy_file(path)
        except PolicyFileError as exc:
            raise ValueError(f"POLICY_FILE: {exc}" if self.policy_file else str(exc)) from None
        return self

    @property
    def rules(self) -> PolicyFile:
        return self._rules_read

    def policy(self) -> Policy:
        return self._rules_read.policy()


_SECRETS = {
    "slack_bot_token",
    "slack_signing_secret",
    "slack_app_token",
    "marketplace_api_secret",
    "marketplace_api_keys",
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


def _retired_policy_settings() -> list[str]:
    """The POLICY_* numbers of releases before presets, still set in the environment or .env."""
    names = set(os.environ) | set(dotenv_values(".env") if Path(".env").is_file() else {})
    return sorted(name.upper() for name in names if _RETIRED.fullmatch(name.upper()))


_RETIRED = re.compile(r"POLICY_(?!PRESET$|FILE$)[A-Z_]+")


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning every way they can be wrong into one ``ConfigError`` line."""
    if retired := _retired_policy_settings():
        raise ConfigError(
            f"{', '.join(retired)}: the policy's numbers are no longer settings but a file: run `refundbot policy "
            "show --yaml > policy.yaml`, put your numbers in it under a new version, and set POLICY_FILE=policy.yaml"
        )
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
