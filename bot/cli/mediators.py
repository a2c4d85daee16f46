"""`refundbot workspace` (each workspace's own mediators, leads and assignment rule) and `refundbot mediators`
(their load and availability; marking one away)."""

from __future__ import annotations

from datetime import datetime

import click
from sqlalchemy import func, select

from bot.app.runtime import Runtime, existing, roster_of
from bot.cli.common import command_deps, opened_runtime
from bot.cli.export import instant
from bot.cli.export import workspace as checked_team
from bot.config import slack_id
from bot.domain.vocabulary import Assignment
from bot.services import mediation
from bot.services.assignment import MediatorLine, mediator_lines
from bot.services.roster import Desk, Roster
from storage.tables import INSTALLATIONS
from storage.workspaces import WorkspaceDesks

_RULES = click.Choice([rule.value for rule in Assignment])


@click.group(help="The workspaces refund-bot serves: their installs (OAuth) and their own mediators.")
def workspace() -> None:
    pass


@workspace.command(name="list", help="Each workspace installed (OAuth) or given mediators, and who mediates there.")
def list_workspaces() -> None:
    runtime = opened_runtime(existing)
    desks = WorkspaceDesks(runtime.sessions)()
    with runtime.sessions() as session:
        installed = dict(
            session.execute(
                select(INSTALLATIONS.c.team_id, func.max(INSTALLATIONS.c.installed_at)).group_by(
                    INSTALLATIONS.c.team_id
                )
            ).all()
        )
    if not installed and not desks:
        click.echo("no workspace is installed or has mediators of its own; the MEDIATOR_* settings apply")
    for team in sorted(set(installed) | set(desks), key=str):
        when = f"installed {installed[team]:%Y-%m-%d %H:%M} UTC" if team in installed else "not installed"
        desk = desks.get(team)
        click.echo(f"{team}: {when}; " + ("mediators: the MEDIATOR_* settings" if desk is None else _desk_line(desk)))


def _desk_line(desk: Desk) -> str:
    return (
        f"mediators: {_who(desk.users, desk.group)}; cards in {desk.channel or 'no channel'}; "
        f"leads: {_who(desk.leads, desk.lead_group)}; cases handed out: {desk.assignment.value}"
    )


def _who(users: frozenset[str], group: str | None) -> str:
    named = [", ".join(sorted(users))] if users else []
    named += [f"user group {group}"] if group else []
    return " and ".join(named) or "none listed"


def _ids(kind: str, text: str) -> frozenset[str]:
    return frozenset(slack_id(kind, user.strip()) for user in text.split(",") if user.strip())


def _one(kind: str, text: str | None, was: str | None) -> str | None:
    """An option left out keeps what was; given empty, clears it."""
    if text is None:
        return was
    return slack_id(kind, text.strip()) if text.strip() else None


@workspace.command(
    name="set",
    help="Give a workspace its own mediators: where its case cards go, who may claim them, who leads them and "
    "whether refund-bot hands its waiting cases out. Only these count there from now on (the MEDIATOR_* settings "
    "stay the default of the others). An option left out keeps what the workspace had; an empty one clears it.",
)
@click.argument("team_id")
@click.option("--channel", "channel_id", default=None, help="The mediators' channel in that workspace (C…).")
@click.option("--mediators", default=None, help="Comma-separated user ids (U…,U…).")
@click.option("--usergroup", "usergroup_id", default=None, help="A user group whose members mediate (S…).")
@click.option("--leads", default=None, help="Comma-separated user ids of the lead mediators (U…,U…).")
@click.option("--lead-usergroup", "lead_usergroup_id", default=None, help="A user group whose members lead (S…).")
@click.option(
    "--assignment", type=_RULES, default=None, help="Hand waiting cases out: round-robin, least-loaded or off."
)
def set_workspace(
    team_id: str,
    channel_id: str | None,
    mediators: str | None,
    usergroup_id: str | None,
    leads: str | None,
    lead_usergroup_id: str | None,
    assignment: str | None,
) -> None:
    runtime = opened_runtime(existing)
    desks = WorkspaceDesks(runtime.sessions)
    try:
        slack_id("workspace", team_id)
        was = desks().get(team_id) or Desk(None, frozenset())
        desk = Desk(
            _one("channel", channel_id, was.channel),
            _ids("user", mediators) if mediators is not None else was.users,
            _one("user group", usergroup_id, was.group),
            Assignment(assignment) if assignment is not None else was.assignment,
            _ids("user", leads) if leads is not None else was.leads,
            _one("user group", lead_usergroup_id, was.lead_group),
        )
    except ValueError as bad:
        raise click.UsageError(str(bad)) from None
    desks.set(team_id, desk, runtime.clock())
    carded = mediation.show_cards(command_deps(runtime), team_id)
    shown = f"; the card(s) of {carded} case(s) waiting with the mediators will be shown there" if carded else ""
    click.echo(f"{team_id}: {_desk_line(desk)}{shown}")


