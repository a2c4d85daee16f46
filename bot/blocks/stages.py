"""What the parties and mediators see after the request stage (design §3): the state of a dispute, escrow
refund, mediation or arbitration, the buttons of whoever must act, the mediators' case card, evidence and
questions. Mediator-only evidence is never an input here: parties' surfaces carry no evidence at all."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.blocks import ids, kit
from bot.blocks.format import (
    DEFAULT_LOCALE,
    IN_THE_THREAD,
    dated,
    duration,
    escape,
    money,
    person,
    pieces,
    quote,
    size,
    trim,
    when,
)
from bot.blocks.kit import Block
from bot.domain.events import Evidence
from bot.domain.files import EvidenceFile
from bot.domain.visibility import party_may_read
from bot.domain.vocabulary import ASSIGNER, Move, Stage, State
from bot.services.models import CaseView
from bot.services.surfaces import FileAlteredShown, FileCopyShown, QuestionShown

STATES = {
    State.AWAITING_FREELANCER: "waiting for the freelancer",
    State.APPROVED: "approved",
    State.ADJUSTED: "partly refunded",
    State.DECLINED: "declined",
    State.LAPSED: "lapsed",
    State.WITHDRAWN: "withdrawn",
    State.CLOSED_OUT_OF_WINDOW: "closed: no route left",
    State.REFUNDED: "refunded",
    State.IN_REVIEW: "with a mediator for a decision",
    State.DECIDED: "decided by a mediator",
    State.FREELANCER_DISPUTED: "disputed by the freelancer",
    State.RELEASED: "closed without a further refund",
    State.UNASSIGNED: "waiting for a mediator",
    State.CLAIMED: "with a mediator",
    State.PROPOSED: "a proposal awaits both parties",
    State.SETTLED: "settled",
    State.ARBITRATION_OFFERED: "arbitration offered",
    State.ARBITRATION: "in arbitration",
    State.AWARDED: "closed by an arbitration award",
    State.APPEAL_REQUESTED: "appealed: a second mediator reviews it",
    State.REVIEWED: "reviewed on appeal",
}
STAGES = {
    Stage.REQUEST: "Refund request",
    Stage.HOURLY_DISPUTE: "Hourly dispute",
    Stage.ESCROW_REFUND: "Escrow refund",
    Stage.MEDIATION: "Mediation",
    Stage.APPEAL: "Appeal",
}


def section(text: str) -> Block:
    return kit.section(trim(text))


def stage_name(case: CaseView) -> str:
    if case.stage == Stage.MEDIATION and not case.binding:
        return "Non-binding mediation"
    return STAGES.get(case.stage, case.stage)


def _time(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min"


def _mediator(case: CaseView) -> str:
    return person(case.mediator_id) if case.mediator_id else "the mediator"


def _actor(case: CaseView) -> str:
    if case.updated_by == ASSIGNER:
        return "refund-bot's assignment"
    return "the deadline" if case.by_deadline else person(case.updated_by)


def appealed(case: CaseView, locale: str) -> str:
    """The outcome an appeal is about, in a few words: "the decision (*$40.00* refunded of $100.00)"."""
    appeal = case.appeal or {}
    at_stake = money(case.at_stake, locale)
    amount = money(case.money(appeal.get("amount_minor", 0)), locale)
    match appeal.get("outcome"):
        case State.DECIDED:
            return f"the decision (*{amount}* refunded of the {at_stake})"
        case State.ARBITRATION_OFFERED:
            return f"the rejected proposal (*{amount}* of the {at_stake})"
    return f"the close of the case after the rejected proposal (nothing refunded of the {at_stake})"


def _open_to_appeal(case: CaseView) -> str:
    until = case.appealable_until
    return f" Open to appeal until {when(until)}." if until else ""


def stage_line(case: CaseView, locale: str, pointer: str = IN_THE_THREAD) -> str:
    """The current step of a later stage: what happened, by whom, when, for how much, and why; a cut marked with
    ``pointer``, which says where to read the whole."""
    line = _waiting_line(case, locale, pointer) or _outcome_line(case, locale)
    return line or f"*{STATES.get(case.state, case.state).capitalize()}*"


def _waiting_line(case: CaseView, locale: str, pointer: str) -> str | None:
    """A stage still waiting on someone: a party's answer, a mediator, or an arbitrator."""
    at_stake = money(case.at_stake, locale)
    by, at = _actor(case), dated(case.at)
    proposal = money(case.money(case.proposal_minor or 0), locale)
    match case.state:
        case State.AWAITING_FREELANCER if case.stage == Stage.HOURLY_DISPUTE:
            claimed = f"{_time(case.disputed_minutes)} ({at_stake})" if case.disputed_minutes else at_stake
            text = f":scales: {person(case.client_id)} disputed {claimed} of this week {at}."
            if case.dispute_reason:
                text += f"\n*Reasons*\n{quote(case.dispute_reason, 800, pointer)}"
            return text
        case State.AWAITING_FREELANCER:
            return f":scales: {person(case.client_id)} started the escrow refund process for {at_stake} {at}."
        case State.IN_REVIEW:
            if case.by_deadline:
                return f":hourglass: The freelancer did not answer by {at}; a mediator will decide on {at_stake}."
            if case.mediator_id:
                return f":bust_in_silhouette: {person(case.mediator_id)} is reviewing the dispute ({at_stake})."
            return f":speech_balloon: {by} contested the dispute {at}; a mediator will decide on {at_stake}."
        case State.FREELANCER_DISPUTED:
            return f":speech_balloon: {by} disputed the escrow refund {at}."
        case State.UNASSIGNED:
            kind = "Non-binding mediation" if not case.binding else "Mediation"
            return f":busts_in_silhouette: {kind} requested by {by} {at} for {at_stake}; waiting for a mediator."
        case State.CLAIMED:
            return f":bust_in_silhouette: {_mediator(case)} is mediating ({at_stake} in dispute)."
        case State.PROPOSED:
            answered = ", ".join(f"{role} {answer}ed" for role, answer in sorted(case.answers.items()))
            line = f":memo: {_mediator(case)} proposes a refund of *{proposal}* of the {at_stake}."
            if answered:
                line += f" So far: {answered}."
            return line
        case State.ARBITRATION_OFFERED:
            paid = ", ".join(f"the {role}" for role in sorted(case.answers)) or "nobody yet"
            line = f":classical_building: Binding arbitration is offered on {at_stake}. Agreed and paid: {paid}."
            return line + _open_to_appeal(case)
        case State.ARBITRATION:
            return f":classical_building: Both parties paid; {_mediator(case)} records the award."
        case State.APPEAL_REQUESTED:
            appeal = case.appeal or {}
            asked = dated(datetime.fromisoformat(appeal["at"])) if appeal.get("at") else at
            who = person(appeal["by"]) if appeal.get("by") else "A party"
            line = f":scales: {who} asked {asked} for a second mediator to review {appealed(case, locale)}."
            if case.mediator_id:
                return line + f" {person(case.mediator_id)} is reviewing it."
            first = appeal.get("first_mediator")
            return line + " Waiting for a mediator" + (f" other than {person(first)}." if first else ".")
    return None


