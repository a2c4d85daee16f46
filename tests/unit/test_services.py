"""The use cases and the notifier on the in-memory unit of work (``tests.fakes``): who hears about what, and what
is kept, for each change, in milliseconds. The real databases and Slack are the integration and e2e tests'."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.domain.case.request import ItemHasOpenCase
from bot.domain.errors import CaseMovedOn, NotYourCase
from bot.domain.routing import RouteKind
from bot.domain.vocabulary import LedgerKind, Visibility
from bot.services import disputes, evidence, mediation, payouts, read_models, requests, scheduler
from bot.services.core import case_view, change_case
from bot.services.messages import Kept, Place, Surface
from bot.services.models import DeskFilters
from bot.services.payments import Webhook
from bot.services.ports import PayoutAnswer
from tests.fakes import FakeDatabase
from tests.unit.conftest import CARDS, MEDIATOR
from tests.unit.factories import CLIENT, FREELANCER, STRANGER, contract, milestone


def ask(deps, key: str = "view-1", amount: str = "100.00"):
    cmd = requests.RequestRefund(
        team_id="T0001",
        user_id=CLIENT,
        contract_id="C-100",
        item_key="milestone:M-1",
        amount=amount,
        reason="Off-brief",
        request_key=key,
    )
    return requests.request_refund(deps, cmd)


def answer(deps, action: str, **fields):
    cmd = requests.AnswerRequest(team_id="T0001", user_id=FREELANCER, case_id="R-1", action=action, **fields)
    return requests.answer_request(deps, cmd)


def queued_since(db: FakeDatabase, before: int):
    return db.messages[before:]


def last(db: FakeDatabase, surface: Surface):
    return next(m for m in reversed(db.messages) if m.surface == surface)


def shape(messages) -> list[tuple[Surface, Place, str]]:
    """What each message is and where it goes, the way a reader would check it."""
    return [
        (
            m.surface,
            m.target.kind,
            m.target.channel or m.target.parent_key or ",".join(m.target.prefixes or m.target.users),
        )
        for m in messages
    ]


def to_mediation(deps, db) -> None:
    """Fixed price: declined, the escrow refund process, contested, the client rejects → a mediator is needed."""
    answer(deps, "decline", text="As briefed")
    cmd = disputes.AskAgain(team_id="T0001", user_id=CLIENT, case_id="R-1", route=RouteKind.ESCROW_REFUND)
    disputes.ask_again(deps, cmd)
    disputes.respond(deps, "T0001", FREELANCER, "R-1", accept=False, statement="Delivered to the brief")
    disputes.position(deps, "T0001", CLIENT, "R-1", accept=False)


def test_a_request_opens_the_thread_and_both_dms(deps, db):
    case = ask(deps)
    assert case.id == "R-1"
    assert shape(db.messages) == [
        (Surface.THREAD_ROOT, Place.GROUP, f"{CLIENT},{FREELANCER}"),
        (Surface.TIMELINE, Place.THREAD, Kept.THREAD.of("R-1")),
        (Surface.FREELANCER_REQUEST, Place.DM, FREELANCER),
        (Surface.CLIENT_REQUEST, Place.DM, CLIENT),
    ]
    freelancer = db.messages[2].view
    assert freelancer["moves"]["freelancer"] == ["answer", "extend", "add_evidence"]
    assert freelancer["at_stake_minor"] == 10000


def test_the_same_form_sent_twice_opens_one_case_and_tells_once(deps, db):
    first = ask(deps)
    again = ask(deps)
    assert again.id == first.id
    assert len(db.messages) == 4


def test_a_second_request_on_the_item_is_told_which_case_is_open(deps, db):
    ask(deps)
    with pytest.raises(ItemHasOpenCase) as refused:
        ask(deps, key="view-2", amount="10")
    assert refused.value.case_id == "R-1"
    assert len(db.messages) == 4


def test_a_decline_sends_one_timeline_line_and_two_dm_updates_and_no_card(deps, db):
    ask(deps)
    before = len(db.messages)
    answer(deps, "decline", text="As briefed")
    assert shape(queued_since(db, before)) == [
        (Surface.TIMELINE, Place.THREAD, Kept.THREAD.of("R-1")),
        (Surface.FREELANCER_REQUEST, Place.DM, FREELANCER),
        (Surface.CLIENT_REQUEST, Place.DM, CLIENT),
        (Surface.STALE_NUDGES, Place.NUDGES, "R-1:nudge:U0FREELANCER:answer:,R-1:nudge:U0CLIENT:answer:"),
    ]
    client = last(db, Surface.CLIENT_REQUEST)
    assert client.message_key == Kept.CLIENT.of("R-1")  # updates the DM the request posted, in place
    assert client.view["moves"]["client"] == ["ask_again", "withdraw", "add_evidence"]
    assert client.view["moves"]["freelancer"] == ["add_evidence"]


def test_once_a_mediator_is_needed_each_change_also_updates_the_card(deps, db):
    ask(deps)
    to_mediation(deps, db)
    with db() as work:
        assert work.cases.get("T0001", "R-1").state == "unassigned"
    card = last(db, Surface.CASE_CARD)
    assert (card.surface, card.target.channel, card.message_key) == (Surface.CASE_CARD, CARDS, Kept.CARD.of("R-1"))
    assert card.view["moves"]["mediator"] == ["claim"]
    before = len(db.messages)
    mediation.mediate(deps, mediation.Mediate(team_id="T0001", user_id=MEDIATOR, case_id="R-1", action="claim"))
    assert [m.surface for m in queued_since(db, before)] == [
        Surface.TIMELINE,
        Surface.FREELANCER_REQUEST,
        Surface.CLIENT_REQUEST,
        Surface.CASE_CARD,
        Surface.STALE_NUDGES,  # the parties' earlier reminders and questions, both parties' at once
    ]
    assert last(db, Surface.CASE_CARD).view["moves"]["mediator"] == ["propose", "release", "ask", "reassign"]


def test_without_a_mediator_channel_no_card_is_queued(deps, db):
    quiet = replace(deps, mediator_channel=None)
    ask(quiet)
    to_mediation(quiet, db)
    assert Surface.CASE_CARD not in [m.surface for m in db.messages]


def test_escalation_starts_the_card_thread_with_the_evidence_so_far(deps, db):
    ask(deps)
    for text, visibility in (("The brief", Visibility.BOTH_SIDES), ("For mediators", Visibility.MEDIATOR_ONLY)):
        cmd = evidence.AddEvidence(team_id="T0001", user_id=CLIENT, case_id="R-1", text=text, visibility=visibility)
        evidence.add_evidence(deps, cmd)
    # Before a card exists, only both-sides evidence is shown, and only in the case thread.
    assert [(m.surface, m.target.parent_key) for m in db.messages if m.surface is Surface.EVIDENCE] == [
        (Surface.EVIDENCE, Kept.THREAD.of("R-1"))
    ]
    before = len(db.messages)
    to_mediation(deps, db)
    in_card = [m for m in queued_since(db, before) if m.target.parent_key == Kept.CARD.of("R-1")]
    assert [m.view["text"] for m in in_card] == ["The brief", "For mediators"]


def test_evidence_after_escalation_goes_to_both_threads_and_the_card_counts_it(deps, db):
    ask(deps)
    to_mediation(deps, db)
    before = len(db.messages)
    cmd = evidence.AddEvidence(team_id="T0001", user_id=FREELANCER, case_id="R-1", links=["https://x.test/a"])
    evidence.add_evidence(deps, cmd)
    assert shape(queued_since(db, before)) == [
        (Surface.CASE_CARD, Place.CHANNEL, CARDS),
        (Surface.EVIDENCE, Place.THREAD, Kept.THREAD.of("R-1")),
        (Surface.EVIDENCE, Place.THREAD, Kept.CARD.of("R-1")),
    ]
    assert db.messages[before].view["evidence_count"] == 1


def test_an_extension_tells_the_other_side_instead_of_a_timeline_line(deps, db, clock):
    ask(deps)
    before = len(db.messages)
    requests.extend(deps, "T0001", FREELANCER, "R-1")
    told = queued_since(db, before)
    assert shape(told) == [
        (Surface.FREELANCER_REQUEST, Place.DM, FREELANCER),
        (Surface.CLIENT_REQUEST, Place.DM, CLIENT),
        (Surface.EXTENDED, Place.THREAD, Kept.THREAD.of("R-1")),
        (Surface.EXTENDED, Place.DM, CLIENT),
    ]
    assert told[-1].view["by"] == FREELANCER
    assert "extend" not in told[0].view["moves"]["freelancer"]  # once per case


def test_a_question_reaches_the_asked_party_the_thread_and_the_mediators_under_the_card(deps, db):
    ask(deps)
    to_mediation(deps, db)
    mediation.mediate(deps, mediation.Mediate(team_id="T0001", user_id=MEDIATOR, case_id="R-1", action="claim"))
    before = len(db.messages)
    mediation.ask(deps, "T0001", MEDIATOR, "R-1", "freelancer", "Which brief did you follow?")
    asked = queued_since(db, before)
    assert shape(asked) == [
        (Surface.QUESTION, Place.DM, FREELANCER),
        (Surface.QUESTION_LINE, Place.THREAD, Kept.THREAD.of("R-1")),
        (Surface.QUESTION_LINE, Place.THREAD, Kept.CARD.of("R-1")),  # the mediator who asked sees it asked
    ]
    question_id = asked[0].view["question_id"]
    _, question = evidence.question_for_party(deps, "T0001", FREELANCER, str(question_id))
    assert question.text == "Which brief did you follow?"
    with pytest.raises(NotYourCase):
        evidence.question_for_party(deps, "T0001", CLIENT, str(question_id))


def test_a_refused_change_keeps_nothing_and_tells_nobody(deps, db):
    ask(deps)
    before = len(db.messages)
    with pytest.raises(NotYourCase):
        requests.answer_request(
            deps, requests.AnswerRequest(team_id="T0001", user_id=STRANGER, case_id="R-1", action="approve")
        )
    with db() as work:
        assert work.cases.get("T0001", "R-1").state == "awaiting_freelancer"
        assert work.ledger.refunded_on_item("T0001", "C-100", work.cases.get("T0001", "R-1").item, "USD").minor == 0
    assert len(db.messages) == before


def test_the_loser_of_a_race_hears_that_their_answer_was_not_recorded_and_what_the_winner_did(deps, db, clock):
    ask(deps)
    clock.advance(minutes=5)
    tries = []

    def approve_while_the_client_withdraws(case, policy, now):
        if not tries:
            requests.withdraw_request(deps, requests.WithdrawRequest(team_id="T0001", user_id=CLIENT, case_id="R-1"))
        tries.append(case.state)
        case.approve(by=FREELANCER, now=now)

    with pytest.raises(CaseMovedOn) as lost:
        change_case(deps, "T0001", "R-1", approve_while_the_client_withdraws)
    assert tries == ["awaiting_freelancer", "withdrawn"]  # tried again on what the withdrawal left
    assert (lost.value.outcome, lost.value.actor, lost.value.raced) == ("withdrawn", CLIENT, True)
    with db() as work:
        assert work.ledger.for_case("R-1") == []
        assert [e.to_state for e in work.audit.for_case("R-1")] == ["awaiting_freelancer", "withdrawn"]


def test_a_change_that_loses_the_version_check_is_applied_to_what_the_winner_left(deps, db):
    ask(deps)
    tries = []

    def approve_while_evidence_arrives(case, policy, now):
        if not tries:
            cmd = evidence.AddEvidence(team_id="T0001", user_id=CLIENT, case_id="R-1", text="The brief, page 2.")
            evidence.add_evidence(deps, cmd)
        tries.append(case.evidence_count)
        case.approve(by=FREELANCER, now=now)

    change_case(deps, "T0001", "R-1", approve_while_evidence_arrives)
    assert tries == [0, 1]
    with db() as work:
        case = work.cases.get("T0001", "R-1")
        assert (case.state, case.evidence_count) == ("approved", 1)  # both kept
        assert [e.to_state for e in work.audit.for_case("R-1")] == ["awaiting_freelancer", "approved"]
        assert [entry.amount.minor for entry in work.ledger.for_case("R-1")] == [10000]


def test_the_view_carries_what_the_domain_decided(deps, db):
    ask(deps)
    answer(deps, "adjust", amount="40", text="Two of five")
    with db() as work:
        case = work.cases.get("T0001", "R-1")
        view = case_view(work, case, deps.clock(), deps.policy)
    assert (view.refunded_minor, view.at_stake_minor, view.offered_minor) == (4000, 6000, 4000)
    assert view.may("client", "ask_again")
    assert not view.may("freelancer", "answer")
    assert (view.by_deadline, view.escalated) == (False, False)


def test_a_lapsed_request_reads_as_the_schedulers_with_its_reason(deps, db, clock):
    ask(deps)
    clock.advance(days=4)
    change_case(deps, "T0001", "R-1", lambda case, policy, now: case.expire(now=now, policy=policy))
    last = db.messages[-1].view
    assert (last["state"], last["by_deadline"]) == ("lapsed", True)
    assert last["deadline_reason"]


def test_the_clock_reminds_the_freelancer_once_per_reminder_then_lapses_the_request(deps, db, clock):
    ask(deps)
    before = len(db.messages)
    clock.advance(days=1)  # 48 h before the 3-day response window ends
    assert scheduler.tick(deps, "instance-a") == 1
    assert scheduler.tick(deps, "instance-b") == 0  # nothing more is due: the reminder is accounted for
    [reminder] = queued_since(db, before)
    assert (reminder.surface, reminder.target.users, reminder.view["role"]) == (
        Surface.REMINDER,
        (FREELANCER,),
        "freelancer",
    )
    clock.advance(days=2)
    scheduler.tick(deps, "instance-a")
    with db() as work:
        assert work.cases.get("T0001", "R-1").state == "lapsed"
    assert last(db, Surface.CLIENT_REQUEST).view["by_deadline"] is True
    assert [m.surface for m in db.messages[-4:]] == [
        Surface.TIMELINE,
        Surface.FREELANCER_REQUEST,
        Surface.CLIENT_REQUEST,
        Surface.STALE_NUDGES,  # the reminder sent a day before says the request lapsed, and loses its buttons
    ]


def test_the_home_of_someone_with_many_cases_shows_the_most_urgent_and_counts_the_rest(db, deps, clock):
    many_requests(db, deps, clock, 45)
    read_models.show_home(deps, "T0001", FREELANCER, "1.0")
    [published] = [m for m in db.messages if m.surface == Surface.HOME]
    assert [case["id"] for case in published.view["waiting"]] == [f"R-{n}" for n in range(1, 21)]
    assert (published.view["others"], published.view["more"]) == ([], 25)
    cases, total = read_models.open_cases(deps, "T0001", CLIENT, limit=40)
    assert (len(cases), total, cases[0].id) == (40, 45, "R-1")


def test_a_client_with_more_contracts_than_a_select_holds_sees_the_first_100_and_keeps_what_they_picked(db, deps):
    """Slack shows at most 100 options in a select: the form reads only those (by title), yet a contract picked
    earlier (the one already in the form) still gets its items, and no one else's contract does."""
    with db() as work:
        for n in range(150):
            work.contracts.save(contract(id=f"C-{n:03d}", title=f"Deal {n:03d}"), datetime(2026, 11, 1, tzinfo=UTC))
        work.contracts.save(contract(id="C-OTHER", client_id=STRANGER), datetime(2026, 11, 1, tzinfo=UTC))
        work.contracts.save_item("T0001", replace(milestone(), contract_id="C-149"))
        work.commit()
    form = read_models.refund_form(deps, "T0001", CLIENT)
    assert len(form.contracts) == 100
    assert form.contracts[0] == ("C-000", "Deal 000")
    picked = read_models.refund_form(deps, "T0001", CLIENT, "C-149")
    assert (picked.contract_id, [item.label for item in picked.items]) == ("C-149", ["Milestone “Concepts”"])
    assert read_models.refund_form(deps, "T0001", CLIENT, "C-OTHER").contract_id is None