@click.group(
    invoke_without_command=True,
    help="The mediators of a workspace: each one's open cases, availability and last case handed to them.",
)
@click.option("--team", "team_id", default=None, help="The workspace (T…); needed when the database knows several.")
@click.pass_context
def mediators(context: click.Context, team_id: str | None) -> None:
    if context.invoked_subcommand is not None:
        context.obj = team_id
        return
    runtime = opened_runtime(existing)
    roster, listed = _listed_roster(runtime)
    team = _team(runtime, team_id)
    with runtime.uow() as uow:
        lines = mediator_lines(roster, uow, team)
    desk = roster.desk(team)
    leads = ", ".join(roster.leads(team)) or "none listed"
    click.echo(f"{team}: cases handed out: {desk.assignment.value}; leads: {leads}")
    if not listed and (groups := list(desk.groups)):
        unlisted = f"(user group(s) {', '.join(groups)} not listed: no Slack token is set; "
        click.echo(unlisted + "their members who hold no case are not shown)")
    if not lines:
        click.echo("no mediator is listed for this workspace (MEDIATOR_USER_IDS, MEDIATOR_USERGROUP_ID, workspace set)")
    now = runtime.clock()
    click.echo(f"{'mediator':<14} {'holds':>5}  {'last handed a case':<22} availability")
    for line in lines:
        click.echo(_line(line, now))


def _line(line: MediatorLine, now: datetime) -> str:
    one = line.standing
    last = f"{one.last_assigned:%Y-%m-%d %H:%M} UTC" if one.last_assigned else "never"
    if one.away(now) and one.away_until is not None:
        available = f"away until {one.away_until:%Y-%m-%d %H:%M} UTC"
    else:
        available = "available"
    notes = [note for note, on in (("lead", line.lead), ("not listed as a mediator", not line.on_roster)) if on]
    return f"{one.user:<14} {one.holds:>5}  {last:<22} {available}" + (f" ({', '.join(notes)})" if notes else "")


@mediators.command(help="Mark a mediator away until DATE (UTC): no case is handed to them before then.")
@click.argument("user_id")
@click.option("--until", "until", required=True, help="When they are back: a date (its 00:00 UTC) or an instant.")
@click.pass_obj
def away(team_id: str | None, user_id: str, until: str) -> None:
    runtime = opened_runtime(existing)
    back = instant(until, "--until")
    if back <= runtime.clock():
        raise click.BadParameter(f"{until} has passed; to mark them available, use `refundbot mediators back`")
    _set_away(runtime, team_id, user_id, back)


@mediators.command(help="Mark a mediator available again, before the date they were away until.")
@click.argument("user_id")
@click.pass_obj
def back(team_id: str | None, user_id: str) -> None:
    _set_away(opened_runtime(existing), team_id, user_id, None)


def _set_away(runtime: Runtime, team_id: str | None, user_id: str, until: datetime | None) -> None:
    try:
        slack_id("user", user_id)
    except ValueError as bad:
        raise click.BadParameter(str(bad), param_hint="USER_ID") from None
    team = _team(runtime, team_id)
    with runtime.uow() as uow:
        uow.mediators.set_away(team, user_id, until, runtime.clock())
        uow.commit()
    roster = roster_of(runtime)
    roster.refresh_desks()
    known = "" if roster.is_mediator(team, user_id) else " (not listed as a mediator there, unless by a user group)"
    said = f"away until {until:%Y-%m-%d %H:%M} UTC" if until else "available"
    click.echo(f"{team}: {user_id} is {said}{known}")


def _team(runtime: Runtime, team_id: str | None) -> str:
    """--team, or the one workspace the database knows."""
    if team_id is not None:
        return checked_team(team_id) or team_id
    with runtime.uow() as uow:
        known = set(uow.mediators.teams()) | set(WorkspaceDesks(runtime.sessions)())
    if len(known) == 1:
        return known.pop()
    which = f"one of {', '.join(sorted(known))}" if known else "the workspace's id (T…)"
    raise click.UsageError(f"say which workspace with --team: {which}")


def _listed_roster(runtime: Runtime) -> tuple[Roster, bool]:
    """The roster with its user groups listed through Slack when a token is set (else its listed users alone), and
    whether they were."""
    settings = runtime.settings
    if settings.slack_bot_token is None and not settings.oauth:
        roster = roster_of(runtime)
        roster.refresh_desks()
        return roster, False
    from bot.app.workers import Workers

    roster = Workers.build(runtime).deps.roster
    roster.refresh()
    return roster, True
