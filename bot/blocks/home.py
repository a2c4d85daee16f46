"""App Home: what awaits this person (with deadlines), and their other open cases (design §3)."""

from __future__ import annotations

from bot.blocks import kit
from bot.blocks.format import DEFAULT_LOCALE, escape, money, person, trim, when
from bot.blocks.kit import Block
from bot.blocks.request import OUTCOMES
from bot.services.models import HOME_SHOWN, CaseView


def _line(case: CaseView, user_id: str, locale: str) -> str:
    asked = money(case.money(case.requested_minor), locale)
    who = "You asked" if case.client_id == user_id else f"{person(case.client_id)} asked"
    due = f" · answer by {when(case.due)}" if case.due else ""
    return (
        f"*{case.id}* · {escape(case.item_label)} ({escape(case.contract_title)})\n"
        f"{who} {asked} · {OUTCOMES.get(case.state, case.state)}{due}"
    )


def home(
    user_id: str, waiting: list[CaseView], others: list[CaseView], more: int = 0, locale: str = DEFAULT_LOCALE
) -> list[Block]:
    """The most urgent of what waits for this person's answer, then of their other open cases, and how many
    more there are (the read model chooses them)."""
    blocks: list[Block] = [kit.header("Refunds")]
    blocks.append(kit.section("*Waiting for your answer*"))
    if not waiting:
        blocks.append(kit.context("Nothing is waiting for you."))
    blocks += [kit.section(trim(_line(c, user_id, locale))) for c in waiting[:HOME_SHOWN]]
    blocks += [kit.divider(), kit.section("*Your other open cases*")]
    if not others:
        blocks.append(kit.context("None. `/refund` starts a request."))
    blocks += [kit.section(trim(_line(c, user_id, locale))) for c in others[:HOME_SHOWN]]
    if more:
        blocks.append(kit.context(f"…and {more} more: `/refund list`."))
    return blocks
