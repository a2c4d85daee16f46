"""The mediators' desk (App Home, design §3): unclaimed cases first, by deadline; then the mediator's own; then
the rest, with filters and pages, within Slack's 100 blocks for a Home tab."""

from __future__ import annotations

import json
from datetime import datetime
from functools import partial

from bot.blocks import ids, kit, refusals
from bot.blocks.format import DEFAULT_LOCALE, escape, money, number, person, trim, when
from bot.blocks.kit import Block
from bot.blocks.stages import STAGES, STATES
from bot.domain.contract import ContractKind
from bot.domain.vocabulary import CLAIMABLE
from bot.services.models import DESK_PAGE, DESK_SECTIONS, DeskFilters, DeskRow
from bot.services.surfaces import DeskShown

TITLES = {
    "unclaimed": ("Unclaimed", "Nobody holds these yet: claim one to take it."),
    "mine": ("Yours", "Cases you hold."),
    "rest": ("Other open cases", "Held by another mediator, or not yet with one."),
}
KINDS = {ContractKind.HOURLY: "Hourly", ContractKind.FIXED_PRICE: "Fixed price"}
OVERDUE = {"overdue": "Deadline passed"}
ALL = "all"


def _options(choices: dict[str, str], everything: str) -> list[Block]:
    return [kit.option(ALL, everything)] + [kit.option(value, text) for value, text in choices.items()]


def _select(action_id: str, choices: dict[str, str], everything: str, chosen: str | None) -> Block:
    options = _options(choices, everything)
    initial = next(option for option in options if option["value"] == (chosen or ALL))
    return kit.static_select(action_id, everything, options, initial)


def _filters(filters: DeskFilters) -> Block:
    return kit.actions(
        ids.DESK_FILTERS,
        [
            _select(ids.DESK_STAGE, STAGES, "Every stage", filters.stage),
            _select(ids.DESK_KIND, KINDS, "Every kind", filters.kind),
            _select(
                ids.DESK_OVERDUE, {"overdue": "Deadline passed"}, "Any deadline", "overdue" if filters.overdue else None
            ),
        ],
    )


def _row(row: DeskRow, section: str, now: datetime, locale: str, viewer: str, lead: bool) -> list[Block]:
    """A case's line; its block_id names the part too, as a case that moved while the desk was read (statements
    apart, on PostgreSQL) may appear in two. A lead's has a row of buttons under it: Claim, Hand to a mediator,
    Open card."""
    at_stake = money(row.money(row.at_stake_minor), locale)
    since = f"waiting since {when(datetime.fromisoformat(row.waiting_since))}"
    unclaimed = row.mediator_id is None and row.state in CLAIMABLE
    if row.mediators_late:
        missed = min(datetime.fromisoformat(due) for due in row.mediators_late.values())
        timing = f"{since} · :rotating_light: *mediator overdue since {when(missed)}*"
    elif row.due_at is None:
        timing = since
    else:
        due = datetime.fromisoformat(row.due_at)
        if unclaimed:  # the deadline of a case nobody holds is the mediators' own: to claim it
            timing = f"{since} · *claim overdue since {when(due)}*" if due <= now else f"{since} · claim by {when(due)}"
        else:
            timing = f"*deadline passed {when(due)}*" if due <= now else f"next deadline {when(due)}"
    holder = f" · held by {person(row.mediator_id)}" if row.mediator_id else ""
    where = f"{STAGES.get(row.stage, row.stage)}: {STATES.get(row.state, row.state)}{holder}"
    if row.first_mediator == viewer and row.mediator_id is None:
        where = "Appeal of your outcome: another mediator reviews it"
    text = (
        f"*{row.id}* · {escape(row.item_label)} ({escape(row.contract_title)})\n"
        f"{person(row.client_id)} and {person(row.freelancer_id)} · *{at_stake}* at stake\n{where} · {timing}"
    )
    claim = kit.button("Claim", ids.DESK_CLAIM, row.id, style="primary") if row.claimable_by(viewer) else None
    card = kit.button("Open card", ids.DESK_OPEN, row.id, url=row.card_link) if row.card_link else None
    block_id = f"{ids.DESK_ROW}_{section}_{row.id}"
    if not lead:
        return [kit.section(trim(text, pointer="…"), accessory=claim or card, block_id=block_id)]
    handing = "Hand to a mediator…" if row.mediator_id is None else "Reassign…"
    buttons = [claim, kit.button(handing, ids.DESK_ASSIGN, row.id), card]
    return [
        kit.section(trim(text, pointer="…"), block_id=block_id),
        kit.actions(f"{block_id}_lead", [button for button in buttons if button is not None]),
    ]


def _pager(name: str, offset: int, total: int, locale: str) -> list[Block]:
    if total <= DESK_PAGE:
        return []
    buttons = []
    if offset > 0:
        buttons.append(kit.button(f"‹ Previous {DESK_PAGE}", ids.DESK_PAGE_BACK, f"{name}:{offset - DESK_PAGE}"))
    if offset + DESK_PAGE < total:
        buttons.append(kit.button(f"Next {DESK_PAGE} ›", ids.DESK_PAGE_NEXT, f"{name}:{offset + DESK_PAGE}"))
    end = min(offset + DESK_PAGE, total)
    n = partial(number, locale=locale)
    shown = f"{n(offset + 1)}–{n(end)} of {n(total)}" + (f"; {n(total - end)} more after these" if end < total else "")
    return [kit.context(shown), kit.actions(f"{ids.DESK_PAGES}_{name}", buttons)]


def metadata(filters: DeskFilters, pages: dict[str, int]) -> str:
    """What the desk's next click needs to show the same desk again: its filters and each part's page."""
    return json.dumps({"filters": {k: v for k, v in vars(filters).items() if v}, "pages": pages}, separators=(",", ":"))


def desk(shown: DeskShown, locale: str = DEFAULT_LOCALE) -> tuple[list[Block], str]:
    """The desk's blocks and its private metadata."""
    now, filters, sections = shown.now, shown.filters, shown.sections
    counts = [sections[name].total for name in DESK_SECTIONS]
    n = partial(number, locale=locale)
    summary = f"{n(counts[0])} unclaimed · {n(counts[1])} yours · {n(counts[2])} other open cases"
    if filters != DeskFilters():
        summary += " (filtered)"
    blocks: list[Block] = [kit.header("Mediation desk"), kit.context(summary), _filters(filters)]
    if shown.notice is not None:
        blocks.append(kit.section(f":warning: {refusals.message(shown.notice, locale)}"))
    for name in DESK_SECTIONS:
        part = sections[name]
        title, hint = TITLES[name]
        blocks += [kit.divider(), kit.section(f"*{title}* ({n(part.total)})\n{hint}")]
        rows = part.rows
        if not rows:
            blocks.append(kit.context("None." if filters == DeskFilters() else "None under these filters."))
        blocks += [block for row in rows for block in _row(row, name, now, locale, shown.user, shown.lead)]
        blocks += _pager(name, part.offset, part.total, locale)
    pages = {name: sections[name].offset for name in DESK_SECTIONS if sections[name].offset}
    return blocks, metadata(filters, pages)
