"""What a person reads when a rule said no, and where they read it.

The domain's refusals carry facts; here they become sentences, with the same money, date and name helpers as
every message. ``form_answer`` is the one place that decides where a refusal is shown: under the form field it
concerns (plain text, as Slack shows field errors), or, when it concerns no field of the form, as the form
itself, replaced by a notice (mrkdwn, with mentions and date tokens). A click's refusal is a private message,
rendered by the relay in the reader's locale (``message``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.blocks import ids, kit
from bot.blocks.format import DEFAULT_LOCALE, dated, duration, escape, money, size, trim, utc_text, when, window_end
from bot.blocks.kit import View
from bot.blocks.stages import STATES
from bot.domain import errors
from bot.domain.case import ExtensionUsed, NothingToExtend
from bot.domain.case.appeal import AppealWindowOver, ArbitrationStarted, FirstMediatorCannotReview
from bot.domain.case.dispute import (
    CertificationRequired,
    DisputedTimeInvalid,
    DisputeWindowClosed,
    InvalidTime,
    RouteChanged,
    TimeOrAmount,
    TimeOverBalance,
)
from bot.domain.case.mediation import (
    AlreadyClaimed,
    AlreadyHolds,
    AlreadyYours,
    NotALead,
    NotAMediatorToAssign,
    PartyCannotBeMediator,
)
from bot.domain.case.payout import NotOnHold, NotRefused
from bot.domain.case.request import (
    AmountAboveAdjustLimit,
    AmountNotBelowRequested,
    ItemHasOpenCase,
    ItemNotPaid,
    ItemTooOld,
    NothingRefundable,
    WrongItemKind,
)
from bot.domain.errors import Field, Refused
from bot.domain.money import Money
from bot.domain.routing import RouteKind
from bot.domain.vocabulary import ASSIGNER, SCHEDULER, State

# The input block each field of the domain is shown in; a form holds some of them.
FIELD_BLOCKS: dict[Field, str] = {
    Field.CONTRACT: ids.CONTRACT_BLOCK,
    Field.ITEM: ids.ITEM_BLOCK,
    Field.AMOUNT: ids.AMOUNT_BLOCK,
    Field.TIME: ids.HOURS_BLOCK,
    Field.REASON: ids.REASON_BLOCK,
    Field.DECLINE_REASON: ids.REASON_BLOCK,
    Field.NOTE: ids.NOTE_BLOCK,
    Field.CERTIFICATION: ids.CERTIFY_BLOCK,
    Field.STATEMENT: ids.STATEMENT_BLOCK,
    Field.RATIONALE: ids.RATIONALE_BLOCK,
    Field.AWARD_REFERENCE: ids.REFERENCE_BLOCK,
    Field.QUESTION: ids.QUESTION_BLOCK,
    Field.PARTY: ids.PARTY_BLOCK,
    Field.EVIDENCE: ids.EVIDENCE_BLOCK,
    Field.LINKS: ids.LINKS_BLOCK,
    Field.FILES: ids.FILES_BLOCK,
    Field.MEDIATOR: ids.MEDIATOR_BLOCK,
    Field.RULE: ids.RULE_BLOCK,
    Field.CITED: ids.CITED_BLOCK,
}

# How each text field is named in a sentence ("Please give a reason.").
TEXTS: dict[Field, str] = {
    Field.REASON: "reason",
    Field.DECLINE_REASON: "reason for declining",
    Field.NOTE: "note",
    Field.STATEMENT: "statement",
    Field.RATIONALE: "rationale",
    Field.AWARD_REFERENCE: "award reference",
    Field.QUESTION: "question",
    Field.EVIDENCE: "description or a link",
}
CHOICES: dict[Field, str] = {
    Field.CONTRACT: "Choose the contract.",
    Field.ITEM: "Choose the milestone or week to refund.",
    Field.PARTY: "Choose whom to ask.",
    Field.MEDIATOR: "Choose the mediator to hand the case to.",
    Field.RULE: "Choose the policy rule the outcome applies.",
    Field.CITED: "Choose the evidence you relied on: the parties see what the outcome rests on.",
}
# Case states as they read after "already", where the status words alone read badly.
MOVED = {
    State.AWAITING_FREELANCER: "sent to the freelancer",
    State.CLOSED_OUT_OF_WINDOW: "closed: no route was left",
    State.IN_REVIEW: "sent to a mediator",
    State.UNASSIGNED: "sent to mediation",
    State.CLAIMED: "claimed",
    State.PROPOSED: "given a proposal",
    State.ARBITRATION: "taken to arbitration",
    State.APPEAL_REQUESTED: "appealed to a second mediator",
    State.REVIEWED: "reviewed on appeal",
    State.DECIDED: "decided",
    State.FREELANCER_DISPUTED: "disputed",
    State.AWARDED: "closed by the arbitrator's award",
    State.RELEASED: "closed with no further refund",
}
# Outcomes whose true words name what was done, not where the case went: a proposal offers arbitration (or closes
# a non-binding case) because someone rejected it, or let it lapse.
MOVED_BECAUSE = {
    State.ARBITRATION_OFFERED: "the proposal was already rejected {by} {at}, so arbitration is offered",
}
ROUTES = {
    RouteKind.HOURLY_DISPUTE: "an hourly dispute",
    RouteKind.MEDIATION: "non-binding mediation",
    RouteKind.ESCROW_REFUND: "the escrow refund process",
    RouteKind.CLOSED: "no further route",
}
ECHO = 40  # how much of what someone typed a sentence repeats back
NAME = 200  # the longest title the import takes


@dataclass(frozen=True)
class Voice:
    """How a sentence names people, instants, amounts and what someone typed: mrkdwn in messages and modals;
    plain text under a form field, where Slack renders neither mentions nor date tokens."""

    plain: bool
    locale: str = DEFAULT_LOCALE

    def person(self, user: str) -> str:
        return "someone else" if self.plain else f"<@{user}>"

    def at(self, instant: datetime) -> str:
        """An instant after a preposition: "until …", "from …"."""
        return utc_text(instant) if self.plain else when(instant)

    def on(self, instant: datetime) -> str:
        """An instant with no preposition before it, which it brings where it needs one: "claimed by Ana today at
        5 PM", "… on Wed 25 Nov 2026 05:02 UTC"."""
        return f"on {utc_text(instant)}" if self.plain else dated(instant)

    def amount(self, value: Money) -> str:
        return money(value, self.locale)

    def name(self, text: str) -> str:
        """A name from the marketplace or an id, as given (as long as the import allows one to be)."""
        shown = trim(text, NAME, "…")
        return shown if self.plain else escape(shown)

    def typed(self, text: str) -> str:
        """What someone typed, echoed short, in quotes."""
        shown = text if len(text) <= ECHO else text[: ECHO - 1] + "…"
        return f"“{shown if self.plain else escape(shown)}”"

    def bold(self, text: str) -> str:
        return text if self.plain else f"*{text}*"


