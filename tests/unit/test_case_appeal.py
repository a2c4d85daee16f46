"""Design §2.4, appeal: after a mediator's decision on an hourly dispute, or a rejected proposal, either party may ask
once, within the policy's window and with a reason, for a second mediator's review, which is final. Times: as in
test_case_escalation (the hourly week's review window is open on Wed 25 Nov)."""

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.domain.case import Case
from bot.domain.case.appeal import AppealWindowOver, ArbitrationStarted, FirstMediatorCannotReview
from bot.domain.errors import CaseMovedOn, DeadlineNotReached, NotYourCase, TextRequired
from bot.domain.events import AppealWindowClosed
from bot.domain.policy import Appeals
from bot.domain.routing import RouteKind
from bot.domain.vocabulary import SCHEDULER, DeadlineKind, LedgerKind, Move, Stage, State
from tests.unit.factories import CLIENT, FREELANCER, POLICY, STRANGER, because, refused, usd
from tests.unit.test_case_escalation import (
    LATER,
    MEDIATOR,
    OTHER_MEDIATOR,
    SATURDAY,
    again,
    audits,
    declined,
    dispute,
    hourly_request,
    ledger,
    mediation,
)

APPEALS = replace(POLICY, version="a1", appeals=Appeals(timedelta(hours=48), ("hourly_decision", "rejected_proposal")))
THIRD_MEDIATOR = "U0MEDIATOR3"


def decided(amount: str = "20.00", policy=APPEALS) -> Case:
    """An hourly dispute of USD 60.00 decided by MEDIATOR."""
    case = dispute()
    case.contest(statement="The meeting happened.", by=FREELANCER, now=LATER, policy=policy)
    case.claim(by=MEDIATOR, now=LATER)
    case.decide(usd(amount), grounds=because("One hour is documented."), by=MEDIATOR, now=LATER, policy=policy)
    case.events.clear()
    return case


def rejected(policy=APPEALS) -> Case:
    """A binding mediation of USD 100.00: MEDIATOR proposed 40.00 and the client rejected it."""
    case = mediation()
    case.claim(by=MEDIATOR, now=LATER)
    case.propose(usd("40.00"), grounds=because("Two of five concepts fit."), by=MEDIATOR, now=LATER, policy=policy)
    case.answer_proposal(False, by=CLIENT, now=LATER, policy=policy)
    case.events.clear()
    return case


def appealed(case: Case, by: str = FREELANCER) -> Case:
    case.request_appeal(reason="The work diary shows the meeting.", by=by, now=LATER, policy=APPEALS)
    case.events.clear()
    return case


def test_without_appeals_in_the_policy_a_decision_is_final_at_once():
    case = decided(policy=POLICY)
    assert (case.state, case.is_open, case.appeal_deadline) == (State.DECIDED, False, None)
    assert Move.APPEAL not in case.moves("client", LATER)
    with pytest.raises(CaseMovedOn):
        case.request_appeal(reason="Wrong.", by=CLIENT, now=LATER, policy=POLICY)


def test_a_decision_is_paid_out_at_once_and_stays_open_to_appeal_through_the_window():
    case = dispute()
    case.contest(statement="The meeting happened.", by=FREELANCER, now=LATER, policy=APPEALS)
    case.claim(by=MEDIATOR, now=LATER)
    case.decide(usd("20.00"), grounds=because("One hour is documented."), by=MEDIATOR, now=LATER, policy=APPEALS)
    assert ledger(case) == [(LedgerKind.REFUND, "USD 20.00"), (LedgerKind.RELEASE, "USD 40.00")]
    assert (case.state, case.is_open, case.outcome) == (State.DECIDED, True, usd("20.00"))
    window = case.appeal_deadline
    assert window is not None
    assert (window.kind, window.parties, window.due_at) == (
        DeadlineKind.APPEAL_WINDOW,
        (CLIENT, FREELANCER),
        LATER + timedelta(hours=48),
    )
    assert window in case.deadlines
    assert Move.APPEAL in case.moves("client", LATER)
    assert Move.APPEAL in case.moves("freelancer", LATER)
    assert case.mediator_moves() == ()  # the first mediator is done with it
    with pytest.raises(CaseMovedOn):
        case.withdraw(by=CLIENT, now=LATER)  # a decision was made: nothing to withdraw before