# --- payouts (design §4) -----------------------------------------------------------------------------------


def refused_answer(entry_id: int, at: datetime, reason: str = "The client's card was closed") -> PayoutAnswer:
    return PayoutAnswer(entry_id, "R-1", LedgerKind.REFUND, 10_000, "USD", "refused", reason, None, at)


def test_with_a_payments_webhook_each_ledger_entry_is_queued_for_it_under_its_own_key(deps, db):
    deps = replace(deps, payments=Webhook())
    ask(deps)
    answer(deps, "approve")
    payouts = [m for m in db.messages if m.surface is Surface.PAYOUT]
    assert [(m.stream, m.target.kind, m.dedupe_key) for m in payouts] == [
        ("R-1:payouts", Place.WEBHOOK, "refundbot-T0001-1")
    ]
    document = payouts[0].view
    assert (document["type"], document["case"], document["amount"]) == (
        "refund",
        "R-1",
        {"currency": "USD", "minor": 10_000, "value": "100.00"},
    )
    assert document["id"] == "refundbot-T0001-1"
    assert document["policy_version"] == "v1"


def test_without_one_the_ledger_keeps_the_entry_and_nothing_is_sent(deps, db):
    ask(deps)
    answer(deps, "approve")
    assert not [m for m in db.messages if m.surface is Surface.PAYOUT]
    assert len(db.tables.ledger) == 1


