"""Who hears about what (design §3): the one place that turns what happened into outbox messages.

A table from event type to handler, as cosmicpython's bootstrap has it. A change's events are handed over
together; each handler gets the events of its type, in the table's order, which is the order of delivery. Every
path that tells anyone anything comes here through ``core.told``: a person's change and a deadline's
(``core.change_case``), a new request, a mediator's question, the scheduler's reminders. Dedupe keys make each
message once per change, whoever retries it;
the use case queues them in the change's own transaction, and the relay renders and sends them later. Where a
message may go is ``bot.domain.visibility``'s to say.

- ``Opened``: the case's group DM (the thread the timeline hangs from).
- ``AppealWindowClosed``: nobody appealed in time: the thread hears that the outcome is final (or that the
  arbitration offer stands), instead of a timeline line.
- A transition (``AuditEvent``): a timeline line in that thread, both parties' DMs brought up to date in place,
  and the mediators' case card once the case has one. A change that wrote several audit rows is told once. A
  change whose own event tells the thread (an extension, a payout refused or handled, an appeal window closed)
  has no timeline line besides.
- ``Extended``: the deadline moved, not the case: the thread and the other side told who asked and until when (an
  in-place edit notifies nobody).
- ``Evidence``: both-sides evidence in the case thread; every piece in the card's thread once there is a card,
  and the card's evidence count follows. ``Escalated``: the card's thread starts with every piece so far.
- ``QuestionAsked``: the asked party's DM with an Answer button, and a line in the case thread.
- ``PayoutRefused``: the mediators' channel hears it with the marketplace's reason; the parties' thread hears
  that the payout is on hold (the reason is the marketplace's to give them).
- ``PayoutHandled``: the mediators' channel hears what an operator did.
- ``Reminded``: a DM to the party, in the words of the deadline it is about.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain.errors import Refused
from bot.domain.events import (
    AppealWindowClosed,
    Assigned,
    AuditEvent,
    Escalated,
    Event,
    Evidence,
    Extended,
    FileAltered,
    MediatorsLate,
    Opened,
    PayoutHandled,
    PayoutRefused,
    QuestionAnswered,
    QuestionAsked,
    Reminded,
)
from bot.domain.visibility import party_may_read
from bot.domain.vocabulary import MAY_ASK_AGAIN, MEDIATOR_DEADLINES, DeadlineKind, Stage, State
from bot.services.messages import (
    Kept,
    Nudge,
    OutboxMessage,
    Surface,
    Target,
    channel,
    dm,
    group,
    home,
    nudge_key,
    nudges,
    response_url,
    thread,
)
from bot.services.models import CaseView
from bot.services.surfaces import (
    AppealClosedShown,
    AppealReminderShown,
    AssignedShown,
    CardShown,
    CaseShown,
    DeskShown,
    EvidenceShown,
    ExtendedShown,
    FileAlteredShown,
    FileCopyShown,
    HomeShown,
    MediatorReminderShown,
    MediatorsLateShown,
    PayoutHandledShown,
    PayoutRefusedShown,
    QuestionShown,
    RefusalShown,
    ReminderShown,
    ReviewReminderShown,
)


@dataclass(frozen=True)
class Change:
    """One change to a case, as the handlers see it: its events, the case as it now stands, where its card goes.
    ``history`` is the case's evidence so far and ``records`` the parties' records: read only when asked for."""

    events: Sequence[Event]
    view: CaseView
    card_channel: str | None
    history: Callable[[], Sequence[Evidence]] = tuple
    records: Callable[[], dict[str, Any]] | None = None
    leads: tuple[str, ...] = ()  # the workspace's lead mediators (``Roster.leads``)

    @property
    def step(self) -> int | None:
        """The last audit row this change wrote: the version its kept messages are brought to."""
        steps = [event.seq for event in self.events if isinstance(event, AuditEvent)]
        return steps[-1] if steps else None

    @property
    def carded(self) -> bool:
        return self.view.escalated and self.card_channel is not None

    def has(self, *kinds: type[Event]) -> bool:
        return any(isinstance(event, kinds) for event in self.events)

    def card(self) -> CardShown:
        """The mediators' card: the one surface that carries the parties' records (``bot.domain.visibility``)."""
        return CardShown(case=self.view, records=self.records() if self.records is not None else None)


Handler = Callable[[Change, list[Any]], list[OutboxMessage]]


def case_messages(
    events: Sequence[Event],
    view: CaseView,
    card_channel: str | None,
    history: Callable[[], Sequence[Evidence]] = tuple,
    records: Callable[[], dict[str, Any]] | None = None,
    leads: tuple[str, ...] = (),
) -> list[OutboxMessage]:
    """Everything one change to a case causes, in the order it is to be delivered."""
    change = Change(events, view, card_channel, history, records, leads)
    messages: list[OutboxMessage] = []
    for kind, handler in HANDLERS:
        happened = [event for event in events if isinstance(event, kind)]
        if happened:
            messages += handler(change, happened)
    return messages


def _opened(change: Change, _: list[Opened]) -> list[OutboxMessage]:
    view = change.view
    root = Kept.THREAD.of(view.id)
    parties = group(view.client_id, view.freelancer_id)
    return [_message(view, root, parties, Surface.THREAD_ROOT, CaseShown(view), message_key=root)]


def _appeal_closed(change: Change, closed: list[AppealWindowClosed]) -> list[OutboxMessage]:
    told = AppealClosedShown(case=change.view, final=closed[-1].final)
    return [
        _message(
            change.view, f"{change.view.id}:timeline:{change.step}", _thread(change.view), Surface.APPEAL_CLOSED, told
        )
    ]


# The request's states in which a dispute of the week may still come (the week's review reminders stand).
_DISPUTABLE = MAY_ASK_AGAIN | {State.AWAITING_FREELANCER}
# A change with one of these tells the case thread in its own words, so it has no timeline line besides.
_OWN_LINE = (Extended, PayoutRefused, PayoutHandled, AppealWindowClosed)


def _transition(change: Change, steps: list[AuditEvent]) -> list[OutboxMessage]:
    view, version = change.view, str(steps[-1].seq)
    shown = CaseShown(view)
    messages = []
    if not change.has(*_OWN_LINE):
        messages.append(_message(view, f"{view.id}:timeline:{version}", _thread(view), Surface.TIMELINE, shown))
    messages.append(_kept(view, Kept.FREELANCER, version, dm(view.freelancer_id), shown))
    messages.append(_kept(view, Kept.CLIENT, version, dm(view.client_id), shown))
    if change.carded and change.card_channel is not None:
        messages.append(_kept(view, Kept.CARD, version, channel(change.card_channel), change.card()))
    # The case moved on: the reminders and questions it made stale say so, and lose their buttons.
    if any(step.from_state not in (None, step.to_state) for step in steps):
        stale = [Nudge.ANSWER]
        left_request = view.stage is not Stage.REQUEST or not view.open
        if left_request and any(step.from_state in _DISPUTABLE for step in steps):
            stale.append(Nudge.OFFER)
        if not view.open:
            stale.append(Nudge.QUESTION)
        swept = nudges(view.id, [(party, kind) for party in (view.freelancer_id, view.client_id) for kind in stale])
        messages.append(_message(view, f"{view.id}:stale:{version}", swept, Surface.STALE_NUDGES, shown))
    return messages


def _extended(change: Change, extended: list[Extended]) -> list[OutboxMessage]:
    view, step, by = change.view, change.step, extended[-1].by
    other = view.client_id if by == view.freelancer_id else view.freelancer_id
    told = ExtendedShown(case=view, by=by)
    return [
        _message(view, f"{view.id}:timeline:{step}", _thread(view), Surface.EXTENDED, told),
        _message(view, f"{view.id}:extended:{step}:{other}", dm(other), Surface.EXTENDED, told),
    ]


def _evidence(change: Change, added: list[Evidence]) -> list[OutboxMessage]:
    """A piece added: the card's count follows (a transition brings the card up to date itself)."""
    if change.has(Escalated):
        return []  # the card's thread starts with every piece, this one included
    messages = []
    if change.step is None and change.carded and change.card_channel is not None:
        version = f"evidence:{added[-1].seq}"
        messages.append(_kept(change.view, Kept.CARD, version, channel(change.card_channel), change.card()))
    for item in added:
        messages += _evidence_item(change, item)
    return messages


