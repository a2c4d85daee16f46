"""Settings: defaults, environment, .env, and one readable line for each way they can be wrong."""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from app import start_line
from bot.config import BOT_SCOPES, ConfigError, Settings, load_settings
from bot.domain.policy import Policy


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith(("SLACK_", "POLICY_", "MEDIATOR_", "LOG_", "MARKETPLACE_", "PAYMENTS_")) or name in {
            "DATABASE_URL",
            "PORT",
            "WEB_CONCURRENCY",
        }:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's folder


def test_defaults_are_policy_v1_on_a_local_sqlite_file():
    settings = load_settings()
    assert settings.database_url == "sqlite:///refundbot.db"
    assert settings.port == 3000
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.policy() == Policy()


def test_environment_overrides_every_policy_number(monkeypatch):
    monkeypatch.setenv("POLICY_VERSION", "v2")
    monkeypatch.setenv("POLICY_RESPONSE_WINDOW", "P5D")
    monkeypatch.setenv("POLICY_REMINDER_OFFSETS", "PT2H, PT72H")
    monkeypatch.setenv("POLICY_ARBITRATION_FEES", '{"USD": "300.00", "JPY": "45000"}')
    monkeypatch.setenv("POLICY_REVIEW_WINDOW_OPENS_AFTER", "P7DT6H")
    policy = load_settings().policy()
    assert policy.version == "v2"
    assert policy.response_window == timedelta(days=5)
    assert policy.reminder_offsets == (timedelta(hours=72), timedelta(hours=2))  # latest-first, as reminders go
    assert policy.arbitration_fees == {"USD": Decimal("300.00"), "JPY": Decimal("45000")}
    assert policy.calendar.opens_after == timedelta(days=7, hours=6)


def test_durations_are_iso_8601_or_seconds_as_the_readme_says(monkeypatch):
    monkeypatch.setenv("POLICY_RESPONSE_WINDOW", "259200")
    monkeypatch.setenv("POLICY_EXTENSION", " p2dt12h ")
    monkeypatch.setenv("POLICY_REMINDER_OFFSETS", "86400, PT2H, 1800.5")
    policy = load_settings().policy()
    assert policy.response_window == timedelta(days=3)
    assert policy.extension == timedelta(days=2, hours=12)
    assert policy.reminder_offsets == (timedelta(days=1), timedelta(hours=2), timedelta(seconds=1800.5))


def test_dotenv_file_is_read(tmp_path):
    (tmp_path / ".env").write_text(
        "PORT=8080\nMEDIATOR_USER_IDS=U01AAA, U02BBB\nSLACK_API_URL=http://127.0.0.1:9/api\nWEB_CONCURRENCY=3\n"
    )
    settings = load_settings()
    assert settings.port == 8080
    assert settings.web_concurrency == 3
    assert settings.mediator_user_ids == ["U01AAA", "U02BBB"]
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"


def test_postgresql_urls_use_psycopg_3(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://refund:secret@db.internal:5432/refunds")
    assert load_settings().database_url == "postgresql+psycopg://refund:secret@db.internal:5432/refunds"


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("PORT", "eighty", "PORT: Input should be a valid integer"),
        ("PORT", "70000", "PORT: Input should be less than or equal to 65535"),
        ("WEB_CONCURRENCY", "abc", "WEB_CONCURRENCY: Input should be a valid integer"),
        ("WEB_CONCURRENCY", "0", "WEB_CONCURRENCY: Input should be greater than or equal to 1"),
        ("DATABASE_URL", "mysql://x@y/z", "DATABASE_URL: names 'mysql'; refund-bot runs on sqlite or postgresql"),
        ("DATABASE_URL", "not a url", "DATABASE_URL: is not a database URL"),
        ("SLACK_API_URL", "slack.com/api", "SLACK_API_URL: must be an http(s) URL"),
        ("PAYMENTS_WEBHOOK_URL", "payments.example.com", "PAYMENTS_WEBHOOK_URL: must be an http(s) URL"),
        ("SLACK_CLIENT_ID", "1111.2222", "SLACK_CLIENT_ID needs SLACK_CLIENT_SECRET"),
        ("SLACK_INSTALL_PATH", "/slack/events", "SLACK_INSTALL_PATH: must be a path of its own"),
        ("PAYMENTS_WEBHOOK_URL", "https://pay.example.com/rb", "PAYMENTS_WEBHOOK_URL needs PAYMENTS_WEBHOOK_SECRET"),
        ("MEDIATOR_CHANNEL_ID", "#mediation", "MEDIATOR_CHANNEL_ID: '#mediation' is not a Slack channel id"),
        ("MEDIATOR_USER_IDS", "U01AAA,bob", "MEDIATOR_USER_IDS: 'bob' is not a Slack user id"),
        ("MEDIATOR_USERGROUP_ID", "U01AAA", "MEDIATOR_USERGROUP_ID: 'U01AAA' is not a Slack user group id"),
        ("POLICY_RESPONSE_WINDOW", "three days", "POLICY_RESPONSE_WINDOW: must be an ISO 8601 duration such as P3D"),
        ("POLICY_RESPONSE_WINDOW", "12:00", "or a number of seconds (got '12:00')"),  # not twelve minutes
        ("POLICY_RESPONSE_WINDOW", "1e5", "or a number of seconds (got '1e5')"),
        ("POLICY_RESPONSE_WINDOW", "-P1D", "POLICY_RESPONSE_WINDOW: must be a positive duration"),
        ("POLICY_REMINDER_OFFSETS", "PT2H,soon", "POLICY_REMINDER_OFFSETS"),
        ("POLICY_ARBITRATION_FEES", "{nope", "POLICY_ARBITRATION_FEES: is not valid JSON"),
        ("POLICY_ARBITRATION_FEES", '{"JPY": "10.5"}', "JPY amounts take no decimals"),
        ("POLICY_ARBITRATION_FEES", '{"USD": "-1"}', "the USD fee cannot be negative"),
        ("POLICY_REVIEW_WINDOW_CLOSES_AFTER", "P7D", "must be later than POLICY_REVIEW_WINDOW_OPENS_AFTER"),
        ("POLICY_REASON_MAX_LENGTH", "0", "POLICY_REASON_MAX_LENGTH: Input should be greater than or equal to 1"),
    ],
)
def test_bad_settings_give_one_line_naming_the_variable(monkeypatch, name, value, says):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert says in str(refused.value)
    assert "\n" not in str(refused.value)