def test_an_accepted_payout_is_kept_on_its_entry_and_tells_nobody(deps, db, clock):
    ask(deps)
    answer(deps, "approve")
    before = len(db.messages)
    accepted = replace(refused_answer(1, clock()), outcome="accepted", reason=None, reference="po_1")
    assert payouts.record_answer(deps, "T0001", accepted)
    assert db.tables.payout_answers[1].reference == "po_1"
    assert queued_since(db, before) == []
    with db() as work:
        assert work.cases.get("T0001", "R-1").payout_hold is None


def test_a_refused_payout_holds_the_case_and_tells_the_mediators_why_and_the_parties_that_it_waits(deps, db, clock):
    ask(deps)
    answer(deps, "approve")
    before = len(db.messages)
    clock.advance(minutes=5)
    assert payouts.record_answer(deps, "T0001", refused_answer(1, clock()))
    told = queued_since(db, before)
    assert shape(told) == [
        (Surface.FREELANCER_REQUEST, Place.DM, FREELANCER),
        (Surface.CLIENT_REQUEST, Place.DM, CLIENT),
        (Surface.PAYOUT_HELD, Place.THREAD, Kept.THREAD.of("R-1")),
        (Surface.PAYOUT_REFUSED, Place.CHANNEL, CARDS),
    ]
    assert told[-1].view["payout_reason"] == "The client's card was closed"
    assert all(m.view["payout_hold"] == "The client's card was closed" for m in told)
    with db() as work:
        case = work.cases.get("T0001", "R-1")
        assert (case.state, case.payout_hold) == ("approved", "The client's card was closed")
        last = work.audit.for_case("R-1")[-1]
    assert (last.actor, last.from_state, last.to_state) == ("marketplace", "approved", "approved")
    assert last.rationale == "refund refused: The client's card was closed"


