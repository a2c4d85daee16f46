"""Ephemeral answers to /refund help, list and status."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.blocks.format import money, person, trim, when
from bot.blocks.models import CaseView
from bot.blocks.request import OUTCOMES, outcome_line

HELP = (
    "*/refund* opens the refund request form: pick the contract, the milestone or week, the amount and your reason.\n"
    "*/refund list* shows your open cases, as client and as freelancer.\n"
    "*/refund status CASE* shows where a case stands, e.g. `/refund status R-7K3Q9A`.\n"
    "*/refund help* shows this."
)


def help_reply(prefix: str | None = None) -> list[Block]:
    text = f"{prefix}\n\n{HELP}" if prefix else HELP
    return [SectionBlock(text=MarkdownTextObject(text=text))]


def list_reply(cases: list[CaseView], user_id: str) -> list[Block]:
    if not cases:
        return [SectionBlock(text=MarkdownTextObject(text="You have no open cases."))]
    lines = []
    for case in cases[:40]:
        role = "you asked" if case.client_id == user_id else f"{person(case.client_id)} asked"
        due = f" · answer due {when(case.due)}" if case.due else ""
        lines.append(
            f"*{case.id}* · {case.item_md} ({case.contract_md}) · {role} "
            f"{money(case.money(case.requested_minor))} · {OUTCOMES.get(case.state, case.state)}{due}"
        )
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=trim("*Your open cases*\n" + "\n".join(lines))))]
    if len(cases) > 40:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"…and {len(cases) - 40} more.")]))
    return blocks


def status_reply(case: CaseView) -> list[Block]:
    state = OUTCOMES.get(case.state, case.state)
    lines = [
        f"*Case {case.id}* · {case.item_md} ({case.contract_md}) · policy {case.policy_version}",
        f"Client {person(case.client_id)} · freelancer {person(case.freelancer_id)}",
        f"Requested {money(case.money(case.requested_minor))} · refunded {money(case.money(case.refunded_minor))}",
    ]
    if case.stage == "request" and case.state == "awaiting_freelancer" and case.due:
        lines.append(f"Status: {state}, until {when(case.due)}")
    else:
        lines.append(outcome_line(case, "en_US"))
        if case.open and case.due:
            lines.append(f"Next deadline: {when(case.due)}")
    return [SectionBlock(text=MarkdownTextObject(text=trim("\n".join(lines))))]
