"""Messages of the refund-request stage: the freelancer's DM, the client's DM and the case thread (design §3)."""

from __future__ import annotations

from datetime import datetime

from bot.blocks import ids, kit, party, stages
from bot.blocks.format import IN_THE_THREAD, dated, escape, money, person, pieces, quote, trim, when, window_end
from bot.blocks.kit import Block
from bot.domain.routing import RouteKind
from bot.domain.vocabulary import Move, Stage, State
from bot.services.models import CaseView

OUTCOMES = stages.STATES


def _section(text: str) -> Block:
    return kit.section(trim(text))


def _facts(case: CaseView, locale: str) -> Block:
    before = case.money(case.refunded_before_minor)
    return kit.section(
        fields=[
            f"*Contract*\n{escape(case.contract_title)} ({escape(case.contract_id)})",
            f"*Item*\n{escape(case.item_label)}",
            f"*Paid*\n{money(case.money(case.paid_minor), locale)}",
            f"*Already refunded*\n{money(before, locale)}",
            f"*Requested*\n{money(case.money(case.requested_minor), locale)}",
            f"*Case*\n{case.id} · policy {escape(case.policy_version)}",
        ]
    )


def _thread_link(permalink: str | None) -> Block:
    text = f"<{permalink}|Open the case thread> for the full timeline." if permalink else "Case thread: posting…"
    return kit.context(text)


def outcome_line(case: CaseView, locale: str) -> str:
    """What happened, by whom, when and for how much: the line both parties read after a decision."""
    if case.stage != Stage.REQUEST or case.state == State.CLOSED_OUT_OF_WINDOW:
        return stages.stage_line(case, locale)
    by, at = person(case.updated_by), dated(case.at)
    refunded = money(case.money(case.refunded_minor), locale)
    requested = money(case.money(case.requested_minor), locale)
    match case.state:
        case State.APPROVED:
            return f":white_check_mark: *Approved* by {by} {at}: {refunded} refunded in full."
        case State.ADJUSTED:
            return f":part_alternation_mark: *Adjusted* by {by} {at}: {refunded} refunded of the {requested} asked."
        case State.DECLINED:
            return f":no_entry: *Declined* by {by} {at}."
        case State.LAPSED:
            return f":hourglass: *Lapsed* {at}: no answer came before the deadline."
        case State.WITHDRAWN:
            return f":leftwards_arrow_with_hook: *Withdrawn* by {by} {at}."
    return f"*{OUTCOMES.get(case.state, case.state).capitalize()}*"


def moved_on(case: CaseView, locale: str) -> list[Block]:
    """A reminder or a question once the case has moved past it: where the case stands now, and no button (what
    the party may do now is in their message about the case, kept up to date)."""
    return [
        _section(f":information_source: *Out of date: case {case.id} has moved on.* {outcome_line(case, locale)}"),
        kit.context("What you can do now is in refund-bot's message about this case, kept up to date."),
    ]


def question_answered(case: CaseView) -> list[Block]:
    """A mediator's question once its party answered: the answer is in the case thread, and there is nothing more
    to press here."""
    return [
        _section(
            f":white_check_mark: *Answered.* Your answer to the mediator of case {case.id} "
            f"(*{escape(case.item_label)}*) is in the case thread, where both parties see it."
        )
    ]


def next_step_line(case: CaseView) -> str | None:
    """Design §2.3, shown to the client: the route "Request again" will take, and until when."""
    step = case.next_step
    if not step:
        return None

    def end(key: str) -> str:
        return when(window_end(datetime.fromisoformat(step[key]))) if step.get(key) else "earlier"

    until = f" until {end('until')}" if step.get("until") else ""
    match step["route"]:
        case RouteKind.HOURLY_DISPUTE:
            route = f"an *hourly dispute*: this week's review window is open{until}"
        case RouteKind.MEDIATION:
            route = f"*non-binding mediation*: the review window has closed, but payment was recent enough{until}"
        case RouteKind.ESCROW_REFUND:
            route = "the *escrow refund process*: the freelancer answers, then a mediator if you still disagree"
        case _:
            closes = step.get("review_closes_at")
            closed = dated(window_end(datetime.fromisoformat(closes))) if closes else "earlier"
            return (
                f"*Next step:* none. The review window closed {closed}, and non-binding "
                f"mediation was possible until {end('mediation_closes_at')}."
            )
    return f"*Next step:* if you still disagree, *Request again* will take this to {route}."


