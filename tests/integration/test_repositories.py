"""Repositories and the unit of work on real SQLite and PostgreSQL: round trips, races, append-only records."""

import dataclasses
import sqlite3
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from bot.domain.case import Case
from bot.domain.contract import ContractKind, ItemKind, ItemRef
from bot.domain.errors import ConcurrentChange
from bot.domain.events import LedgerEntry, Question
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.domain.routing import RouteKind
from bot.domain.vocabulary import State, Visibility
from bot.services.core import Deps, store
from bot.services.importing import import_contracts, read_import_file
from bot.services.messages import Nudge, OutboxMessage, nudges
from bot.services.payments import LedgerOnly
from bot.services.ports import StorageUnavailable
from bot.services.requests import RequestRefund, request_refund
from storage.db import prepare, session_factory
from storage.outbox import MessageRef, OutboxRepository
from storage.repositories import PolicyConflict
from storage.tables import AuditRow, DeadlineRow, LedgerRow
from storage.uow import SqlUnitOfWork
from tests.integration.conftest import NOW
from tests.unit.factories import CLIENT, FREELANCER, because, contract, milestone, timesheet

LATER = NOW + timedelta(hours=1)
USD = "USD"


def usd(text_amount: str) -> Money:
    return Money.parse(text_amount, USD)


def seed(uow, *, kind=ContractKind.FIXED_PRICE):
    with uow() as work:
        deal = contract(kind)
        work.contracts.save(deal, NOW)
        work.contracts.save_item(deal.team_id, milestone() if kind is ContractKind.FIXED_PRICE else timesheet())
        work.commit()
    return deal


def open_case(uow, case_id="R-1", amount="100.00"):
    seed(uow)
    with uow() as work:
        deal = work.contracts.get("T0001", "C-100")
        item = work.contracts.item("T0001", "C-100", ItemRef(ItemKind.MILESTONE, "M-1"))
        case = Case.open_request(
            case_id=case_id,
            contract=deal,
            item=item,
            amount=usd(amount),
            reason="Not what we agreed.",
            refunded=work.ledger.refunded_on_item("T0001", "C-100", item.ref, USD),
            held=work.cases.held_on_item("T0001", "C-100", item.ref, USD),
            by=CLIENT,
            now=NOW,
            policy=Policy(),
        )
        work.cases.add(case)
        work.commit()
    return case


def approve(uow, case_id="R-1"):
    with uow() as work:
        case = work.cases.get("T0001", case_id)
        case.approve(by=FREELANCER, now=LATER)
        store(work, case, LedgerOnly())
        work.commit()


def test_contract_and_items_round_trip(uow):
    seed(uow)
    with uow() as work:
        work.contracts.save_item("T0001", milestone(id="M-2", title="Final", released_at=None, status="funded"))
        work.commit()
    with uow() as work:
        assert work.contracts.get("T0001", "C-100") == contract()
        assert work.contracts.get("T0002", "C-100") is None  # another workspace sees nothing
        assert [i.id for i in work.contracts.items("T0001", "C-100")] == ["M-1", "M-2"]
        assert work.contracts.item("T0001", "C-100", ItemRef(ItemKind.MILESTONE, "M-1")) == milestone()
        assert [c.id for c in work.contracts.for_client("T0001", CLIENT, 100)] == ["C-100"]
        assert work.contracts.for_client("T0001", FREELANCER, 100) == []


def test_hourly_contract_and_timesheet_round_trip(uow):
    seed(uow, kind=ContractKind.HOURLY)
    with uow() as work:
        assert work.contracts.get("T0001", "C-100").hourly_rate == usd("40")
        assert work.contracts.item("T0001", "C-100", ItemRef(ItemKind.TIMESHEET, "2026-11-16")) == timesheet()
        assert work.contracts.item("T0001", "C-100", ItemRef(ItemKind.TIMESHEET, "not-a-date")) is None