def _outcome_line(case: CaseView, locale: str) -> str | None:
    """An outcome: who decided what, and whether it may still be appealed."""
    at_stake = money(case.at_stake, locale)
    refunded = money(case.money(case.refunded_minor), locale)
    by, at = _actor(case), dated(case.at)
    match case.state:
        case State.REFUNDED:
            return f":white_check_mark: *Refunded* {refunded} to {person(case.client_id)} {at} ({by})."
        case State.RELEASED:
            line = f":lock: *Closed* {at} ({by}): the {at_stake} stays with {person(case.freelancer_id)}."
            return line + _open_to_appeal(case)
        case State.DECIDED:
            line = f":judge: *Decided* by {by} {at}: {refunded} refunded of the {at_stake} disputed."
            return line + (_open_to_appeal(case) if case.open else " Final.")
        case State.REVIEWED:
            outcome = money(case.money(case.outcome_minor or 0), locale)
            before = (case.appeal or {}).get("amount_minor")
            verdict = (
                "confirmed"
                if before is None or before == case.outcome_minor
                else f"changed from {money(case.money(before), locale)}"
            )
            return f":judge: *Reviewed on appeal* by {by} {at}: {outcome} refunded of the {at_stake}, {verdict}. Final."
        case State.SETTLED:
            return f":handshake: *Settled* {at}: both parties accepted; {refunded} refunded."
        case State.AWARDED:
            ref = f" (award {escape(case.award_reference)})" if case.award_reference else ""
            return f":classical_building: *Awarded* by arbitration {at}{ref}: {refunded} refunded. Binding."
        case State.WITHDRAWN:
            return f":leftwards_arrow_with_hook: *Withdrawn* by {by} {at}."
        case State.CLOSED_OUT_OF_WINDOW:
            return f":no_entry_sign: *Closed* {at}: no route remained for this request."
    return None