def test_an_answer_heard_twice_is_kept_and_told_once(deps, db, clock):
    ask(deps)
    answer(deps, "approve")
    assert payouts.record_answer(deps, "T0001", refused_answer(1, clock()))
    before = len(db.messages)
    assert not payouts.record_answer(deps, "T0001", refused_answer(1, clock(), reason="another reason"))
    assert queued_since(db, before) == []
    with db() as work:
        assert work.cases.get("T0001", "R-1").payout_hold == "The client's card was closed"
        assert len(work.audit.for_case("R-1")) == 3  # opened, approved, held


# --- the mediators' desk (App Home) -------------------------------------------------------------------------


def many_requests(db, deps, clock, count: int) -> None:
    with db() as work:
        for n in range(2, count + 1):
            work.contracts.save_item("T0001", milestone(id=f"M-{n}", title=f"Part {n}"))
        work.commit()
    for n in range(1, count + 1):
        cmd = requests.RequestRefund(
            team_id="T0001",
            user_id=CLIENT,
            contract_id="C-100",
            item_key=f"milestone:M-{n}",
            amount="1.00",
            reason="Off-brief",
            request_key=f"view-{n}",
        )
        requests.request_refund(deps, cmd)
        clock.advance(minutes=1)  # each answer is due a minute after the one before