def test_case_round_trips_with_its_deadline_and_first_audit_event(uow):
    opened = open_case(uow)
    with uow() as work:
        case = work.cases.get("T0001", "R-1")
        assert work.cases.get("T0002", "R-1") is None
        assert case.version == 1
        assert (case.state, case.requested, case.refunded, case.reason) == (
            State.AWAITING_FREELANCER,
            usd("100.00"),
            usd("0"),
            "Not what we agreed.",
        )
        assert case.deadline == opened.deadline
        assert case.opened_at == NOW
        assert case.opened_at.tzinfo is not None
        [event] = work.audit.for_case("R-1")
        assert (event.seq, event.actor, event.to_state, event.amount) == (1, CLIENT, "awaiting_freelancer", usd("100"))
        row = work.session.scalar(select(DeadlineRow))
        assert row.next_at == NOW + timedelta(days=1)  # first reminder: 48 h before a due time 3 days out
        assert row.reminder_offsets == [172800, 86400, 7200]


def test_approval_writes_ledger_and_audit_and_retires_the_deadline(uow):
    open_case(uow)
    approve(uow)
    with uow() as work:
        case = work.cases.get("T0001", "R-1")
        assert (case.state, case.refunded, case.version, case.deadline) == ("approved", usd("100.00"), 2, None)
        assert [(e.amount, e.actor) for e in work.ledger.for_case("R-1")] == [(usd("100.00"), FREELANCER)]
        assert [e.to_state for e in work.audit.for_case("R-1")] == ["awaiting_freelancer", "approved"]
        assert work.ledger.refunded_on_item("T0001", "C-100", case.item, USD) == usd("100.00")
        assert work.session.scalar(select(DeadlineRow.done_at)) == LATER
        assert work.cases.open_case_for_item("T0001", "C-100", case.item) is None


def test_adjusted_case_stays_open_and_holds_the_rest(uow):
    open_case(uow)
    with uow() as work:
        case = work.cases.get("T0001", "R-1")
        case.adjust(usd("30.00"), note="partly", by=FREELANCER, now=LATER, policy=Policy())
        store(work, case, LedgerOnly())
        work.commit()
    with uow() as work:
        item = ItemRef(ItemKind.MILESTONE, "M-1")
        assert work.cases.open_case_for_item("T0001", "C-100", item).id == "R-1"
        assert work.cases.held_on_item("T0001", "C-100", item, USD) == usd("70.00")
        assert work.ledger.refunded_on_item("T0001", "C-100", item, USD) == usd("30.00")
        assert work.cases.count_open_for_user("T0001", FREELANCER) == (0, 1)  # open, answered already


def test_only_one_open_case_per_item(uow):
    first = open_case(uow)
    with uow() as work:
        second = dataclasses.replace(first, id="R-2", events=[], version=0)
        with pytest.raises(ConcurrentChange):
            work.cases.add(second)


def test_optimistic_lock_two_sessions_exactly_one_wins(uow):
    open_case(uow)
    with uow() as first, uow() as second:
        mine = first.cases.get("T0001", "R-1")
        theirs = second.cases.get("T0001", "R-1")
        mine.approve(by=FREELANCER, now=LATER)
        store(first, mine, LedgerOnly())
        first.commit()
        theirs.decline(reason="no", by=FREELANCER, now=LATER, policy=Policy())
        with pytest.raises(ConcurrentChange):
            store(second, theirs, LedgerOnly())
    with uow() as work:
        assert work.cases.get("T0001", "R-1").state == "approved"
        assert len(work.audit.for_case("R-1")) == 2
        assert len(work.ledger.for_case("R-1")) == 1


def test_racing_threads_exactly_one_decision_lands(uow):
    open_case(uow)
    loaded = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def act(name: str) -> None:
        with uow() as work:
            case = work.cases.get("T0001", "R-1")
            loaded.wait(timeout=10)  # both have read version 1 before either writes
            try:
                if name == "approve":
                    case.approve(by=FREELANCER, now=LATER)
                else:
                    case.decline(reason="no", by=FREELANCER, now=LATER, policy=Policy())
                store(work, case, LedgerOnly())
                work.commit()
                outcomes[name] = "won"
            except ConcurrentChange:
                outcomes[name] = "lost"

    threads = [threading.Thread(target=act, args=(name,)) for name in ("approve", "decline")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes.values()) == ["lost", "won"]
    winner = next(name for name, outcome in outcomes.items() if outcome == "won")
    with uow() as work:
        assert work.cases.get("T0001", "R-1").state == {"approve": "approved", "decline": "declined"}[winner]
        assert len(work.audit.for_case("R-1")) == 2
        assert len(work.ledger.for_case("R-1")) == (1 if winner == "approve" else 0)


