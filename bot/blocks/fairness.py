"""The fairness report as a Slack message (FAIRNESS_REPORT_CHANNEL): one section a group, within a message's 50
blocks; the whole of it, and CSV or JSON, is `refundbot report fairness`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.blocks import kit
from bot.blocks.format import escape
from bot.blocks.kit import Block
from bot.services.fairness import MIN_GROUP
from bot.services.surfaces import FairnessShown

ROWS = 40  # sections of groups and mediators a message holds beside its header and notes


def _figures(row: dict[str, Any]) -> str:
    if row["suppressed"]:
        return f"{row['cases']} case(s): fewer than {MIN_GROUP}, not shown"
    done = row["outcomes"]
    return (
        f"{row['cases']} cases · {row['hours_median']:g} h to an outcome (90th: {row['hours_p90']:g} h) · "
        f"{row['refunded_share_median']:.0%} of what was asked refunded "
        f"({row['refunded_share_p25']:.0%}–{row['refunded_share_p75']:.0%}) · "
        f"in full {done['full']}, in part {done['part']}, nothing {done['none']}, withdrawn {done['withdrawn']} · "
        f"appealed {row['appealed']}, changed {row['appeals_changed']}"
    )


def fairness_message(shown: FairnessShown) -> list[Block]:
    month = datetime.fromisoformat(shown.since)
    report = shown.report
    rows = [
        f"*{row['kind'].replace('_', ' ')}, {row['route'].replace('_', ' ')}*\n{_figures(row)}"
        for row in report["groups"]
    ]
    rows += [f"*{escape(row['mediator'])}*\n{_figures(row)}" for row in report["mediators"]]
    blocks: list[Block] = [
        kit.header(f"Fairness: cases closed in {month:%B %Y}"),
        kit.context(
            f"{report['cases']} case(s) closed from {month:%d %b %Y} to {datetime.fromisoformat(shown.until):%d %b %Y}"
            " (UTC), by kind of contract and route, then by mediator (pseudonyms). Groups of fewer than "
            f"{MIN_GROUP} cases show their count alone."
        ),
    ]
    blocks += [kit.section(text) for text in rows[:ROWS]]
    if len(rows) > ROWS:
        blocks.append(kit.context(f"…and {len(rows) - ROWS} more: `refundbot report fairness` has them all."))
    return blocks
