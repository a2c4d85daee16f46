"""Payments out, over real HTTP: each ledger entry reaches a local payments endpoint (the marketplace's, as it
would be written) signed and under its idempotency key, at least once, through the outbox of a real database;
and what that endpoint answers, or fails to, is what the operator and the mediators then see."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.payouts import PayoutSender
from bot.services import requests
from bot.services.core import Deps
from bot.services.messages import Surface
from bot.services.payments import Webhook
from bot.services.roster import Desk, Roster
from storage.state import operations
from storage.tables import CaseRow, OutboxRow, PayoutAnswerRow
from storage.uow import SqlUnitOfWork
from tests.bulk import demo_request
from tests.conftest import REFUNDBOT
from tests.integration.conftest import NOW
from tests.payments_endpoint import SECRET, Reply

MEDIATORS = "C0MEDIATORS"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):
        return self.now

    def advance(self, **span: float) -> None:
        self.now += timedelta(**span)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def deps(sessions, policy, clock) -> Deps:
    return Deps(
        uow=lambda: SqlUnitOfWork(sessions),
        clock=clock,
        policy=policy,
        payments=Webhook(),
        roster=Roster(Desk(None, frozenset({"U0MEDIATE1"}))),
        mediator_channel=MEDIATORS,
    )


def approved(deps: Deps, policy) -> str:
    """The demo client's $10.00 request, approved by the freelancer: one refund entry, queued for the endpoint."""
    case = demo_request(deps.uow, policy, NOW)
    answer = requests.AnswerRequest(team_id="T0DEMO01", user_id="U0FREELA01", case_id=case.id, action="approve")
    requests.answer_request(deps, answer)
    return case.id


def sender(sessions, deps, endpoint, clock, **options: Any) -> PayoutSender:
    options = {"secret": SECRET, "timeout": 2.0} | options
    secret = options.pop("secret")
    return PayoutSender(sessions, deps, endpoint.url, secret, owner="test", clock=clock, **options)


def payout_rows(sessions) -> list[OutboxRow]:
    with sessions() as session:
        return list(session.scalars(select(OutboxRow).where(OutboxRow.surface == Surface.PAYOUT)))


def answers(sessions) -> list[tuple[str, str | None, str | None]]:
    with sessions() as session:
        rows = session.scalars(select(PayoutAnswerRow))
        return [(row.outcome, row.reason, row.reference) for row in rows]


def test_an_approved_refund_reaches_the_endpoint_signed_under_its_key_and_its_acceptance_is_kept(
    sessions, deps, endpoint, clock, policy
):
    case_id = approved(deps, policy)
    assert sender(sessions, deps, endpoint, clock).run_once() == 1
    assert endpoint.unsigned == 0
    ((key, document),) = endpoint.heard
    assert key == document["id"] == f"refundbot-T0DEMO01-{document['entry_id']}"
    assert (document["type"], document["case"], document["contract"]) == ("refund", case_id, "C-100")
    assert document["amount"] == {"currency": "USD", "minor": 1000, "value": "10.00"}
    assert document["item"] == {"kind": "milestone", "id": "M-1"}
    assert document["decided_by"] == "U0FREELA01"
    assert answers(sessions) == [("accepted", None, "po_1")]
    assert [row.status for row in payout_rows(sessions)] == ["sent"]


def test_an_endpoint_that_fails_is_tried_again_after_a_back_off_under_the_same_key(
    sessions, deps, endpoint, clock, policy
):
    approved(deps, policy)
    endpoint.replies = [Reply(503, {"error": "maintenance"}), Reply(429, headers={"Retry-After": "120"})]
    paying = sender(sessions, deps, endpoint, clock)
    assert paying.run_once() == 1
    (row,) = payout_rows(sessions)
    assert (row.status, row.next_attempt_at, row.last_error) == (
        "pending",
        NOW + timedelta(seconds=10),
        'answered 503: {"error": "maintenance"}',
    )
    assert paying.run_once() == 0  # not due yet
    clock.advance(seconds=10)
    assert paying.run_once() == 1  # 429: Retry-After says two minutes
    assert payout_rows(sessions)[0].next_attempt_at == clock() + timedelta(seconds=120)
    clock.advance(seconds=120)
    assert paying.run_once() == 1
    assert len({key for key, _ in endpoint.heard}) == 1
    assert len(endpoint.heard) == 3
    assert answers(sessions) == [("accepted", None, "po_1")]