def _escalated(change: Change, _: list[Escalated]) -> list[OutboxMessage]:
    """The card's thread starts with every piece so far; the parties and senders were told of each when it came."""
    return [message for item in change.history() for message in _evidence_item(change, item, new=False)]


def _evidence_item(change: Change, item: Evidence, *, new: bool = True) -> list[OutboxMessage]:
    """A piece where its readers are, each of its files copied in after it: a file one party uploaded is theirs
    alone in Slack until a copy is shared where the others read."""
    view = change.view
    key = f"{view.id}:evidence:{item.seq}"
    shown = EvidenceShown(item)
    messages = []
    if new and party_may_read(item):
        messages.append(_message(view, f"{key}:thread", _thread(view), Surface.EVIDENCE, shown))
        messages += _copies(view, item, f"{key}:thread", _thread(view))
    elif new:  # nothing its sender sees would show it: they are told it was kept, and for whom
        messages.append(_message(view, f"{key}:sender", dm(item.author), Surface.EVIDENCE_KEPT, shown))
    if change.carded:
        messages.append(_message(view, f"{key}:card", thread(Kept.CARD.of(view.id)), Surface.EVIDENCE, shown))
        messages += _copies(view, item, f"{key}:card", thread(Kept.CARD.of(view.id)))
    return messages