def published_desk(db) -> dict:
    return [m for m in db.messages if m.surface == Surface.DESK][-1].view


def test_a_mediators_home_is_the_desk_a_page_of_each_part_by_deadline(db, deps, clock):
    many_requests(db, deps, clock, 25)
    read_models.show_home(deps, "T0001", MEDIATOR, "1.0")
    desk = published_desk(db)
    rest = desk["sections"]["rest"]
    assert [row["id"] for row in rest["rows"]] == [f"R-{n}" for n in range(1, 11)]  # soonest deadline first
    assert (rest["total"], rest["offset"]) == (25, 0)
    assert (desk["sections"]["unclaimed"]["total"], desk["sections"]["mine"]["total"]) == (0, 0)
    read_models.show_home(deps, "T0001", FREELANCER, "1.1")
    assert db.messages[-1].surface == Surface.HOME  # a party keeps their own Home


def test_desk_pages_turn_and_a_page_past_the_end_shows_the_last(db, deps, clock):
    many_requests(db, deps, clock, 25)
    read_models.show_desk(deps, "T0001", MEDIATOR, DeskFilters(), {"rest": 10}, "2.0")
    assert [row["id"] for row in published_desk(db)["sections"]["rest"]["rows"]][:2] == ["R-11", "R-12"]
    read_models.show_desk(deps, "T0001", MEDIATOR, DeskFilters(), {"rest": 990}, "2.1")
    last = published_desk(db)["sections"]["rest"]
    assert (last["offset"], [row["id"] for row in last["rows"]]) == (20, [f"R-{n}" for n in range(21, 26)])
    read_models.show_desk(deps, "T0001", MEDIATOR, DeskFilters(), {"rest": -5}, "2.2")
    assert published_desk(db)["sections"]["rest"]["offset"] == 0


