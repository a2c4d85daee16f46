"""Surface → builder: how the relay turns an outbox row into what Slack shows. Each surface has one builder,
handed the surface's typed payload (``bot.services.surfaces``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bot.blocks import card, desk, fairness, home, kit, party, refusals, request, stages
from bot.blocks.format import DEFAULT_LOCALE
from bot.blocks.kit import Block
from bot.domain.vocabulary import Stage, State
from bot.services import surfaces as s
from bot.services.messages import Surface


@dataclass(frozen=True)
class Rendered:
    text: str  # the notification and screen-reader text
    blocks: list[Block]
    metadata: str | None = None  # a view's private_metadata (the desk's filters and pages)


# Each builder: (payload, the case thread's permalink, the reader's locale) → what Slack shows.
Builder = Callable[[Any, str | None, str], Rendered]


def _freelancer_request(shown: s.CaseShown, link: str | None, locale: str) -> Rendered:
    case = shown.case
    return Rendered(f"Refund request {case.id}: {_state(case.state)}", request.freelancer_request(case, link, locale))


def _client_request(shown: s.CaseShown, link: str | None, locale: str) -> Rendered:
    case = shown.case
    return Rendered(f"Your refund request {case.id}: {_state(case.state)}", request.client_request(case, link, locale))


def _thread_root(shown: s.CaseShown, _: str | None, locale: str) -> Rendered:
    return Rendered(f"Case {shown.case.id}", request.thread_root(shown.case, locale))


def _timeline(shown: s.CaseShown, _: str | None, locale: str) -> Rendered:
    case = shown.case
    return Rendered(f"Case {case.id}: {_state(case.state)}", request.timeline_entry(case, locale))


def _card(shown: s.CardShown, _: str | None, locale: str) -> Rendered:
    case = shown.case
    return Rendered(f"Case {case.id}: {_state(case.state)}", card.case_card(case, locale, shown.records))


def _reminder(shown: s.ReminderShown, link: str | None, locale: str) -> Rendered:
    case = shown.case
    if case.stage != Stage.REQUEST or case.state != State.AWAITING_FREELANCER:
        blocks = party.reminder(case, shown.role, shown.hours_left, link, locale)
        return Rendered(f"Reminder: case {case.id} is waiting for your answer", blocks)
    blocks = request.reminder(case, shown.hours_left, link, locale)
    return Rendered(f"Reminder: refund request {case.id} is waiting for your answer", blocks)


def _review_reminder(shown: s.ReviewReminderShown, _: str | None, locale: str) -> Rendered:
    blocks = request.review_reminder(shown.case, shown.closes, locale)
    return Rendered(f"The dispute window for {shown.case.item_label} closes soon", blocks)


def _appeal_reminder(shown: s.AppealReminderShown, link: str | None, locale: str) -> Rendered:
    blocks = party.appeal_reminder(shown.case, shown.role, link, locale)
    return Rendered(f"Reminder: you may ask for a review of case {shown.case.id}", blocks)


def _appeal_closed(shown: s.AppealClosedShown, _: str | None, __: str) -> Rendered:
    return Rendered(f"Case {shown.case.id}: no review was asked for", stages.appeal_closed(shown.case, shown.final))


def _extended(shown: s.ExtendedShown, _: str | None, __: str) -> Rendered:
    return Rendered(f"Case {shown.case.id}: deadline extended", stages.extension_notice(shown.case, shown.by))


def _evidence(shown: s.EvidenceShown, _: str | None, __: str) -> Rendered:
    return Rendered(f"Evidence on case {shown.evidence.case_id}", stages.evidence_entry(shown.evidence))


def _file_copy(shown: s.FileCopyShown, _: str | None, locale: str) -> Rendered:
    """What a copy of a file is shared with: the piece it belongs to, and the fingerprint it was checked against."""
    return Rendered(stages.file_comment(shown, locale), [])


def _file_altered(shown: s.FileAlteredShown, _: str | None, __: str) -> Rendered:
    said = stages.file_altered(shown)
    return Rendered(said, [kit.section(said)])


def _fairness(shown: s.FairnessShown, _: str | None, __: str) -> Rendered:
    return Rendered("The month's fairness report", fairness.fairness_message(shown))


def _mediator_reminder(shown: s.MediatorReminderShown, _: str | None, __: str) -> Rendered:
    blocks = card.mediator_reminder(shown.case, shown.kind, shown.hours_left)
    return Rendered(f"Reminder: case {shown.case.id} waits on its mediators", blocks)


def _assigned(shown: s.AssignedShown, _: str | None, __: str) -> Rendered:
    blocks = card.assigned(shown.case, shown.mediator, shown.by, shown.reader)
    return Rendered(f"Case {shown.case.id} was handed to a mediator", blocks)


def _mediators_late(shown: s.MediatorsLateShown, _: str | None, __: str) -> Rendered:
    blocks = card.mediators_late(shown.case, shown.kind, shown.mediator)
    return Rendered(f"Case {shown.case.id}: a mediator's deadline passed", blocks)


def _evidence_kept(shown: s.EvidenceShown, _: str | None, __: str) -> Rendered:
    item = shown.evidence
    return Rendered(f"Added to case {item.case_id} for the mediator only", stages.evidence_kept(item))


def _question(shown: s.QuestionShown, _: str | None, __: str) -> Rendered:
    return Rendered("A mediator has a question for you", stages.question_dm(shown))


def _question_line(shown: s.QuestionShown, _: str | None, __: str) -> Rendered:
    return Rendered("A mediator asked a question", stages.question_line(shown))


def _payout_held(shown: s.PayoutRefusedShown, _: str | None, __: str) -> Rendered:
    return Rendered(f"Case {shown.case.id}: the payout is on hold", stages.payout_held(shown.case))


def _payout_refused(shown: s.PayoutRefusedShown, _: str | None, locale: str) -> Rendered:
    blocks = card.payout_refused(shown.case, shown.entry_kind, shown.entry_minor, shown.payout_reason, locale)
    return Rendered(f"Payout refused on case {shown.case.id}", blocks)


def _payout_handled(shown: s.PayoutHandledShown, _: str | None, __: str) -> Rendered:
    blocks = card.payout_handled(shown.case, shown.action, shown.by, shown.entry_id, shown.why or "")
    return Rendered(f"Case {shown.case.id}: payout {shown.action.replace('_', ' ')}", blocks)


def _stale_nudges(shown: s.CaseShown, _: str | None, locale: str) -> Rendered:
    return Rendered(f"Case {shown.case.id} has moved on", request.moved_on(shown.case, locale))


def _question_answered(shown: s.CaseShown, _: str | None, __: str) -> Rendered:
    return Rendered(f"Answered: case {shown.case.id}", request.question_answered(shown.case))


def _refusal(shown: s.RefusalShown, _: str | None, locale: str) -> Rendered:
    text = refusals.message(shown.refusal, locale)
    return Rendered(text, request.notice(text))


def _home(shown: s.HomeShown, _: str | None, locale: str) -> Rendered:
    return Rendered("Refunds", home.home(shown.user, shown.waiting, shown.others, shown.more, locale))


def _desk(shown: s.DeskShown, _: str | None, locale: str) -> Rendered:
    blocks, metadata = desk.desk(shown, locale)
    return Rendered("Mediation desk", blocks, metadata)


BUILDERS: dict[Surface, Builder] = {
    Surface.FREELANCER_REQUEST: _freelancer_request,
    Surface.CLIENT_REQUEST: _client_request,
    Surface.THREAD_ROOT: _thread_root,
    Surface.TIMELINE: _timeline,
    Surface.CASE_CARD: _card,
    Surface.EVIDENCE: _evidence,
    Surface.EVIDENCE_KEPT: _evidence_kept,
    Surface.FILE_COPY: _file_copy,
    Surface.FILE_ALTERED: _file_altered,
    Surface.MEDIATOR_REMINDER: _mediator_reminder,
    Surface.MEDIATORS_LATE: _mediators_late,
    Surface.MEDIATOR_ASSIGNED: _assigned,
    Surface.FAIRNESS_REPORT: _fairness,
    Surface.QUESTION: _question,
    Surface.QUESTION_LINE: _question_line,
    Surface.EXTENDED: _extended,
    Surface.REMINDER: _reminder,
    Surface.REVIEW_REMINDER: _review_reminder,
    Surface.APPEAL_REMINDER: _appeal_reminder,
    Surface.APPEAL_CLOSED: _appeal_closed,
    Surface.REFUSAL: _refusal,
    Surface.HOME: _home,
    Surface.DESK: _desk,
    Surface.PAYOUT_HELD: _payout_held,
    Surface.PAYOUT_REFUSED: _payout_refused,
    Surface.PAYOUT_HANDLED: _payout_handled,
    Surface.STALE_NUDGES: _stale_nudges,
    Surface.QUESTION_ANSWERED: _question_answered,
}


def render(surface: str, view: dict[str, Any], permalink: str | None, locale: str = DEFAULT_LOCALE) -> Rendered:
    """What Slack shows for an outbox row, amounts in the reader's locale (their DMs and Home; en_US elsewhere)."""
    known = Surface(surface)
    rendered = BUILDERS[known](s.read(known, view), permalink, locale)
    return replace(rendered, text=kit.shown(rendered.text))  # the notification names an item, a person's words


def _state(state: State) -> str:
    return stages.STATES.get(state, state)
