"""App Home, refreshed each time someone opens it."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt import App

from bot.handlers.payloads import Malformed
from bot.services import read_models
from bot.services.core import Deps


def on_home_opened(event: dict[str, Any], context: dict[str, Any], deps: Deps) -> None:
    if event.get("tab") != "home":
        return
    if not isinstance(user := event.get("user"), str) or not user:
        raise Malformed("app_home_opened names no user")
    read_models.show_home(deps, context["team_id"], user, str(event.get("event_ts", "")))


def register(app: App, deps: Deps) -> None:
    app.event("app_home_opened")(partial(on_home_opened, deps=deps))
