"""What the mediators' channel shows (design §3): the case card, updated in place as the case moves, with each
party's record for the mediators' eyes only and the buttons of whoever may act; and the payouts the marketplace
refused, or an operator handled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.blocks import ids, kit, records
from bot.blocks.format import counted, escape, money, person, pieces, quote, when
from bot.blocks.kit import Block, View
from bot.blocks.stages import button, section, stage_line, stage_name, why
from bot.domain.vocabulary import ASSIGNER, Move, State
from bot.services.models import CaseView

# The case card's buttons, in the order shown.
_CARD_BUTTONS: dict[Move, tuple[str, str, str | None]] = {
    Move.CLAIM: ("Claim", ids.MEDIATOR_CLAIM, "primary"),
    Move.PROPOSE: ("Propose", ids.MEDIATOR_PROPOSE, "primary"),
    Move.DECIDE: ("Decide", ids.MEDIATOR_DECIDE, "primary"),
    Move.AWARD: ("Record award", ids.MEDIATOR_AWARD, "primary"),
    Move.REVIEW: ("Review", ids.MEDIATOR_REVIEW, "primary"),
    Move.ASK: ("Ask for information", ids.MEDIATOR_ASK, None),
    Move.REASSIGN: ("Reassign", ids.MEDIATOR_REASSIGN, None),
    Move.RELEASE: ("Release", ids.MEDIATOR_RELEASE, None),
}


# The card cuts long words to keep room for the rest; mediators are not in the parties' thread, so the whole of
# them opens from the card.
IN_FULL = "… _(the whole of it: *Read in full*, below)_"
READ_IN_FULL = "Read in full"

# The card's presses that cannot be undone ask first.
_CONFIRMS = {
    Move.RELEASE: {
        "title": "Release the case?",
        "text": "It goes back to the queue for any mediator to claim, and you no longer hold it.",
        "confirm": "Release",
        "deny": "Keep it",
    },
}


def case_card(case: CaseView, locale: str = "en_US", party_records: dict[str, Any] | None = None) -> list[Block]:
    """The escalation channel's card: parties, contract, item, amounts, deadlines, evidence count, policy, each
    party's record (with a History button for the whole of it); Claim while unassigned, then the claiming
    mediator's actions. Updated in place as the case moves."""
    requested = money(case.money(case.requested_minor), locale)
    offered = money(case.money(case.offered_minor), locale) if case.offered_minor is not None else "—"
    due = when(case.due) if case.due else "—"
    blocks: list[Block] = [
        kit.header(f"{stage_name(case)}: case {case.id}"[:150]),
        kit.section(
            fields=[
                f"*Client*\n{person(case.client_id)}",
                f"*Freelancer*\n{person(case.freelancer_id)}",
                f"*Contract*\n{escape(case.contract_title)} ({escape(case.contract_id)})",
                f"*Item*\n{escape(case.item_label)}",
                f"*Requested / offered*\n{requested} / {offered}",
                f"*At stake / refunded*\n{money(case.at_stake, locale)} / "
                f"{money(case.money(case.refunded_minor), locale)}",
                f"*Next deadline*\n{due}",
                f"*Evidence · policy*\n{counted(case.evidence_count, 'piece', 'pieces', locale)} · "
                + escape(case.policy_version)
                + ("" if case.binding else " · non-binding"),
            ]
        ),
        section(f"*Client's reason*\n{quote(case.dispute_reason or case.reason, 700, IN_FULL)}"),
        section(stage_line(case, locale, IN_FULL) + (f"\n{said}" if (said := why(case, pointer=IN_FULL)) else "")),
    ]
    cut = any(IN_FULL in (block.get("text") or {}).get("text", "") for block in blocks)
    more = [kit.button(READ_IN_FULL, ids.CARD_IN_FULL, case.id)] if cut else []
    if party_records is not None:
        blocks += records.card_summary(party_records)
        more.insert(0, records.history_button(case.id))
    if more:
        blocks.append(kit.actions(ids.CARD_HISTORY_ACTIONS, more))
    if claim := claim_line(case):
        blocks.append(section(claim))
    if case.payout_hold:
        blocks.append(section(f":warning: *On hold*: the marketplace refused the payout.\n{quote(case.payout_hold)}"))
    if not case.open:
        if not case.payout_hold:
            blocks.append(kit.context("Closed. Nothing more to do here."))
        return blocks
    moves = case.moves.get("mediator", [])
    buttons = [
        button(label, action_id, case, style, **_CONFIRMS.get(move, {}))
        for move, (label, action_id, style) in _CARD_BUTTONS.items()
        if move in moves
    ]
    if case.mediator_id is not None:
        blocks.append(kit.context(f"Claimed by {person(case.mediator_id)}; only they act."))
    elif case.state == State.APPEAL_REQUESTED and (first := (case.appeal or {}).get("first_mediator")):
        blocks.append(kit.context(f"{person(first)} made the outcome appealed, so another mediator reviews it."))
    if buttons:
        blocks.append(kit.actions(ids.CARD_ACTIONS, buttons))
    return blocks


def in_full_modal(case: CaseView) -> View:
    """Every word the parties and the mediators wrote on the case, whole, for a mediator whose card cut them."""
    said = [
        ("The client's reason for the refund", case.reason),
        (f"{person(case.freelancer_id)}'s answer", case.response),
        ("The client's reasons for the dispute", case.dispute_reason),
        (f"{person(case.freelancer_id)}'s statement", case.statement),
        ("The reason for appealing", (case.appeal or {}).get("reason")),
        ("The mediator's rationale", case.rationale),
    ]
    blocks: list[Block] = [kit.context(f"Case {case.id}: the words as they were written, whole.")]
    for title, text in said:
        if text:
            blocks += [section(piece) for piece in pieces(f"*{title}*\n{quote(text, None)}")]
    return kit.modal(READ_IN_FULL, blocks[:100], close="Close")