PLAIN = Voice(plain=True)
MRKDWN = Voice(plain=False)


def plain(refusal: Refused) -> str:
    """The refusal in plain text, for what is not Slack: a command's output, the push API's problems."""
    return sentence(refusal, PLAIN)


def sentence(refusal: Refused, voice: Voice = MRKDWN) -> str:
    """The refusal as its person reads it: what was refused, with the numbers, dates and names in it."""
    if isinstance(refusal, errors.InvalidInputs):
        return " ".join(sentence(each, voice) for each in refusal.found)
    for words in (_amounts, _typed, _files, _contracts, _cases, _windows, _mediators, _unavailable):
        if (said := words(refusal, voice)) is not None:
            return said
    return "Nothing was changed: that is not possible now."


def _amounts(refusal: Refused, v: Voice) -> str | None:
    """Amounts and time typed into a form."""
    match refusal:
        case errors.NotAnAmount(text=text):
            return f"{v.typed(text)} is not an amount. Type a number such as 12.50."
        case errors.TooManyDecimals(text=text, currency=currency, places=places):
            allowed = "no decimals" if places == 0 else f"at most {places} decimal{'s' if places > 1 else ''}"
            return f"{currency} amounts take {allowed}; {v.typed(text)} has more."
        case errors.AmountTooLarge(text=text, currency=currency):
            return f"{v.typed(text)} is too large for an amount in {currency}."
        case errors.UnknownCurrency(currency=currency):
            return f"{v.typed(currency)} is not an ISO 4217 currency with a minor unit."
        case errors.CurrencyMismatch(given=given, expected=expected):
            return f"This item is paid in {expected}, not {given}."
        case errors.AmountNotPositive():
            return "The amount must be more than zero."
        case errors.AmountOverBalance(requested=requested, balance=balance):
            return f"You can ask for at most {v.amount(balance)} on this item; {v.amount(requested)} is more than that."
        case TimeOverBalance(minutes=minutes, worth=worth, balance=balance):
            return (
                f"{minutes // 60} h {minutes % 60:02d} min is worth {v.amount(worth)}, more than the "
                f"{v.amount(balance)} left to refund on this week; dispute less time."
            )
        case AmountNotBelowRequested(requested=requested):
            return (
                f"An adjusted refund must be less than the {v.amount(requested)} requested; to refund it all, approve."
            )
        case AmountAboveAdjustLimit(most=most, paid=paid):
            return (
                f"A partial refund can be at most {v.amount(most)} on an item that cost {v.amount(paid)}, under this "
                "marketplace's rules; to refund more, approve the request in full."
            )
        case errors.AmountOutOfRange(amount=amount, low=low, high=high):
            return f"The amount must be from {v.amount(low)} to {v.amount(high)}; {v.amount(amount)} is not."
        case TimeOrAmount():
            return "Give the disputed time or an amount, not both."
        case InvalidTime():
            return "Hours and minutes must be whole numbers, such as 2 and 30: hours 0 or more, minutes 0 to 59."
        case DisputedTimeInvalid(week_minutes=week):
            return f"Disputed time must be more than zero and at most the {week // 60} h {week % 60:02d} min billed."
    return None


