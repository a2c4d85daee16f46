"""Bolt listeners, one group per module; each listener parses, calls one use case, and answers. Refusals and
unexpected errors take one path (``bot.handlers.errors``)."""

from slack_bolt import App

from bot.handlers import actions, commands, disputes, errors, evidence, home, mediation, views
from bot.services.core import Deps


def register(app: App, deps: Deps) -> None:
    app.error(errors.on_error)
    commands.register(app, deps)
    actions.register(app, deps)
    views.register(app, deps)
    home.register(app, deps)
    disputes.register(app, deps)
    evidence.register(app, deps)
    mediation.register(app, deps)
