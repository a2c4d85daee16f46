"""After "no" (design §2.3, §2.4): routing, hourly disputes, escrow refunds, mediation and arbitration.

Every transition and its refusals, with the clock injected. Times: the hourly week of Mon 16 Nov 2026 was
paid on 23 Nov; its review window runs Mon 23 Nov 12:00 → Fri 27 Nov 23:59:59 UTC; NOW is Wed 25 Nov 10:00.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.case import Case
from bot.domain.case.dispute import (
    CertificationRequired,
    DisputedTimeInvalid,
    DisputeWindowClosed,
    RouteChanged,
    TimeOverBalance,
)
from bot.domain.case.mediation import AlreadyClaimed, AlreadyYours, PartyCannotBeMediator
from bot.domain.contract import ContractKind
from bot.domain.errors import (
    AlreadyAnswered,
    AmountOutOfRange,
    AmountOverBalance,
    AnswerTimeOver,
    CaseClosed,
    CaseMovedOn,
    ChoiceRequired,
    DeadlineNotReached,
    Field,
    InvalidLink,
    NotYourCase,
    NotYourClaim,
    PartyCannotMediate,
    TextRequired,
    TooManyLinks,
    UnknownEvidence,
    UnknownRule,
)
from bot.domain.events import AuditEvent, Evidence, LedgerEntry
from bot.domain.policy import Ground
from bot.domain.routing import RouteKind
from bot.domain.vocabulary import (
    SCHEDULER,
    DeadlineKind,
    DisputeDetails,
    Grounds,
    LedgerKind,
    Stage,
    State,
    Visibility,
)
from tests.unit.factories import (
    CLIENT,
    FREELANCER,
    NOW,
    POLICY,
    STRANGER,
    because,
    contract,
    milestone,
    open_case,
    refused,
    timesheet,
    usd,
)

MEDIATOR = "U0MEDIATOR"
OTHER_MEDIATOR = "U0MEDIATOR2"
LATER = NOW + timedelta(hours=1)
SATURDAY = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)


def hourly_request(amount: str = "100.00") -> Case:
    return open_case(amount, case_id="R-H", contract=contract(ContractKind.HOURLY), item=timesheet())


def declined(case: Case) -> Case:
    case.decline(reason="The work was done.", by=FREELANCER, now=LATER, policy=POLICY)
    return case


def claim(**changes) -> DisputeDetails:
    fields = {"reason": "The Tuesday meeting did not happen.", "certified": True, "minutes": 90}
    return DisputeDetails(**(fields | changes))


def again(case: Case, expected: RouteKind, *, now=LATER, refunded: str = "0", dispute: DisputeDetails | None = None):
    """The client's "Request again" on the demo's hourly week or fixed-price milestone, by the case's kind."""
    hourly = case.item.kind == "timesheet"
    return case.request_again(
        kind=ContractKind.HOURLY if hourly else ContractKind.FIXED_PRICE,
        item=timesheet() if hourly else milestone(),
        refunded_on_item=usd(refunded),
        expected=expected,
        by=CLIENT,
        now=now,
        policy=POLICY,
        details=dispute,
    )


def dispute(case: Case | None = None, *, now=LATER, **changes) -> Case:
    case = case or declined(hourly_request())
    again(case, RouteKind.HOURLY_DISPUTE, now=now, refunded=str(case.refunded.amount), dispute=claim(**changes))
    return case


def escrow(amount: str = "100.00") -> Case:
    case = declined(open_case(amount))
    again(case, RouteKind.ESCROW_REFUND)
    return case


def mediation() -> Case:
    case = escrow()
    case.contest(statement="Delivered as agreed.", by=FREELANCER, now=LATER, policy=POLICY)
    case.reject_position(by=CLIENT, now=LATER)
    return case


def proposed(amount: str = "40.00") -> Case:
    case = mediation()
    case.claim(by=MEDIATOR, now=LATER)
    case.propose(usd(amount), grounds=because("Half the concepts were usable."), by=MEDIATOR, now=LATER, policy=POLICY)
    return case