def why(case: CaseView, *, whole: bool = False, pointer: str = IN_THE_THREAD) -> str:
    """Both parties see every rationale (design §2.2): the freelancer's statement and the mediator's reasons; cut
    where a message has no room, marked with ``pointer`` (``whole``: the case thread, which carries them whole)."""

    def said(text: str, limit: int) -> str:
        return quote(text, None if whole else limit, pointer)

    parts = []
    if case.statement and case.stage != Stage.REQUEST:
        parts.append(f"*{person(case.freelancer_id)}'s statement*\n{said(case.statement, 800)}")
    if case.appeal and case.appeal.get("reason"):
        parts.append(f"*The {case.appeal['role']}'s reason for appealing*\n{said(case.appeal['reason'], 600)}")
    if case.rationale:
        whose = "The reviewing mediator's" if case.state == State.REVIEWED else "Mediator's"
        parts.append(f"*{whose} rationale*\n{said(case.rationale, 800)}")
    if case.rule:
        parts.append(f"*Rule applied:* {escape(case.rule_title or case.rule)}")
    if case.cited:
        parts.append(relied_on(case.cited))
    if case.deadline_reason:
        parts.append(f"*Why:* {escape(case.deadline_reason)}.")
    return "\n".join(parts)


FINGERPRINT = 12  # hex digits of a SHA-256 shown beside a file: enough to tell two apart at a glance
CITED_SHOWN = 10  # evidence items quoted under an outcome; the rest are named by number


def relied_on(cited: list[dict[str, Any]]) -> str:
    """The evidence a mediator's outcome rests on, as either party may read it: what both sides see, quoted
    briefly with its links; a mediator-only item by its number alone."""
    lines = ["*Evidence relied on*"]
    for item in cited[:CITED_SHOWN]:
        head = f"#{item['seq']} from the {item['role']}"
        if item["mediator_only"]:
            lines.append(f"• {head} (seen by the mediator only)")
            continue
        words = f": {trim(escape(' '.join(item['text'].split())), 150, '…')}" if item.get("text") else ""
        links = " ".join(f"<{escape(link)}|link {n}>" for n, link in enumerate(item.get("links") or [], 1))
        files = ", ".join(
            f"{escape(trim(each['name'], 80, '…'))} (`{each['sha256'][:FINGERPRINT]}…`)"
            for each in item.get("files") or []
        )
        lines.append(f"• {head}{words}{' ' + links if links else ''}{' · ' + files if files else ''}")
    if rest := cited[CITED_SHOWN:]:
        lines.append("• and " + ", ".join(f"#{item['seq']}" for item in rest) + " (in the case thread)")
    return "\n".join(lines)


def extension_button(case: CaseView, role: str) -> Block | None:
    """Design §2.2: the party the case waits on may ask once per case for more time while away."""
    if not (case.may(role, Move.EXTEND) and case.due):
        return None
    more = case.terms.span("extension")
    return button(
        f"I'm away: {duration(more)} more",
        ids.EXTEND,
        case,
        title=f"Ask for {duration(more)} more?",
        text=f"The deadline moves to {when(case.due + more)} and the other side is told. You can ask once per case.",
        confirm="Ask for more time",
        deny="Back",
    )


def extension_notice(case: CaseView, by: str) -> list[Block]:
    """Told in the case thread and to the other side: an in-place DM edit notifies nobody."""
    due = when(case.due) if case.due else "later"
    more = duration(case.terms.span("extension"))
    return [
        section(
            f":hourglass_flowing_sand: {person(by)} is away and asked for {more} more on case "
            f"{case.id} (*{escape(case.item_label)}*). The deadline is now {due}; the reminders move with it."
        )
    ]


def button(label: str, action_id: str, case: CaseView, style: str | None = None, **confirm: str) -> Block:
    """A button on this case (its id is the value), with a confirm dialog when ``confirm`` names its parts."""
    return kit.button(label, action_id, case.id, style, kit.confirm(**confirm) if confirm else None)


PAYOUT_HELD = (
    ":hourglass: The payout of this case is on hold: the marketplace has not carried it out yet. "
    "A mediator is looking into it; nothing is needed from you now."
)


def payout_held(case: CaseView) -> list[Block]:
    """The case thread: the parties hear that the money has not moved (the reason is the marketplace's to give)."""
    return [section(f"Case {case.id}: {PAYOUT_HELD}")]