def _copies(view: CaseView, item: Evidence, key: str, target: Target) -> list[OutboxMessage]:
    return [
        OutboxMessage(
            view.id,
            f"{key}:file:{n}",
            target,
            Surface.FILE_COPY,
            FileCopyShown(view.id, item.seq, item.role, each).as_json(),
        )
        for n, each in enumerate(item.files, 1)
    ]


def _files_altered(change: Change, altered: list[FileAltered]) -> list[OutboxMessage]:
    """Said where the file was shown (the case thread for a piece both sides see, the card's thread once there is
    one): the file no longer reads as it did when added; the copy there is the file as added."""
    view = change.view
    messages = []
    for event in altered:
        piece, told = event.piece, FileAlteredShown(view.id, event.piece.seq, event.piece.role, event.file, event.found)
        key = f"{view.id}:evidence:{piece.seq}:altered:{event.file.file_id}"
        if party_may_read(piece):
            messages.append(_message(view, f"{key}:thread", _thread(view), Surface.FILE_ALTERED, told))
        if change.carded:
            messages.append(_message(view, f"{key}:card", thread(Kept.CARD.of(view.id)), Surface.FILE_ALTERED, told))
    return messages


def _questions(change: Change, asked: list[QuestionAsked]) -> list[OutboxMessage]:
    """The question is kept, so the Answer button carries only its id. The mediators, who are not in the parties'
    thread, read it under the card, as they read the answer (evidence) there."""
    view = change.view
    messages = []
    for event in asked:
        question = event.question
        told = QuestionShown(
            case=view, question=question.text, question_id=question.id, asked=question.asked, by=question.asked_by
        )
        key = f"{view.id}:question:{question.id}"
        kept = nudge_key(view.id, question.asked, Nudge.QUESTION, f"{question.id}:")
        messages += [
            _message(view, f"{key}:dm", dm(question.asked), Surface.QUESTION, told, message_key=kept),
            _message(view, f"{key}:thread", _thread(view), Surface.QUESTION_LINE, told),
        ]
        if change.carded:
            messages.append(_message(view, f"{key}:card", thread(Kept.CARD.of(view.id)), Surface.QUESTION_LINE, told))
    return messages