def test_an_answer_that_never_comes_is_asked_again_and_the_endpoint_pays_once(sessions, deps, endpoint, clock, policy):
    approved(deps, policy)
    endpoint.replies = [Reply(delay=1.5)]  # it paid, but the sender stopped waiting first
    paying = sender(sessions, deps, endpoint, clock, timeout=0.5)
    paying.run_once()
    assert payout_rows(sessions)[0].last_error.startswith("no answer")
    clock.advance(seconds=10)
    paying.run_once()
    assert len(endpoint.heard) == 2
    assert len(endpoint.paid) == 1
    assert [row.status for row in payout_rows(sessions)] == ["sent"]


def test_a_refused_payout_holds_the_case_and_queues_word_for_the_mediators(sessions, deps, endpoint, clock, policy):
    case_id = approved(deps, policy)
    endpoint.replies = [Reply(422, {"reason": "The client's card was closed"})]
    clock.advance(minutes=1)
    sender(sessions, deps, endpoint, clock).run_once()
    assert answers(sessions) == [("refused", "The client's card was closed", None)]
    with sessions() as session:
        assert session.get(CaseRow, case_id).payout_hold == "The client's card was closed"
        told = session.scalars(select(OutboxRow).where(OutboxRow.surface == Surface.PAYOUT_REFUSED)).all()
    assert [(row.target["channel"], row.view["payout_reason"]) for row in told] == [
        (MEDIATORS, "The client's card was closed")
    ]
    assert [row.status for row in payout_rows(sessions)] == ["sent"]  # answered: nothing to send again
    with sessions() as session:
        watched = operations(session, clock())  # what /metrics shows
    assert (watched["payouts"], watched["payouts_on_hold"]) == ({"sent": 1}, 1)


def test_the_database_failing_after_the_answer_sends_the_entry_again_and_keeps_one_answer(
    sessions, deps, endpoint, clock, policy
):
    approved(deps, policy)

    class DropsAtCommit(SqlUnitOfWork):
        def commit(self) -> None:
            raise OperationalError("COMMIT", None, Exception("server closed the connection unexpectedly"))

    failing = replace(deps, uow=lambda: DropsAtCommit(sessions))
    paying = sender(sessions, failing, endpoint, clock, lease=timedelta(seconds=30))
    with pytest.raises(Exception, match="server closed the connection"):
        paying.run_once()
    assert answers(sessions) == []
    assert payout_rows(sessions)[0].lease_owner == "test"
    clock.advance(seconds=31)  # the lease lapses; a working instance takes it over
    assert sender(sessions, deps, endpoint, clock).run_once() == 1
    assert len(endpoint.heard) == 2
    assert len(endpoint.paid) == 1
    assert answers(sessions) == [("accepted", None, "po_1")]


def test_a_wrong_secret_is_parked_at_once_for_the_operator_who_sends_it_again_once_fixed(
    sessions, deps, endpoint, clock, policy, database_url, tmp_path
):
    case_id = approved(deps, policy)
    sender(sessions, deps, endpoint, clock, secret="an old secret").run_once()
    assert endpoint.unsigned == 1
    assert endpoint.heard == []
    (row,) = payout_rows(sessions)
    assert (row.status, row.last_error) == ("dead", 'answered 401: {"error": "bad_signature"}')

    def refundbot(*args: str) -> str:
        env = {"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
        done = subprocess.run(
            [str(REFUNDBOT), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    shown = refundbot("outbox")
    assert "payouts: 0 pending, 0 sent, 1 dead" in shown
    assert f'dead #{row.id} payout of case {case_id}: answered 401: {{"error": "bad_signature"}}' in shown
    assert "pending and dead message(s) will be sent at once" in refundbot("outbox", "retry", "--dead")
    assert payout_rows(sessions)[0].status == "pending"
    clock.now = datetime.now(UTC)  # the command's "at once" is the real now
    assert sender(sessions, deps, endpoint, clock).run_once() == 1
    assert answers(sessions) == [("accepted", None, "po_1")]


def test_an_endpoint_that_keeps_failing_is_given_up_on_after_the_last_attempt(sessions, deps, endpoint, clock, policy):
    approved(deps, policy)
    endpoint.replies = [Reply(500, {}) for _ in range(3)]
    paying = sender(sessions, deps, endpoint, clock, max_attempts=3)
    for _ in range(3):
        paying.run_once()
        clock.advance(minutes=30)
    (row,) = payout_rows(sessions)
    assert (row.status, row.attempts) == ("dead", 3)
    assert row.last_error == "gave up after 3 attempts; last: answered 500: {}"