def offered() -> Case:
    case = proposed()
    case.answer_proposal(False, by=CLIENT, now=LATER, policy=POLICY)
    return case


def ledger(case: Case) -> list[tuple[LedgerKind, str]]:
    return [(e.kind, str(e.amount)) for e in case.events if isinstance(e, LedgerEntry)]


def audits(case: Case) -> list[AuditEvent]:
    return [e for e in case.events if isinstance(e, AuditEvent)]


# --- routing: "Request again" --------------------------------------------------------------------------


def test_hourly_inside_the_review_window_becomes_a_dispute_with_the_freelancer_given_three_days():
    case = dispute()
    assert (case.stage, case.state) == (Stage.HOURLY_DISPUTE, State.AWAITING_FREELANCER)
    assert case.disputed == usd("60.00")  # 90 of the week's 600 minutes of USD 400.00
    assert case.disputed_minutes == 90
    assert case.deadline is not None
    assert (case.deadline.kind, case.deadline.parties) == (DeadlineKind.DISPUTE_RESPONSE, (FREELANCER,))
    assert case.deadline.due_at == LATER + timedelta(days=3)
    assert audits(case)[-1].from_state == State.DECLINED


def test_a_dispute_may_name_an_amount_instead_of_time():
    case = dispute(minutes=None, amount=usd("75.50"))
    assert (case.disputed, case.disputed_minutes) == (usd("75.50"), None)


@pytest.mark.parametrize("minutes", [0, -5, 601])
def test_disputed_time_must_be_within_the_weeks_time(minutes):
    with refused(DisputedTimeInvalid, week_minutes=600):
        dispute(minutes=minutes)


def test_a_disputed_amount_cannot_exceed_what_is_left_of_the_payment():
    case = hourly_request()
    case.adjust(usd("50.00"), note=None, by=FREELANCER, now=LATER, policy=POLICY)
    with refused(AmountOverBalance, balance=usd("350.00")):
        dispute(case, minutes=None, amount=usd("350.01"))


def test_disputed_time_worth_more_than_is_left_is_told_about_the_time():
    case = hourly_request()
    case.adjust(usd("50.00"), note=None, by=FREELANCER, now=LATER, policy=POLICY)
    with refused(TimeOverBalance, minutes=600, worth=usd("400.00"), balance=usd("350.00")):
        dispute(case, minutes=600)  # was AmountOverBalance, shown under an amount the person never typed


def test_a_dispute_needs_the_certification_and_a_reason():
    with pytest.raises(CertificationRequired):
        dispute(certified=False)
    with pytest.raises(TextRequired):
        dispute(reason="  ")


def test_a_dispute_after_friday_23_59_59_is_refused_with_the_window_dates():
    case = declined(hourly_request())
    with pytest.raises(DisputeWindowClosed) as closed:
        dispute(case, now=SATURDAY)
    assert closed.value.opens_at == datetime(2026, 11, 23, 12, tzinfo=UTC)
    assert closed.value.closes_at == SATURDAY
    assert (case.stage, case.state) == (Stage.REQUEST, State.DECLINED)


def test_outside_the_window_but_paid_within_30_days_the_route_is_non_binding_mediation():
    case = declined(hourly_request())
    route = again(case, RouteKind.MEDIATION, now=SATURDAY)
    assert route.kind is RouteKind.MEDIATION
    assert (case.stage, case.state, case.binding, case.disputed) == (
        Stage.MEDIATION,
        State.UNASSIGNED,
        False,
        usd("100.00"),
    )


def test_when_no_route_remains_the_case_closes_out_of_window():
    case = declined(hourly_request())
    late = NOW + timedelta(days=40)
    route = again(case, RouteKind.CLOSED, now=late)
    assert route.mediation is not None
    assert route.mediation.closes_at == datetime(2026, 12, 23, 6, 0, tzinfo=UTC)  # 30 days after payment
    assert (case.state, case.closed_at) == (State.CLOSED_OUT_OF_WINDOW, late)