def test_an_appeal_needs_a_party_a_reason_and_time_left():
    case = decided()
    with refused(NotYourCase):
        case.request_appeal(reason="Wrong.", by=STRANGER, now=LATER, policy=APPEALS)
    with refused(TextRequired):
        case.request_appeal(reason=" \u200b ", by=CLIENT, now=LATER, policy=APPEALS)
    closes = LATER + timedelta(hours=48)
    with refused(AppealWindowOver, closed_at=closes):
        case.request_appeal(reason="Wrong.", by=CLIENT, now=closes, policy=APPEALS)
    assert (case.state, case.events) == (State.DECIDED, [])


def test_either_party_appeals_once_and_a_second_mediator_must_review_it():
    case = appealed(decided(), by=FREELANCER)
    assert (case.stage, case.state, case.mediator_id) == (Stage.APPEAL, State.APPEAL_REQUESTED, None)
    assert case.appeal is not None
    assert (case.appeal.role, case.appeal.outcome, case.appeal.first_mediator) == ("freelancer", "decided", MEDIATOR)
    assert (case.appeal.amount, case.appeal.refunded) == (usd("20.00"), usd("20.00"))
    assert (case.appeal_deadline, case.deadlines) == (None, ())
    with pytest.raises(CaseMovedOn):  # once per case: the client cannot appeal the same outcome again
        case.request_appeal(reason="Me too.", by=CLIENT, now=LATER, policy=APPEALS)
    with refused(FirstMediatorCannotReview, mediator=MEDIATOR):
        case.claim(by=MEDIATOR, now=LATER)
    case.claim(by=OTHER_MEDIATOR, now=LATER)
    with refused(FirstMediatorCannotReview):
        case.reassign(MEDIATOR, by=OTHER_MEDIATOR, now=LATER)
    case.reassign(THIRD_MEDIATOR, by=OTHER_MEDIATOR, now=LATER)
    assert case.mediator_moves() == (Move.REVIEW, Move.RELEASE, Move.ASK, Move.REASSIGN)


def test_a_review_that_refunds_more_adds_a_refund_and_a_release_reversal():
    case = appealed(decided("20.00"))
    case.claim(by=OTHER_MEDIATOR, now=LATER)
    grounds = because("The diary shows no meeting.", rule="hours_not_shown")
    case.review(usd("50.00"), grounds=grounds, by=OTHER_MEDIATOR, now=LATER, policy=APPEALS)
    assert ledger(case) == [(LedgerKind.REFUND, "USD 30.00"), (LedgerKind.RELEASE_REVERSAL, "USD 30.00")]
    assert (case.state, case.refunded, case.outcome, case.is_open) == (
        State.REVIEWED,
        usd("50.00"),
        usd("50.00"),
        False,
    )
    reviewed = audits(case)[-1]
    assert (reviewed.actor, reviewed.from_state, reviewed.to_state, reviewed.rule) == (
        OTHER_MEDIATOR,
        State.APPEAL_REQUESTED,
        State.REVIEWED,
        "hours_not_shown",
    )


def test_a_review_that_refunds_less_reverses_part_of_the_refund_and_one_that_confirms_writes_nothing():
    lower = appealed(decided("20.00"), by=FREELANCER)
    lower.claim(by=OTHER_MEDIATOR, now=LATER)
    lower.review(usd("5.00"), grounds=because("Mostly documented."), by=OTHER_MEDIATOR, now=LATER, policy=APPEALS)
    assert ledger(lower) == [(LedgerKind.REFUND_REVERSAL, "USD 15.00"), (LedgerKind.RELEASE, "USD 15.00")]
    assert lower.refunded == usd("5.00")
    same = appealed(decided("20.00"), by=CLIENT)
    same.claim(by=OTHER_MEDIATOR, now=LATER)
    same.review(usd("20.00"), grounds=because("As decided."), by=OTHER_MEDIATOR, now=LATER, policy=APPEALS)
    assert (ledger(same), same.state, same.refunded) == ([], State.REVIEWED, usd("20.00"))


def test_silence_through_the_window_makes_the_decision_final():
    case = decided()
    closes = LATER + timedelta(hours=48)
    with refused(DeadlineNotReached, due_at=closes):
        case.end_appeal_window(now=closes - timedelta(seconds=1))
    case.end_appeal_window(now=closes)
    assert (case.state, case.closed_at, case.appeal_deadline, case.deadlines) == (State.DECIDED, closes, None, ())
    [closed] = audits(case)
    assert (closed.actor, closed.from_state, closed.to_state) == (SCHEDULER, State.DECIDED, State.DECIDED)
    assert AppealWindowClosed(case.id, closes, final=True) in case.events
    assert ledger(case) == []  # the decision's entries stand as written
    assert case.updated_by == MEDIATOR  # the outcome is still the mediator's
    with refused(AppealWindowOver, closed_at=closes):  # the late are told the window closed, not that it moved
        case.request_appeal(reason="Late.", by=CLIENT, now=closes, policy=APPEALS)