def test_unclaimed_cases_lead_the_desk_and_a_claimed_one_moves_to_its_mediator(db, deps, clock):
    many_requests(db, deps, clock, 3)
    case = ask_to_mediation(deps, "R-2")
    read_models.show_desk(deps, "T0001", MEDIATOR, DeskFilters(), {}, "3.0")
    sections = published_desk(db)["sections"]
    assert [row["id"] for row in sections["unclaimed"]["rows"]] == [case.id]
    assert case.id not in [row["id"] for row in sections["rest"]["rows"]]
    mediation.mediate(deps, mediation.Mediate(team_id="T0001", user_id=MEDIATOR, case_id=case.id, action="claim"))
    read_models.show_desk(deps, "T0001", MEDIATOR, DeskFilters(), {}, "3.1")
    sections = published_desk(db)["sections"]
    assert ([row["id"] for row in sections["mine"]["rows"]], sections["unclaimed"]["total"]) == ([case.id], 0)


def test_desk_filters_keep_a_stage_a_kind_or_what_is_overdue(db, deps, clock):
    many_requests(db, deps, clock, 3)
    ask_to_mediation(deps, "R-2")

    keys = iter(range(100))

    def totals(**filters: object) -> dict[str, int]:
        read_models.show_desk(deps, "T0001", MEDIATOR, DeskFilters(**filters), {}, f"4.{next(keys)}")
        return {name: part["total"] for name, part in published_desk(db)["sections"].items()}

    assert totals(stage="mediation") == {"unclaimed": 1, "mine": 0, "rest": 0}
    assert totals(stage="request") == {"unclaimed": 0, "mine": 0, "rest": 2}
    assert totals(kind="hourly") == {"unclaimed": 0, "mine": 0, "rest": 0}
    assert totals(overdue=True)["rest"] == 0
    clock.advance(days=3, minutes=-2)  # past R-1's answer (due 3 days after it), not R-3's; no tick has run
    # and past R-2's claim window (24 h): nobody claimed it.
    assert totals(overdue=True) == {"unclaimed": 1, "mine": 0, "rest": 1}


def ask_to_mediation(deps, case_id: str):
    """The request declined, asked again (escrow), disputed by the freelancer and rejected by the client."""
    cmd = requests.AnswerRequest(team_id="T0001", user_id=FREELANCER, case_id=case_id, action="decline", text="No")
    requests.answer_request(deps, cmd)
    again = disputes.AskAgain(team_id="T0001", user_id=CLIENT, case_id=case_id, route=RouteKind.ESCROW_REFUND)
    disputes.ask_again(deps, again)
    disputes.respond(deps, "T0001", FREELANCER, case_id, accept=False, statement="Delivered to the brief")
    return disputes.position(deps, "T0001", CLIENT, case_id, accept=False)


def test_a_readers_locale_is_read_once_then_held_by_the_process(deps, db):
    assert read_models.reader_locale(deps, "T0001", FREELANCER) is None  # the relay has not written to her yet
    db.tables.locales["T0001", FREELANCER] = "de_DE"
    assert read_models.reader_locale(deps, "T0001", FREELANCER) == "de_DE"
    db.tables.locales["T0001", FREELANCER] = "fr_FR"  # changed in Slack, and stored by the relay a day on
    assert read_models.reader_locale(deps, "T0001", FREELANCER) == "de_DE"  # held: no read per form
    deps.locales.held = 0.0
    assert read_models.reader_locale(deps, "T0001", FREELANCER) == "fr_FR"