def test_a_route_that_changed_since_the_client_saw_it_is_refused():
    case = declined(open_case())
    with refused(RouteChanged, expected="mediation", actual="escrow_refund"):
        again(case, RouteKind.MEDIATION)


def test_only_the_client_asks_again_and_only_after_the_request_was_answered():
    case = declined(hourly_request())
    with refused(NotYourCase, role="client"):
        case.ensure_client_may_ask_again(FREELANCER, LATER)
    with pytest.raises(CaseMovedOn):
        open_case().ensure_client_may_ask_again(CLIENT, LATER)  # still waiting for the freelancer


def test_a_lapsed_or_partly_refunded_request_may_go_further_too():
    lapsed = open_case()
    lapsed.expire(now=NOW + timedelta(days=3), policy=POLICY)
    lapsed.ensure_client_may_ask_again(CLIENT, NOW + timedelta(days=3))
    adjusted = open_case()
    adjusted.adjust(usd("30.00"), note=None, by=FREELANCER, now=LATER, policy=POLICY)
    again(adjusted, RouteKind.ESCROW_REFUND, refunded="30.00")
    assert adjusted.disputed == usd("70.00")  # what the request still asks for


# --- hourly dispute --------------------------------------------------------------------------------------


def test_the_freelancer_accepts_a_dispute_and_the_client_is_refunded():
    case = dispute()
    case.concede(by=FREELANCER, now=LATER)
    assert (case.state, case.refunded, case.closed_at) == (State.REFUNDED, usd("60.00"), LATER)
    assert ledger(case) == [(LedgerKind.REFUND, "USD 60.00")]


def test_a_contested_dispute_goes_to_a_mediator_who_decides_with_a_rationale():
    case = dispute()
    case.contest(statement="The meeting happened; here are the notes.", by=FREELANCER, now=LATER, policy=POLICY)
    assert (case.state, case.deadline) == (State.IN_REVIEW, None)
    case.claim(by=MEDIATOR, now=LATER)
    with refused(TextRequired, field=Field.RATIONALE):
        case.decide(usd("20.00"), grounds=because(""), by=MEDIATOR, now=LATER, policy=POLICY)
    with refused(AmountOutOfRange, low=usd("0.00"), high=usd("60.00")):
        case.decide(usd("60.01"), grounds=because("x"), by=MEDIATOR, now=LATER, policy=POLICY)
    case.decide(usd("20.00"), grounds=because("One hour is documented."), by=MEDIATOR, now=LATER, policy=POLICY)
    assert (case.state, case.refunded, case.rationale) == (State.DECIDED, usd("20.00"), "One hour is documented.")
    assert ledger(case) == [(LedgerKind.REFUND, "USD 20.00"), (LedgerKind.RELEASE, "USD 40.00")]
    with pytest.raises(CaseMovedOn):
        case.decide(usd("0"), grounds=because("again"), by=MEDIATOR, now=LATER, policy=POLICY)


def with_evidence(case: Case) -> Case:
    """Two pieces: the client's for both sides, the freelancer's for the mediator only."""
    case.add_evidence(
        text="Calendar: no meeting.", links=(), visibility=Visibility.BOTH_SIDES, by=CLIENT, now=LATER, policy=POLICY
    )
    case.add_evidence(
        text="Private notes.", links=(), visibility=Visibility.MEDIATOR_ONLY, by=FREELANCER, now=LATER, policy=POLICY
    )
    return case


