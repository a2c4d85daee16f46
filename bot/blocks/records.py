"""Each party's record across contracts, as mediators read it on the case card and in its History form. Only the
mediators' surfaces call these: a party's message never carries a record."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from babel.numbers import format_percent

from bot.blocks import ids, kit
from bot.blocks.format import DEFAULT_LOCALE, counted, duration, person
from bot.blocks.kit import Block, View
from bot.domain.history import Flag, Tally

FLAGS = {
    Flag.ASKS_OFTEN: "asked for refunds on most of their paid items",
    Flag.OFTEN_DISPUTED: "their work is often disputed",
}
ROLES = {"client": "Client", "freelancer": "Freelancer"}


def _share(value: float) -> str:
    return format_percent(value, locale=DEFAULT_LOCALE)


def tally_text(role: str, tally: Tally) -> str:
    """ "3 requests made on 8 paid items · 2 refunded (20% of the price on average) · disputes: won 0, lost 1,
    split 1" """
    made = "made" if role == "client" else "received"
    requests, items = counted(tally.cases, "request", "requests"), counted(tally.paid_items, "paid item", "paid items")
    parts = [f"{requests} {made} on {items}"]
    if tally.closed:
        parts.append(f"{tally.refunded} of {tally.closed} ended refunded ({_share(tally.refunded_share)} on average)")
    if tally.disputes:
        parts.append(f"disputes: won {tally.won(role)}, lost {tally.lost(role)}, split {tally.disputes_split}")
    return " · ".join(parts)


def _flags(record: dict[str, Any], period: str) -> str:
    found = [FLAGS[Flag(flag)] for flag in record["flags"][period]]
    return "".join(f"\n:triangular_flag_on_post: *{text}*" for text in found)


def _period(records: dict[str, Any]) -> str:
    return f"Last {duration(timedelta(seconds=records['recent_seconds']))}"


def card_summary(records: dict[str, Any]) -> list[Block]:
    """One line per party under the card: the record of the recent window, and its flags of either period."""
    lines = []
    for role in ROLES:
        record = records[role]
        recent = Tally(**record["recent"])
        flags = _flags(record, "all_time") or _flags(record, "recent")
        lines.append(
            f"*{ROLES[role]}'s record* ({_period(records).lower()}, other cases): {tally_text(role, recent)}{flags}"
        )
    return [kit.section("\n".join(lines))]


def history_button(case_id: str) -> Block:
    return kit.button("History", ids.CARD_HISTORY, case_id)


def history_modal(case_id: str, records: dict[str, Any]) -> View:
    """Both parties' records, recent and all time, for the mediator who asked: nobody else sees this form."""
    blocks: list[Block] = [
        kit.context(f"Case {case_id}. Other cases of each party in this workspace; only mediators see this.")
    ]
    for role, title in ROLES.items():
        record = records[role]
        blocks += [
            kit.header(f"{title}"),
            kit.section(person(record["user"])),
            kit.section(
                fields=[
                    f"*{_period(records)}*\n{tally_text(role, Tally(**record['recent']))}{_flags(record, 'recent')}",
                    f"*All time*\n{tally_text(role, Tally(**record['all_time']))}{_flags(record, 'all_time')}",
                ]
            ),
        ]
    return kit.modal("Party history", blocks, close="Close")


def own_record_blocks(records: dict[str, Any], rule: str) -> list[Block]:
    """`/refund history`: what mediators see of the person who asked, in each role they have had, and the rule
    that flags a record. Only its own reader sees it."""
    blocks: list[Block] = [kit.header("What mediators see of you")]
    for role, title in ROLES.items():
        record = records[role]
        recent, all_time = Tally(**record["recent"]), Tally(**record["all_time"])
        if not (all_time.cases or all_time.paid_items):
            continue
        flags = _flags(record, "all_time") or _flags(record, "recent")
        blocks.append(
            kit.section(
                f"*As {title.lower()}*{flags}",
                fields=[
                    f"*{_period(records)}*\n{tally_text(role, recent)}",
                    f"*All time*\n{tally_text(role, all_time)}",
                ],
            )
        )
    if len(blocks) == 1:
        blocks.append(kit.section("You have no paid items and no cases yet, so there is no record to show."))
    blocks.append(kit.context(f"{rule} Nobody but the mediators and you sees this."))
    return blocks
