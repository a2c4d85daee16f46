"""Who hears about what (design §3): the one place that turns what happened into outbox messages.

Each event type causes its messages; the use case queues them in the change's own transaction, and the relay
renders and sends them later. Dedupe keys make each message once per change, whoever retries it.

- ``Opened``: the case's group DM (the thread the timeline hangs from).
- A transition (``AuditEvent``): a timeline line in that thread, both parties' DMs brought up to date in place,
  and the mediators' case card once the case has one. A change that wrote several audit rows is told once.
- ``Extended``: the deadline moved, not the case: the DMs and the card in place, and the thread and the other
  side told who asked and until when (an in-place edit notifies nobody), instead of a timeline line.
- ``Evidence``: both-sides evidence in the case thread; every piece in the card's thread once there is a card,
  and the card's evidence count follows.
- ``Escalated``: the card's thread starts with every piece of evidence added so far.
- ``QuestionAsked``: the asked party's DM with an Answer button, and a line in the case thread.
- ``AppealWindowClosed``: nobody appealed in time: the DMs and the card lose their appeal buttons in place, and the
  thread hears that the outcome is final (or that the arbitration offer stands), instead of a timeline line.
- ``PayoutRefused``: the marketplace would not pay out what the case decided. The mediators' channel hears it with
  the marketplace's reason; the parties' thread hears that the payout is on hold (the reason is the marketplace's
  to give them), instead of a timeline line; the DMs and the card show the hold in place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from bot.domain.errors import Refused
from bot.domain.events import (
    AppealWindowClosed,
    AuditEvent,
    Escalated,
    Event,
    Evidence,
    Extended,
    Opened,
    PayoutHandled,
    PayoutRefused,
    QuestionAsked,
)
from bot.domain.vocabulary import Visibility
from bot.services.messages import Kept, OutboxMessage, Surface, Target, channel, dm, group, home, response_url, thread
from bot.services.models import CaseView


def case_messages(
    events: Sequence[Event],
    view: CaseView,
    card_channel: str | None,
    history: Callable[[], Sequence[Evidence]] = tuple,
    records: Callable[[], dict[str, Any]] | None = None,
) -> list[OutboxMessage]:
    """Everything one change to a case causes, in the order it is to be delivered. ``history`` is the case's
    evidence so far, read only when the case has just escalated; ``records`` the parties' records, read only
    when the case card is updated: only the card carries them, never a party's message."""
    shown = view.as_json()

    def card() -> dict[str, Any]:
        return shown | {"records": records()} if records is not None else shown

    carded = view.escalated and card_channel is not None
    steps = [event.seq for event in events if isinstance(event, AuditEvent)]
    added = [event for event in events if isinstance(event, Evidence)]
    messages: list[OutboxMessage] = []
    if any(isinstance(event, Opened) for event in events):
        root = Kept.THREAD.of(view.id)
        parties = group(view.client_id, view.freelancer_id)
        messages.append(OutboxMessage(view.id, root, parties, Surface.THREAD_ROOT, shown, message_key=root))
    extended = [event for event in events if isinstance(event, Extended)]
    refused = [event for event in events if isinstance(event, PayoutRefused)]
    handled = [event for event in events if isinstance(event, PayoutHandled)]
    closed = [event for event in events if isinstance(event, AppealWindowClosed)]
    if steps:
        step = steps[-1]
        if closed:
            told = shown | {"final": closed[-1].final}
            messages.append(
                OutboxMessage(view.id, f"{view.id}:timeline:{step}", _case_thread(view), Surface.APPEAL_CLOSED, told)
            )
        elif not extended and not refused and not handled:
            line = OutboxMessage(view.id, f"{view.id}:timeline:{step}", _case_thread(view), Surface.TIMELINE, shown)
            messages.append(line)
        messages.append(_kept(view, Kept.FREELANCER, str(step), dm(view.freelancer_id), shown))
        messages.append(_kept(view, Kept.CLIENT, str(step), dm(view.client_id), shown))
        if card_channel is not None and view.escalated:
            messages.append(_kept(view, Kept.CARD, str(step), channel(card_channel), card()))
        if extended:
            messages += _extended(view, shown, extended[-1], step)
    elif added and card_channel is not None and view.escalated:
        messages.append(_kept(view, Kept.CARD, f"evidence:{added[-1].seq}", channel(card_channel), card()))
    if any(isinstance(event, Escalated) for event in events):
        added = list(history())
    for evidence in added:
        messages += _evidence(view, evidence, carded)
    for event in events:
        if isinstance(event, QuestionAsked):
            messages += _question(view, shown, event)
    for payout in refused:
        messages += _payout_refused(view, shown, payout, card_channel)
    for action in handled:
        if card_channel is not None:
            told = shown | {"action": action.action, "by": action.by, "entry_id": action.entry_id, "why": action.reason}
            key = f"{view.id}:payout-{action.action}:{steps[-1] if steps else action.at.isoformat()}"
            messages.append(OutboxMessage(view.id, key, channel(card_channel), Surface.PAYOUT_HANDLED, told))
    return messages


_KEPT_SURFACES = {
    Kept.FREELANCER: Surface.FREELANCER_REQUEST,
    Kept.CLIENT: Surface.CLIENT_REQUEST,
    Kept.CARD: Surface.CASE_CARD,
}


def case_card(view: CaseView, card_channel: str, records: dict[str, Any], version: str) -> OutboxMessage:
    """The case's card as it stands: posted in ``card_channel`` if it never was, brought up to date if it was."""
    return _kept(view, Kept.CARD, version, channel(card_channel), view.as_json() | {"records": records})