def test_a_decision_names_a_rule_of_the_case_policy_for_its_kind_and_cites_the_evidence_it_relied_on():
    case = with_evidence(dispute())
    case.contest(statement="The meeting happened.", by=FREELANCER, now=LATER, policy=POLICY)
    case.claim(by=MEDIATOR, now=LATER)
    case.events.clear()

    def decide(grounds: Grounds) -> None:
        case.decide(usd("20.00"), grounds=grounds, by=MEDIATOR, now=LATER, policy=POLICY)

    with refused(ChoiceRequired, field=Field.RULE):
        decide(because("One hour is documented.", 1, rule=""))
    with refused(UnknownRule, rule="made_up", field=Field.RULE):
        decide(because("One hour is documented.", 1, rule="made_up"))
    with refused(ChoiceRequired, field=Field.CITED):
        decide(because("One hour is documented."))  # the case has evidence: the outcome must say which
    with refused(UnknownEvidence, seq=3, count=2, field=Field.CITED):
        decide(because("One hour is documented.", 1, 3))
    assert (case.state, case.rule, case.cited, case.events) == (State.IN_REVIEW, None, (), [])
    decide(because("One hour is documented.", 2, 1, 2, rule="hours_not_shown"))
    assert (case.rule, case.cited) == ("hours_not_shown", (1, 2))
    [decided] = audits(case)
    assert (decided.to_state, decided.rationale, decided.rule, decided.cited) == (
        State.DECIDED,
        "One hour is documented.",
        "hours_not_shown",
        (1, 2),
    )


def test_an_hourly_rule_does_not_fit_a_fixed_price_case_and_a_case_without_evidence_cites_none():
    case = mediation()
    case.claim(by=MEDIATOR, now=LATER)
    with refused(UnknownRule, rule="hours_not_shown"):
        case.propose(usd("10.00"), grounds=because("x", rule="hours_not_shown"), by=MEDIATOR, now=LATER, policy=POLICY)
    case.propose(usd("10.00"), grounds=because("x", rule="not_as_agreed"), by=MEDIATOR, now=LATER, policy=POLICY)
    assert [(a.rule, a.cited) for a in audits(case)][-1] == ("not_as_agreed", ())
    assert [a.rule for a in audits(case)][:-1] == [None] * (len(audits(case)) - 1)  # only an outcome names one


def test_the_rules_offered_are_the_case_policy_ones():
    narrow = replace(POLICY, version="v9", grounds={"ours": Ground("Our only rule.")})
    case = mediation()
    case.claim(by=MEDIATOR, now=LATER)
    with refused(UnknownRule, rule="not_as_agreed"):
        case.propose(usd("10.00"), grounds=because("x", rule="not_as_agreed"), by=MEDIATOR, now=LATER, policy=narrow)
    case.propose(usd("10.00"), grounds=because("x", rule="ours"), by=MEDIATOR, now=LATER, policy=narrow)
    assert case.rule == "ours"


def test_freelancer_silence_on_a_dispute_sends_it_to_review():
    case = dispute()
    due = LATER + timedelta(days=3)
    with pytest.raises(DeadlineNotReached):
        case.expire(now=due - timedelta(seconds=1), policy=POLICY)
    case.expire(now=due, policy=POLICY)
    assert (case.state, case.updated_by) == (State.IN_REVIEW, SCHEDULER)
    with pytest.raises(AnswerTimeOver):
        dispute().concede(by=FREELANCER, now=due)


def test_only_the_freelancer_answers_a_dispute():
    with refused(NotYourCase, role="freelancer"):
        dispute().concede(by=CLIENT, now=LATER)


# --- escrow refund ---------------------------------------------------------------------------------------


def test_escrow_refund_gives_the_freelancer_seven_days():
    case = escrow()
    assert (case.stage, case.state, case.disputed) == (Stage.ESCROW_REFUND, State.AWAITING_FREELANCER, usd("100.00"))
    assert case.deadline is not None
    assert case.deadline.due_at == LATER + timedelta(days=7)


def test_escrow_accepted_refunds_and_silence_refunds_too():
    accepted = escrow()
    accepted.concede(by=FREELANCER, now=LATER)
    assert (accepted.state, ledger(accepted)) == (State.REFUNDED, [(LedgerKind.REFUND, "USD 100.00")])
    silent = escrow()
    silent.expire(now=LATER + timedelta(days=7), policy=POLICY)
    assert (silent.state, silent.refunded, silent.updated_by) == (State.REFUNDED, usd("100.00"), SCHEDULER)