def _typed(refusal: Refused, v: Voice) -> str | None:
    """Words, choices and links typed or chosen in a form."""
    match refusal:
        case errors.TextRequired(what=what):
            return f"Please give a {TEXTS.get(what, what.value.replace('_', ' '))}."
        case errors.TextTooLong(what=what, limit=limit, length=length):
            named = TEXTS.get(what, what.value.replace("_", " "))
            return f"The {named} can be at most {limit} characters; this one has {length}."
        case errors.ChoiceRequired(what=what):
            return CHOICES.get(what, "Choose one.")
        case CertificationRequired():
            return "Please tick the box certifying that the disputed time was not worked as billed."
        case errors.UnknownRule():
            return "That rule is not one this case's policy offers; choose one from the list."
        case errors.UnknownEvidence(seq=seq, count=count):
            return (
                f"Case evidence is numbered 1 to {count}; there is no item {seq}."
                if count
                else ("This case has no evidence to cite.")
            )
        case errors.InvalidLink(link=link):
            return f"{v.typed(link)} is not a web link; links start with https:// or http://."
        case errors.TooManyLinks(limit=limit):
            return f"At most {limit} links per piece of evidence; add the rest as another piece."
    return None


def _files(refusal: Refused, v: Voice) -> str | None:
    """Files attached as evidence, each named as the person named it."""
    match refusal:
        case errors.TooManyFiles(count=count, limit=limit):
            return f"At most {limit} files per piece of evidence; {count} were attached. Add the rest as another piece."
        case errors.FileEmpty(name=name):
            return f"{v.typed(name)} is empty."
        case errors.FileTooLarge(name=name, size=got, limit=limit):
            return f"{v.typed(name)} is {size(got, v.locale)}; a file can be at most {size(limit, v.locale)}."
        case errors.FileTypeRefused(name=name, accepted=[]):
            return f"{v.typed(name)} is a program or a script, which is never taken as evidence."
        case errors.FileTypeRefused(name=name, extension=ext, accepted=accepted):
            kind = f"a .{ext} file" if ext else "a file without a type in its name"
            return f"{v.typed(name)} is {kind}, which this marketplace does not take. It takes: {', '.join(accepted)}."
        case errors.FileNotYours(name=name):
            return f"{v.typed(name)} is not a file you attached here; attach it again."
        case errors.FileUnreadable(name=name):
            return f"refund-bot cannot read {v.typed(name)} in Slack; attach it again from your computer."
        case errors.FileGone(name=name):
            return f"{v.typed(name)} was deleted before refund-bot could check it; attach it again."
        case errors.NoFileInMessage():
            return "That message has no file. Add words and links with Add evidence on the case's message."
        case errors.NotWhereEvidenceIs():
            return "Add as evidence takes a file shared in a case's thread, or in your DM with refund-bot."
        case errors.NoCaseForEvidence():
            return "You have no open case to add evidence to."
    return None