def _kept(view: CaseView, kept: Kept, version: str, target: Target, shown: dict[str, Any]) -> OutboxMessage:
    """A message updated in place: the first of its key is posted, each later version edits it."""
    key = kept.of(view.id)
    return OutboxMessage(view.id, f"{key}:{version}", target, _KEPT_SURFACES[kept], shown, message_key=key)


def _case_thread(view: CaseView) -> Target:
    return thread(Kept.THREAD.of(view.id))


def _extended(view: CaseView, shown: dict[str, Any], extended: Extended, step: int) -> list[OutboxMessage]:
    other = view.client_id if extended.by == view.freelancer_id else view.freelancer_id
    told = shown | {"by": extended.by}
    return [
        OutboxMessage(view.id, f"{view.id}:timeline:{step}", _case_thread(view), Surface.EXTENDED, told),
        OutboxMessage(view.id, f"{view.id}:extended:{step}:{other}", dm(other), Surface.EXTENDED, told),
    ]


def _payout_refused(
    view: CaseView, shown: dict[str, Any], refused: PayoutRefused, card_channel: str | None
) -> list[OutboxMessage]:
    told = shown | {
        "entry_id": refused.entry_id,
        "entry_kind": refused.kind.value,
        "entry_minor": refused.amount.minor,
        "payout_reason": refused.reason,
    }
    key = f"{view.id}:payout-refused:{refused.entry_id}"
    messages = [OutboxMessage(view.id, f"{key}:thread", _case_thread(view), Surface.PAYOUT_HELD, told)]
    if card_channel is not None:
        messages.append(OutboxMessage(view.id, f"{key}:mediators", channel(card_channel), Surface.PAYOUT_REFUSED, told))
    return messages


def _evidence(view: CaseView, evidence: Evidence, carded: bool) -> list[OutboxMessage]:
    """Mediator-only evidence goes nowhere a party reads."""
    shown = {
        "case_id": view.id,
        "seq": evidence.seq,
        "author": evidence.author,
        "role": evidence.role,
        "text": evidence.text,
        "links": list(evidence.links),
        "visibility": evidence.visibility.value,
        "at": evidence.at.isoformat(),
        "answers": evidence.answers,
    }
    key = f"{view.id}:evidence:{evidence.seq}"
    messages = []
    if evidence.visibility is Visibility.BOTH_SIDES:
        messages.append(OutboxMessage(view.id, f"{key}:thread", _case_thread(view), Surface.EVIDENCE, shown))
    if carded:
        messages.append(OutboxMessage(view.id, f"{key}:card", thread(Kept.CARD.of(view.id)), Surface.EVIDENCE, shown))
    return messages


def _question(view: CaseView, shown: dict[str, Any], asked: QuestionAsked) -> list[OutboxMessage]:
    """The question is kept, so the Answer button carries only its id."""
    question = asked.question
    told = shown | {
        "question": question.text,
        "question_id": question.id,
        "asked": question.asked,
        "by": question.asked_by,
    }
    key = f"{view.id}:question:{question.id}"
    return [
        OutboxMessage(view.id, f"{key}:dm", dm(question.asked), Surface.QUESTION, told),
        OutboxMessage(view.id, f"{key}:thread", _case_thread(view), Surface.QUESTION_LINE, told),
    ]


# --- the clock and single readers ------------------------------------------------------------------------------


def reminder(
    view: CaseView, deadline_id: int, offset: float, party: str, role: str, due_at: datetime, now: datetime
) -> OutboxMessage:
    """Before a deadline, to one party who still owes an answer."""
    left = (due_at - now).total_seconds() / 3600
    shown = view.as_json() | {"hours_left": left, "role": role}
    key = f"{view.id}:reminder:{deadline_id}:{int(offset)}:{party}"
    return OutboxMessage(view.id, key, dm(party), Surface.REMINDER, shown)


def appeal_reminder(view: CaseView, deadline_id: int, offset: float, party: str, role: str) -> OutboxMessage:
    """Before the appeal window ends, to a party who may still ask for a review (design §2.4)."""
    key = f"{view.id}:appeal-reminder:{deadline_id}:{int(offset)}:{party}"
    return OutboxMessage(view.id, key, dm(party), Surface.APPEAL_REMINDER, view.as_json() | {"role": role})


def review_reminder(view: CaseView, deadline_id: int, offset: float, party: str, closes_at: datetime) -> OutboxMessage:
    """Before an hourly week's review window closes, while a dispute of it may still come."""
    key = f"{view.id}:review-reminder:{deadline_id}:{int(offset)}:{party}"
    shown = view.as_json() | {"closes_at": closes_at.isoformat()}
    return OutboxMessage(view.id, key, dm(party), Surface.REVIEW_REMINDER, shown)


def refusal(user_id: str, url: str | None, refused: Refused, key: str) -> OutboxMessage:
    """A click that changed nothing, answered to the clicker alone: through its response_url, or in a DM."""
    target = response_url(url, user_id) if url else dm(user_id)
    return OutboxMessage(f"user:{user_id}", f"notice:{key}", target, Surface.REFUSAL, refused.as_json())


def home_tab(
    user_id: str, waiting: Sequence[CaseView], others: Sequence[CaseView], more: int, opened_at: str
) -> OutboxMessage:
    return OutboxMessage(
        f"home:{user_id}",
        f"home:{user_id}:{opened_at}",
        home(user_id),
        Surface.HOME,
        {
            "user": user_id,
            "waiting": [case.as_json() for case in waiting],
            "others": [case.as_json() for case in others],
            "more": more,
        },
    )


def desk_tab(user_id: str, desk: dict[str, Any], key: str) -> OutboxMessage:
    """A mediator's Home, on the same stream as a party's, so the latest one published is the latest asked for."""
    return OutboxMessage(f"home:{user_id}", f"home:{user_id}:{key}", home(user_id), Surface.DESK, desk)