def test_secrets_are_never_echoed_in_errors(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    monkeypatch.setenv("PORT", "x")
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert "very-secret" not in str(refused.value)


ROOT = Path(__file__).resolve().parents[2]


def test_env_example_and_the_readme_list_every_setting_and_the_example_keeps_the_defaults(tmp_path):
    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    names = {name.upper() for name in Settings.model_fields}
    assert {name for name in names if f"# {name}=" not in example} == set()
    assert {name for name in names if f"| `{name}` |" not in readme} == set()
    # Its lines uncommented are the defaults, bar the placeholders of what has none (tokens, Slack ids).
    placeholders = (
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "SLACK_CLIENT_",
        "MARKETPLACE_API_SECRET",
        "PAYMENTS_WEBHOOK_",
        "MEDIATOR_",
        "HEALTH_PORT",
    )
    shown = [line.removeprefix("# ").split("  #")[0].strip() for line in example.splitlines()]
    placeholder = lambda name: name.startswith(placeholders) or name == "SLACK_REDIRECT_URI"  # noqa: E731
    kept = [line for line in shown if line.split("=")[0] in names and not placeholder(line.split("=")[0])]
    (tmp_path / ".env").write_text("\n".join(kept) + "\n")
    assert len(kept) == len([name for name in names if not placeholder(name)])
    assert load_settings() == load_settings(_env_file=None)


def test_the_start_line_names_mode_port_database_without_its_password_and_policy():
    http = load_settings(database_url="postgresql://refund:s3cret@db.internal/refunds", web_concurrency=4)
    assert start_line(http) == (
        "refund-bot serving HTTP on port 3000 (4 worker(s)); database postgresql+psycopg://refund:***@db.internal/"
        "refunds; policy v1; relay and ticker in each worker"
    )
    socket_mode = load_settings(slack_app_token="xapp-1", serve_workers=False, policy_version="v2")
    assert start_line(socket_mode) == (
        "refund-bot serving Socket Mode; database sqlite:///refundbot.db; policy v2; relay and ticker in "
        "`refundbot worker`"
    )


def test_oauth_and_a_single_bot_token_are_one_or_the_other(monkeypatch):
    monkeypatch.setenv("SLACK_CLIENT_ID", "1111.2222")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "shh")
    assert load_settings().oauth
    assert load_settings(slack_scopes="commands, chat:write").slack_scopes == ["commands", "chat:write"]
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    with pytest.raises(ConfigError, match="set SLACK_CLIENT_ID .* or SLACK_BOT_TOKEN"):
        load_settings()


def test_the_scopes_asked_at_install_are_the_manifests():
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert list(BOT_SCOPES) == manifest["oauth_config"]["scopes"]["bot"]
    distributed = yaml.safe_load((ROOT / "manifest.distributed.yml").read_text())
    assert list(BOT_SCOPES) == distributed["oauth_config"]["scopes"]["bot"]
