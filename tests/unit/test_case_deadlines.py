"""Deadlines in the domain (design §2.2): what silence means at each one, and the once-per-case extension."""

from datetime import timedelta

import pytest

from bot.domain.case import ExtensionUsed, NothingToExtend
from bot.domain.contract import ContractKind
from bot.domain.errors import AnswerTimeOver, CaseMovedOn, DeadlineNotReached, NotYourCase
from bot.domain.vocabulary import SCHEDULER, DeadlineKind, State
from tests.unit.factories import CLIENT, FREELANCER, NOW, POLICY, STRANGER, because, contract, open_case, timesheet
from tests.unit.test_case_escalation import (
    MEDIATOR,
    SATURDAY,
    audits,
    declined,
    dispute,
    escrow,
    hourly_request,
    offered,
    proposed,
)

DUE = NOW + POLICY.response_window


def test_the_request_deadline_is_three_days_after_it_opens_with_the_policys_reminders():
    case = open_case()
    assert case.deadline is not None
    assert (case.deadline.kind, case.deadline.parties, case.deadline.due_at) == (
        DeadlineKind.FREELANCER_RESPONSE,
        (FREELANCER,),
        NOW + timedelta(days=3),
    )
    assert case.deadline.reminder_offsets == (48 * 3600, 24 * 3600, 2 * 3600)


def test_the_freelancer_away_gets_48_hours_more_once_and_the_state_stays():
    case = open_case()
    case.extend(by=FREELANCER, now=NOW + timedelta(days=2), policy=POLICY)
    assert case.deadline is not None
    assert case.deadline.due_at == DUE + timedelta(hours=48)
    assert case.deadline.kind is DeadlineKind.FREELANCER_RESPONSE
    assert (case.state, case.extended_by) == (State.AWAITING_FREELANCER, ("freelancer",))
    assert (case.updated_by, case.updated_at) == (CLIENT, NOW)  # the request's own story is unchanged
    [_, extended] = audits(case)
    assert [extended.actor, extended.from_state, extended.to_state] == [FREELANCER, *["awaiting_freelancer"] * 2]
    assert (
        extended.rationale
        == "the freelancer is away and asked for more time: the deadline moves to 30 Nov 2026 10:00 UTC"
    )
    with pytest.raises(ExtensionUsed):
        case.extend(by=FREELANCER, now=NOW + timedelta(days=3), policy=POLICY)
    assert case.deadline.due_at == DUE + timedelta(hours=48)


def test_the_old_deadline_no_longer_lapses_the_request_but_the_new_one_does():
    case = open_case()
    case.extend(by=FREELANCER, now=NOW, policy=POLICY)
    with pytest.raises(DeadlineNotReached):
        case.expire(now=DUE, policy=POLICY)
    case.approve(by=FREELANCER, now=DUE + timedelta(hours=1))  # still in time
    assert case.state == State.APPROVED


def test_only_the_party_the_case_waits_on_may_ask_and_only_before_the_deadline():
    case = open_case()
    with pytest.raises(NothingToExtend):
        case.extend(by=CLIENT, now=NOW, policy=POLICY)
    with pytest.raises(NotYourCase):
        case.extend(by=STRANGER, now=NOW, policy=POLICY)
    with pytest.raises(AnswerTimeOver):
        case.extend(by=FREELANCER, now=DUE, policy=POLICY)
    declined_case = declined(open_case())  # no deadline: the client decides when to go on
    with pytest.raises(CaseMovedOn):
        declined_case.extend(by=CLIENT, now=NOW + timedelta(hours=2), policy=POLICY)
    assert case.extended_by == ()
    assert len(audits(case)) == 1


def test_on_a_proposal_each_party_may_ask_once_and_the_shared_deadline_moves_for_both():
    case = proposed()
    assert case.deadline is not None
    due = case.deadline.due_at
    at = due - timedelta(hours=1)
    case.extend(by=CLIENT, now=at, policy=POLICY)
    case.extend(by=FREELANCER, now=at, policy=POLICY)
    assert case.deadline.due_at == due + timedelta(hours=96)
    assert case.deadline.parties == (CLIENT, FREELANCER)
    assert case.extended_by == ("client", "freelancer")
    with pytest.raises(ExtensionUsed):
        case.extend(by=CLIENT, now=at, policy=POLICY)