def freelancer_request(case: CaseView, permalink: str | None, locale: str = "en_US") -> list[Block]:
    """The freelancer's DM: the request with Approve / Adjust / Decline while it waits, the outcome after."""
    blocks: list[Block] = [
        kit.header(f"Refund request {case.id}"),
        _section(
            f"{person(case.client_id)} asks for a refund on *{escape(case.item_label)}*.\n"
            f"*Reason*\n{quote(case.reason, pointer=IN_THE_THREAD)}"
        ),
        _facts(case, locale),
    ]
    if case.may("freelancer", Move.ANSWER) and case.due:
        blocks += [
            _section(
                f"*Please answer by {when(case.due)}.* If you do not, the request lapses and "
                f"{person(case.client_id)} can take it further."
            ),
            _answer_buttons(case, locale),
        ]
    else:
        blocks += [kit.divider(), *_later(case, "freelancer", locale)]
    if case.payout_hold:
        blocks.append(kit.context(stages.PAYOUT_HELD))
    blocks.append(_thread_link(permalink))
    return blocks


def _answer_buttons(case: CaseView, locale: str) -> Block:
    """Approve (with a confirm), Adjust, Decline, and the extension while the freelancer has not had it."""
    requested = money(case.money(case.requested_minor), locale)
    return kit.actions(
        ids.REQUEST_ACTIONS,
        [
            stages.button(
                "Approve",
                ids.APPROVE,
                case,
                "primary",
                title="Approve the refund?",
                text=f"{requested} will be refunded to {person(case.client_id)}. This cannot be undone.",
                confirm="Approve",
                deny="Back",
            ),
            stages.button("Adjust", ids.ADJUST, case),
            stages.button("Decline", ids.DECLINE, case, "danger"),
            *filter(None, [stages.extension_button(case, "freelancer")]),
        ],
    )


def _later(case: CaseView, role: str, locale: str) -> list[Block]:
    """After the freelancer's answer: the request's outcome, then the later stage as this party sees it."""
    if case.stage == Stage.REQUEST and case.state != State.CLOSED_OUT_OF_WINDOW:
        blocks: list[Block] = [_section(outcome_line(case, locale) + _response(case))]
        if role == "client" and (step := next_step_line(case)):
            blocks.append(_section(step))
        if case.open:
            blocks += party.party_actions(case, role, locale)
        return blocks
    return party.party_blocks(case, role, locale)


def client_request(case: CaseView, permalink: str | None, locale: str = "en_US") -> list[Block]:
    """The client's DM: confirmation with Withdraw while pending; the outcome and the next step after."""
    requested = money(case.money(case.requested_minor), locale)
    blocks: list[Block] = [
        kit.header(f"Your refund request {case.id}"),
        _section(
            f"You asked {person(case.freelancer_id)} for {requested} on *{escape(case.item_label)}* "
            f"({escape(case.contract_title)}).\n*Your reason*\n{quote(case.reason, pointer=IN_THE_THREAD)}"
        ),
    ]
    if case.may("freelancer", Move.ANSWER) and case.due:
        blocks += [
            _section(f"{person(case.freelancer_id)} has until {when(case.due)} to approve, adjust or decline."),
            kit.actions(
                ids.CLIENT_ACTIONS,
                [
                    stages.button(
                        "Withdraw",
                        ids.WITHDRAW,
                        case,
                        title="Withdraw the request?",
                        text="The case closes and nothing is refunded.",
                        confirm="Withdraw",
                        deny="Keep it",
                    )
                ],
            ),
        ]
    else:
        blocks += [kit.divider(), *_later(case, "client", locale)]
    if case.payout_hold:
        blocks.append(kit.context(stages.PAYOUT_HELD))
    blocks.append(_thread_link(permalink))
    return blocks