def test_a_freelancers_escrow_dispute_gives_the_client_five_days():
    case = escrow()
    with refused(TextRequired, field=Field.STATEMENT):
        case.contest(statement=" ", by=FREELANCER, now=LATER, policy=POLICY)
    case.contest(statement="Delivered as agreed.", by=FREELANCER, now=LATER, policy=POLICY)
    assert case.state == State.FREELANCER_DISPUTED
    assert case.deadline is not None
    assert (case.deadline.parties, case.deadline.due_at) == ((CLIENT,), LATER + timedelta(days=5))
    with pytest.raises(NotYourCase):
        case.accept_position(by=FREELANCER, now=LATER)


def test_the_client_accepting_the_freelancers_position_or_staying_silent_releases_the_funds():
    accepted = escrow()
    accepted.contest(statement="Delivered.", by=FREELANCER, now=LATER, policy=POLICY)
    accepted.accept_position(by=CLIENT, now=LATER)
    assert (accepted.state, accepted.refunded, ledger(accepted)) == (
        State.RELEASED,
        usd("0"),
        [(LedgerKind.RELEASE, "USD 100.00")],
    )
    silent = escrow()
    silent.contest(statement="Delivered.", by=FREELANCER, now=LATER, policy=POLICY)
    silent.expire(now=LATER + timedelta(days=5), policy=POLICY)
    assert (silent.state, silent.closed_at) == (State.RELEASED, LATER + timedelta(days=5))


def test_the_client_rejecting_the_freelancers_position_goes_to_binding_mediation():
    case = mediation()
    assert (case.stage, case.state, case.binding, case.deadline) == (Stage.MEDIATION, State.UNASSIGNED, True, None)


# --- mediators -------------------------------------------------------------------------------------------


def test_one_mediator_claims_and_a_second_claim_is_refused():
    case = mediation()
    case.claim(by=MEDIATOR, now=LATER)
    assert (case.state, case.mediator_id) == (State.CLAIMED, MEDIATOR)
    with refused(AlreadyClaimed, mediator=MEDIATOR):
        case.claim(by=OTHER_MEDIATOR, now=LATER)
    review = dispute()
    review.contest(statement="No.", by=FREELANCER, now=LATER, policy=POLICY)
    review.claim(by=MEDIATOR, now=LATER)
    with refused(AlreadyClaimed, mediator=MEDIATOR):
        review.claim(by=OTHER_MEDIATOR, now=LATER)


@pytest.mark.parametrize("party", [CLIENT, FREELANCER])
def test_a_party_can_never_mediate_their_own_case(party):
    case = mediation()
    with pytest.raises(PartyCannotMediate):
        case.claim(by=party, now=LATER)
    case.claim(by=MEDIATOR, now=LATER)
    with refused(PartyCannotBeMediator, user_id=party, field=Field.MEDIATOR):
        case.reassign(party, by=MEDIATOR, now=LATER)
    with refused(AlreadyYours, field=Field.MEDIATOR):
        case.reassign(MEDIATOR, by=MEDIATOR, now=LATER)


def test_only_the_claiming_mediator_proposes_releases_or_reassigns():
    case = mediation()
    with refused(NotYourClaim, mediator=None):
        case.propose(usd("1.00"), grounds=because("x"), by=MEDIATOR, now=LATER, policy=POLICY)
    case.claim(by=MEDIATOR, now=LATER)
    with refused(NotYourClaim, mediator=MEDIATOR):
        case.propose(usd("1.00"), grounds=because("x"), by=OTHER_MEDIATOR, now=LATER, policy=POLICY)
    case.reassign(OTHER_MEDIATOR, by=MEDIATOR, now=LATER)
    assert case.mediator_id == OTHER_MEDIATOR
    case.release(by=OTHER_MEDIATOR, now=LATER)
    assert (case.state, case.mediator_id) == (State.UNASSIGNED, None)


