"""The refund-request stage (design §2.2, §2.4): every transition and every refusal, with the clock injected."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.domain.case import Case
from bot.domain.case.payout import NotOnHold
from bot.domain.case.request import (
    AmountAboveAdjustLimit,
    AmountNotBelowRequested,
    ItemNotPaid,
    ItemTooOld,
    WrongItemKind,
)
from bot.domain.contract import ContractKind, MilestoneStatus
from bot.domain.errors import (
    AmountNotPositive,
    AmountOverBalance,
    AnswerTimeOver,
    CaseMovedOn,
    CurrencyMismatch,
    DeadlineNotReached,
    Field,
    NotYourCase,
    NotYourContract,
    TextRequired,
    TextTooLong,
)
from bot.domain.events import AuditEvent, LedgerEntry
from bot.domain.money import Money
from bot.domain.vocabulary import SCHEDULER, LedgerKind, State
from tests.unit.factories import (
    CLIENT,
    FREELANCER,
    NOW,
    POLICY,
    STRANGER,
    contract,
    milestone,
    open_case,
    refused,
    timesheet,
    usd,
)

LATER = NOW + timedelta(hours=1)


def request(**changes):
    args = {
        "case_id": "R-1",
        "contract": contract(),
        "item": milestone(),
        "amount": usd("100.00"),
        "reason": "Not what we agreed.",
        "refunded": usd("0"),
        "held": usd("0"),
        "by": CLIENT,
        "now": NOW,
        "policy": POLICY,
    }
    return Case.open_request(**(args | changes))


def audits(case: Case) -> list[AuditEvent]:
    return [e for e in case.events if isinstance(e, AuditEvent)]


def ledger(case: Case) -> list[LedgerEntry]:
    return [e for e in case.events if isinstance(e, LedgerEntry)]


# --- opening a request ------------------------------------------------------------------------------------


def test_client_opens_a_request_that_waits_three_days_for_the_freelancer():
    case = open_case("100.00")
    assert case.state == State.AWAITING_FREELANCER
    assert case.requested == usd("100.00")
    assert case.deadline is not None
    assert case.deadline.parties == (FREELANCER,)
    assert case.deadline.due_at == NOW + timedelta(days=3)
    assert case.deadline.reminder_offsets == (48 * 3600, 24 * 3600, 2 * 3600)
    assert case.policy_version == "v1"
    [opened] = audits(case)
    assert (opened.seq, opened.actor, opened.from_state, opened.to_state) == (1, CLIENT, None, "awaiting_freelancer")
    assert opened.amount == usd("100.00")
    assert ledger(case) == []


def test_reason_is_kept_trimmed():
    assert request(reason="  too late \n").reason == "too late"


def test_hourly_timesheet_week_can_be_requested():
    case = request(contract=contract(ContractKind.HOURLY), item=timesheet(), amount=usd("400.00"))
    assert case.item.id == "2026-11-16"
    assert case.paid == usd("400.00")


@pytest.mark.parametrize("who", [FREELANCER, STRANGER])
def test_only_the_contracts_client_can_request(who):
    with refused(NotYourContract, contract_id="C-100"):
        request(by=who)


def test_item_of_the_other_kind_is_refused():
    with pytest.raises(WrongItemKind):
        request(item=timesheet())


def test_item_of_another_contract_is_refused():
    with pytest.raises(WrongItemKind):
        request(item=milestone(contract_id="C-999"))


@pytest.mark.parametrize("status", [MilestoneStatus.FUNDED, MilestoneStatus.SUBMITTED])
def test_unpaid_milestone_is_refused(status):
    with refused(ItemNotPaid, item_label="Milestone “Concepts”"):
        request(item=milestone(status=status, released_at=None))


def test_unbilled_timesheet_is_refused():
    sheet = timesheet(billed_at=None, paid_at=None)
    with refused(ItemNotPaid, item_label="Week of 16 Nov 2026"):
        request(contract=contract(ContractKind.HOURLY), item=sheet)


def test_item_paid_180_days_ago_is_refused_with_the_payment_date():
    paid = NOW - timedelta(days=180)
    with refused(ItemTooOld, paid_at=paid, limit=timedelta(days=180)):
        request(item=milestone(released_at=paid))
    request(item=milestone(released_at=paid + timedelta(seconds=1)))  # one second younger is still in time


@pytest.mark.parametrize("amount", ["0", "-5.00"])
def test_amount_must_be_more_than_zero(amount):
    with pytest.raises(AmountNotPositive):
        request(amount=usd(amount))


def test_amount_in_another_currency_is_refused():
    with refused(CurrencyMismatch, expected="USD", given="EUR"):
        request(amount=Money.parse("10", "EUR"))


def test_amount_may_be_the_whole_balance_but_not_a_cent_more():
    request(amount=usd("250.00"))
    with refused(AmountOverBalance, balance=usd("250.00"), requested=usd("250.01")):
        request(amount=usd("250.01"))


def test_balance_subtracts_earlier_refunds_and_amounts_held_by_other_open_cases():
    with refused(AmountOverBalance, balance=usd("80.00")):
        request(amount=usd("80.01"), refunded=usd("120.00"), held=usd("50.00"))
    assert request(amount=usd("80.00"), refunded=usd("120.00"), held=usd("50.00")).requested == usd("80.00")


def test_fully_refunded_item_has_nothing_left():
    with refused(AmountOverBalance, balance=usd("0.00")):
        request(amount=usd("0.01"), refunded=usd("250.00"))


@pytest.mark.parametrize("reason", ["", "   \n "])
def test_reason_is_required(reason):
    with refused(TextRequired, field=Field.REASON):
        request(reason=reason)


def test_reason_may_have_2000_characters_but_not_2001():
    assert len(request(reason="x" * 2000).reason) == 2000
    with refused(TextTooLong, field=Field.REASON, limit=2000, length=2001):
        request(reason="x" * 2001)


def in_currency(currency: str, paid: str, amount: str) -> Case:
    zero = Money.zero(currency)
    return request(
        contract=contract(currency=currency),
        item=milestone(paid, currency),
        amount=Money.parse(amount, currency),
        refunded=zero,
        held=zero,
    )


def test_zero_and_three_decimal_currencies():
    assert in_currency("JPY", "60000", "59999").requested.minor == 59999
    assert in_currency("KWD", "120.500", "120.499").requested.minor == 120499
    with refused(AmountOverBalance, balance=Money.parse("120.500", "KWD")):
        in_currency("KWD", "120.500", "120.501")


def test_naive_clock_is_a_bug_not_a_time_zone():
    with pytest.raises(ValueError, match="no time zone"):
        request(now=datetime(2026, 11, 25, 10, 0))


# --- the freelancer's answer ------------------------------------------------------------------------------


def test_approve_refunds_the_full_amount_and_closes_the_case():
    case = open_case("100.00")
    case.approve(by=FREELANCER, now=LATER)
    assert case.state == State.APPROVED
    assert case.refunded == usd("100.00")
    assert case.deadline is None
    assert case.closed_at == LATER
    assert case.held == usd("0")
    [entry] = ledger(case)
    assert (entry.kind, entry.amount, entry.actor, entry.item.id) == (
        LedgerKind.REFUND,
        usd("100.00"),
        FREELANCER,
        "M-1",
    )
    assert [a.to_state for a in audits(case)] == ["awaiting_freelancer", "approved"]


def test_adjust_refunds_a_smaller_amount_now_and_keeps_the_rest_in_contention():
    case = open_case("100.00")
    case.adjust(usd("60.00"), note=" half the concepts were fine ", by=FREELANCER, now=LATER, policy=POLICY)
    assert case.state == State.ADJUSTED
    assert (case.offered, case.refunded, case.response) == (usd("60.00"), usd("60.00"), "half the concepts were fine")
    assert case.is_open
    assert case.held == usd("40.00")
    assert [e.amount for e in ledger(case)] == [usd("60.00")]
    assert audits(case)[-1].rationale == "half the concepts were fine"


def test_adjust_without_a_note_is_fine():
    case = open_case("100.00")
    case.adjust(usd("0.01"), note="   ", by=FREELANCER, now=LATER, policy=POLICY)
    assert case.response is None


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("100.00", AmountNotBelowRequested),
        ("100.01", AmountNotBelowRequested),
        ("0", AmountNotPositive),
        ("-1.00", AmountNotPositive),
    ],
)
def test_adjusted_amount_must_be_above_zero_and_below_the_request(amount, error):
    case = open_case("100.00")
    with pytest.raises(error):
        case.adjust(usd(amount), note=None, by=FREELANCER, now=LATER, policy=POLICY)
    assert case.state == State.AWAITING_FREELANCER
    assert ledger(case) == []


def test_a_policy_may_cap_an_adjusted_refund_at_a_share_of_the_price_paid():
    capped = replace(POLICY, adjust_max_share=Decimal("0.60"))  # Fiverr: partial refunds up to 60% of the price
    case = open_case("200.00")  # on the $250.00 milestone: at most $150.00
    with refused(AmountAboveAdjustLimit, offered=usd("150.01"), most=usd("150.00"), paid=usd("250.00")):
        case.adjust(usd("150.01"), note=None, by=FREELANCER, now=LATER, policy=capped)
    assert (case.state, ledger(case)) == (State.AWAITING_FREELANCER, [])
    case.adjust(usd("150.00"), note=None, by=FREELANCER, now=LATER, policy=capped)
    assert [e.amount for e in ledger(case)] == [usd("150.00")]


def test_adjust_in_another_currency_is_refused():
    with pytest.raises(CurrencyMismatch):
        open_case().adjust(Money.parse("1", "EUR"), note=None, by=FREELANCER, now=LATER, policy=POLICY)


def test_adjust_note_is_limited_to_2000_characters():
    with refused(TextTooLong, field=Field.NOTE):
        open_case().adjust(usd("1.00"), note="n" * 2001, by=FREELANCER, now=LATER, policy=POLICY)


def test_decline_needs_a_reason_and_keeps_it():
    case = open_case()
    with refused(TextRequired, field=Field.DECLINE_REASON):
        case.decline(reason=" ", by=FREELANCER, now=LATER, policy=POLICY)
    with pytest.raises(TextTooLong):
        case.decline(reason="r" * 2001, by=FREELANCER, now=LATER, policy=POLICY)
    case.decline(reason="Delivered as specified.", by=FREELANCER, now=LATER, policy=POLICY)
    assert (case.state, case.response, case.refunded) == (State.DECLINED, "Delivered as specified.", usd("0"))
    assert case.is_open  # the client may still request again
    assert ledger(case) == []


@pytest.mark.parametrize("who", [CLIENT, STRANGER])
@pytest.mark.parametrize("action", ["approve", "adjust", "decline"])
def test_only_the_freelancer_answers_and_nothing_changes_otherwise(who, action):
    case = open_case()
    with refused(NotYourCase, case_id="R-1", role="freelancer"):
        answer(case, action, who, LATER)
    assert (case.state, case.transitions, case.refunded) == (State.AWAITING_FREELANCER, 1, usd("0"))


def answer(case: Case, action: str, who: str, now: datetime) -> None:
    if action == "approve":
        case.approve(by=who, now=now)
    elif action == "adjust":
        case.adjust(usd("1.00"), note=None, by=who, now=now, policy=POLICY)
    else:
        case.decline(reason="no", by=who, now=now, policy=POLICY)


@pytest.mark.parametrize("action", ["approve", "adjust", "decline"])
def test_answers_close_with_the_response_window(action):
    case = open_case()
    due = NOW + timedelta(days=3)
    answer(open_case(), action, FREELANCER, due - timedelta(seconds=1))  # the last second still counts
    with refused(AnswerTimeOver, closed_at=due):
        answer(case, action, FREELANCER, due)


@pytest.mark.parametrize("first", ["approve", "adjust", "decline"])
@pytest.mark.parametrize("second", ["approve", "adjust", "decline"])
def test_a_second_answer_is_a_stale_click_naming_who_and_when(first, second):
    case = open_case()
    answer(case, first, FREELANCER, LATER)
    before = (case.state, case.transitions, case.refunded)
    with refused(CaseMovedOn, outcome=f"{first.rstrip('e')}ed", actor=FREELANCER, at=LATER):
        answer(case, second, FREELANCER, LATER + timedelta(minutes=1))
    assert (case.state, case.transitions, case.refunded) == before


# --- withdrawal and lapse ---------------------------------------------------------------------------------


def test_client_withdraws_before_a_decision_and_the_case_closes():
    case = open_case()
    case.withdraw(by=CLIENT, now=LATER)
    assert (case.state, case.closed_at, case.deadline) == (State.WITHDRAWN, LATER, None)
    with refused(CaseMovedOn, outcome="withdrawn", actor=CLIENT):
        case.approve(by=FREELANCER, now=LATER)


@pytest.mark.parametrize("who", [FREELANCER, STRANGER])
def test_only_the_client_withdraws(who):
    with refused(NotYourCase, role="client"):
        open_case().withdraw(by=who, now=LATER)


def test_withdrawal_after_a_full_refund_is_refused():
    case = open_case()
    case.approve(by=FREELANCER, now=LATER)
    with pytest.raises(CaseMovedOn):
        case.withdraw(by=CLIENT, now=LATER)


@pytest.mark.parametrize("decision", ["adjust", "decline"])
def test_after_a_partial_refund_or_a_decline_the_client_may_close_the_case_instead_of_asking_again(decision):
    case = open_case()
    answer(case, decision, FREELANCER, LATER)
    refunded = case.refunded
    case.withdraw(by=CLIENT, now=LATER)
    assert (case.state, case.closed_at, case.refunded) == (State.WITHDRAWN, LATER, refunded)


def test_lapse_only_once_the_deadline_has_passed():
    case = open_case()
    due = NOW + timedelta(days=3)
    with pytest.raises(DeadlineNotReached):
        case.expire(now=due - timedelta(seconds=1), policy=POLICY)
    case.expire(now=due, policy=POLICY)
    assert (case.state, case.updated_by, case.deadline) == (State.LAPSED, SCHEDULER, None)
    assert case.is_open  # the client may request again
    assert audits(case)[-1].actor == SCHEDULER


def test_after_a_lapse_the_freelancer_is_told_the_deadline_passed():
    case = open_case()
    case.expire(now=NOW + timedelta(days=3), policy=POLICY)
    with refused(CaseMovedOn, outcome="lapsed", actor="scheduler", at=NOW + timedelta(days=3)):
        case.approve(by=FREELANCER, now=NOW + timedelta(days=3, minutes=5))


@pytest.mark.parametrize("decision", ["approve", "adjust", "decline", "withdraw"])
def test_decided_requests_do_not_lapse(decision):
    case = open_case()
    if decision == "withdraw":
        case.withdraw(by=CLIENT, now=LATER)
    else:
        answer(case, decision, FREELANCER, LATER)
    with pytest.raises(CaseMovedOn):
        case.expire(now=NOW + timedelta(days=4), policy=POLICY)


def test_the_request_stage_ends_once_and_its_answers_are_refused_after():
    for end in ("approve", "adjust", "decline", "withdraw", "lapse"):
        case = open_case()
        if end == "withdraw":
            case.withdraw(by=CLIENT, now=LATER)
        elif end == "lapse":
            case.expire(now=NOW + timedelta(days=3), policy=POLICY)
        else:
            answer(case, end, FREELANCER, LATER)
        state = case.state
        attempts = [
            lambda c: c.approve(by=FREELANCER, now=LATER),
            lambda c: c.adjust(usd("1.00"), note=None, by=FREELANCER, now=LATER, policy=POLICY),
            lambda c: c.decline(reason="x", by=FREELANCER, now=LATER, policy=POLICY),
            lambda c: c.expire(now=NOW + timedelta(days=9), policy=POLICY),
        ]
        for attempt in attempts:
            with pytest.raises(CaseMovedOn):
                attempt(case)
        assert case.state == state, end


def test_every_transition_writes_exactly_one_audit_event_in_sequence():
    case = open_case()
    case.adjust(usd("10.00"), note=None, by=FREELANCER, now=LATER, policy=POLICY)
    assert [(a.seq, a.from_state, a.to_state) for a in audits(case)] == [
        (1, None, "awaiting_freelancer"),
        (2, "awaiting_freelancer", "adjusted"),
    ]
    assert all(a.at.tzinfo is UTC for a in audits(case))


def test_refundable_balance_shrinks_with_each_partial_refund_on_the_item():
    refunded = usd("0")
    for number, (asked, granted) in enumerate([("50.00", "50.00"), ("70.00", "40.00"), ("100.00", "100.00")]):
        case = request(case_id=f"R-{number}", amount=usd(asked), refunded=refunded)
        if asked == granted:
            case.approve(by=FREELANCER, now=LATER)
        else:
            case.adjust(usd(granted), note=None, by=FREELANCER, now=LATER, policy=POLICY)
        refunded += case.refunded
    assert refunded == usd("190.00")
    with refused(AmountOverBalance, balance=usd("60.00")):
        request(amount=usd("60.01"), refunded=refunded)
    with refused(AmountOverBalance, balance=usd("30.00")):  # USD 30.00 still held by an open case
        request(amount=usd("30.01"), refunded=refunded, held=usd("30.00"))


def test_a_refused_payout_keeps_the_outcome_and_holds_the_case_with_the_marketplaces_words_cleaned():
    case = open_case()
    case.approve(by=FREELANCER, now=NOW)
    case.events.clear()
    case.hold_payout(4, LedgerKind.REFUND, usd("100.00"), "  card\n\nclosed " + "x" * 600, now=NOW + timedelta(hours=1))
    assert (case.state, case.is_open, case.refunded) == (State.APPROVED, False, usd("100.00"))
    assert case.payout_hold == ("card closed " + "x" * 600)[:500]
    audit, refused = case.events
    assert isinstance(audit, AuditEvent)
    assert (audit.actor, audit.amount) == ("marketplace", usd("100.00"))
    assert (refused.entry_id, refused.reason) == (4, case.payout_hold)
    case.hold_payout(5, LedgerKind.RELEASE, usd("1.00"), " \n ", now=NOW + timedelta(hours=2))
    assert case.payout_hold == "no reason given"


def test_an_operator_sends_a_refused_payout_again_or_lifts_the_hold_with_a_reason_each_on_record():
    case = open_case()
    case.approve(by=FREELANCER, now=NOW)
    with refused(NotOnHold, case_id=case.id):  # nothing holds it yet
        case.lift_payout_hold("paid otherwise", by="ops-anna", now=NOW)
    case.hold_payout(4, LedgerKind.REFUND, usd("100.00"), "card closed", now=NOW)
    case.events.clear()
    case.resend_payout(4, LedgerKind.REFUND, usd("100.00"), by="ops-anna", now=NOW + timedelta(hours=1))
    audit, resent = case.events
    assert (audit.actor, audit.rationale, audit.from_state, audit.to_state) == (
        "ops-anna",
        "refund 4 sent again",
        State.APPROVED,
        State.APPROVED,
    )
    assert (resent.action, resent.entry_id, case.payout_hold) == ("resent", 4, "card closed")
    with refused(TextRequired, what=Field.REASON):
        case.lift_payout_hold(" \n ", by="ops-anna", now=NOW + timedelta(hours=2))
    case.lift_payout_hold("  paid by\nbank transfer ", by="ops-anna", now=NOW + timedelta(hours=2))
    assert case.payout_hold is None
    assert case.events[-2].rationale == "payout hold lifted: paid by bank transfer"
    assert (case.events[-1].action, case.events[-1].reason) == ("hold_lifted", "paid by bank transfer")