def test_a_rejected_binding_proposal_offers_arbitration_and_a_review_side_by_side():
    case = rejected()
    assert case.state == State.ARBITRATION_OFFERED
    assert {d.kind for d in case.deadlines} == {DeadlineKind.ARBITRATION_FEE, DeadlineKind.APPEAL_WINDOW}
    assert {Move.ARBITRATE, Move.APPEAL} <= set(case.moves("client", LATER))
    appealed(case, by=CLIENT)
    assert (case.deadline, case.answers, case.appeal.amount, case.appeal.refunded) == (None, {}, usd("40.00"), usd(0))
    with pytest.raises(CaseMovedOn):
        case.agree_to_arbitrate(by=FREELANCER, now=LATER)  # the arbitration offer ended with the appeal
    case.claim(by=OTHER_MEDIATOR, now=LATER)
    case.review(usd("40.00"), grounds=because("The proposal was fair."), by=OTHER_MEDIATOR, now=LATER, policy=APPEALS)
    assert ledger(case) == [(LedgerKind.REFUND, "USD 40.00"), (LedgerKind.RELEASE, "USD 60.00")]
    assert (case.state, case.refunded, case.is_open) == (State.REVIEWED, usd("40.00"), False)


def test_once_a_party_paid_for_arbitration_the_proposal_is_not_reviewed():
    case = rejected()
    case.agree_to_arbitrate(by=FREELANCER, now=LATER)
    assert case.appeal_deadline is None
    assert Move.APPEAL not in case.moves("client", LATER)
    case.appeal_deadline = rejected().appeal_deadline  # even had the window stayed, the choice is made
    with refused(ArbitrationStarted, role="freelancer"):
        case.request_appeal(reason="Review it.", by=CLIENT, now=LATER, policy=APPEALS)


def test_when_the_window_ends_unappealed_the_arbitration_offer_stands():
    case = rejected()
    fee_deadline = case.deadline
    case.end_appeal_window(now=LATER + timedelta(hours=48))
    assert (case.state, case.deadline, case.is_open) == (State.ARBITRATION_OFFERED, fee_deadline, True)
    assert AppealWindowClosed(case.id, LATER + timedelta(hours=48), final=False) in case.events
    assert Move.APPEAL not in case.moves("client", LATER + timedelta(hours=48))
    assert Move.ARBITRATE in case.moves("client", LATER + timedelta(hours=48))


def test_a_rejected_non_binding_proposal_closes_released_but_open_to_appeal():
    case = declined(hourly_request())
    again(case, RouteKind.MEDIATION, now=SATURDAY)
    case.claim(by=MEDIATOR, now=SATURDAY)
    case.propose(usd("30.00"), grounds=because("Some hours are unclear."), by=MEDIATOR, now=SATURDAY, policy=APPEALS)
    case.answer_proposal(False, by=FREELANCER, now=SATURDAY, policy=APPEALS)
    assert (case.state, case.is_open, ledger(case)[-1]) == (State.RELEASED, True, (LedgerKind.RELEASE, "USD 100.00"))
    case.request_appeal(reason="The hours were not worked.", by=CLIENT, now=SATURDAY, policy=APPEALS)
    case.claim(by=OTHER_MEDIATOR, now=SATURDAY)
    case.events.clear()
    case.review(usd("30.00"), grounds=because("As proposed."), by=OTHER_MEDIATOR, now=SATURDAY, policy=APPEALS)
    assert ledger(case) == [(LedgerKind.REFUND, "USD 30.00"), (LedgerKind.RELEASE_REVERSAL, "USD 30.00")]
    assert case.refunded == usd("30.00")


def test_a_policy_may_offer_appeals_on_decisions_only():
    decisions_only = replace(APPEALS, appeals=Appeals(timedelta(days=1), ("hourly_decision",)))
    assert rejected(policy=decisions_only).appeal_deadline is None
    window = decided(policy=decisions_only).appeal_deadline
    assert window is not None
    assert window.due_at == LATER + timedelta(days=1)