def _contracts(refusal: Refused, v: Voice) -> str | None:
    """The contract and item a request is about."""
    match refusal:
        case errors.NotYourContract(contract_id=contract) | errors.UnknownContract(contract_id=contract):
            return f"Contract {v.name(contract)} is not one of yours in this workspace."
        case NothingRefundable(contract_id=contract):
            return f"No item of contract {v.name(contract)} can be refunded now; choose another contract."
        case errors.UnknownItem(contract_id=contract) | WrongItemKind(contract_id=contract):
            return f"That item is not part of contract {v.name(contract)}; choose one from the list."
        case ItemNotPaid(item_label=item):
            return f"{v.name(item)} has not been paid yet, so there is nothing to refund."
        case ItemTooOld(item_label=item, paid_at=paid_at, limit=limit):
            return (
                f"{v.name(item)} was paid {v.on(paid_at)}; refunds can be asked for up to {duration(limit)} "
                "after payment."
            )
        case ItemHasOpenCase(item_label=item, case_id=case_id):
            where = f", {case_id}" if case_id else ""
            return f"{v.name(item)} already has an open case{where}; follow it there (/refund list shows it)."
    return None


def _cases(refusal: Refused, v: Voice) -> str | None:
    """The case itself: not found, not theirs, or not where the click thought."""
    match refusal:
        case errors.CaseNotFound(case_id=case_id):
            return f"There is no case {v.typed(case_id)} in this workspace; /refund list shows your open cases."
        case errors.QuestionNotFound():
            return "That question is no longer on record, so there is nothing to answer."
        case errors.NotYourCase(case_id=case_id, role=role):
            return f"Only the {role} of case {case_id} can do that, so nothing was changed."
        case errors.CaseMovedOn(outcome=outcome, actor=actor, at=at, raced=raced):
            by = {SCHEDULER: "when its deadline passed", ASSIGNER: "when refund-bot handed it to a mediator"}.get(
                actor, f"by {v.person(actor)}"
            )
            moved = MOVED.get(outcome) or STATES.get(outcome, outcome.replace("_", " "))
            said = MOVED_BECAUSE.get(outcome, "this case was already {moved} {by} {at}")
            happened = said.format(moved=moved, by=by, at=v.on(at))
            if raced:
                return f"Your answer was not recorded: {happened}, just before it."
            return f"Nothing changed: {happened}."
        case errors.ConcurrentChange(case_id=case_id):
            return f"Case {case_id} changed while you were acting on it; nothing was applied. Look again."
        case errors.CaseClosed(case_id=case_id):
            return f"Case {case_id} is closed, so nothing more can be added to it."
        case errors.AlreadyAnswered(what=what):
            return f"You already answered this {what}; your answer stands."
        case NothingToExtend(case_id=case_id):
            return f"Case {case_id} is not waiting for your answer, so there is no deadline of yours to extend."
        case NotOnHold(case_id=case_id):
            return f"Case {case_id} is not on hold: no refused payout holds it."
        case NotRefused(entry_id=entry_id):
            return f"Ledger entry {entry_id} was not refused by the marketplace, so there is nothing to send again."
        case ExtensionUsed(case_id=case_id):
            return f"You already had your extension on case {case_id}; each party gets one per case."
    return None


def _windows(refusal: Refused, v: Voice) -> str | None:
    """Time: a window closed, or a deadline not reached yet."""
    match refusal:
        case errors.AnswerTimeOver(closed_at=closed_at):
            return f"Nothing changed: the time to answer ended {v.on(closed_at)}."
        case AppealWindowOver(closed_at=closed_at):
            if closed_at is None:
                return "Nothing changed: the time to ask for a review has passed, so the outcome stands."
            return f"Nothing changed: a review could be asked for until {v.at(closed_at)}, so the outcome stands."
        case ArbitrationStarted(role=role):
            return (
                f"Nothing changed: the {role} has already agreed to arbitration and paid the fee, so the proposal "
                "goes to arbitration rather than to a second mediator."
            )
        case DisputeWindowClosed(week_label=week, opens_at=opens_at, closes_at=closes_at):
            return (
                f"Nothing changed: disputes on {v.name(week)} could be opened from {v.at(opens_at)} until "
                f"{v.at(window_end(closes_at))}, and that review window is closed. Press {v.bold('Request again')} "
                "to see the route that is left."
            )
        case errors.DeadlineNotReached(due_at=due_at):
            return f"The deadline is {v.at(due_at)}; it has not passed yet."
        case RouteChanged(expected=expected, actual=actual):
            return (
                f"This case would now go to {ROUTES.get(actual, actual)}, not {ROUTES.get(expected, expected)}; "
                f"nothing was sent. Press {v.bold('Request again')} to see the current route."
            )
    return None


