"""What a party is asked to do now (design §3): the move the case waits on them for, with its deadline and what
silence means, their buttons (those that cannot be undone ask first, with the numbers), and the reminders that
bring them back to it."""

from __future__ import annotations

from collections.abc import Callable

from bot.blocks import ids, kit
from bot.blocks.format import escape, money, person, when
from bot.blocks.kit import Block
from bot.blocks.stages import button, extension_button, section, stage_line, stage_name, why
from bot.domain.vocabulary import Move, Stage, State
from bot.services.models import CaseView


def _fee(case: CaseView, locale: str) -> str:
    return f"the {money(case.money(case.fee_minor), locale)} fee" if case.fee_minor is not None else "the fee"


def fee_text(case: CaseView, locale: str) -> str:
    at_stake = case.at_stake
    if case.fee_minor is None:
        return f"The marketplace has set no arbitration fee in {case.currency}; ask them before agreeing."
    fee = case.money(case.fee_minor)
    text = f"The arbitration fee is *{money(fee, locale)}* per party; *{money(at_stake, locale)}* is at stake."
    if fee > at_stake:
        text += " :warning: *The fee is more than the amount at stake.*"
    return text


def party_blocks(case: CaseView, role: str, locale: str) -> list[Block]:
    """A later stage as one party sees it: where it stands, why, and their buttons if it is their move."""
    blocks: list[Block] = [section(f"*{stage_name(case)}* · {stage_line(case, locale)}")]
    if reasons := why(case):
        blocks.append(section(reasons))
    return blocks + party_actions(case, role, locale)


def _respond(case: CaseView, due: str, at_stake: str, locale: str) -> tuple[Block, list[Block]]:
    hourly = case.stage == Stage.HOURLY_DISPUTE
    silence = "a mediator decides" if hourly else f"{at_stake} is refunded to {person(case.client_id)}"
    accept = button(
        "Accept and refund",
        ids.CONCEDE,
        case,
        "primary",
        title="Accept and refund?",
        text=f"{at_stake} will be refunded to the client. This cannot be undone.",
        confirm="Refund",
        deny="Back",
    )
    asked = section(f"*Please answer{due}.* If you do not, {silence}.")
    return asked, [accept, button("Contest" if hourly else "Dispute", ids.CONTEST, case)]


def _answer_position(case: CaseView, due: str, at_stake: str, locale: str) -> tuple[Block, list[Block]]:
    asked = section(
        f"*Please answer{due}.* Accept {person(case.freelancer_id)}'s position (nothing is refunded) "
        "or reject it and a mediator takes the case. If you do not answer, the case closes with no refund."
    )
    accept = button(
        "Accept their position",
        ids.POSITION_ACCEPT,
        case,
        title="Accept and close?",
        text="The case closes and nothing more is refunded.",
        confirm="Accept",
        deny="Back",
    )
    reject = button(
        "Reject: ask a mediator",
        ids.POSITION_REJECT,
        case,
        "danger",
        title="Ask a mediator?",
        text=f"A mediator takes the case and decides how much of the {at_stake} is refunded. You cannot take "
        "this back.",
        confirm="Ask a mediator",
        deny="Back",
    )
    return asked, [accept, reject]


def _answer_proposal(case: CaseView, due: str, at_stake: str, locale: str) -> tuple[Block, list[Block]]:
    after = "arbitration is offered" if case.binding else "the case closes with no further refund"
    asked = section(f"*Accept or reject the proposal{due}.* If either of you rejects, {after}.")
    proposal = money(case.money(case.proposal_minor or 0), locale)
    if case.binding:
        fee = f"a fee of {money(case.money(case.fee_minor), locale)} each" if case.fee_minor is not None else "a fee"
        then = f"Arbitration is offered instead: for {fee}, an arbitrator decides the {at_stake}, bindingly."
    else:
        then = f"The case closes and nothing more is refunded of the {at_stake}."
    reject = button(
        "Reject proposal",
        ids.PROPOSAL_REJECT,
        case,
        "danger",
        title="Reject the proposal?",
        text=f"The {proposal} proposed is not refunded. {then} You cannot take this back.",
        confirm="Reject",
        deny="Back",
    )
    return asked, [button("Accept proposal", ids.PROPOSAL_ACCEPT, case, "primary"), reject]


