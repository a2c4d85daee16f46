"""App Home: what awaits this person (with deadlines), and their other open cases (design §3)."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.blocks.format import DEFAULT_LOCALE, escape, money, person, trim, when
from bot.blocks.request import OUTCOMES
from bot.services.models import CaseView

SHOWN = 40  # two blocks a case, well inside the 100 blocks of a Home tab


def _line(case: CaseView, user_id: str, locale: str) -> str:
    asked = money(case.money(case.requested_minor), locale)
    who = "You asked" if case.client_id == user_id else f"{person(case.client_id)} asked"
    due = f" · answer by {when(case.due)}" if case.due else ""
    return (
        f"*{case.id}* · {escape(case.item_label)} ({escape(case.contract_title)})\n"
        f"{who} {asked} · {OUTCOMES.get(case.state, case.state)}{due}"
    )


def home(user_id: str, cases: list[CaseView], locale: str = DEFAULT_LOCALE) -> list[Block]:
    waiting = [c for c in cases if c.state == "awaiting_freelancer" and c.freelancer_id == user_id]
    others = [c for c in cases if c not in waiting]
    blocks: list[Block] = [HeaderBlock(text="Refunds")]
    blocks.append(SectionBlock(text=MarkdownTextObject(text="*Waiting for your answer*")))
    if not waiting:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text="Nothing is waiting for you.")]))
    blocks += [
        SectionBlock(text=MarkdownTextObject(text=trim(_line(c, user_id, locale)))) for c in waiting[: SHOWN // 2]
    ]
    blocks += [DividerBlock(), SectionBlock(text=MarkdownTextObject(text="*Your other open cases*"))]
    if not others:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text="None. `/refund` starts a request.")]))
    blocks += [
        SectionBlock(text=MarkdownTextObject(text=trim(_line(c, user_id, locale)))) for c in others[: SHOWN // 2]
    ]
    hidden = max(len(waiting) - SHOWN // 2, 0) + max(len(others) - SHOWN // 2, 0)
    if hidden:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"…and {hidden} more: `/refund list`.")]))
    return blocks
