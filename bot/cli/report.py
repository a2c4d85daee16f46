"""`refundbot report fairness`: how the process ends, by kind of contract, route and mediator (bot.services.fairness),
as Markdown for people, or CSV or JSON for a spreadsheet or a pipeline."""

from __future__ import annotations

import csv
import json
from typing import Any, TextIO

import click

from bot.app.runtime import existing
from bot.cli.common import opened_runtime
from bot.cli.export import cell, instant, workspace
from bot.services.fairness import MIN_GROUP, OUTCOMES, fairness, pseudonyms
from storage import reports

COLUMNS = (
    "section",
    "kind",
    "route",
    "mediator",
    "cases",
    "hours_median",
    "hours_p90",
    "refunded_share_median",
    "refunded_share_p25",
    "refunded_share_p75",
    *(f"outcome_{outcome}" for outcome in OUTCOMES),
    "appealed",
    "appeals_changed",
    "outcomes_appealed",
    "changed_on_appeal",
)


@click.group(help="Reports on how the process treats people, from the app's database (it never changes it).")
def report() -> None:
    pass


@report.command(
    "fairness",
    help="For the cases closed in a period, by kind of contract and route, then by mediator: how many, how long "
    "to an outcome (median, 90th percentile), the share refunded (median, quartiles), outcomes for the client "
    "who asked, and how often an appeal changed an outcome. Groups of fewer than 5 cases show their count alone.",
)
@click.option("--since", required=True, help="From this date (2026-11-01, UTC) or ISO 8601 instant.")
@click.option("--until", default=None, help="Up to (not including) this date or instant; default: now.")
@click.option("--team", "team_id", default=None, help="Only this workspace (T…); default: every workspace.")
@click.option("--format", "form", type=click.Choice(["md", "csv", "json"]), default="md", show_default=True)
@click.option("--name-mediators", is_flag=True, help="Name each mediator by their Slack id, not a pseudonym.")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-", help="A file; default: stdout.")
def fairness_report(
    since: str, until: str | None, team_id: str | None, form: str, name_mediators: bool, output: TextIO
) -> None:
    start, team = instant(since, "--since"), workspace(team_id)
    runtime = opened_runtime(existing)
    end = instant(until, "--until") if until else runtime.clock()
    name = pseudonyms(runtime.settings.report_key(), named=name_mediators)
    with runtime.sessions() as session:
        found = fairness(reports.closed_cases(session, start, end, team), name)
    period = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
    if form == "json":
        output.write(json.dumps({"from": start.isoformat(), "until": end.isoformat()} | found, indent=2) + "\n")
    elif form == "csv":
        _csv(output, found)
    else:
        output.write(_markdown(found, period))
    click.echo(f"reported on {found['cases']} case(s) closed from {period}", err=True)


def _rows(found: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [{"section": "route"} | group for group in found["groups"]]
    rows += [{"section": "mediator"} | row for row in found["mediators"]]
    flat = []
    for row in rows:
        outcomes = row.pop("outcomes", {})
        row.pop("suppressed")
        flat.append(row | {f"outcome_{k}": v for k, v in outcomes.items()})
    return flat


def _csv(output: TextIO, found: dict[str, Any]) -> None:
    writer = csv.DictWriter(output, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in _rows(found):
        writer.writerow({k: cell(v) for k, v in row.items()})


def _line(row: dict[str, Any], first: str) -> str:
    if row["suppressed"]:
        return f"| {first} | {row['cases']} | fewer than {MIN_GROUP} cases: not shown | | | |"
    done = row["outcomes"]
    return (
        f"| {first} | {row['cases']} | {row['hours_median']:g} h ({row['hours_p90']:g} h) | "
        f"{row['refunded_share_median']:.0%} ({row['refunded_share_p25']:.0%}–{row['refunded_share_p75']:.0%}) | "
        f"{done['full']} / {done['part']} / {done['none']} / {done['withdrawn']} | "
        f"{row['appealed']} ({row['appeals_changed']} changed) |"
    )


HEAD = (
    "| {} | cases | time to an outcome: median (90th) | refunded of what was asked: median (quartiles) | "
    "full / part / none / withdrawn | appealed |{}\n|---|---|---|---|---|---|{}\n"
)


def _markdown(found: dict[str, Any], period: str) -> str:
    lines = [f"# Fairness: cases closed from {period}\n\n", HEAD.format("contract, route", "", "")]
    lines += [_line(group, f"{group['kind']}, {group['route']}") + "\n" for group in found["groups"]]
    lines.append("\n" + HEAD.format("mediator", " their outcomes appealed: changed |", "---|"))
    for row in found["mediators"]:
        extra = " |" if row["suppressed"] else f" {row['changed_on_appeal']} of {row['outcomes_appealed']} |"
        lines.append(_line(row, row["mediator"]) + extra + "\n")
    lines.append(f"\nGroups of fewer than {MIN_GROUP} cases show their count alone.\n")
    return "".join(lines)