def _mediators(refusal: Refused, v: Voice) -> str | None:
    """Mediators: who may act on a case, and whom it may go to."""
    match refusal:
        case errors.NotAMediator():
            return "Only the marketplace's mediators can do that, so nothing was changed."
        case NotAMediatorToAssign():
            return "That person is not one of the marketplace's mediators; choose a mediator."
        case errors.PartyCannotMediate(case_id=case_id):
            return f"You are a party to case {case_id}, so you cannot act on it as a mediator."
        case PartyCannotBeMediator(case_id=case_id):
            return f"That person is a party to case {case_id}, so they cannot mediate it; choose another mediator."
        case FirstMediatorCannotReview(case_id=case_id, mediator=mediator):
            who = "That mediator" if v.plain else v.person(mediator)
            return f"{who} made the outcome appealed on case {case_id}, so another mediator must review it."
        case AlreadyClaimed(mediator=mediator, at=at):
            return f"Nothing changed: this case was already claimed by {v.person(mediator)} {v.on(at)}."
        case AlreadyYours(case_id=case_id):
            return f"You already hold case {case_id}; choose another mediator to hand it to."
        case AlreadyHolds(case_id=case_id, mediator=mediator):
            who = "That mediator" if v.plain else v.person(mediator)
            return f"{who} already holds case {case_id}; choose another mediator to hand it to."
        case NotALead():
            return "Only the lead mediators can hand cases out, so nothing was changed."
        case errors.NotYourClaim(case_id=case_id, mediator=mediator):
            who = f"claimed by {v.person(mediator)}" if mediator else "not claimed yet; claim it first"
            return f"Case {case_id} is {who}, so nothing was changed."
    return None


def _unavailable(refusal: Refused, v: Voice) -> str | None:
    """Something refund-bot relies on did not answer."""
    match refusal:
        case errors.Unavailable(part="database"):
            return "refund-bot can't reach its database right now, so nothing was changed. Try again in a minute."
        case errors.Unavailable(part="busy"):
            return "This case is busy right now, so nothing was changed. Try again in a moment."
        case errors.Unavailable(part="slack"):
            return (
                "Slack did not open the form in time, so nothing was changed. If it did not appear, press the "
                "button again in a moment."
            )
    return None


def message(refusal: Refused, locale: str = DEFAULT_LOCALE) -> str:
    """A refusal as a private message (mrkdwn: mentions and date tokens render), in the reader's locale."""
    return sentence(refusal, Voice(plain=False, locale=locale))


def notice_modal(title: str, text: str) -> View:
    """A form replaced by what happened instead: the form no longer applies, so it only closes."""
    return kit.modal(title[:24], [kit.section(trim(text))], close="Close")


def inputs(view: dict[str, Any]) -> set[str]:
    """The block ids of a submitted form's input blocks: the only places a field error can show."""
    return {b["block_id"] for b in view.get("blocks") or [] if b.get("type") == "input" and "block_id" in b}


def said(refusal: Refused, voice: Voice) -> str:
    """A sentence under a form's field: plain text that echoes what was typed, without its bidirectional controls."""
    return kit.shown(sentence(refusal, voice))


def form_answer(refusal: Refused, view: dict[str, Any], locale: str = DEFAULT_LOCALE) -> dict[str, Any]:
    """How a form submission that was refused is answered: the error under the field it concerns, so nothing
    typed is lost (each under its own, all at once, when there are several); or, when the form holds no such
    field, the form replaced by the refusal itself. Amounts read as in the reader's messages."""
    plain_voice, voice = Voice(plain=True, locale=locale), Voice(plain=False, locale=locale)
    if isinstance(refusal, errors.InvalidInputs):
        shown = {FIELD_BLOCKS.get(each.field): said(each, plain_voice) for each in refusal.found if each.field}
        if under := {block: said for block, said in shown.items() if block in inputs(view)}:
            return {"response_action": "errors", "errors": under}
    block = FIELD_BLOCKS.get(refusal.field) if refusal.field else None
    if isinstance(refusal, errors.Unavailable):  # sent again as it is once the outage is over: keep the form
        block = next((b["block_id"] for b in view.get("blocks") or [] if b.get("block_id") in inputs(view)), None)
    if block in inputs(view):
        return {"response_action": "errors", "errors": {block: said(refusal, plain_voice)}}
    title = (view.get("title") or {}).get("text") or "Nothing changed"
    return {"response_action": "update", "view": notice_modal(title, sentence(refusal, voice))}
