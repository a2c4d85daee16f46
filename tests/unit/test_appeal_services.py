"""The appeal (design §2.4) through the use cases, the scheduler and the notifier, on the in-memory unit of work:
who hears about it, what the ledger keeps, and what the clock does with the window."""

from dataclasses import replace

import pytest

from bot.domain.case.appeal import FirstMediatorCannotReview
from bot.domain.contract import ContractKind
from bot.domain.routing import RouteKind
from bot.domain.vocabulary import DeadlineKind, LedgerKind
from bot.services import disputes, mediation, requests, scheduler
from bot.services.messages import Kept, Place, Surface
from bot.services.payments import Webhook
from bot.services.roster import Desk, Roster
from tests.unit.conftest import CARDS, MEDIATOR
from tests.unit.factories import CLIENT, FREELANCER, NOW, contract, timesheet
from tests.unit.test_case_appeal import APPEALS
from tests.unit.test_services import ask, ask_to_mediation, last, queued_since, shape

SECOND = "U0MEDIATOR2"


@pytest.fixture
def appeals(deps):
    return replace(deps, policy=APPEALS, roster=Roster(Desk(None, frozenset({MEDIATOR, SECOND}))))


def act(deps, who: str, action: str, **fields) -> None:
    mediation.mediate(deps, mediation.Mediate(team_id="T0001", user_id=who, case_id="R-1", action=action, **fields))


def rejected(deps) -> None:
    """R-1: a fixed-price case in binding mediation whose proposal of USD 40.00 the client rejected."""
    ask(deps)
    ask_to_mediation(deps, "R-1")
    act(deps, MEDIATOR, "claim")
    act(deps, MEDIATOR, "propose", amount="40.00", text="Two of five concepts fit.", rule="partly_delivered")
    disputes.answer_proposal(deps, "T0001", CLIENT, "R-1", accept=False)


def test_a_rejected_proposal_offers_both_parties_a_review_and_the_appeal_reaches_every_surface(appeals, db):
    rejected(appeals)
    for view in (m.view for m in db.messages[-5:] if m.surface != Surface.STALE_NUDGES):
        assert ("appeal" in view["moves"]["client"], "appeal" in view["moves"]["freelancer"]) == (True, True)
        assert view["appeal_until"] is not None
    before = len(db.messages)
    disputes.appeal(appeals, "T0001", FREELANCER, "R-1", "The brief asked for two concepts.")
    assert shape(queued_since(db, before)) == [
        (Surface.TIMELINE, Place.THREAD, Kept.THREAD.of("R-1")),
        (Surface.FREELANCER_REQUEST, Place.DM, FREELANCER),
        (Surface.CLIENT_REQUEST, Place.DM, CLIENT),
        (Surface.CASE_CARD, Place.CHANNEL, CARDS),
        (Surface.STALE_NUDGES, Place.NUDGES, "R-1:nudge:U0FREELANCER:answer:,R-1:nudge:U0CLIENT:answer:"),
    ]
    card = last(db, Surface.CASE_CARD).view
    assert (card["state"], card["mediator_id"], card["moves"]["mediator"]) == ("appeal_requested", None, ["claim"])
    assert (card["appeal"]["role"], card["appeal"]["first_mediator"]) == ("freelancer", MEDIATOR)
    with db() as work:
        # The fee deadline ended too; the mediators now have the policy's claim window to take the appeal.
        assert [d.kind for d in work.cases.get("T0001", "R-1").deadlines] == [DeadlineKind.MEDIATOR_CLAIM]


def test_the_first_mediator_is_refused_and_a_second_ones_review_settles_it_in_the_ledger(appeals, db):
    rejected(appeals)
    disputes.appeal(appeals, "T0001", CLIENT, "R-1", "Nothing usable was delivered.")
    with pytest.raises(FirstMediatorCannotReview):
        act(appeals, MEDIATOR, "claim")
    act(appeals, SECOND, "claim")
    act(appeals, SECOND, "review", amount="55.00", text="Three concepts missed the brief.", rule="not_as_agreed")
    with db() as work:
        case = work.cases.get("T0001", "R-1")
        assert (case.state, case.refunded.minor, case.is_open) == ("reviewed", 5500, False)
        entries = [(e.kind, e.amount.minor) for e in work.ledger.for_case("R-1")]
        assert entries == [(LedgerKind.REFUND, 5500), (LedgerKind.RELEASE, 4500)]
        assert work.audit.for_case("R-1")[-1].rule == "not_as_agreed"