def test_a_proposal_is_between_zero_and_the_amount_at_stake_and_needs_a_rationale():
    case = mediation()
    case.claim(by=MEDIATOR, now=LATER)
    with pytest.raises(AmountOutOfRange):
        case.propose(usd("100.01"), grounds=because("x"), by=MEDIATOR, now=LATER, policy=POLICY)
    with pytest.raises(TextRequired):
        case.propose(usd("10.00"), grounds=because(""), by=MEDIATOR, now=LATER, policy=POLICY)
    case.propose(usd("0"), grounds=because("The work met the brief."), by=MEDIATOR, now=LATER, policy=POLICY)
    assert case.deadline is not None
    assert (case.deadline.kind, case.deadline.parties) == (DeadlineKind.PROPOSAL_RESPONSE, (CLIENT, FREELANCER))
    assert case.deadline.due_at == LATER + timedelta(days=2)


def test_both_parties_accepting_settles_at_the_proposal():
    case = proposed("40.00")
    case.answer_proposal(True, by=FREELANCER, now=LATER, policy=POLICY)
    assert (case.state, case.waiting_on) == (State.PROPOSED, (CLIENT,))
    with pytest.raises(AlreadyAnswered):
        case.answer_proposal(False, by=FREELANCER, now=LATER, policy=POLICY)
    case.answer_proposal(True, by=CLIENT, now=LATER, policy=POLICY)
    assert (case.state, case.refunded) == (State.SETTLED, usd("40.00"))
    assert ledger(case) == [(LedgerKind.REFUND, "USD 40.00"), (LedgerKind.RELEASE, "USD 60.00")]


def test_strangers_cannot_answer_a_proposal():
    with pytest.raises(NotYourCase):
        proposed().answer_proposal(True, by=STRANGER, now=LATER, policy=POLICY)


def test_a_rejection_or_silence_on_a_binding_proposal_offers_arbitration_for_seven_days():
    case = offered()
    assert (case.state, case.answers, case.waiting_on) == (State.ARBITRATION_OFFERED, {}, (CLIENT, FREELANCER))
    assert case.deadline is not None
    assert (case.deadline.kind, case.deadline.due_at) == (DeadlineKind.ARBITRATION_FEE, LATER + timedelta(days=7))
    silent = proposed()
    silent.answer_proposal(True, by=CLIENT, now=LATER, policy=POLICY)
    silent.expire(now=LATER + timedelta(days=2), policy=POLICY)
    assert silent.state == State.ARBITRATION_OFFERED
    assert "no answer from the freelancer" in (audits(silent)[-1].rationale or "")


def test_a_rejected_non_binding_proposal_closes_with_nothing_more_refunded():
    case = declined(hourly_request())
    again(case, RouteKind.MEDIATION, now=SATURDAY)
    case.claim(by=MEDIATOR, now=SATURDAY)
    case.propose(usd("30.00"), grounds=because("Some hours are unclear."), by=MEDIATOR, now=SATURDAY, policy=POLICY)
    case.answer_proposal(False, by=FREELANCER, now=SATURDAY, policy=POLICY)
    assert (case.state, case.refunded, case.closed_at) == (State.RELEASED, usd("0"), SATURDAY)


def test_when_both_pay_the_mediator_records_the_binding_award():
    case = offered()
    case.agree_to_arbitrate(by=FREELANCER, now=LATER)
    with pytest.raises(AlreadyAnswered):
        case.agree_to_arbitrate(by=FREELANCER, now=LATER)
    case.agree_to_arbitrate(by=CLIENT, now=LATER)
    assert (case.state, case.deadline) == (State.ARBITRATION, None)
    with pytest.raises(CaseMovedOn):
        case.withdraw(by=CLIENT, now=LATER)
    with refused(TextRequired, field=Field.AWARD_REFERENCE):
        case.record_award(usd("70.00"), reference="", grounds=because("x"), by=MEDIATOR, now=LATER, policy=POLICY)
    case.record_award(
        usd("70.00"), reference="AAA-2026-118", grounds=because("Award"), by=MEDIATOR, now=LATER, policy=POLICY
    )
    assert (case.state, case.refunded, case.award_reference) == (State.AWARDED, usd("70.00"), "AAA-2026-118")
    assert ledger(case) == [(LedgerKind.REFUND, "USD 70.00"), (LedgerKind.RELEASE, "USD 30.00")]