def _answered(change: Change, answered: list[QuestionAnswered]) -> list[OutboxMessage]:
    """A question answered: its DM says so, and its Answer button goes."""
    view = change.view
    return [
        _message(
            view,
            f"{view.id}:answered:{event.question_id}",
            nudges(view.id, [(event.party, Nudge.QUESTION)], f"{event.question_id}:"),
            Surface.QUESTION_ANSWERED,
            CaseShown(view),
        )
        for event in answered
    ]


def _payouts_refused(change: Change, refused: list[PayoutRefused]) -> list[OutboxMessage]:
    view = change.view
    messages = []
    for payout in refused:
        told = PayoutRefusedShown(
            case=view,
            entry_id=payout.entry_id,
            entry_kind=payout.kind,
            entry_minor=payout.amount.minor,
            payout_reason=payout.reason,
        )
        key = f"{view.id}:payout-refused:{payout.entry_id}"
        messages.append(_message(view, f"{key}:thread", _thread(view), Surface.PAYOUT_HELD, told))
        if change.card_channel is not None:
            target = channel(change.card_channel)
            messages.append(_message(view, f"{key}:mediators", target, Surface.PAYOUT_REFUSED, told))
    return messages


def _payouts_handled(change: Change, handled: list[PayoutHandled]) -> list[OutboxMessage]:
    view = change.view
    if change.card_channel is None:
        return []
    messages = []
    for action in handled:
        told = PayoutHandledShown(
            case=view, action=action.action, by=action.by, entry_id=action.entry_id, why=action.reason
        )
        key = f"{view.id}:payout-{action.action}:{change.step if change.step is not None else action.at.isoformat()}"
        messages.append(_message(view, key, channel(change.card_channel), Surface.PAYOUT_HANDLED, told))
    return messages


def _reminded(change: Change, reminded: list[Reminded]) -> list[OutboxMessage]:
    """Before a deadline, to each party who may still act on it, in that deadline's words."""
    view = change.view
    messages = []
    for event in reminded:
        at = f"{event.deadline_id}:{int(event.offset)}:{event.party}"
        hours_left = (event.due_at - event.at).total_seconds() / 3600
        if event.kind in MEDIATOR_DEADLINES:  # under the card while nobody holds the case, else to its mediator
            told = MediatorReminderShown(case=view, kind=event.kind.value, hours_left=hours_left)
            where = dm(event.party) if event.party else thread(Kept.CARD.of(view.id))
            if event.party or change.carded:
                key = f"{view.id}:mediator-reminder:{at}:{event.kind.value}"
                messages.append(_message(view, key, where, Surface.MEDIATOR_REMINDER, told))
            continue
        if event.kind is DeadlineKind.REVIEW_WINDOW:
            key, surface = f"{view.id}:review-reminder:{at}", Surface.REVIEW_REMINDER
            shown: CaseShown = ReviewReminderShown(case=view, closes_at=event.due_at.isoformat())
        elif event.kind is DeadlineKind.APPEAL_WINDOW:
            key, surface = f"{view.id}:appeal-reminder:{at}", Surface.APPEAL_REMINDER
            shown = AppealReminderShown(case=view, role=event.role)
        else:
            key, surface = f"{view.id}:reminder:{at}", Surface.REMINDER
            shown = ReminderShown(case=view, hours_left=hours_left, role=event.role)
        kind = Nudge.OFFER if event.kind is DeadlineKind.REVIEW_WINDOW else Nudge.ANSWER
        kept = nudge_key(view.id, event.party, kind, key.removeprefix(f"{view.id}:"))
        messages.append(_message(view, key, dm(event.party), surface, shown, message_key=kept))
    return messages


def _mediators_late(change: Change, late: list[MediatorsLate]) -> list[OutboxMessage]:
    """Nobody claimed the case in time: each lead mediator hears of it, and the card says so."""
    view, messages = change.view, []
    for event in late:
        due, kind = event.due_at.isoformat(), event.kind.value
        if change.carded and change.card_channel is not None:
            messages.append(_kept(view, Kept.CARD, f"late:{kind}:{due}", channel(change.card_channel), change.card()))
        told = MediatorsLateShown(case=view, kind=kind, mediator=event.mediator)
        for lead in change.leads:
            key = f"{view.id}:mediators-late:{kind}:{due}:{lead}"
            messages.append(_message(view, key, dm(lead), Surface.MEDIATORS_LATE, told))
    return messages


