"""Ephemeral answers to /refund help, list and status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.blocks import kit
from bot.blocks.format import escape, money, person, trim, when
from bot.blocks.kit import Block
from bot.blocks.policy import history_rule
from bot.blocks.records import own_record_blocks
from bot.blocks.request import OUTCOMES, outcome_line
from bot.domain.policy import Policy
from bot.domain.vocabulary import Stage, State
from bot.services.models import CaseView

HELP = (
    "*/refund* opens the refund request form: pick the contract, the milestone or week, the amount and your reason.\n"
    "*/refund list* shows your open cases, as client and as freelancer.\n"
    "*/refund status CASE* shows where a case stands, e.g. `/refund status R-7K3Q9A`.\n"
    "*/refund history* shows your record as mediators see it, and what would flag it.\n"
    "*/refund help* shows this."
)
LISTED = 40


@dataclass(frozen=True)
class Reply:
    text: str  # the notification and screen-reader text of the blocks
    blocks: list[Block]

    def as_ack(self) -> dict[str, Any]:
        """The slash command's immediate answer, seen only by the person who typed it."""
        return {"text": self.text, "blocks": self.blocks, "response_type": "ephemeral"}


def _section(text: str) -> Block:
    return kit.section(trim(text))


def help_reply(unknown: str | None = None) -> Reply:
    text = HELP
    if unknown is not None:
        shown = unknown if len(unknown) <= 100 else unknown[:99] + "…"
        text = f"I don't know “/refund {escape(shown)}”.\n\n{HELP}"
    return Reply("How to use /refund", [_section(text)])


def form_not_opened(error: str) -> Reply:
    text = (
        f"Slack would not open the refund form ({escape(error)}), so nothing was sent. Try `/refund` again in a "
        "moment; if it keeps happening, tell your marketplace's support."
    )
    return Reply("The refund form did not open", [_section(text)])


def list_reply(cases: list[CaseView], total: int, user_id: str) -> Reply:
    """The first of a person's open cases (the read model picks and orders them), and how many there are."""
    if not cases:
        return Reply("You have no open cases.", [_section("You have no open cases.")])
    lines = []
    for case in cases[:LISTED]:
        role = "you asked" if case.client_id == user_id else f"{person(case.client_id)} asked"
        due = f" · answer due {when(case.due)}" if case.due else ""
        lines.append(
            f"*{case.id}* · {trim(escape(case.item_label), 200, '…')} "
            f"({trim(escape(case.contract_title), 200, '…')}) · {role} "
            f"{money(case.money(case.requested_minor))} · {OUTCOMES.get(case.state, case.state)}{due}"
        )
    blocks: list[Block] = [_section("*Your open cases*\n" + "\n".join(lines))]
    if total > len(lines):
        blocks.append(kit.context(f"…and {total - len(lines)} more."))
    return Reply(f"Your open cases: {total}", blocks)


def history_reply(records: dict[str, Any], policy: Policy) -> Reply:
    return Reply("What mediators see of you", own_record_blocks(records, history_rule(policy)))


def status_reply(case: CaseView) -> Reply:
    state = OUTCOMES.get(case.state, case.state)
    lines = [
        f"*Case {case.id}* · {escape(case.item_label)} ({escape(case.contract_title)}) · "
        f"policy {escape(case.policy_version)}",
        f"Client {person(case.client_id)} · freelancer {person(case.freelancer_id)}",
        f"Requested {money(case.money(case.requested_minor))} · refunded {money(case.money(case.refunded_minor))}",
    ]
    if case.stage == Stage.REQUEST and case.state == State.AWAITING_FREELANCER and case.due:
        lines.append(f"Status: {state}, until {when(case.due)}")
    else:
        lines.append(outcome_line(case, "en_US"))
        if case.open and case.due:
            lines.append(f"Next deadline: {when(case.due)}")
    return Reply(f"Case {case.id}: {state}", [_section("\n".join(lines))])


def went_wrong(ref: str) -> str:
    """An unexpected error: the person knows nothing happened, and what to quote to support."""
    return (
        f"Something went wrong (ref {ref}); nothing was changed. Please try again in a moment; if it keeps "
        "happening, give the marketplace's support this reference."
    )