def evidence_entry(item: Evidence, *, names: bool = True) -> list[Block]:
    """One piece of evidence as a reply in a thread; mediator-only pieces only ever reach the card's thread (and,
    without their files' names, their sender's DM)."""
    label = "answer" if item.answers else "evidence"
    private = "" if party_may_read(item) else " · *mediator only*"
    lines = [f":paperclip: {label.capitalize()} #{item.seq} from {person(item.author)} ({item.role}){private}"]
    if item.answers:
        lines.append(f"*Question*\n{quote(item.answers, 500)}")
    if item.text:
        lines.append(quote(item.text, None))  # a thread's reply: the one place it is read whole
    lines += [f"• <{escape(link)}>" for link in item.links]
    lines += [file_line(each) if names else unnamed_file_line(n, each) for n, each in enumerate(item.files, 1)]
    lines.append(f"Added {when(item.at)}; frozen.")
    return [kit.section(piece) for piece in pieces("\n".join(lines))]


def file_line(file: EvidenceFile, locale: str = DEFAULT_LOCALE) -> str:
    """One file of a piece of evidence: its name, size and fingerprint, which any later copy is checked against."""
    fingerprint = f"SHA-256 `{file.sha256[:FINGERPRINT]}…`"
    return f"• :page_facing_up: {escape(trim(file.name, 200, '…'))} ({size(file.size, locale)}, {fingerprint})"


def unnamed_file_line(n: int, file: EvidenceFile, locale: str = DEFAULT_LOCALE) -> str:
    """A file where only its mediators may read its name: by its number, size and fingerprint."""
    return f"• :page_facing_up: file {n} ({size(file.size, locale)}, SHA-256 `{file.sha256[:FINGERPRINT]}…`)"


def file_comment(shown: FileCopyShown, locale: str = DEFAULT_LOCALE) -> str:
    """The words a copy is shared with: Slack formats them as a message's text, so the name is escaped (no
    mention or link in it works) and loses any bidi control."""
    file = shown.file
    return kit.shown(
        f"Evidence #{shown.seq} from the {shown.role}: {escape(trim(file.name, 200, '…'))} "
        f"({size(file.size, locale)}), a copy checked against the SHA-256 it had when added: {file.sha256}"
    )


def file_changed(shown: FileCopyShown) -> str:
    """Said where a copy would have gone, when the file no longer reads as it did when added."""
    file = shown.file
    return kit.shown(
        f":warning: {escape(trim(file.name, 200, '…'))} (evidence #{shown.seq}, from the {shown.role}) was changed or "
        f"removed in Slack after it was added, so no copy is shared. Its SHA-256 when added: {file.sha256}"
    )


def file_altered(shown: FileAlteredShown) -> str:
    """Said where a file was shown, once Slack says it changed or went and a read confirms it."""
    file, what = shown.file, "removed" if shown.found == "removed" else "changed"
    return kit.shown(
        f":warning: {escape(trim(file.name, 200, '…'))} (evidence #{shown.seq}, from the {shown.role}) was {what} "
        f"in Slack after it was added. The copy shared with the case is the file as added (SHA-256 {file.sha256})."
    )


def evidence_kept(item: Evidence) -> list[Block]:
    """Its sender's DM: a mediator-only piece reaches no message of the other party's, so nothing they see shows it
    was added; this says so, and who does see it."""
    said = (
        f":lock: *Added to case {item.case_id} for the mediator only*: the other party does not see it. "
        f"It is evidence #{item.seq}; a mediator who cites it shows the parties its number alone."
    )
    return [section(said), *evidence_entry(item, names=False)]


def question_dm(asked: QuestionShown) -> list[Block]:
    """The party's DM: the question, and Answer (its value is the question's id; the question stays stored)."""
    case = asked.case
    return [
        section(
            f":question: {person(asked.by)}, the mediator of case {case.id} (*{escape(case.item_label)}*), "
            "asks you:\n"
            f"{quote(asked.question, 2000)}\nYour answer goes into the case thread, where both parties see it."
        ),
        kit.actions(ids.PARTY_ACTIONS, [kit.button("Answer", ids.ANSWER_QUESTION, str(asked.question_id), "primary")]),
    ]


def question_line(asked: QuestionShown) -> list[Block]:
    return [section(f":question: {person(asked.by)} asked {person(asked.asked)}:\n{quote(asked.question, 2000)}")]


def appeal_closed(case: CaseView, final: bool) -> list[Block]:
    """The case thread: nobody asked for a review in time."""
    then = (
        "the outcome is final and the case is closed"
        if final
        else f"the arbitration offer stands{f' until {when(case.due)}' if case.due else ''}"
    )
    return [section(f":lock: Case {case.id}: nobody asked for a review of the outcome in time, so {then}.")]
