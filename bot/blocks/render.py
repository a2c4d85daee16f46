"""Surface name → builder: how the relay turns an outbox row into what Slack shows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.blocks import desk, home, refusals, request, stages
from bot.blocks.format import DEFAULT_LOCALE
from bot.blocks.kit import Block
from bot.domain.errors import Refused
from bot.domain.vocabulary import Stage, State
from bot.services.messages import Surface
from bot.services.models import CaseView


@dataclass(frozen=True)
class Rendered:
    text: str  # the notification and screen-reader text
    blocks: list[Block]
    metadata: str | None = None  # a view's private_metadata (the desk's filters and pages)


_CASE_SURFACES: dict[str, tuple[Callable[..., list[Block]], bool, str]] = {
    # surface: (builder, takes the thread permalink, notification text)
    Surface.FREELANCER_REQUEST: (request.freelancer_request, True, "Refund request {id}: {state}"),
    Surface.CLIENT_REQUEST: (request.client_request, True, "Your refund request {id}: {state}"),
    Surface.THREAD_ROOT: (request.thread_root, False, "Case {id}"),
    Surface.TIMELINE: (request.timeline_entry, False, "Case {id}: {state}"),
}


def render(surface: str, view: dict[str, Any], permalink: str | None, locale: str = DEFAULT_LOCALE) -> Rendered:
    """What Slack shows for an outbox row, amounts in the reader's locale (their DMs and Home; en_US elsewhere)."""
    if surface == Surface.REFUSAL:
        text = refusals.message(Refused.from_json(view), locale)
        return Rendered(text, request.notice(text))
    if surface == Surface.REMINDER:
        fields = dict(view)
        hours_left = float(fields.pop("hours_left"))
        role = fields.pop("role")
        case = CaseView.from_json(fields)
        if case.stage != Stage.REQUEST or case.state != State.AWAITING_FREELANCER:
            return Rendered(
                f"Reminder: case {case.id} is waiting for your answer",
                stages.reminder(case, role, hours_left, permalink, locale),
            )
        return Rendered(
            f"Reminder: refund request {case.id} is waiting for your answer",
            request.reminder(case, hours_left, permalink, locale),
        )
    if surface == Surface.EVIDENCE:
        return Rendered(f"Evidence on case {view['case_id']}", stages.evidence_entry(view))
    if surface == Surface.QUESTION:
        return Rendered("A mediator has a question for you", stages.question_dm(view))
    if surface == Surface.QUESTION_LINE:
        return Rendered("A mediator asked a question", stages.question_line(view))
    if surface == Surface.REVIEW_REMINDER:
        fields = dict(view)
        closes_at = datetime.fromisoformat(fields.pop("closes_at"))
        case = CaseView.from_json(fields)
        blocks = request.review_reminder(case, closes_at, locale)
        return Rendered(f"The dispute window for {case.item_label} closes soon", blocks)
    if surface in (Surface.APPEAL_REMINDER, Surface.APPEAL_CLOSED):
        fields = dict(view)
        role, final = fields.pop("role", "client"), fields.pop("final", True)
        case = CaseView.from_json(fields)
        if surface == Surface.APPEAL_CLOSED:
            return Rendered(f"Case {case.id}: no review was asked for", stages.appeal_closed(case, final))
        blocks = stages.appeal_reminder(case, role, permalink, locale)
        return Rendered(f"Reminder: you may ask for a review of case {case.id}", blocks)
    if surface == Surface.EXTENDED:
        fields = dict(view)
        by = fields.pop("by")
        case = CaseView.from_json(fields)
        return Rendered(f"Case {case.id}: deadline extended", stages.extension_notice(case, by))
    if surface in (Surface.PAYOUT_HELD, Surface.PAYOUT_REFUSED):
        case = CaseView.from_json(view)  # the entry's fields are not the case's, and are left out
        if surface == Surface.PAYOUT_HELD:
            return Rendered(f"Case {case.id}: the payout is on hold", stages.payout_held(case))
        blocks = stages.payout_refused(case, view["entry_kind"], view["entry_minor"], view["payout_reason"], locale)
        return Rendered(f"Payout refused on case {case.id}", blocks)
    if surface == Surface.PAYOUT_HANDLED:
        fields = dict(view)
        action, by, entry_id, why = (fields.pop(key) for key in ("action", "by", "entry_id", "why"))
        case = CaseView.from_json(fields)
        return Rendered(
            f"Case {case.id}: payout {action.replace('_', ' ')}", stages.payout_handled(case, action, by, entry_id, why)
        )
    if surface == Surface.CASE_CARD:
        case = CaseView.from_json(view)
        text = f"Case {case.id}: {stages.STATES.get(case.state, case.state)}"
        return Rendered(text, stages.case_card(case, locale, view.get("records")))
    if surface == Surface.DESK:
        blocks, metadata = desk.desk(view, locale)
        return Rendered("Mediation desk", blocks, metadata)
    if surface == Surface.HOME:
        view = {
            "user": view["user"],
            "waiting": [CaseView.from_json(case) for case in view["waiting"]],
            "others": [CaseView.from_json(case) for case in view["others"]],
            "more": view["more"],
        }
        blocks = home.home(view["user"], view["waiting"], view["others"], view["more"], locale)
        return Rendered("Refunds", blocks)
    builder, linked, summary = _CASE_SURFACES[surface]
    case = CaseView.from_json(view)
    blocks = builder(case, permalink, locale) if linked else builder(case, locale)
    text = summary.format(id=case.id, state=request.OUTCOMES.get(case.state, case.state))
    return Rendered(text, blocks)