def _arbitrate(case: CaseView, due: str, at_stake: str, locale: str) -> tuple[Block, list[Block]]:
    asked = section(
        f"{fee_text(case, locale)}\nAgree and pay{due} to have an arbitrator decide, bindingly. "
        "If neither of you pays, the client is refunded; if only one pays, that party wins."
    )
    pay = button(
        "Agree and pay the fee",
        ids.ARBITRATE,
        case,
        "primary",
        title="Go to arbitration?",
        text=f"You agree to pay {_fee(case, locale)} and to binding arbitration of the {at_stake}: the "
        "arbitrator's award is final.",
        confirm="Agree and pay",
        deny="Back",
    )
    return asked, [pay]


def _ask_again(case: CaseView, due: str, at_stake: str, locale: str) -> tuple[Block | None, list[Block]]:
    close = button(
        "Close the case",
        ids.WITHDRAW,
        case,
        title="Close the case?",
        text=f"The case closes as it stands: {money(case.money(case.refunded_minor), locale)} refunded, nothing "
        f"more of the {money(case.money(case.requested_minor), locale)} asked. You cannot reopen it.",
        confirm="Close",
        deny="Keep it open",
    )
    return None, [button("Request again", ids.ASK_AGAIN, case, "primary"), close]


# The moves a party is asked to make (one at a time, in this order), as against what they may always do: what each
# asks, and its buttons.
_ASKED: dict[Move, Callable[[CaseView, str, str, str], tuple[Block | None, list[Block]]]] = {
    Move.RESPOND: _respond,
    Move.ANSWER_POSITION: _answer_position,
    Move.ANSWER_PROPOSAL: _answer_proposal,
    Move.ARBITRATE: _arbitrate,
    Move.ASK_AGAIN: _ask_again,
}


def party_actions(case: CaseView, role: str, locale: str) -> list[Block]:
    """What this party is asked to do now, with its deadline and what silence means, and their buttons."""
    blocks: list[Block] = []
    buttons: list[Block] = []
    moves = case.moves.get(role, [])
    if asked := next((move for move in _ASKED if move in moves), None):
        due = f" by {when(case.due)}" if case.due else ""
        text, buttons = _ASKED[asked](case, due, money(case.at_stake, locale), locale)
        blocks += [text] if text is not None else []
    if Move.APPEAL in moves and (until := case.appealable_until):
        silence = "the arbitration offer stands" if case.state == State.ARBITRATION_OFFERED else "the outcome is final"
        ends = " and the arbitration offer ends" if case.state == State.ARBITRATION_OFFERED else ""
        blocks.append(
            section(
                f"*Think this is wrong?* Either of you may ask once, with a reason, until {when(until)}, for a second "
                f"mediator to review it, at no cost{ends}. Their review is final. If nobody asks, {silence}."
            )
        )
        buttons.append(button("Ask for a review", ids.APPEAL, case))
    if extend := extension_button(case, role):
        buttons.append(extend)
    if Move.WITHDRAW in moves and not any(b["action_id"] == ids.WITHDRAW for b in buttons):
        buttons.append(
            button(
                "Withdraw",
                ids.WITHDRAW,
                case,
                title="Withdraw the case?",
                text="The case closes and nothing more is refunded.",
                confirm="Withdraw",
                deny="Keep it",
            )
        )
    if Move.ADD_EVIDENCE in moves:
        buttons.append(button("Add evidence", ids.EVIDENCE_ADD, case))
    if buttons:
        blocks.append(kit.actions(ids.PARTY_ACTIONS, buttons))
    return blocks


def reminder(case: CaseView, role: str, hours_left: float, permalink: str | None, locale: str) -> list[Block]:
    """Design §3: names what is waiting, until when, and what happens if nobody acts; the buttons come along."""
    left = f"about {round(hours_left)} hours" if hours_left >= 2 else "less than two hours"
    blocks: list[Block] = [
        section(
            f":alarm_clock: *Reminder:* case {case.id} on *{escape(case.item_label)}* is waiting for you ({left} left)."
        )
    ]
    blocks += party_blocks(case, role, locale)
    if permalink:
        blocks.append(kit.context(f"<{permalink}|Open the case thread>"))
    return blocks


def appeal_reminder(case: CaseView, role: str, permalink: str | None, locale: str) -> list[Block]:
    """Design §2.4: before the appeal window ends, to a party who may still ask for a review; the button comes along."""
    until = when(case.appealable_until) if case.appealable_until else "soon"
    blocks: list[Block] = [
        section(
            f":alarm_clock: *Reminder:* on case {case.id} (*{escape(case.item_label)}*) you may ask for a second "
            f"mediator's review until {until}. Nothing is needed if you accept the outcome."
        )
    ]
    blocks += party_blocks(case, role, locale)
    if permalink:
        blocks.append(kit.context(f"<{permalink}|Open the case thread>"))
    return blocks