def test_the_clock_reminds_whoever_may_appeal_then_closes_the_window(appeals, db, clock):
    rejected(appeals)
    before = len(db.messages)
    clock.advance(hours=24)  # 24 h before the 48 h window ends (its 48 h mark was already past when it opened)
    scheduler.tick(appeals, "instance-a")
    reminders = [m for m in queued_since(db, before) if m.surface == Surface.APPEAL_REMINDER]
    assert sorted((m.target.users, m.view["role"]) for m in reminders) == [
        ((CLIENT,), "client"),
        ((FREELANCER,), "freelancer"),
    ]
    clock.advance(hours=24)
    before = len(db.messages)
    scheduler.tick(appeals, "instance-a")
    told = queued_since(db, before)
    assert [m.surface for m in told] == [
        Surface.APPEAL_CLOSED,
        Surface.FREELANCER_REQUEST,
        Surface.CLIENT_REQUEST,
        Surface.CASE_CARD,
    ]
    assert told[0].view["final"] is False  # the arbitration offer stands
    assert "appeal" not in told[1].view["moves"]["freelancer"]
    with db() as work:
        case = work.cases.get("T0001", "R-1")
        assert (case.state, case.is_open, [d.kind for d in case.deadlines]) == (
            "arbitration_offered",
            True,
            ["arbitration_fee"],
        )


def test_under_a_policy_without_appeals_nobody_is_offered_one(deps, db):
    rejected(replace(deps, roster=Roster(Desk(None, frozenset({MEDIATOR, SECOND})))))
    for view in (m.view for m in db.messages[-5:] if m.surface != Surface.STALE_NUDGES):
        assert (view["state"], view["appeal_until"]) == ("arbitration_offered", None)
        assert "arbitrate" in view["moves"]["client"]
        assert "appeal" not in view["moves"]["client"] + view["moves"]["freelancer"]


def test_a_review_reaches_the_payments_endpoint_as_adjusting_entries_after_the_decisions_own(appeals, db):
    with db() as work:
        work.contracts.save(contract(ContractKind.HOURLY, id="C-200", title="Backend work"), NOW)
        work.contracts.save_item("T0001", timesheet(contract_id="C-200"))
        work.commit()
    paying = replace(appeals, payments=Webhook())
    request = requests.RequestRefund(
        team_id="T0001",
        user_id=CLIENT,
        contract_id="C-200",
        item_key="timesheet:2026-11-16",
        amount="100.00",
        reason="No standup.",
        request_key="hourly",
    )
    case_id = requests.request_refund(paying, request).id
    no = requests.AnswerRequest(team_id="T0001", user_id=FREELANCER, case_id=case_id, action="decline", text="No.")
    requests.answer_request(paying, no)
    dispute = {"route": RouteKind.HOURLY_DISPUTE, "reason": "No standup.", "certified": True, "hours": "1"}
    disputes.ask_again(paying, disputes.AskAgain(team_id="T0001", user_id=CLIENT, case_id=case_id, **dispute))
    disputes.respond(paying, "T0001", FREELANCER, case_id, accept=False, statement="It happened.")
    grounds = {"text": "Partly shown.", "rule": "hours_not_shown"}
    act(paying, MEDIATOR, "claim")
    act(paying, MEDIATOR, "decide", amount="10.00", **grounds)
    disputes.appeal(paying, "T0001", CLIENT, case_id, "Not shown at all.")
    act(paying, SECOND, "claim")
    act(paying, SECOND, "review", amount="30.00", **grounds)
    sent = [(m.view["type"], m.view["amount"]["value"]) for m in db.messages if m.surface is Surface.PAYOUT]
    assert sent == [("refund", "10.00"), ("release", "30.00"), ("refund", "20.00"), ("release_reversal", "20.00")]
    assert len({m.dedupe_key for m in db.messages if m.surface is Surface.PAYOUT}) == 4  # each entry its own key