def test_a_party_who_already_answered_a_proposal_has_nothing_to_extend():
    case = proposed()
    case.answer_proposal(True, by=CLIENT, now=NOW + timedelta(hours=2), policy=POLICY)
    with pytest.raises(NothingToExtend):
        case.extend(by=CLIENT, now=NOW + timedelta(hours=2), policy=POLICY)


def test_the_extension_is_once_per_case_not_per_stage():
    case = escrow()
    assert case.deadline is not None
    at = case.deadline.due_at - timedelta(hours=1)
    case.extend(by=FREELANCER, now=at, policy=POLICY)
    case.contest(statement="Delivered.", by=FREELANCER, now=at, policy=POLICY)
    case.reject_position(by=CLIENT, now=at)
    case.claim(by=MEDIATOR, now=at)
    case.propose(case.at_stake, grounds=because("All of it."), by=MEDIATOR, now=at, policy=POLICY)
    with pytest.raises(ExtensionUsed):
        case.extend(by=FREELANCER, now=at, policy=POLICY)
    case.extend(by=CLIENT, now=at, policy=POLICY)  # the client has not had theirs
    assert case.extended_by == ("freelancer", "client")


# --- what silence means, each deadline (design §2.2), with the reason recorded -------------------------


@pytest.mark.parametrize(
    ("build", "state", "refunded", "why"),
    [
        (open_case, State.LAPSED, "0.00", "did not answer within the response window"),
        (dispute, State.IN_REVIEW, "0.00", "so a mediator decides"),
        (escrow, State.REFUNDED, "100.00", "so the client is refunded"),
        (proposed, State.ARBITRATION_OFFERED, "0.00", "counts as rejecting the proposal"),
        (offered, State.REFUNDED, "100.00", "neither party paid the arbitration fee"),
    ],
)
def test_each_deadline_applies_its_silence_rule_once_with_the_reason(build, state, refunded, why):
    case = build()
    assert case.deadline is not None
    due = case.deadline.due_at
    with pytest.raises(DeadlineNotReached):
        case.expire(now=due - timedelta(seconds=1), policy=POLICY)
    case.expire(now=due, policy=POLICY)
    assert (case.state, str(case.refunded.amount)) == (state, refunded)
    last = audits(case)[-1]
    assert last.actor == SCHEDULER
    assert why in (last.rationale or "")
    if not case.is_open or case.deadline is None:
        with pytest.raises(CaseMovedOn):
            case.expire(now=due + timedelta(days=30), policy=POLICY)


def test_client_silence_on_the_freelancers_escrow_dispute_leaves_the_funds_released():
    case = escrow()
    case.contest(statement="Delivered as agreed.", by=FREELANCER, now=NOW + timedelta(hours=2), policy=POLICY)
    assert case.deadline is not None
    case.expire(now=case.deadline.due_at, policy=POLICY)
    assert case.state == State.RELEASED
    assert "the client did not answer the freelancer's dispute in time" in (audits(case)[-1].rationale or "")


# --- the hourly review window: reminders only ----------------------------------------------------------


def test_an_hourly_request_inside_its_weeks_review_window_also_watches_the_windows_end():
    case = hourly_request()
    kinds = {d.kind: d for d in case.deadlines}
    assert set(kinds) == {DeadlineKind.FREELANCER_RESPONSE, DeadlineKind.REVIEW_WINDOW}
    window = kinds[DeadlineKind.REVIEW_WINDOW]
    assert (window.parties, window.due_at) == ((CLIENT,), SATURDAY)  # Friday 23:59:59 is its last second
    declined(case)
    assert [d.kind for d in case.deadlines] == [DeadlineKind.REVIEW_WINDOW]  # the client may still dispute
    dispute(case)
    assert DeadlineKind.REVIEW_WINDOW not in {d.kind for d in case.deadlines}


def test_no_window_reminder_once_the_request_is_approved_or_for_fixed_price_or_after_the_window():
    approved = hourly_request()
    approved.approve(by=FREELANCER, now=NOW)
    assert approved.deadlines == ()
    assert [d.kind for d in open_case().deadlines] == [DeadlineKind.FREELANCER_RESPONSE]
    late = open_case(case_id="R-H", contract=contract(ContractKind.HOURLY), item=timesheet(), now=SATURDAY)
    assert [d.kind for d in late.deadlines] == [DeadlineKind.FREELANCER_RESPONSE]
