"""A policy in plain words, as `refundbot policy show` prints it: the wording of ``bot.policies``' data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from babel.numbers import format_percent

from bot.blocks.format import DEFAULT_LOCALE, counted, duration, money, window_end
from bot.domain.calendar import ReviewCalendar
from bot.domain.money import Money
from bot.domain.policy import Appeals, ArbitrationFee, Policy
from bot.domain.vocabulary import AppealOn
from bot.policies import PolicyFile

_MONDAY = datetime(2024, 1, 1, tzinfo=UTC)  # any Monday: the calendar's offsets count from one


def _review_window(calendar: ReviewCalendar) -> str:
    """ "from Monday 12:00 UTC to Friday 23:59 UTC of the week after the billing week", from its offsets."""
    opens, closes = _MONDAY + calendar.opens_after, window_end(_MONDAY + calendar.closes_after)

    def week(at: datetime) -> str:
        later = (at - _MONDAY).days // 7
        return "the billing week" if later == 0 else "the week after it" if later == 1 else f"{later} weeks after it"

    if week(opens) == week(closes):
        return f"from {opens:%A %H:%M} UTC to {closes:%A %H:%M} UTC of {week(closes)}"
    return f"from {opens:%A %H:%M} UTC of {week(opens)} to {closes:%A %H:%M} UTC of {week(closes)}"


def _fee(fee: ArbitrationFee, currency: str) -> str:
    least = money(Money.parse(fee.minimum, currency))
    if not fee.share:
        return f"{least} per party"
    share = format_percent(fee.share, locale=DEFAULT_LOCALE, decimal_quantization=False)
    return f"{share} of the amount at stake per party, at least {least}"


def _listed(spans: tuple[timedelta, ...]) -> str:
    shown = [duration(span) for span in spans]
    return ", ".join(shown[:-1]) + f" and {shown[-1]}" if len(shown) > 1 else "".join(shown)


def describe(rules: PolicyFile) -> list[str]:
    """The policy in plain words, as `refundbot policy show` prints it."""
    policy = rules.policy()
    partial = (
        "any amount below what was asked"
        if policy.adjust_max_share is None
        else f"at most {format_percent(policy.adjust_max_share, locale=DEFAULT_LOCALE)} of the item's price"
    )
    reminders = f"reminders {_listed(policy.reminder_offsets)} before it" if policy.reminder_offsets else "no reminders"
    fees = "; ".join(f"{currency}: {_fee(fee, currency)}" for currency, fee in sorted(policy.arbitration_fees.items()))
    return [
        f"{rules.title}: policy version {policy.version}",
        f"- A client may ask for a refund on an item paid within the last {duration(policy.request_age_limit)}, "
        f"with a reason of up to {policy.reason_max_length:,} characters.",
        f"- The freelancer has {duration(policy.response_window)} to approve, refund part of it ({partial}) or "
        "decline; if they do not answer, the request lapses and the client may take it further.",
        f"- Whoever must act before a deadline is sent {reminders}.",
        "- Hourly work is disputed only in its review window, "
        f"{_review_window(policy.calendar)} (a billing week runs Monday to Sunday, UTC); the freelancer then has "
        f"{duration(policy.dispute_response_window)} to accept or "
        "contest, and a contest goes to a mediator, whose decision is "
        + ("open to appeal (below)." if policy.appeal_window(AppealOn.HOURLY_DECISION) else "final."),
        "- Hourly work outside its review window may go to non-binding mediation within "
        f"{duration(policy.non_binding_mediation_limit)} of payment.",
        f"- Fixed price: the freelancer has {duration(policy.escrow_response_window)} to refund from escrow or "
        "dispute (silence refunds the client); after a dispute the client has "
        f"{duration(policy.escrow_client_response_window)} to accept it or ask a mediator (silence accepts).",
        f"- A mediator's proposal: each party has {duration(policy.proposal_response_window)} to accept.",
        f"- Arbitration: each party has {duration(policy.arbitration_offer_window)} to agree and pay the fee "
        f"({fees or 'none set'}); if neither does, the client is refunded, and if one does, that party wins.",
        f"- Each party may ask once per case for {duration(policy.extension)} more.",
        f"- {history_rule(policy)}",
        "- A mediator's proposal, decision or award states its rationale, cites the evidence it relied on and "
        "names one of these rules:",
        *(f"  - {ground.title} ({_kinds(ground.kinds)})" for ground in policy.grounds.values()),
        _appeals(policy.appeals),
    ]


def history_rule(policy: Policy | PolicyFile) -> str:
    """What mediators see of a party's record, and when it is flagged, in plain words."""
    return (
        f"Mediators see each party's record over the last {duration(policy.history_recent)} and all time. It is "
        "flagged when a client asked for refunds on more than "
        f"{_share(policy.history_client_request_share)} of their paid items, or a freelancer's work was disputed "
        f"on more than {_share(policy.history_freelancer_dispute_share)} of theirs, once they have "
        f"{counted(policy.history_min_items, 'paid item', 'paid items')}."
    )


_APPEALABLE = {
    AppealOn.HOURLY_DECISION: "a mediator's decision on an hourly dispute",
    AppealOn.REJECTED_PROPOSAL: "a mediator's proposal that a party rejected or let lapse",
}


def _appeals(appeals: Appeals | None) -> str:
    if appeals is None:
        return "- There is no appeal to a second mediator."
    outcomes = " and ".join(_APPEALABLE[AppealOn(on)] for on in appeals.outcomes)
    return (
        f"- Appeal: after {outcomes}, either party may ask once, with a reason, within {duration(appeals.window)}, "
        "for a second mediator to review it; the review confirms or changes the outcome and is final. An outcome "
        "already paid out is adjusted by new ledger entries. Silence keeps the outcome."
    )


def _kinds(kinds: tuple[str, ...]) -> str:
    return "any contract" if len(kinds) > 1 else f"{kinds[0].replace('_', '-')} contracts"


def _share(share: Decimal) -> str:
    return format_percent(share, locale=DEFAULT_LOCALE, decimal_quantization=False)
