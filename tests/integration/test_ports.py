"""One set of checks on every implementation of the ports: the in-memory fake the service tests use, SQLite and
PostgreSQL. Where the fake behaves differently from a real database, a test here fails, not a service test
that trusted it."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.domain.case import Case
from bot.domain.contract import ContractKind, ItemKind, ItemRef, MilestoneStatus
from bot.domain.errors import ConcurrentChange
from bot.domain.events import Question
from bot.domain.history import Tally
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.domain.routing import RouteKind
from bot.domain.vocabulary import DeadlineKind, DisputeDetails, LedgerKind, Stage, State, Visibility
from bot.services.core import store
from bot.services.messages import OutboxMessage, Surface, dm
from bot.services.models import DeskFilters
from bot.services.payments import LedgerOnly
from storage.db import prepare, session_factory
from storage.tables import OutboxRow
from storage.uow import SqlUnitOfWork
from tests.conftest import empty_database
from tests.fakes import FakeDatabase
from tests.integration.conftest import NOW
from tests.unit.factories import CLIENT, FREELANCER, STRANGER, because, contract, milestone, timesheet
from tests.unit.test_case_appeal import APPEALS

LATER = NOW + timedelta(hours=1)
M1 = ItemRef(ItemKind.MILESTONE, "M-1")


def usd(amount: str) -> Money:
    return Money.parse(amount, "USD")


class Backend:
    """A unit-of-work factory, and what each backend has queued for Slack (the port itself only queues)."""

    def __init__(self, uow, queued) -> None:
        self.uow = uow
        self.queued = queued


@pytest.fixture(params=["fake", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request, tmp_path) -> Iterator[Backend]:
    if request.param == "fake":
        database = FakeDatabase()
        yield Backend(database, lambda: [m.dedupe_key for m in database.messages])
        return
    for url in empty_database(request.param, request, tmp_path):
        engine = prepare(url)
        sessions = session_factory(engine)

        def queued(sessions=sessions) -> list[str]:
            with sessions() as session:
                return list(session.scalars(select(OutboxRow.dedupe_key).order_by(OutboxRow.id)))

        yield Backend(lambda sessions=sessions: SqlUnitOfWork(sessions), queued)
        engine.dispose()


def seed(uow, parts: range = range(0)) -> None:
    """Two contracts and their items; ``parts``: more paid milestones of C-100, M-{n}."""
    with uow() as work:
        work.contracts.save(contract(), NOW)
        work.contracts.save(contract(id="C-200", title="Brand book", kind=ContractKind.HOURLY), NOW)
        work.contracts.save_item("T0001", milestone(id="M-2", title="Final", status="funded", released_at=None))
        work.contracts.save_item("T0001", milestone())
        work.contracts.save_item("T0001", timesheet(contract_id="C-200"))
        for n in parts:
            work.contracts.save_item("T0001", milestone(id=f"M-{n}", title=f"Part {n}"))
        work.commit()


def opened(uow, case_id: str = "R-1", amount: str = "100.00", request_key: str | None = None) -> Case:
    with uow() as work:
        item = work.contracts.item("T0001", "C-100", M1)
        case = Case.open_request(
            case_id=case_id,
            contract=work.contracts.get("T0001", "C-100"),
            item=item,
            amount=usd(amount),
            reason="Not what we agreed.",
            refunded=work.ledger.refunded_on_item("T0001", "C-100", M1, "USD"),
            held=work.cases.held_on_item("T0001", "C-100", M1, "USD"),
            by=CLIENT,
            now=NOW,
            policy=Policy(),
        )
        case.request_key = request_key
        store(work, case, LedgerOnly(), new=True)
        work.commit()
    return case


def request_on(work, case_id: str, item: str, at, amount: str = "10.00", team: str = "T0001") -> Case:
    """A waiting request on milestone ``item`` of C-100, opened at ``at``; not stored yet."""
    return Case.open_request(
        case_id=case_id,
        contract=work.contracts.get(team, "C-100"),
        item=work.contracts.item(team, "C-100", ItemRef(ItemKind.MILESTONE, item)),
        amount=usd(amount),
        reason="Not what we agreed.",
        refunded=usd("0"),
        held=usd("0"),
        by=CLIENT,
        now=at,
        policy=Policy(),
    )


def save_and_commit(work, case: Case) -> None:
    """A real database may refuse the stale write when it is saved, the fake when it is committed."""
    store(work, case, LedgerOnly())
    work.commit()


def message(key: str) -> OutboxMessage:
    return OutboxMessage("R-1", key, dm(CLIENT), Surface.CLIENT_REQUEST, {"id": "R-1"})


def test_contracts_and_items_read_back_scoped_to_their_workspace(backend):
    seed(backend.uow)
    with backend.uow() as work:
        assert work.contracts.get("T0001", "C-100") == contract()
        assert work.contracts.get("T0002", "C-100") is None
        assert [c.title for c in work.contracts.for_client("T0001", CLIENT, 100)] == ["Brand book", "Logo redesign"]
        assert work.contracts.for_client("T0001", FREELANCER, 100) == []
        assert [i.ref.id for i in work.contracts.items("T0001", "C-100")] == ["M-1", "M-2"]
        assert work.contracts.item("T0001", "C-100", M1) == milestone()
        assert work.contracts.item("T0001", "C-200", ItemRef(ItemKind.TIMESHEET, "2026-11-16")) == timesheet(
            contract_id="C-200"
        )
        assert work.contracts.item("T0001", "C-200", ItemRef(ItemKind.TIMESHEET, "not-a-date")) is None


def test_a_stored_case_reads_back_with_its_version_audit_and_deadline(backend):
    seed(backend.uow)
    case = opened(backend.uow)
    with backend.uow() as work:
        back = work.cases.get("T0001", "R-1")
        assert back == case
        assert back.version == 1
        assert back.deadline == case.deadline
        assert work.cases.get("T0002", "R-1") is None
        assert [(e.seq, e.to_state) for e in work.audit.for_case("R-1")] == [(1, "awaiting_freelancer")]
        assert work.cases.open_case_for_item("T0001", "C-100", M1).id == "R-1"
        assert [c.id for c in work.cases.most_urgent_for_user("T0001", FREELANCER, waiting=True, limit=5)] == ["R-1"]
        assert work.cases.count_open_for_user("T0001", STRANGER) == (0, 0)
        assert work.cases.held_on_item("T0001", "C-100", M1, "USD") == usd("100.00")


def test_a_persons_most_urgent_cases_come_first_and_are_counted_without_loading_them(backend):
    seed(backend.uow)
    with backend.uow() as work:
        for n in (10, 11, 12):
            work.contracts.save_item("T0001", milestone(id=f"M-{n}", title=f"Part {n}"))
        work.commit()
    for case_id, item, hours in (("R-A", "M-10", 2), ("R-B", "M-11", 0), ("R-C", "M-12", 1)):
        with backend.uow() as work:
            case = request_on(work, case_id, item, NOW + timedelta(hours=hours))  # each due that much later
            store(work, case, LedgerOnly(), new=True)
            work.commit()
    with backend.uow() as work:
        urgent = work.cases.most_urgent_for_user("T0001", FREELANCER, waiting=True, limit=2)
        assert [c.id for c in urgent] == ["R-B", "R-C"]
        assert [c.id for c in work.cases.most_urgent_for_user("T0001", CLIENT, waiting=False, limit=9)] == [
            "R-B",
            "R-C",
            "R-A",
        ]
        assert work.cases.most_urgent_for_user("T0001", CLIENT, waiting=True, limit=9) == []
        assert work.cases.most_urgent_for_user("T0002", FREELANCER, waiting=True, limit=9) == []
        assert work.cases.count_open_for_user("T0001", FREELANCER) == (3, 0)
        assert work.cases.count_open_for_user("T0001", CLIENT) == (0, 3)
        assert work.cases.count_open_for_user("T0001", STRANGER) == (0, 0)


def test_the_mediators_desk_reads_each_part_by_deadline_then_wait_and_counts_under_filters(backend):
    seed(backend.uow, parts=range(10, 15))
    for case_id, item, hours in (("R-A", "M-10", 2), ("R-B", "M-11", 0), ("R-C", "M-12", 1), ("R-D", "M-13", 0)):
        with backend.uow() as work:
            case = request_on(work, case_id, item, NOW + timedelta(hours=hours), "10.00")  # each due that much later
            store(work, case, LedgerOnly(), new=True)
            work.commit()
    with backend.uow() as work:  # R-D waits for a mediator, with no deadline
        case = work.cases.get("T0001", "R-D")
        case.stage, case.state, case.deadline = Stage.MEDIATION, State.UNASSIGNED, None
        case.escalated_at, case.disputed = NOW + timedelta(hours=3), usd("7.00")
        store(work, case, LedgerOnly())
        work.commit()
    now = NOW + timedelta(days=3, minutes=30)  # R-B's answer (due 3 days after it) is past; the others' are not
    with backend.uow() as work:
        page = work.cases.desk("T0001", "U0MEDIATE1", "rest", DeskFilters(), now, 0, 2)
        assert [row.id for row in page] == ["R-B", "R-C"]
        assert [row.id for row in work.cases.desk("T0001", "U0MEDIATE1", "rest", DeskFilters(), now, 2, 2)] == ["R-A"]
        [unclaimed] = work.cases.desk("T0001", "U0MEDIATE1", "unclaimed", DeskFilters(), now, 0, 10)
        assert (unclaimed.id, unclaimed.at_stake_minor, unclaimed.due_at, unclaimed.claimable_by("U0MEDIATE1")) == (
            "R-D",
            700,
            None,
            True,
        )
        assert unclaimed.waiting_since == (NOW + timedelta(hours=3)).isoformat()
        assert (unclaimed.contract_title, unclaimed.card_link) == ("Logo redesign", None)
        assert page[0].due_at == (NOW + timedelta(days=3)).isoformat()
        counts = work.cases.desk_counts
        assert counts("T0001", "U0MEDIATE1", DeskFilters(), now) == {"unclaimed": 1, "mine": 0, "rest": 3}
        assert counts("T0001", "U0MEDIATE1", DeskFilters(overdue=True), now) == {"unclaimed": 0, "mine": 0, "rest": 1}
        assert counts("T0001", "U0MEDIATE1", DeskFilters(stage="mediation"), now)["rest"] == 0
        assert counts("T0001", "U0MEDIATE1", DeskFilters(kind="hourly"), now) == {"unclaimed": 0, "mine": 0, "rest": 0}
        assert counts("T0002", "U0MEDIATE1", DeskFilters(), now) == {"unclaimed": 0, "mine": 0, "rest": 0}


def test_a_partys_record_counts_their_cases_outcomes_and_paid_items_all_time_and_recently(backend):
    """The client asked on 4 of 6 paid items: one approved in full, one refunded in part after a dispute, one
    disputed and released, and one (the case looked at) still open. Two of the cases are older than 90 days."""
    seed(backend.uow)
    old = NOW - timedelta(days=200)
    with backend.uow() as work:
        for n, released in ((20, old), (21, old), (22, NOW), (23, NOW), (24, NOW), (25, NOW)):
            work.contracts.save_item("T0001", milestone(id=f"M-{n}", title=f"Part {n}", released_at=released))
        work.contracts.save_item("T0001", milestone(id="M-26", status=MilestoneStatus.FUNDED, released_at=None))
        work.commit()
    endings = {"R-A": ("M-20", old, "100.00", State.APPROVED), "R-B": ("M-21", old, "50.00", State.SETTLED)}
    endings |= {"R-C": ("M-22", NOW, "0", State.RELEASED), "R-D": ("M-23", NOW, None, None)}
    for case_id, (item, opened, refunded, state) in endings.items():
        with backend.uow() as work:
            case = request_on(work, case_id, item, opened, "100.00")
            if state is not None:  # ended: approved at the request, or after a dispute (mediation)
                case.state, case.refunded, case.closed_at, case.deadline = state, usd(refunded), opened, None
                case.stage = Stage.REQUEST if state is State.APPROVED else Stage.MEDIATION
            store(work, case, LedgerOnly(), new=True)
            work.commit()
    since = NOW - timedelta(days=90)
    with backend.uow() as work:
        client = work.cases.party_record("T0001", "client", CLIENT, "R-D", since)
        freelancer = work.cases.party_record("T0001", "freelancer", FREELANCER, "R-D", since)
        stranger = work.cases.party_record("T0001", "client", STRANGER, "R-D", since)
    whole = client.all_time
    # Paid: M-20…M-25, and seed()'s M-1 and C-200 timesheet (the same client's other contract); M-26 is only funded.
    assert (whole.cases, whole.closed, whole.refunded, whole.paid_items) == (3, 3, 2, 8)
    assert whole.refunded_share == pytest.approx((100 / 250 + 50 / 250 + 0) / 3)
    assert (whole.disputes_client_won, whole.disputes_freelancer_won, whole.disputes_split) == (0, 1, 1)
    assert (whole.won("client"), whole.lost("client"), whole.won("freelancer")) == (0, 1, 1)
    recent = client.recent
    assert (recent.cases, recent.closed, recent.refunded, recent.paid_items, recent.disputes) == (1, 1, 0, 6, 1)
    assert freelancer.all_time == whole  # one contract: the same cases, seen from the other side
    assert stranger.all_time == Tally()


def test_what_is_not_committed_is_not_kept(backend):
    seed(backend.uow)
    opened(backend.uow)
    with backend.uow() as work:
        case = work.cases.get("T0001", "R-1")
        case.approve(by=FREELANCER, now=LATER)
        store(work, case, LedgerOnly())
        work.outbox.add("T0001", message("R-1:approved"), LATER)
    with backend.uow() as work:
        assert work.cases.get("T0001", "R-1").state == "awaiting_freelancer"
        assert work.ledger.refunded_on_item("T0001", "C-100", M1, "USD") == usd("0")
    assert backend.queued() == []


def test_a_change_from_a_stale_read_loses_and_leaves_nothing(backend):
    seed(backend.uow)
    opened(backend.uow)
    with backend.uow() as first, backend.uow() as second:
        mine, theirs = first.cases.get("T0001", "R-1"), second.cases.get("T0001", "R-1")
        mine.approve(by=FREELANCER, now=LATER)
        store(first, mine, LedgerOnly())
        first.commit()
        theirs.decline(reason="No", by=FREELANCER, now=LATER, policy=Policy())
        with pytest.raises(ConcurrentChange):
            save_and_commit(second, theirs)
    with backend.uow() as work:
        case = work.cases.get("T0001", "R-1")
        assert (case.state, case.version) == ("approved", 2)
        assert [e.to_state for e in work.audit.for_case("R-1")] == ["awaiting_freelancer", "approved"]
        assert work.ledger.refunded_on_item("T0001", "C-100", M1, "USD") == usd("100.00")
        assert work.cases.open_case_for_item("T0001", "C-100", M1) is None


def test_one_open_case_per_item_and_one_case_per_form_submission(backend):
    seed(backend.uow)
    opened(backend.uow, request_key="view-1")
    with pytest.raises(ConcurrentChange):
        opened(backend.uow, case_id="R-2", amount="10.00")
    with backend.uow() as work:
        assert work.cases.by_request_key("T0001", "view-1").id == "R-1"
        assert work.cases.by_request_key("T0001", "view-2") is None
        assert work.cases.get("T0001", "R-2") is None


def test_ledger_counts_refunds_on_the_item_and_closed_cases_hold_nothing(backend):
    seed(backend.uow)
    opened(backend.uow, amount="100.00")
    with backend.uow() as work:
        case = work.cases.get("T0001", "R-1")
        case.adjust(usd("30.00"), note=None, by=FREELANCER, now=LATER, policy=Policy())
        store(work, case, LedgerOnly())
        work.commit()
    with backend.uow() as work:
        assert work.ledger.refunded_on_item("T0001", "C-100", M1, "USD") == usd("30.00")
        assert work.ledger.refunded_on_item("T0001", "C-100", ItemRef(ItemKind.MILESTONE, "M-2"), "USD") == usd("0")
        assert work.cases.held_on_item("T0001", "C-100", M1, "USD") == usd("70.00")  # open: the rest is held
        case = work.cases.get("T0001", "R-1")
        case.withdraw(by=CLIENT, now=LATER)
        store(work, case, LedgerOnly())
        work.commit()
    with backend.uow() as work:
        assert work.cases.held_on_item("T0001", "C-100", M1, "USD") == usd("0")
        assert work.cases.count_open_for_user("T0001", CLIENT) == (0, 0)


def test_an_appealed_decision_reads_back_and_its_review_adjusts_what_the_item_refunded(backend):
    seed(backend.uow)
    week = ItemRef(ItemKind.TIMESHEET, "2026-11-16")

    def change(act) -> Case:
        with backend.uow() as work:
            case = work.cases.get("T0001", "R-1")
            act(case)
            store(work, case, LedgerOnly())
            work.commit()
        with backend.uow() as work:
            back = work.cases.get("T0001", "R-1")
            assert back == case
            return back

    with backend.uow() as work:
        item = work.contracts.item("T0001", "C-200", week)
        case = Case.open_request(
            case_id="R-1",
            contract=work.contracts.get("T0001", "C-200"),
            item=item,
            amount=usd("100.00"),
            reason="Not worked.",
            refunded=usd("0"),
            held=usd("0"),
            by=CLIENT,
            now=NOW,
            policy=APPEALS,
        )
        case.decline(reason="Worked.", by=FREELANCER, now=NOW, policy=APPEALS)
        dispute = DisputeDetails(reason="No meeting.", certified=True, minutes=90)
        case.request_again(
            kind=ContractKind.HOURLY,
            item=item,
            refunded_on_item=usd("0"),
            expected=RouteKind.HOURLY_DISPUTE,
            by=CLIENT,
            now=NOW,
            policy=APPEALS,
            details=dispute,
        )
        case.contest(statement="It happened.", by=FREELANCER, now=NOW, policy=APPEALS)
        case.claim(by="U0MEDIATOR", now=NOW)
        case.decide(usd("20.00"), grounds=because("One hour shown."), by="U0MEDIATOR", now=NOW, policy=APPEALS)
        store(work, case, LedgerOnly(), new=True)
        work.commit()
    with backend.uow() as work:
        decided = work.cases.get("T0001", "R-1")
        assert (decided.state, decided.is_open, decided.outcome, decided.refunded) == (
            "decided",
            True,
            *[usd("20.00")] * 2,
        )
        assert decided.deadlines == case.deadlines
        assert [d.kind for d in decided.deadlines] == [DeadlineKind.APPEAL_WINDOW]
        assert work.ledger.refunded_on_item("T0001", "C-200", week, "USD") == usd("20.00")
    appealed = change(lambda c: c.request_appeal(reason="Wrong.", by=FREELANCER, now=LATER, policy=APPEALS))
    assert (appealed.appeal.first_mediator, appealed.appeal.refunded, appealed.deadlines) == (
        "U0MEDIATOR",
        usd("20.00"),
        (),
    )
    change(lambda c: c.claim(by="U0MEDIATOR2", now=LATER))
    change(lambda c: c.review(usd("5.00"), grounds=because("Shown."), by="U0MEDIATOR2", now=LATER, policy=APPEALS))
    with backend.uow() as work:
        assert work.ledger.refunded_on_item("T0001", "C-200", week, "USD") == usd("5.00")
        assert work.ledger.refunded_on_items("T0001", {("C-200", week)}) == {("C-200", week): 500}
        assert [(e.kind, e.amount) for e in work.ledger.for_case("R-1")][-2:] == [
            (LedgerKind.REFUND_REVERSAL, usd("15.00")),
            (LedgerKind.RELEASE, usd("15.00")),
        ]
        assert work.cases.held_on_item("T0001", "C-200", week, "USD") == usd("0")


def test_evidence_questions_and_policies_read_back(backend):
    seed(backend.uow)
    opened(backend.uow)
    with backend.uow() as work:
        case = work.cases.get("T0001", "R-1")
        case.add_evidence(
            text="Brief attached",
            links=("https://x.test/a",),
            visibility=Visibility.BOTH_SIDES,
            by=CLIENT,
            now=LATER,
            policy=Policy(),
        )
        store(work, case, LedgerOnly())
        asked = work.questions.add("T0001", Question("R-1", "U0MEDIATOR", CLIENT, "Which brief?", LATER))
        work.policies.register(Policy(), NOW)
        work.commit()
    with backend.uow() as work:
        [evidence] = work.evidence.for_case("R-1")
        assert (evidence.seq, evidence.author, evidence.text, evidence.links) == (
            1,
            CLIENT,
            "Brief attached",
            ("https://x.test/a",),
        )
        assert work.cases.get("T0001", "R-1").evidence_count == 1
        assert asked.id is not None
        assert work.questions.get("T0001", asked.id) == asked
        assert work.questions.get("T0002", asked.id) is None
        assert work.policies.get("v1") == Policy()
        assert work.policies.get("v9") is None


def test_the_outbox_keeps_one_message_per_dedupe_key(backend):
    with backend.uow() as work:
        work.outbox.add("T0001", message("R-1:client:1"), NOW)
        work.outbox.add("T0001", message("R-1:client:1"), NOW)
        work.commit()
    with backend.uow() as work:
        work.outbox.add("T0001", message("R-1:client:1"), LATER)
        work.outbox.add("T0001", message("R-1:client:2"), LATER)
        work.commit()
    assert backend.queued() == ["R-1:client:1", "R-1:client:2"]


def test_a_deadline_is_leased_once_until_its_lease_runs_out(backend):
    seed(backend.uow)
    case = opened(backend.uow)
    first_reminder = case.deadline.due_at - timedelta(hours=48)
    with backend.uow() as work:
        assert work.deadlines.lease_due("a", first_reminder - timedelta(seconds=1), timedelta(minutes=2), 10) == []
        [leased] = work.deadlines.lease_due("a", first_reminder, timedelta(minutes=2), 10)
        work.commit()
    assert (leased.case_id, leased.kind, leased.due_at) == ("R-1", case.deadline.kind, case.deadline.due_at)
    with backend.uow() as work:
        assert work.deadlines.lease_due("b", first_reminder + timedelta(minutes=1), timedelta(minutes=2), 10) == []
        state = work.deadlines.reminder_states([leased.id])[leased.id]
        assert state.parties == (FREELANCER,)
        assert state.sent == ()
        work.deadlines.reminded_all("b", [(leased.id, (172800.0,), case.deadline.due_at)])  # not b's lease
        assert work.deadlines.reminder_states([leased.id])[leased.id].sent == ()
        work.deadlines.reminded_all("a", [(leased.id, (172800.0,), case.deadline.due_at - timedelta(hours=24))])
        work.commit()
    with backend.uow() as work:
        assert work.deadlines.reminder_states([leased.id])[leased.id].sent == (172800.0,)
        [again] = work.deadlines.lease_due("b", case.deadline.due_at - timedelta(hours=24), timedelta(minutes=2), 10)
        assert work.deadlines.finish(again.id, "b", LATER)
        work.commit()
    with backend.uow() as work:
        assert work.deadlines.lease_due("c", case.deadline.due_at, timedelta(minutes=2), 10) == []


def test_a_decision_retires_the_deadline(backend):
    seed(backend.uow)
    case = opened(backend.uow)
    with backend.uow() as work:
        decided = work.cases.get("T0001", "R-1")
        decided.approve(by=FREELANCER, now=LATER)
        store(work, decided, LedgerOnly())
        work.commit()
    with backend.uow() as work:
        assert work.deadlines.lease_due("a", case.deadline.due_at, timedelta(minutes=2), 10) == []
        assert work.cases.get("T0001", "R-1").deadline is None


def waiting_case(work, case_id: str, item: str, at, team: str = "T0001") -> Case:
    """A case on milestone ``item`` that waits for a mediator since ``at``, stored."""
    case = request_on(work, case_id, item, at, team=team)
    case.stage, case.state, case.deadline = Stage.MEDIATION, State.UNASSIGNED, None
    case.escalated_at = case.updated_at = at
    store(work, case, LedgerOnly(), new=True)
    return case


def test_the_mediators_port_weighs_load_availability_and_turn_and_finds_the_cases_waiting(backend):
    seed(backend.uow, parts=range(10, 14))
    with backend.uow() as work:
        held = waiting_case(work, "R-A", "M-10", NOW)
        held.assign("U0MED1", by="U0LEAD", now=NOW, how="handed")
        store(work, held, LedgerOnly())
        waiting_case(work, "R-B", "M-11", NOW + timedelta(hours=2))
        waiting_case(work, "R-C", "M-12", NOW + timedelta(hours=1))
        store(work, request_on(work, "R-D", "M-13", NOW), LedgerOnly(), new=True)  # waits for the freelancer
        work.mediators.assigned("T0001", "U0MED1", NOW)
        work.mediators.set_away("T0001", "U0MED2", NOW + timedelta(days=3), NOW)
        work.mediators.set_away("T0002", "U0MED3", NOW + timedelta(days=3), NOW)
        work.commit()
    with backend.uow() as work:
        work.mediators.lock("T0001")
        standings = {one.user: one for one in work.mediators.standings("T0001", ["U0MED2", "U0MED4"])}
        assert set(standings) == {"U0MED1", "U0MED2", "U0MED4"}  # who was asked for, holds a case, or has a row
        assert (standings["U0MED1"].holds, standings["U0MED1"].last_assigned) == (1, NOW)
        assert (standings["U0MED2"].holds, standings["U0MED2"].away_until) == (0, NOW + timedelta(days=3))
        assert standings["U0MED4"] == type(standings["U0MED4"])("U0MED4")
        assert work.mediators.waiting(None, (), 10) == [("T0001", "R-C"), ("T0001", "R-B")]
        assert work.mediators.waiting(None, (), 1) == [("T0001", "R-C")]
        assert work.mediators.waiting({"T0002"}, (), 10) == []
        assert work.mediators.waiting(None, {"T0001"}, 10) == []
        assert work.mediators.teams() == ["T0001", "T0002"]
    with backend.uow() as work:  # back early: available again
        work.mediators.set_away("T0001", "U0MED2", None, LATER)
        work.commit()
    with backend.uow() as work:
        [one] = [one for one in work.mediators.standings("T0001", ["U0MED2"]) if one.user == "U0MED2"]
        assert (one.away_until, one.away(LATER)) == (None, False)