def test_uncommitted_work_is_rolled_back(uow):
    open_case(uow)
    with uow() as work:
        case = work.cases.get("T0001", "R-1")
        case.approve(by=FREELANCER, now=LATER)
        store(work, case, LedgerOnly())
    with uow() as work:
        assert work.cases.get("T0001", "R-1").state == "awaiting_freelancer"
        assert work.ledger.for_case("R-1") == []


@pytest.mark.parametrize("table", [LedgerRow.__tablename__, AuditRow.__tablename__])
@pytest.mark.parametrize("change", ["UPDATE {table} SET actor = 'forged'", "DELETE FROM {table}"])
def test_ledger_and_audit_are_append_only(uow, engine, table, change):
    open_case(uow)
    approve(uow)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(change.format(table=table)))
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(text(table))).scalar() >= 1
        assert connection.execute(text(f"SELECT count(*) FROM {table} WHERE actor = 'forged'")).scalar() == 0


def test_policy_versions_keep_their_numbers(uow):
    with uow() as work:
        work.policies.register(Policy(), NOW)
        work.policies.register(Policy(), NOW)  # the same numbers again: nothing to do
        work.commit()
    with uow() as work:
        assert work.policies.get("v1") == Policy()
        assert work.policies.get("v9") is None
        with pytest.raises(PolicyConflict, match="policy version v1 is already stored with other numbers"):
            work.policies.register(Policy(response_window=timedelta(days=5)), NOW)
        work.policies.register(Policy(version="v2", response_window=timedelta(days=5)), NOW)
        work.commit()
    with uow() as work:
        assert work.policies.get("v2").response_window == timedelta(days=5)


def test_a_case_in_mediation_round_trips_with_its_proposal_answers_deadline_and_evidence(uow):
    open_case(uow)
    steps = [
        lambda c: c.decline(reason="Delivered.", by=FREELANCER, now=LATER, policy=Policy()),
        lambda c: c.request_again(
            kind=ContractKind.FIXED_PRICE,
            item=milestone(),
            refunded_on_item=usd("0"),
            expected=RouteKind.ESCROW_REFUND,
            by=CLIENT,
            now=LATER,
            policy=Policy(),
        ),
        lambda c: c.add_evidence(
            text="The brief, page 2.",
            links=("https://example.com/brief.pdf",),
            visibility=Visibility.MEDIATOR_ONLY,
            by=FREELANCER,
            now=LATER,
            policy=Policy(),
        ),
        lambda c: c.contest(statement="As briefed.", by=FREELANCER, now=LATER, policy=Policy()),
        lambda c: c.reject_position(by=CLIENT, now=LATER),
        lambda c: c.claim(by="U0MEDIATOR", now=LATER),
        lambda c: c.propose(usd("25.00"), grounds=because("Split.", 1), by="U0MEDIATOR", now=LATER, policy=Policy()),
        lambda c: c.answer_proposal(True, by=CLIENT, now=LATER, policy=Policy()),
    ]
    for step in steps:
        with uow() as work:
            case = work.cases.get("T0001", "R-1")
            step(case)
            store(work, case, LedgerOnly())
            work.commit()
    expected = dataclasses.replace(case, events=[])
    with uow() as work:
        loaded = work.cases.get("T0001", "R-1")
        assert loaded == expected
        assert (loaded.stage, loaded.state, loaded.answers, loaded.mediator_id) == (
            "mediation",
            "proposed",
            {"client": "accept"},
            "U0MEDIATOR",
        )
        assert loaded.deadline is not None
        assert loaded.deadline.parties == (CLIENT, FREELANCER)
        assert [(e.seq, e.role, e.visibility, e.links) for e in work.evidence.for_case("R-1")] == [
            (1, "freelancer", "mediator_only", ("https://example.com/brief.pdf",))
        ]
        assert (loaded.rule, loaded.cited) == ("partly_delivered", (1,))
        proposed = [e for e in work.audit.for_case("R-1") if (e.from_state, e.to_state) == ("claimed", "proposed")]
        assert [(e.rationale, e.rule, e.cited) for e in proposed] == [("Split.", "partly_delivered", (1,))]
        assert {e.rule for e in work.audit.for_case("R-1")} == {None, "partly_delivered"}  # only an outcome names one
        assert work.cases.held_on_item("T0001", "C-100", loaded.item, USD) == usd("100.00")