def _assigned(change: Change, handed: list[Assigned]) -> list[OutboxMessage]:
    """The mediator a case was handed to hears it in a DM, and so does one a lead took it from."""
    view, messages = change.view, []
    for event in handed:
        readers = [event.mediator] + ([event.before] if event.before and event.before != event.by else [])
        for reader in readers:
            told = AssignedShown(case=view, mediator=event.mediator, by=event.by, reader=reader)
            key = f"{view.id}:assigned:{event.at.isoformat()}:{event.mediator}:{reader}"
            messages.append(_message(view, key, dm(reader), Surface.MEDIATOR_ASSIGNED, told))
    return messages


# The table, in the order of delivery.
HANDLERS: tuple[tuple[type[Any], Handler], ...] = (
    (Opened, _opened),
    (AppealWindowClosed, _appeal_closed),
    (AuditEvent, _transition),
    (Extended, _extended),
    (Evidence, _evidence),
    (FileAltered, _files_altered),
    (Escalated, _escalated),
    (QuestionAsked, _questions),
    (QuestionAnswered, _answered),
    (PayoutRefused, _payouts_refused),
    (PayoutHandled, _payouts_handled),
    (Reminded, _reminded),
    (MediatorsLate, _mediators_late),
    (Assigned, _assigned),
)


_KEPT_SURFACES = {
    Kept.FREELANCER: Surface.FREELANCER_REQUEST,
    Kept.CLIENT: Surface.CLIENT_REQUEST,
    Kept.CARD: Surface.CASE_CARD,
}


def case_card(view: CaseView, card_channel: str, records: dict[str, Any], version: str) -> OutboxMessage:
    """The case's card as it stands: posted in ``card_channel`` if it never was, brought up to date if it was."""
    return _kept(view, Kept.CARD, version, channel(card_channel), CardShown(case=view, records=records))


def _kept(view: CaseView, kept: Kept, version: str, target: Target, shown: CaseShown) -> OutboxMessage:
    """A message updated in place: the first of its key is posted, each later version edits it."""
    key = kept.of(view.id)
    return _message(view, f"{key}:{version}", target, _KEPT_SURFACES[kept], shown, message_key=key)


def _message(
    view: CaseView,
    key: str,
    target: Target,
    surface: Surface,
    shown: CaseShown | EvidenceShown | FileCopyShown,
    message_key: str | None = None,
) -> OutboxMessage:
    return OutboxMessage(view.id, key, target, surface, shown.as_json(), message_key=message_key)


def _thread(view: CaseView) -> Target:
    return thread(Kept.THREAD.of(view.id))


# --- single readers ------------------------------------------------------------------------------------------


def refusal(user_id: str, url: str | None, refused: Refused, key: str) -> OutboxMessage:
    """A click that changed nothing, answered to the clicker alone: through its response_url, or in a DM."""
    target = response_url(url, user_id) if url else dm(user_id)
    return OutboxMessage(f"user:{user_id}", f"notice:{key}", target, Surface.REFUSAL, RefusalShown(refused).as_json())


def home_tab(
    user_id: str, waiting: Sequence[CaseView], others: Sequence[CaseView], more: int, opened_at: str
) -> OutboxMessage:
    shown = HomeShown(user_id, list(waiting), list(others), more)
    return OutboxMessage(f"home:{user_id}", f"home:{user_id}:{opened_at}", home(user_id), Surface.HOME, shown.as_json())


def desk_tab(desk: DeskShown, key: str) -> OutboxMessage:
    """A mediator's Home, on the same stream as a party's, so the latest one published is the latest asked for."""
    user = desk.user
    return OutboxMessage(f"home:{user}", f"home:{user}:{key}", home(user), Surface.DESK, desk.as_json())
