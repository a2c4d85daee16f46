"""`refundbot`: the operator's commands.

The server, the worker, the sandbox and the manifest are imported by their own commands: the others (often run from
cron or a shell) start without Bolt, uvicorn, APScheduler and the sandbox.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
from alembic.util import CommandError as AlembicError

from bot.app.runtime import StartupError, settings_or_fail, setup_logging
from bot.blocks import refusals
from bot.blocks.policy import describe
from bot.cli.common import opened_runtime
from bot.cli.export import export
from bot.cli.mediators import mediators, workspace
from bot.cli.operations import outbox, payouts
from bot.cli.report import report
from bot.config import ConfigError, load_settings
from bot.policies import PolicyFileError, preset_path, presets, read_policy_file
from bot.services.importing import DEMO, ImportRejected, demo_for, import_contracts, read_import_file
from storage.db import DatabaseError, background, current_revisions, make_engine, pending_migrations, roll_back
from storage.db import migrate as upgrade
from storage.outbox import OutboxRepository

if TYPE_CHECKING:
    from bot.app.workers import Workers


log = logging.getLogger("refundbot")

# What answers requests itself, and marks its own background work.
SERVERS = frozenset({"serve", "worker", "sandbox"})


@click.group(help="refund-bot: refunds, disputes and mediation for a freelance marketplace, in Slack.")
@click.pass_context
def cli(context: click.Context) -> None:
    setup_logging()
    if context.invoked_subcommand not in SERVERS:  # a command's work is off any request path
        context.with_resource(background())


@cli.command(help="Run refund-bot: HTTP on PORT (gunicorn), or Socket Mode when SLACK_APP_TOKEN is set.")
def serve() -> None:
    from bot.app.main import main

    sys.exit(main())


@cli.command(help="Bring the database schema up to date (the app also does this when it starts).")
@click.option(
    "--to",
    "revision",
    default=None,
    help="Take the schema to this revision instead: forward, or back down before running an earlier version "
    "(README, Upgrading and rolling back).",
)
def migrate(revision: str | None) -> None:
    if revision is None:
        runtime = opened_runtime()
        at = ", ".join(sorted(current_revisions(runtime.engine)))
        click.echo(f"database {runtime.engine.url!r} is up to date, at {at}")
        return
    try:
        url = settings_or_fail().database_url
        engine = make_engine(url)
        forward = revision == "head" or revision in pending_migrations(engine)
        (upgrade if forward else roll_back)(engine, revision)
    except (StartupError, DatabaseError, AlembicError) as exc:
        click.echo(f"refundbot: {exc}", err=True)
        sys.exit(2)
    click.echo(f"database {engine.url!r} is at {', '.join(sorted(current_revisions(engine))) or 'base (empty)'}")


@cli.command("import", help="Load contracts, milestones and timesheets from a YAML or JSON FILE (idempotent).")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_file(file: Path) -> None:
    try:
        parsed = read_import_file(file)
        runtime = opened_runtime()
        report = import_contracts(parsed, runtime.uow(), datetime.now(UTC), runtime.policy)
    except ImportRejected as exc:
        for problem in exc.problems(refusals.plain):
            click.echo(problem, err=True)
        click.echo(f"refundbot: nothing was imported from {file} ({len(exc.found)} problem(s))", err=True)
        sys.exit(1)
    click.echo(f"imported {file} into workspace {parsed.team_id}: {report}")


@cli.command(help="Load the demo set for your own workspace: your people, its dates moved to this week.")
@click.option("--team", "team_id", required=True, help="Your workspace id (T…).")
@click.option("--client", required=True, help="Member id of the person who plays the client (U…).")
@click.option("--freelancer", required=True, help="Member id of the person who plays the freelancer (U…).")
@click.option(
    "--file",
    "path",
    default=DEMO,
    show_default="the demo set shipped with refund-bot",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
def demo(team_id: str, client: str, freelancer: str, path: Path) -> None:
    runtime = opened_runtime()
    now = runtime.clock()
    try:
        parsed = read_import_file(path, demo_for(team_id, client, freelancer, now.date()))
        report = import_contracts(parsed, runtime.uow(), now, runtime.policy)
    except ImportRejected as exc:
        for problem in exc.problems(refusals.plain):
            click.echo(problem, err=True)
        sys.exit(1)
    click.echo(f"demo loaded into {team_id} for client {client} and freelancer {freelancer}: {report}")
    click.echo("In Slack, the client can now type /refund.")


def _workers() -> Workers:
    from bot.app.workers import Workers

    runtime = opened_runtime()
    if runtime.settings.slack_bot_token is None and not runtime.settings.oauth:
        click.echo(
            "refundbot: neither SLACK_BOT_TOKEN nor SLACK_CLIENT_ID is set; reminders and outcomes could not reach "
            "Slack",
            err=True,
        )
        sys.exit(2)
    return Workers.build(runtime)


@cli.command(
    help="Act on the deadlines that are due, then send what that queued (for cron-style operation). Exits 1 when "
    "a message could not be sent (it stays queued and is retried)."
)
@click.option("--once", is_flag=True, help="Run one sweep and exit (the only mode; `refundbot worker` keeps going).")
def tick(once: bool) -> None:
    if not once:
        click.echo("refundbot: `tick` runs one sweep with --once; for a ticker that keeps going use `worker`", err=True)
        sys.exit(2)
    workers = _workers()
    workers.deps.roster.refresh()
    kinds = (False, True) if workers.payouts is not None else (False,)
    with workers.runtime.sessions() as session:
        before = [OutboxRepository(session).counts(payouts=kind) for kind in kinds]
    acted, _attempted = workers.sweep()
    with workers.runtime.sessions() as session:
        queue = OutboxRepository(session)
        after = [(queue.counts(payouts=kind), queue.failing(payouts=kind)) for kind in kinds]
    parts, trouble = [], False
    for kind, was, (now, (failing, error)) in zip(kinds, before, after, strict=True):
        what, by = ("payout(s)", "the payments endpoint") if kind else ("Slack message(s)", "Slack")
        delivered = now.get("sent", 0) - was.get("sent", 0)
        died = now.get("dead", 0) - was.get("dead", 0)
        pending = now.get("pending", 0)
        parts.append(f"{delivered} {what} delivered, {pending} pending" + (f", {died} dead" if died else ""))
        if failing:
            queued = f"the {pending} pending stay queued and are retried"
            click.echo(
                f"refundbot: {by} did not take {failing} {what.removeprefix('Slack ')} (last error: {error}); {queued}",
                err=True,
            )
        trouble = trouble or bool(failing or died)
    dead = " (see `refundbot outbox`)" if any(" dead" in part for part in parts) else ""
    click.echo(f"acted on {acted} deadline(s); " + "; ".join(parts) + dead)
    # A cron job's exit code says whether everything was taken (rows waiting their channel's pace are fine).
    sys.exit(1 if trouble else 0)


@cli.command(help="Run only the deadline ticker and the Slack relay, without HTTP, until stopped.")
@click.option("--every", default=5.0, show_default=True, help="Seconds between ticks.")
def worker(every: float) -> None:
    workers = _workers()
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    workers.start(every)
    port = workers.runtime.settings.health_port
    if port is not None:
        from bot.app.probe import health_server

        health_server(workers.runtime, port)
    probe = f"; /healthz, /readyz and /metrics on {workers.runtime.settings.host}:{port}" if port else ""
    log.info("refundbot worker %s: ticking every %g s%s; stop with Ctrl-C or SIGTERM", workers.owner, every, probe)
    stopped.wait()
    workers.shutdown()
    log.info("refundbot worker stopped")


@cli.command(
    help="Print the Slack app's manifest, ready to paste at api.slack.com/apps → Create New App → From a manifest. "
    "Without --url: the development one (Socket Mode, one workspace). With --url: the production one, Slack posting "
    "to URL/slack/events; with --distributed too, the one installed by OAuth in many workspaces."
)
@click.option("--url", default=None, help="Where Slack reaches the app: https://YOUR-HOST (the public URL).")
@click.option(
    "--distributed", is_flag=True, help="Installed by OAuth in many workspaces (SLACK_CLIENT_ID); needs --url."
)
def manifest(url: str | None, distributed: bool) -> None:
    from bot import manifest as slack_manifest

    if url is None:
        if distributed:
            raise click.UsageError("--distributed needs --url: Slack sends each installer back to the app's own host")
        click.echo(slack_manifest.development(), nl=False)
        return
    try:
        settings = load_settings()
    except ConfigError as exc:
        click.echo(f"refundbot: configuration: {exc}", err=True)
        sys.exit(2)
    try:
        made = slack_manifest.served_at(url, distributed=distributed, redirect_path=settings.slack_redirect_uri_path)
    except slack_manifest.BadUrl as bad:
        raise click.BadParameter(str(bad), param_hint="--url") from None
    how = "OAuth installs in many workspaces" if distributed else "one workspace, over HTTP"
    click.echo(
        slack_manifest.as_yaml(made, f"refund-bot's Slack app manifest for {url} ({how}): paste it as it is."), nl=False
    )


@cli.group(help="The rules refund-bot applies (design §2.2): the presets shipped, or your POLICY_FILE.")
def policy() -> None:
    pass


@policy.command(
    name="show",
    help="Print the rules in plain words: those in force (POLICY_PRESET or POLICY_FILE), or a preset's.",
)
@click.option("--preset", type=click.Choice(presets()), default=None, help="A shipped preset instead.")
@click.option("--yaml", "as_yaml", is_flag=True, help="Print the file itself, with its sources: a start for your own.")
def show_policy(preset: str | None, as_yaml: bool) -> None:
    if preset is not None:
        path = preset_path(preset)
    else:
        try:
            settings = load_settings()
        except ConfigError as exc:
            click.echo(f"refundbot: configuration: {exc}", err=True)
            sys.exit(2)
        path = settings.policy_file or preset_path(settings.policy_preset)
    if as_yaml:
        click.echo(path.read_text(encoding="utf-8"), nl=False)
        return
    try:
        rules = read_policy_file(path)
    except PolicyFileError as exc:
        click.echo(f"refundbot: {exc}", err=True)
        sys.exit(2)
    click.echo("\n".join(describe(rules)))


@cli.command(
    help="Try refund-bot in a browser, without a Slack workspace: the real app on a SQLite file with the demo data, "
    "the client, the freelancer and a mediator side by side, and a clock to move. Serves http://127.0.0.1:PORT/sandbox "
    "(loopback only) until stopped."
)
@click.option("--port", default=3000, show_default=True, type=click.IntRange(1, 65535), help="The page's port.")
@click.option(
    "--database",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Keep the sandbox in this SQLite file; default: a temporary one, gone when it stops.",
)
@click.option(
    "--ignore-slack-credentials",
    is_flag=True,
    help="Start although Slack credentials are set here (the sandbox never uses them).",
)
def sandbox(port: int, database: Path | None, ignore_slack_credentials: bool) -> None:
    from bot.sandbox.web import running
    from bot.sandbox.world import SandboxError, real_credentials

    found = real_credentials()
    if found and not ignore_slack_credentials:
        click.echo(
            f"refundbot sandbox: {', '.join(found)} {'is' if len(found) == 1 else 'are'} set here, a real workspace's "
            "credentials. The sandbox never uses them (nor DATABASE_URL or the payments webhook), but to keep a "
            "try-out apart from a real install it will not start beside them: unset them, run it from another "
            "folder, or pass --ignore-slack-credentials.",
            err=True,
        )
        sys.exit(2)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        with running(database, port) as (_, url):
            click.echo(
                f"refund-bot sandbox: open {url} (the real app, a Slack stand-in, the demo data); Ctrl-C stops it"
            )
            stop.wait()
    except (SandboxError, StartupError) as exc:
        click.echo(f"refundbot sandbox: {exc}", err=True)
        sys.exit(2)
    except ConfigError as exc:
        click.echo(f"refundbot sandbox: configuration: {exc}", err=True)
        sys.exit(2)


cli.add_command(outbox)
cli.add_command(payouts)
cli.add_command(export)
cli.add_command(report)
cli.add_command(workspace)
cli.add_command(mediators)


def main(args: list[str] | None = None) -> None:
    cli(args, prog_name="refundbot")
