"""The operator's hands on delivery: the outbox's dead messages, and payouts the marketplace refused."""

from __future__ import annotations

from collections.abc import Callable

import click

from bot.app.runtime import Runtime, existing, purge_outbox
from bot.blocks import refusals
from bot.cli.common import command_deps, fail, opened_runtime
from bot.domain.case import Case
from bot.domain.errors import Refused
from bot.services import payouts as payout_actions
from bot.services.core import Deps
from bot.services.messages import Surface
from storage import reports
from storage.outbox import OutboxRepository


@click.group(
    invoke_without_command=True,
    help="Show the outbox: Slack messages (and payouts for the marketplace) pending, sent and dead, how long the "
    "oldest has waited, and why the dead ones failed.",
)
@click.option("--dead", "dead_limit", default=20, show_default=True, help="How many dead messages to list.")
@click.pass_context
def outbox(context: click.Context, dead_limit: int) -> None:
    if context.invoked_subcommand is not None:
        return
    runtime = opened_runtime(existing)
    with runtime.sessions() as session:
        queue = OutboxRepository(session)
        counts, payouts = queue.counts(), queue.counts(payouts=True)
        oldest = queue.oldest_pending()
        dead = queue.dead_rows(dead_limit)
    click.echo(", ".join(f"{counts.get(status, 0)} {status}" for status in ("pending", "sent", "dead")))
    if payouts or runtime.settings.payments_webhook_url:
        click.echo(
            "payouts: " + ", ".join(f"{payouts.get(status, 0)} {status}" for status in ("pending", "sent", "dead"))
        )
    if oldest is not None:
        queued_at, stream, error = oldest
        waited = str(runtime.clock() - queued_at).split(".")[0]
        click.echo(f"oldest pending: waiting {waited} (case {stream}); last error: {error or 'none yet'}")
    for row_id, stream, surface, error in dead:
        if surface == Surface.PAYOUT:
            click.echo(f"dead #{row_id} payout of case {stream.removesuffix(':payouts')}: {error}")
        else:
            click.echo(f"dead #{row_id} case {stream} {surface}: {error}")


@outbox.command(
    help="Send the pending messages now, without waiting out their back-off; with --dead, the dead ones too."
)
@click.option(
    "--dead", "with_dead", is_flag=True, help="Also send again the dead messages (once their cause is fixed)."
)
@click.option("--case", "case_id", default=None, help="Only this case's messages (R-…), in their order.")
def retry(with_dead: bool, case_id: str | None) -> None:
    runtime = opened_runtime(existing)
    stream = case_id.strip().upper() if case_id else None
    with runtime.sessions.begin() as session:
        count = OutboxRepository(session).send_again(runtime.clock(), dead=with_dead, stream=stream)
    what = "pending and dead" if with_dead else "pending"
    click.echo(f"{count} {what} message(s){f' of case {stream}' if stream else ''} will be sent at once, in order")


@click.group(
    invoke_without_command=True,
    help="The payouts the marketplace refused, and the cases they hold; send one again, or lift a hold.",
)
@click.pass_context
def payouts(context: click.Context) -> None:
    if context.invoked_subcommand is not None:
        return
    runtime = opened_runtime(existing)
    with runtime.sessions() as session:
        held, refused = reports.payout_holds(session), reports.refused_payouts(session)
    if not held and not refused:
        click.echo("no case is on hold and no payout is refused")
    for case in held:
        click.echo(f"on hold: case {case['case']} ({case['team']}, {case['state']}): {case['reason']}")
    for entry in refused:
        click.echo(
            f"refused: entry {entry['entry']} {entry['kind']} {entry['amount']} {entry['currency']} of case "
            f"{entry['case']} ({entry['team']}), {entry['answered_at']}: {entry['reason']}"
        )


@payouts.command(help="Send a refused ledger entry to the marketplace again (its cause fixed on their side).")
@click.argument("entry_id", type=click.IntRange(min=1), metavar="ENTRY")
@click.option("--by", default="operator", show_default=True, help="Who sends it again, for the audit trail.")
def resend(entry_id: int, by: str) -> None:
    runtime = opened_runtime(existing)
    if not runtime.settings.payments_webhook_url:
        fail("PAYMENTS_WEBHOOK_URL is not set: there is no payments endpoint to send it to")
    case = _operated(runtime, lambda deps: payout_actions.resend(deps, entry_id, _actor(by)))
    click.echo(f"entry {entry_id} of case {case.id} will be sent to the marketplace again; the mediators are told")


@payouts.command(name="release-hold", help="Lift the hold a refused payout put on a case, saying why.")
@click.argument("case_id", metavar="CASE")
@click.option("--reason", required=True, help="Why (kept in the audit trail, and told to the mediators).")
@click.option("--by", default="operator", show_default=True, help="Who lifts it, for the audit trail.")
def release_hold(case_id: str, reason: str, by: str) -> None:
    runtime = opened_runtime(existing)
    wanted = case_id.strip().upper()
    with runtime.sessions() as session:
        team = reports.team_of_case(session, wanted)
    if team is None:
        fail(f"there is no case {wanted}")
    case = _operated(runtime, lambda deps: payout_actions.lift_hold(deps, team, wanted, reason, _actor(by)))
    click.echo(f"case {case.id} is no longer on hold; the mediators are told")


def _actor(by: str) -> str:
    """Who acted, as the audit trail keeps an actor: one short word."""
    actor = "-".join(by.split())[:32]
    if not actor:
        fail("--by: say who acts")
    return actor


def _operated(runtime: Runtime, act: Callable[[Deps], Case]) -> Case:
    """An operator's act on a case; a refusal is said in one line, exit code 1."""
    try:
        return act(command_deps(runtime))
    except Refused as refusal:
        fail(refusals.message(refusal))


@outbox.command(help="Forget sent messages older than OUTBOX_RETENTION_DAYS now (the app does this hourly).")
def purge() -> None:
    runtime = opened_runtime(existing)
    count = purge_outbox(runtime)
    click.echo(f"{count} sent message(s) older than {runtime.settings.outbox_retention_days} days purged")
