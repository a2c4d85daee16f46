"""Settings: defaults, environment, .env, and one readable line for each way they can be wrong."""

import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app.main import start_line
from bot.config import ConfigError, Settings, load_settings
from bot.domain.policy import Appeals, Policy


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith(("SLACK_", "POLICY_", "MEDIATOR_", "LOG_", "MARKETPLACE_", "PAYMENTS_")) or name in {
            "DATABASE_URL",
            "PORT",
            "HOST",
            "METRICS_PORT",
            "METRICS_HOST",
            "WEB_CONCURRENCY",
            "GUNICORN_CMD_ARGS",
        }:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's folder


def test_defaults_are_v1_with_an_appeal_on_a_local_sqlite_file():
    settings = load_settings()
    assert settings.database_url == "sqlite:///refundbot.db"
    assert settings.port == 3000
    assert settings.slack_api_url == "https://slack.com/api/"
    appeals = Appeals(timedelta(hours=48), ("hourly_decision", "rejected_proposal"))
    assert settings.policy() == replace(Policy(), version="refundbot-1", appeals=appeals)


def test_a_preset_or_a_file_of_ones_own_sets_the_rules(monkeypatch, tmp_path):
    monkeypatch.setenv("POLICY_PRESET", "freelancer-like")
    assert load_settings().policy().escrow_client_response_window == timedelta(days=14)
    monkeypatch.delenv("POLICY_PRESET")
    own = tmp_path / "ours.yaml"
    own.write_text((ROOT / "bot/policies/upwork-like.yaml").read_text().replace("version: v1", "version: ours-2"))
    monkeypatch.setenv("POLICY_FILE", str(own))
    assert load_settings().policy() == replace(Policy(), version="ours-2")


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"POLICY_PRESET": "upwork"}, "POLICY_PRESET: is not a preset; the presets are fiverr-like, freelancer-like"),
        ({"POLICY_FILE": "missing.yaml"}, "POLICY_FILE: missing.yaml: cannot be read (No such file or directory)"),
        (
            {"POLICY_FILE": "ours.yaml", "POLICY_PRESET": "fiverr-like"},
            "set POLICY_PRESET (a shipped preset) or POLICY_FILE (your own file), not both",
        ),
    ],
)
def test_a_policy_that_cannot_be_used_stops_start_up_in_one_line(monkeypatch, tmp_path, env, says):
    (tmp_path / "ours.yaml").write_text((ROOT / "bot/policies/upwork-like.yaml").read_text())
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert says in str(refused.value)
    assert "\n" not in str(refused.value)


def test_the_policy_numbers_of_older_releases_are_named_with_how_to_move_them(monkeypatch, tmp_path):
    monkeypatch.setenv("POLICY_RESPONSE_WINDOW", "P5D")
    (tmp_path / ".env").write_text("POLICY_VERSION=v2\n")
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert str(refused.value).startswith("POLICY_RESPONSE_WINDOW, POLICY_VERSION: the policy's numbers are no longer")
    assert "refundbot policy show --yaml > policy.yaml" in str(refused.value)


def test_dotenv_file_is_read(tmp_path):
    (tmp_path / ".env").write_text(
        "PORT=8080\nMEDIATOR_USER_IDS=U01AAA, U02BBB\nSLACK_API_URL=http://127.0.0.1:9/api\nWEB_CONCURRENCY=3\n"
    )
    settings = load_settings()
    assert settings.port == 8080
    assert settings.web_concurrency == 3
    assert settings.mediator_user_ids == ["U01AAA", "U02BBB"]
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"


def test_the_push_apis_keys_come_as_json_and_a_short_secret_or_a_bad_workspace_is_refused(monkeypatch):
    monkeypatch.setenv("MARKETPLACE_API_KEYS", '{"k1": {"secret": "0123456789abcdef", "teams": ["T0ACME001"]}}')
    [(name, key)] = load_settings().marketplace_api_keys.items()
    assert (name, key.secret.get_secret_value(), key.teams) == ("k1", "0123456789abcdef", ["T0ACME001"])
    monkeypatch.setenv("MARKETPLACE_API_KEYS", '{"k1": {"secret": "short"}}')
    with pytest.raises(ConfigError, match="MARKETPLACE_API_KEYS") as refused:
        load_settings()
    assert "short" not in str(refused.value)  # a secret is never echoed
    monkeypatch.setenv("MARKETPLACE_API_KEYS", '{"k1": {"secret": "0123456789abcdef", "teams": ["acme"]}}')
    with pytest.raises(ConfigError, match="MARKETPLACE_API_KEYS"):
        load_settings()


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
        ("HOST", "0.0.0.0; rm -rf /", "HOST: must be an address or a host name, such as 127.0.0.1"),
        ("METRICS_PORT", "3000", "METRICS_PORT must differ from PORT (3000)"),
        ("HEADER_TIMEOUT", "0", "HEADER_TIMEOUT: Input should be greater than 0"),
        ("WEB_KEEPALIVE", "1e999", "WEB_KEEPALIVE: Input should be a valid integer"),
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
        "MARKETPLACE_API_",
        "PAYMENTS_WEBHOOK_",
        "MEDIATOR_",
        "HEALTH_PORT",
        "METRICS_",
        "GUNICORN_CMD_ARGS",
        "POLICY_FILE",
        "SLACK_DISTRIBUTION",
        "FAIRNESS_REPORT_CHANNEL",
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
        "refund-bot serving HTTP on 127.0.0.1:3000 (4 worker(s)); database postgresql+psycopg://refund:***@db.internal/"
        "refunds; policy refundbot-1; relay and ticker in each worker"
    )
    apart = load_settings(host="::", port=8080, metrics_port=9100, metrics_host="10.0.0.5")
    assert start_line(apart).startswith(
        "refund-bot serving HTTP on [::]:8080 (2 worker(s)), metrics on 10.0.0.5:9100; database sqlite:///refundbot.db"
    )
    socket_mode = load_settings(slack_app_token="xapp-1", serve_workers=False, policy_preset="fiverr-like")
    assert start_line(socket_mode) == (
        "refund-bot serving Socket Mode; database sqlite:///refundbot.db; policy fiverr-like-1; relay and ticker in "
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
