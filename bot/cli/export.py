"""`refundbot export`: cases and ledger entries for finance and trust teams, as CSV or JSON."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TextIO

import click

from bot.app.runtime import existing
from bot.cli.common import opened_runtime
from bot.config import slack_id
from storage import reports
from storage.reports import CASE_COLUMNS, FILE_COLUMNS, LEDGER_COLUMNS

# What each export reads, its columns, and what its summary calls its rows.
_REPORTS = {
    "cases": (CASE_COLUMNS, reports.cases, "case(s) changed"),
    "ledger": (LEDGER_COLUMNS, reports.ledger, "ledger entries made"),
    "files": (FILE_COLUMNS, reports.files, "file(s) added as evidence"),
}


def instant(text: str, option: str) -> datetime:
    """A date ("2026-11-01": its midnight, UTC) or an ISO 8601 instant (UTC unless it names an offset)."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date (2026-11-01) or an ISO 8601 instant", param_hint=option
        ) from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def workspace(team_id: str | None) -> str | None:
    """--team, checked to be a workspace id."""
    if team_id is not None:
        try:
            slack_id("workspace", team_id)
        except ValueError as bad:
            raise click.BadParameter(str(bad), param_hint="--team") from None
    return team_id


# A spreadsheet runs a cell that starts like a formula; a title from the marketplace must stay text (OWASP).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> object:
    return f"'{value}" if isinstance(value, str) and value.startswith(_FORMULA_START) else value


def _write_csv(output: TextIO, columns: tuple[str, ...], rows: Iterator[dict[str, object]]) -> int:
    writer = csv.DictWriter(output, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({k: cell(v) for k, v in row.items()})
        count += 1
    return count


def _write_json(output: TextIO, rows: Iterator[dict[str, object]]) -> int:
    """A JSON array, one object per line, written as it is read."""
    count = 0
    for row in rows:
        output.write(("[\n" if count == 0 else ",\n") + json.dumps(row, ensure_ascii=False))
        count += 1
    output.write("\n]\n" if count else "[]\n")
    return count


@click.command(
    "export",
    help="Write every case changed (opened, moved on or closed), every ledger entry made, or every file added as "
    "evidence, since a date, for finance and trust teams: one line each with the policy version, the outcome and "
    "the amounts, or with the file's SHA-256 as it was read when added.",
)
@click.argument("what", type=click.Choice(list(_REPORTS)))
@click.option("--since", required=True, help="From this date (2026-11-01, UTC) or ISO 8601 instant.")
@click.option("--until", default=None, help="Up to (not including) this date or instant; default: now.")
@click.option("--team", "team_id", default=None, help="Only this workspace (T…); default: every workspace.")
@click.option("--format", "form", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-", help="A file; default: stdout.")
def export(what: str, since: str, until: str | None, team_id: str | None, form: str, output: TextIO) -> None:
    start = instant(since, "--since")
    workspace(team_id)
    runtime = opened_runtime(existing)
    end = instant(until, "--until") if until else runtime.clock()
    columns, read, noun = _REPORTS[what]
    with runtime.sessions() as session:
        rows = read(session, start, end, team_id)
        count = _write_csv(output, columns, rows) if form == "csv" else _write_json(output, rows)
    click.echo(f"exported {count} {noun} from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC", err=True)