def test_a_settlement_writes_the_refund_and_the_release_through_the_payments_port(uow):
    open_case(uow)
    with uow() as work:
        case = work.cases.get("T0001", "R-1")
        case.decline(reason="Delivered.", by=FREELANCER, now=LATER, policy=Policy())
        case.request_again(
            kind=ContractKind.FIXED_PRICE,
            item=milestone(),
            refunded_on_item=usd("0"),
            expected=RouteKind.ESCROW_REFUND,
            by=CLIENT,
            now=LATER,
            policy=Policy(),
        )
        case.contest(statement="As briefed.", by=FREELANCER, now=LATER, policy=Policy())
        case.reject_position(by=CLIENT, now=LATER)
        case.claim(by="U0MEDIATOR", now=LATER)
        case.propose(usd("25.00"), grounds=because("Split."), by="U0MEDIATOR", now=LATER, policy=Policy())
        case.answer_proposal(True, by=CLIENT, now=LATER, policy=Policy())
        case.answer_proposal(True, by=FREELANCER, now=LATER, policy=Policy())
        entries = [e for e in store(work, case, LedgerOnly()) if isinstance(e, LedgerEntry)]
        work.commit()
    assert [(e.kind, e.amount) for e in entries] == [("refund", usd("25.00")), ("release", usd("75.00"))]
    with uow() as work:
        assert [(e.kind, e.amount) for e in work.ledger.for_case("R-1")] == [
            ("refund", usd("25.00")),
            ("release", usd("75.00")),
        ]
        assert work.ledger.refunded_on_item("T0001", "C-100", case.item, USD) == usd("25.00")
        assert work.cases.held_on_item("T0001", "C-100", case.item, USD) == usd("0")
        assert work.cases.get("T0001", "R-1").state == "settled"


@pytest.mark.parametrize("change", ["UPDATE evidence SET text = 'forged'", "DELETE FROM evidence"])
def test_evidence_is_frozen_once_added(uow, engine, change):
    open_case(uow)
    with uow() as work:
        case = work.cases.get("T0001", "R-1")
        case.add_evidence(
            text="Original.", links=(), visibility=Visibility.BOTH_SIDES, by=CLIENT, now=LATER, policy=Policy()
        )
        store(work, case, LedgerOnly())
        work.commit()
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(change))
    with uow() as work:
        assert [e.text for e in work.evidence.for_case("R-1")] == ["Original."]


@pytest.mark.parametrize("change", ["UPDATE questions SET text = 'forged'", "DELETE FROM questions"])
def test_a_mediators_question_is_kept_as_asked_and_only_in_its_workspace(uow, engine, change):
    open_case(uow)
    asked = "Почему макет не соответствует брифу? " * 12  # 444 Cyrillic characters: 2,664 as escaped JSON
    with uow() as work:
        kept = work.questions.add("T0001", Question("R-1", "U0MEDIATOR", CLIENT, asked, LATER))
        work.commit()
    assert kept.id is not None
    with uow() as work:
        assert work.questions.get("T0001", kept.id) == kept
        assert work.questions.get("T0OTHER", kept.id) is None
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(change))


