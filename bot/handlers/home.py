"""App Home, refreshed each time someone opens it."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.services import refunds
from bot.services.refunds import Deps


def on_home_opened(event: dict[str, Any], context: dict[str, Any], deps: Deps) -> None:
    if event.get("tab") != "home":
        return
    refunds.show_home(deps, context["team_id"], event["user"], str(event.get("event_ts", "")))


def register(app: App, deps: Deps) -> None:
    app.event("app_home_opened")(lambda event, context: on_home_opened(event, context, deps))
