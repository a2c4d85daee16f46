"""Refusals: each carries a message fit to show the person who tried, with the numbers and dates in it.

The Slack edge shows ``str(error)``; it may also read the fields to render dates in the viewer's time zone.
"""

from __future__ import annotations

from datetime import datetime


def utc_text(at: datetime) -> str:
    """A UTC instant as people read it in a message with no time-zone rendering of its own."""
    return at.strftime("%a %d %b %Y %H:%M UTC")


class Refused(Exception):
    """A rule said no. The message is for the person who tried."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidAmount(Refused):
    pass


class UnknownCurrency(Refused):
    def __init__(self, currency: str) -> None:
        super().__init__(f"“{currency}” is not an ISO 4217 currency with a minor unit.")
        self.currency = currency


class CurrencyMismatch(Refused):
    def __init__(self, given: str, expected: str) -> None:
        super().__init__(f"This item is paid in {expected}, not {given}.")


class AmountNotPositive(Refused):
    def __init__(self) -> None:
        super().__init__("The amount must be more than zero.")


class AmountOverBalance(Refused):
    """Design §2.2: at most the item's refundable balance."""

    def __init__(self, requested: object, balance: object) -> None:
        super().__init__(f"You can ask for at most {balance} on this item; {requested} is more than that.")
        self.balance = balance


class AmountNotBelowRequested(Refused):
    def __init__(self, offered: object, requested: object) -> None:
        super().__init__(f"An adjusted refund must be less than the {requested} requested; to refund it all, approve.")
        self.offered = offered


class TextRequired(Refused):
    def __init__(self, what: str) -> None:
        super().__init__(f"Please give a {what}.")
        self.what = what


class TextTooLong(Refused):
    def __init__(self, what: str, limit: int, length: int) -> None:
        super().__init__(f"The {what} can be at most {limit} characters; this one has {length}.")
        self.what = what


class NotYourContract(Refused):
    def __init__(self, contract_id: str) -> None:
        super().__init__(f"Only the client of contract {contract_id} can ask for a refund on it.")


class NotYourCase(Refused):
    def __init__(self, case_id: str, role: str) -> None:
        super().__init__(f"Only the {role} of case {case_id} can do that, so nothing was changed.")
        self.role = role


class ItemNotPaid(Refused):
    def __init__(self, item_title: str) -> None:
        super().__init__(f"{item_title} has not been paid yet, so there is nothing to refund.")


class ItemTooOld(Refused):
    """Design §2.2: eligible items were paid within the last 180 days."""

    def __init__(self, item_title: str, paid_at: datetime, days: int) -> None:
        super().__init__(
            f"{item_title} was paid on {utc_text(paid_at)}; refunds can be asked for up to {days} days after payment."
        )
        self.paid_at = paid_at


class WrongItemKind(Refused):
    def __init__(self, contract_id: str, kind: str) -> None:
        super().__init__(f"Contract {contract_id} is {kind.replace('_', '-')}; pick one of its own items.")


class CaseMovedOn(Refused):
    """A stale click: the case left the state the button was for."""

    def __init__(self, case_id: str, outcome: str, actor: str, at: datetime) -> None:
        by = "when its deadline passed" if actor == "scheduler" else f"by {actor}"
        super().__init__(f"Case {case_id} was already {outcome.replace('_', ' ')} {by} at {utc_text(at)}.")
        self.outcome = outcome
        self.actor = actor
        self.at = at


class WindowClosed(Refused):
    def __init__(self, what: str, closed_at: datetime) -> None:
        super().__init__(f"The {what} closed at {utc_text(closed_at)}.")
        self.closed_at = closed_at


class DeadlineNotReached(Refused):
    def __init__(self, due_at: datetime) -> None:
        super().__init__(f"The deadline is {utc_text(due_at)}; it has not passed yet.")


class ConcurrentChange(Refused):
    """Two people (or a person and the scheduler) acted at once; the other one got there first."""

    def __init__(self, case_id: str) -> None:
        super().__init__(f"Case {case_id} changed while you were acting on it; nothing was applied. Look again.")
        self.case_id = case_id


class CaseNotFound(Refused):
    def __init__(self, case_id: str) -> None:
        super().__init__(f"There is no case {case_id} in this workspace. `/refund list` shows your open cases.")


