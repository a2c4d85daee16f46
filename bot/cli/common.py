"""What every command shares: how it opens the runtime, how it fails, and what the use cases need in a command."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn

import click

from bot.app.runtime import Runtime, StartupError, roster_of, start
from bot.services.core import Deps
from bot.services.payments import LedgerOnly, Webhook


def opened_runtime(opened: Callable[[], Runtime] = start) -> Runtime:
    try:
        return opened()
    except StartupError as exc:
        click.echo(f"refundbot: {exc}", err=True)
        sys.exit(2)


def fail(message: str) -> NoReturn:
    click.echo(f"refundbot: {message}", err=True)
    sys.exit(1)


def command_deps(runtime: Runtime) -> Deps:
    """What the use cases need, in a command: the mediators' desks read first, so that what it tells them goes to
    the right channel (no Slack call: the relays deliver it)."""
    settings = runtime.settings
    roster = roster_of(runtime)
    roster.refresh_desks()
    return Deps(
        uow=runtime.uow,
        clock=runtime.clock,
        policy=runtime.policy,
        payments=Webhook() if settings.payments_webhook_url else LedgerOnly(),
        roster=roster,
        mediator_channel=settings.mediator_channel_id,
    )