def test_many_writers_at_once_queue_for_the_database_and_none_fails(uow, tmp_path):
    """24 people asking for a refund in the same instant: on SQLite each writer waits its turn for the lock (one
    writer at a time), none is told the database is unavailable."""
    people = 24
    rows = "\n".join(
        f"  - {{id: C-{n}, title: Deal {n}, kind: fixed_price, currency: USD, client: U0C{n:04d}, "
        f'freelancer: U0FREELA01, milestones: [{{id: M-1, title: Work, amount: "100.00", status: released, '
        f"released_at: 2026-11-20T10:00:00Z}}]}}"
        for n in range(people)
    )
    (tmp_path / "deals.yaml").write_text(f"team_id: T0001\ncontracts:\n{rows}\n")
    import_contracts(read_import_file(tmp_path / "deals.yaml"), uow(), NOW, Policy())
    deps = Deps(uow=uow, clock=lambda: NOW, policy=Policy())
    start, failures = threading.Barrier(people), []

    def ask(n: int) -> None:
        command = RequestRefund(
            team_id="T0001",
            user_id=f"U0C{n:04d}",
            contract_id=f"C-{n}",
            item_key="milestone:M-1",
            amount="10.00",
            reason="Half of it was missing.",
            request_key=f"form:{n}",
        )
        start.wait()
        try:
            request_refund(deps, command)
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with uow() as work:
        assert work.cases.count_open_for_user("T0001", "U0FREELA01") == (people, 0)


def test_writers_queued_behind_a_lock_held_elsewhere_each_give_up_within_the_busy_timeout(tmp_path):
    """Another process holds SQLite's lock (a long import, a backup): every writer of this process, not only the
    first in the queue, is told the database is unavailable after about the busy timeout, never after the sum of
    everyone's wait, so each click is still answered within Slack's 3 s."""
    path = tmp_path / "locked.db"
    engine = prepare(f"sqlite:///{path}")
    sessions = session_factory(engine)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    waited: list[float] = []

    def write(n: int) -> None:
        started = time.monotonic()
        try:
            with SqlUnitOfWork(sessions) as work:
                work.contracts.save(dataclasses.replace(contract(), id=f"C-{n}"), NOW)
                work.commit()
        except StorageUnavailable:
            waited.append(time.monotonic() - started)

    try:
        threads = [threading.Thread(target=write, args=(n,)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        engine.dispose()
    assert len(waited) == 3
    assert max(waited) < 3.0


def test_a_sweep_takes_only_the_messages_under_its_own_prefixes_whatever_their_keys_hold(sessions):
    """LIKE's wildcards (``_``, ``%``) and SQLite's case-blind LIKE must not pull in another person's messages."""
    kept = {
        ("T0DEMO01", key): MessageRef("D0", f"1.{n}", None)
        for n, key in enumerate(
            (
                "R-1:nudge:U_1:answer:a",  # the sweep's own
                "R-1:nudge:UX1:answer:a",  # `_` read as a wildcard would take this one
                "R-1:nudge:u_1:answer:a",  # SQLite's LIKE ignores ASCII case
                "R-1:nudge:U%1:answer:a",
                "R-1:nudge:U%11:answer:a",  # `%` read as a wildcard would take this one for the U%1 sweep
            )
        )
    } | {("T0OTHER1", "R-1:nudge:U_1:answer:a"): MessageRef("D9", "9.0", None)}  # another workspace's
    sweep = nudges("R-1", [("U_1", Nudge.ANSWER), ("U%1", Nudge.ANSWER)])
    with sessions.begin() as session:
        outbox = OutboxRepository(session)
        outbox.save_refs(kept, NOW)
        outbox.add("T0DEMO01", OutboxMessage("R-1", "sweep", sweep, "note", {}), NOW)
    with sessions.begin() as session:
        [leased] = OutboxRepository(session).lease_due("relay", NOW, timedelta(minutes=1), 10)
    assert sorted(leased.swept) == ["R-1:nudge:U%1:answer:a", "R-1:nudge:U_1:answer:a"]
    assert leased.swept["R-1:nudge:U_1:answer:a"] == MessageRef("D0", "1.0", None)