class UnknownContract(Refused):
    def __init__(self, contract_id: str) -> None:
        super().__init__(f"Contract {contract_id} is not one of yours in this workspace.")


class UnknownItem(Refused):
    def __init__(self, contract_id: str) -> None:
        super().__init__(f"That item is not part of contract {contract_id}; pick one from the list.")


class ItemHasOpenCase(Refused):
    """Design §2.1: one open case per item at a time."""

    def __init__(self, item_label: str, case_id: str | None) -> None:
        where = f", {case_id}" if case_id else ""
        super().__init__(f"{item_label} already has an open case{where}; follow it there (`/refund list`).")


class AmountOutOfRange(Refused):
    def __init__(self, amount: object, low: object, high: object) -> None:
        super().__init__(f"The amount must be between {low} and {high}; {amount} is not.")
        self.low = low
        self.high = high


class CertificationRequired(Refused):
    def __init__(self) -> None:
        super().__init__("Please tick the box certifying that the disputed time was not worked as billed.")


class DisputedTimeInvalid(Refused):
    def __init__(self, minutes: int, week_minutes: int) -> None:
        hours, mins = divmod(week_minutes, 60)
        super().__init__(f"Disputed time must be more than zero and at most the {hours} h {mins:02d} min billed.")
        self.minutes = minutes


class DisputeWindowClosed(WindowClosed):
    """Design §2.2: an hourly dispute is possible only inside the week's review window."""

    def __init__(self, week_label: str, opens_at: datetime, closed_at: datetime) -> None:
        Refused.__init__(
            self,
            f"Disputes on {week_label} could be opened from {utc_text(opens_at)} until {utc_text(closed_at)}; "
            "that review window is closed.",
        )
        self.week_label = week_label
        self.opens_at = opens_at
        self.closed_at = closed_at


class RouteChanged(Refused):
    """The form was opened for one route, and by the time it was sent the policy gives another."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(
            f"This case would now go to {actual.replace('_', ' ')}, not {expected.replace('_', ' ')}; "
            "nothing was sent. Press Request again to see the current route."
        )
        self.expected = expected
        self.actual = actual


class NotAMediator(Refused):
    def __init__(self) -> None:
        super().__init__("Only the marketplace's mediators can do that, so nothing was changed.")


class NotAMediatorToAssign(Refused):
    def __init__(self, user_id: str) -> None:
        super().__init__(f"{user_id or 'That person'} is not one of the marketplace's mediators; pick a mediator.")


class PartyCannotMediate(Refused):
    def __init__(self, case_id: str) -> None:
        super().__init__(f"You are a party to case {case_id}, so you cannot act on it as a mediator.")


class AlreadyClaimed(Refused):
    def __init__(self, case_id: str, mediator: str, at: datetime) -> None:
        super().__init__(f"Case {case_id} was already claimed by {mediator} at {utc_text(at)}; nothing was changed.")
        self.mediator = mediator
        self.at = at


class NotYourClaim(Refused):
    def __init__(self, case_id: str, mediator: str | None) -> None:
        who = f"claimed by {mediator}" if mediator else "not claimed yet; claim it first"
        super().__init__(f"Case {case_id} is {who}, so nothing was changed.")
        self.mediator = mediator


class AlreadyAnswered(Refused):
    def __init__(self, what: str) -> None:
        super().__init__(f"You already answered this {what}; your answer stands.")


class InvalidLink(Refused):
    def __init__(self, link: str) -> None:
        super().__init__(f"“{link[:80]}” is not a web link; links must start with https:// or http://.")


class TooManyLinks(Refused):
    def __init__(self, limit: int) -> None:
        super().__init__(f"At most {limit} links per piece of evidence; add the rest as another piece.")


class CaseClosed(Refused):
    def __init__(self, case_id: str) -> None:
        super().__init__(f"Case {case_id} is closed, so nothing more can be added to it.")


class NothingToExtend(Refused):
    def __init__(self, case_id: str) -> None:
        super().__init__(f"Case {case_id} is not waiting for your answer, so there is no deadline of yours to extend.")


class ExtensionUsed(Refused):
    def __init__(self, case_id: str) -> None:
        super().__init__(f"You already had your extension on case {case_id}; each party gets one per case.")