# What each kind of ledger entry asks the marketplace to do, as the mediators' channel names it.
ENTRY_KINDS = {
    "refund": "refund to the client",
    "release": "release to the freelancer",
    "refund_reversal": "return to the freelancer of part of an earlier refund, after a review on appeal",
    "release_reversal": "reversal of part of an earlier release, refunded instead after a review on appeal",
}


def payout_refused(case: CaseView, kind: str, amount_minor: int, reason: str, locale: str) -> list[Block]:
    """The mediators' channel: which entry the marketplace refused, why, and the parties to talk to."""
    what = ENTRY_KINDS.get(kind, kind)
    return [
        section(
            f":warning: *Payout refused on case {case.id}*: the marketplace would not carry out the {what} of "
            f"{money(case.money(amount_minor), locale)} ({escape(case.item_label)}, {escape(case.contract_title)}). "
            f"The case is on hold.\n*The marketplace's reason*\n{quote(reason)}"
        ),
        kit.context(
            f"Client {person(case.client_id)} · freelancer {person(case.freelancer_id)} · "
            f"policy {escape(case.policy_version)}"
        ),
    ]


def payout_handled(case: CaseView, action: str, by: str, entry_id: int | None, why: str) -> list[Block]:
    """The mediators' channel: what an operator did about a refused payout (`refundbot payouts`)."""
    who = escape(by)
    if action == "resent":
        said = (
            f":arrows_counterclockwise: *Payout sent again on case {case.id}*: ledger entry {entry_id} went back to "
            f"the marketplace ({who})."
        )
    else:
        said = f":white_check_mark: *Hold lifted on case {case.id}* ({who}).\n*Why*\n{quote(why)}"
    return [section(said), kit.context(f"Client {person(case.client_id)} · freelancer {person(case.freelancer_id)}")]


# What each of the mediators' deadlines asks (issue 38), as its lines say it.
OWED = {
    "mediator_claim": "a mediator is to claim this case",
    "mediator_action": "its mediator is to ask, propose or decide a first time",
    "mediator_outcome": "its mediator is to give an outcome",
}
MISSED = {
    "mediator_claim": "nobody claimed this case",
    "mediator_action": "its mediator had not asked, proposed or decided",
    "mediator_outcome": "its mediator had given no outcome",
}


def claim_line(case: CaseView) -> str | None:
    """The mediators' deadlines: what is owed and by when, and what was missed (the leads were told)."""
    told = "the lead mediators were told"
    lines = [
        f":rotating_light: *Overdue*: {MISSED[kind]} by {when(datetime.fromisoformat(due))}; {told}."
        for kind, due in sorted(case.mediators_late.items())
    ]
    lines += [
        f":alarm_clock: By {when(datetime.fromisoformat(due))}, {OWED[kind]}."
        for kind, due in sorted(case.mediator_due.items())
    ]
    return "\n".join(lines) or None


def mediator_reminder(case: CaseView, kind: str, hours_left: float) -> list[Block]:
    """Before one of the mediators' deadlines: under the card while nobody holds the case, else in its mediator's
    DM."""
    due = case.mediator_due.get(kind)
    by = when(datetime.fromisoformat(due)) if due else "soon"
    then = "press *Claim* on the card" if kind == "mediator_claim" else "the card has the buttons"
    return [
        section(
            f":alarm_clock: Case {case.id}: by {by} (about {max(round(hours_left), 1)} h from now), {OWED[kind]}; "
            f"{then}."
        )
    ]


def assigned(case: CaseView, mediator: str, by: str, reader: str) -> list[Block]:
    """A mediator's DM: a case was handed to them (by refund-bot's assignment, a lead, or its last holder), or a
    lead handed one of theirs to another mediator."""
    about = f"Case {case.id} (*{escape(case.item_label)}*, {escape(case.contract_title)})"
    who = "refund-bot's assignment" if by == ASSIGNER else person(by)
    if reader != mediator:
        return [
            section(
                f":arrows_counterclockwise: {about} was handed to {person(mediator)} by {who}; it is no longer yours."
            )
        ]
    owed = [
        f"{what} by {when(datetime.fromisoformat(due))}"
        for kind, what in (
            ("mediator_action", "a first question, proposal or decision"),
            ("mediator_outcome", "an outcome"),
        )
        if (due := case.mediator_due.get(kind))
    ]
    due = f" It is yours now: {'; '.join(owed)}." if owed else " It is yours now."
    return [section(f":inbox_tray: {about} was handed to you by {who}.{due} The card has the buttons.")]


def mediators_late(case: CaseView, kind: str, mediator: str | None) -> list[Block]:
    """A lead mediator's DM: one of the mediators' deadlines passed. Nothing was decided for or against a party."""
    due = case.mediators_late.get(kind)
    by = when(datetime.fromisoformat(due)) if due else "its deadline"
    held = f" It is held by {person(mediator)}." if mediator else " Nobody holds it."
    return [
        section(
            f":rotating_light: Case {case.id} (*{escape(case.item_label)}*, {escape(case.contract_title)}): "
            f"{MISSED[kind]} by {by}.{held} It is marked late on the mediators' desk; nothing was decided for or "
            "against either party."
        )
    ]