@pytest.mark.parametrize(
    ("payers", "state", "refunded"),
    [((), State.REFUNDED, "100.00"), ((CLIENT,), State.REFUNDED, "100.00"), ((FREELANCER,), State.RELEASED, "0")],
)
def test_the_fee_rule_decides_when_fewer_than_two_pay(payers, state, refunded):
    case = offered()
    for payer in payers:
        case.agree_to_arbitrate(by=payer, now=LATER)
    case.expire(now=LATER + timedelta(days=7), policy=POLICY)
    assert (case.state, case.refunded, case.updated_by) == (state, usd(refunded), SCHEDULER)
    assert not case.is_open


# --- withdrawal, evidence, invariants ---------------------------------------------------------------------


@pytest.mark.parametrize("build", [dispute, escrow, mediation, proposed, offered])
def test_the_client_may_withdraw_any_open_stage_before_a_decision(build):
    case = build()
    case.withdraw(by=CLIENT, now=LATER)
    assert (case.state, case.closed_at, case.deadline) == (State.WITHDRAWN, LATER, None)


def test_evidence_is_checked_and_counted_and_closed_cases_take_none():
    case = escrow()
    with pytest.raises(NotYourCase):
        case.add_evidence(text="x", links=(), visibility=Visibility.BOTH_SIDES, by=STRANGER, now=LATER, policy=POLICY)
    with pytest.raises(TextRequired):
        case.add_evidence(text=" ", links=(), visibility=Visibility.BOTH_SIDES, by=CLIENT, now=LATER, policy=POLICY)
    with pytest.raises(InvalidLink):
        case.add_evidence(
            text=None,
            links=("javascript:alert(1)",),
            visibility=Visibility.BOTH_SIDES,
            by=CLIENT,
            now=LATER,
            policy=POLICY,
        )
    with pytest.raises(TooManyLinks):
        case.add_evidence(
            text=None,
            links=tuple(f"https://example.com/{n}" for n in range(11)),
            visibility=Visibility.BOTH_SIDES,
            by=CLIENT,
            now=LATER,
            policy=POLICY,
        )
    added = case.add_evidence(
        text="Brief attached.",
        links=("https://files.slack.com/files-pri/T1-F1/brief.pdf",),
        visibility=Visibility.MEDIATOR_ONLY,
        by=FREELANCER,
        now=LATER,
        policy=POLICY,
    )
    assert (added.seq, added.role, case.evidence_count) == (1, "freelancer", 1)
    assert [e for e in case.events if isinstance(e, Evidence)] == [added]
    case.concede(by=FREELANCER, now=LATER)
    with pytest.raises(CaseClosed):
        case.add_evidence(text="late", links=(), visibility=Visibility.BOTH_SIDES, by=CLIENT, now=LATER, policy=POLICY)


def test_every_step_of_a_full_story_writes_one_audit_row_in_sequence():
    case = offered()
    case.agree_to_arbitrate(by=CLIENT, now=LATER)
    case.agree_to_arbitrate(by=FREELANCER, now=LATER)
    case.record_award(usd("10.00"), reference="X-1", grounds=because("Award"), by=MEDIATOR, now=LATER, policy=POLICY)
    rows = audits(case)
    assert [row.seq for row in rows] == list(range(1, len(rows) + 1)) == list(range(1, case.transitions + 1))
    assert [row.to_state for row in rows] == [
        "awaiting_freelancer",
        "declined",
        "awaiting_freelancer",
        "freelancer_disputed",
        "unassigned",
        "claimed",
        "proposed",
        "arbitration_offered",
        "arbitration_offered",
        "arbitration",
        "awarded",
    ]
