"""Bolt listeners, one group per module; each listener parses, calls one use case, and answers."""

from slack_bolt import App

from bot.handlers import actions, commands, escalation, home, views
from bot.services.refunds import Deps


def register(app: App, deps: Deps) -> None:
    commands.register(app, deps)
    actions.register(app, deps)
    views.register(app, deps)
    home.register(app, deps)
    escalation.register(app, deps)