def _response(case: CaseView, *, whole: bool = False) -> str:
    if not case.response:
        return ""
    label = "Reason" if case.state == State.DECLINED else "Note"
    return f"\n*{label}*\n{quote(case.response, None if whole else 1500, IN_THE_THREAD)}"


def thread_root(case: CaseView, locale: str = "en_US") -> list[Block]:
    """The top of the case thread in the parties' group DM: what the case is about; replies are its timeline."""
    return [
        _section(
            f":receipt: *Case {case.id}*: {person(case.client_id)} asks {person(case.freelancer_id)} for a refund of "
            f"{money(case.money(case.requested_minor), locale)} on *{escape(case.item_label)}* "
            f"({escape(case.contract_title)}). "
            "Every step of this case is posted in this thread."
        )
    ]


def timeline_entry(case: CaseView, locale: str = "en_US") -> list[Block]:
    """One step of the case, as a reply in its thread: where what people wrote is read whole, however long, over
    as many sections as it takes (their DMs show it cut, and say it is here)."""
    if case.stage == Stage.REQUEST and case.state == State.AWAITING_FREELANCER:
        text = (
            f"{person(case.client_id)} requested {money(case.money(case.requested_minor), locale)} "
            f"{dated(case.at)}.\n*Reason*\n{quote(case.reason, None)}"
        )
        if case.due:
            text += f"\n{person(case.freelancer_id)} has until {when(case.due)} to answer."
    elif case.stage == Stage.REQUEST:
        text = outcome_line(case, locale) + _response(case, whole=True)
    else:
        text = f"*{stages.stage_name(case)}* · " + stages.stage_line(case, locale)
        if reasons := stages.why(case, whole=True):
            text += "\n" + reasons
        if case.due:
            text += f"\nNext deadline: {when(case.due)}."
    return [kit.section(piece) for piece in pieces(text)]


def review_reminder(case: CaseView, closes_at: datetime, locale: str = "en_US") -> list[Block]:
    """Design §2.2: the client of a paid week is reminded before the week's dispute window closes, while their
    request may still become a dispute; after it, only non-binding mediation remains."""
    requested = money(case.money(case.requested_minor), locale)
    text = (
        f":alarm_clock: *The dispute window for {escape(case.item_label)} closes {when(window_end(closes_at))}.* "
        "After it, disputing this week's hours is no longer possible; only non-binding mediation remains."
    )
    if case.state == State.AWAITING_FREELANCER:
        due = f" (due {when(case.due)})" if case.due else ""
        text += (
            f"\nYour refund request {case.id} for {requested} is still waiting for {person(case.freelancer_id)}'s "
            f"answer{due}. If it is declined or lapses before the window closes, *Request again* opens a dispute."
        )
        return [_section(text)]
    text += (
        f"\nYour refund request {case.id} was {OUTCOMES.get(case.state, case.state)}. Press *Request again* before "
        "then to open a dispute of this week."
    )
    return [_section(text), *party.party_actions(case, "client", locale)]


def notice(text: str) -> list[Block]:
    return [_section(text)]


def reminder(case: CaseView, hours_left: float, permalink: str | None, locale: str = "en_US") -> list[Block]:
    """Design §3: a reminder names what is waiting, until when, and what happens if nobody acts."""
    left = f"about {round(hours_left)} hours" if hours_left >= 2 else "less than two hours"
    return [
        _section(
            f":alarm_clock: *Reminder:* {person(case.client_id)}'s refund request {case.id} for "
            f"{money(case.money(case.requested_minor), locale)} on *{escape(case.item_label)}* is waiting for "
            "your answer "
            f"until {when(case.due) if case.due else 'soon'} ({left} left). If you do not answer, the request "
            f"lapses and {person(case.client_id)} can take it further."
        ),
        _answer_buttons(case, locale),
        _thread_link(permalink),
    ]
