"""The Slack app's manifest, ready to paste at api.slack.com/apps (`refundbot manifest`).

``manifest.yml`` beside this module is the one for development: one workspace, Socket Mode, no public URL. Given
the app's public URL, the same manifest is turned into the production one (HTTP: Socket Mode off, every request URL
at ``/slack/events``), and with ``distributed`` into the one installed by OAuth in many workspaces (the redirect
URL, token rotation, and the events that tell the app it was uninstalled or its tokens revoked).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.edge import SLACK_PATH

MANIFEST = Path(__file__).resolve().parent / "manifest.yml"
# An app distributed by OAuth hears about these, and forgets the workspace's installation (Bolt's listeners).
REVOCATION_EVENTS = ("app_uninstalled", "tokens_revoked")
# Slack posts only to public HTTPS request URLs.
_URL = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?")


class BadUrl(ValueError):
    """The URL given is not one Slack can post to."""


def development() -> str:
    """manifest.yml as it is, its comments included."""
    return MANIFEST.read_text(encoding="utf-8")


def served_at(url: str, *, distributed: bool, redirect_path: str) -> dict[str, Any]:
    """The manifest of the app served over HTTP at ``url`` (``https://host``, perhaps with a path prefix)."""
    if not _URL.fullmatch(url):
        raise BadUrl(f"{url!r} is not a URL Slack can post to: it takes https://host (a public name, HTTPS)")
    base = url.rstrip("/")
    manifest = yaml.safe_load(development())
    events = base + SLACK_PATH
    features, settings = manifest["features"], manifest["settings"]
    for command in features["slash_commands"]:
        command["url"] = events
    settings["event_subscriptions"]["request_url"] = events
    settings["interactivity"]["request_url"] = events
    settings["socket_mode_enabled"] = False
    if distributed:
        manifest["oauth_config"]["redirect_urls"] = [base + redirect_path]
        settings["event_subscriptions"]["bot_events"] += list(REVOCATION_EVENTS)
        settings["token_rotation_enabled"] = True
    return manifest


def as_yaml(manifest: dict[str, Any], about: str) -> str:
    """YAML to paste, under a comment line saying what it is for."""
    body = yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=120)
    return f"# {about}\n{body}"
