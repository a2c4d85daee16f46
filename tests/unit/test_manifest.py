"""The Slack app's manifest as `refundbot manifest` prints it: valid against Slack's manifest schema whatever the URL,
every request URL at the app's /slack/events, and the scopes the app asks for at install."""

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator

from bot.config import BOT_SCOPES
from bot.manifest import BadUrl, as_yaml, development, served_at

SCHEMAS = Path(__file__).resolve().parents[2] / "vendor" / "slack" / "manifest" / "schemas"
REDIRECT = "/slack/oauth_redirect"


def slack_problems(text: str) -> list[str]:
    """What Slack's manifest schema finds wrong with a manifest pasted as this text."""
    manifest = yaml.safe_load(text)
    major = manifest["_metadata"]["major_version"]
    schema = json.loads((SCHEMAS / f"manifest.schema.{major}.0.0.json").read_text(encoding="utf-8"))
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in Draft7Validator(schema).iter_errors(manifest)]


@pytest.mark.parametrize("distributed", [False, True])
@pytest.mark.parametrize("url", ["https://refund-bot.example.com", "https://apps.example.org:8443/refund-bot/"])
def test_every_manifest_printed_is_one_slack_takes(url, distributed):
    assert slack_problems(development()) == []
    printed = as_yaml(served_at(url, distributed=distributed, redirect_path=REDIRECT), "for the test")
    assert slack_problems(printed) == []


def test_over_http_slack_posts_everything_to_the_apps_one_door_and_socket_mode_is_off():
    manifest = served_at("https://apps.example.org/refund-bot/", distributed=False, redirect_path=REDIRECT)
    door = "https://apps.example.org/refund-bot/slack/events"
    assert [command["url"] for command in manifest["features"]["slash_commands"]] == [door]
    assert manifest["settings"]["event_subscriptions"]["request_url"] == door
    assert manifest["settings"]["interactivity"]["request_url"] == door
    assert manifest["settings"]["socket_mode_enabled"] is False
    assert manifest["settings"]["token_rotation_enabled"] is False
    assert "redirect_urls" not in manifest["oauth_config"]


def test_distributed_it_rotates_tokens_hears_of_revocations_and_sends_installers_back_to_the_app():
    manifest = served_at("https://refund-bot.example.com", distributed=True, redirect_path="/install/done")
    assert manifest["oauth_config"]["redirect_urls"] == ["https://refund-bot.example.com/install/done"]
    assert manifest["settings"]["token_rotation_enabled"] is True
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == [
        "app_home_opened",
        "file_change",
        "file_deleted",
        "app_uninstalled",
        "tokens_revoked",
    ]


def test_the_development_manifest_keeps_socket_mode_and_its_comments():
    text = development()
    assert text.startswith("# Create the Slack app from this file")
    assert yaml.safe_load(text)["settings"]["socket_mode_enabled"] is True


@pytest.mark.parametrize("distributed", [False, True])
def test_the_scopes_asked_at_install_are_the_manifests(distributed):
    assert list(BOT_SCOPES) == yaml.safe_load(development())["oauth_config"]["scopes"]["bot"]
    manifest = served_at("https://refund-bot.example.com", distributed=distributed, redirect_path=REDIRECT)
    assert list(BOT_SCOPES) == manifest["oauth_config"]["scopes"]["bot"]


@pytest.mark.parametrize(
    "url",
    [
        "http://refund-bot.example.com",  # Slack posts to HTTPS only
        "refund-bot.example.com",
        "https://",
        "https://refund bot.example.com",
        "https://example.com/a?b=c",
        "https://example.com/\u202egro",  # a right-to-left override hiding the real path
        "javascript:alert(1)",
        "https://example.com\n  socket_mode_enabled: true",  # YAML smuggled into the manifest
        "https://example.com\n",
    ],
)
def test_a_url_slack_could_not_post_to_is_refused(url):
    with pytest.raises(BadUrl, match="is not a URL Slack can post to"):
        served_at(url, distributed=False, redirect_path=REDIRECT)
