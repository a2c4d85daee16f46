"""Both parties at the same moment, on two instances, released together: every answer that still applies is
recorded, and where only one can win, exactly one does and the other is told their answer was not recorded."""

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from storage.tables import AuditRow, LedgerRow
from tests.bulk import copy_case
from tests.e2e.conftest import CLIENT, FREELANCER, MEDIATOR, NOW, PARTLY, Bot, running_bot
from tests.e2e.test_escalation import card, click, dm, escalated, submit
from tests.e2e.test_refund_request import client_dm, freelancer_dm, request
from tests.slack_standin import Message

ROUNDS = 20


@pytest.fixture
def bots(database_url, standin) -> Iterator[tuple[Bot, Bot]]:
    """Two app instances on one database, each with its own HTTP server, relay and unit of work."""
    with running_bot(database_url, standin) as first, running_bot(database_url, standin) as second:
        second.clock = first.clock
        second.instance.runtime.clock = first.clock
        yield first, second


def copies(bot: Bot, template: str, prefix: str) -> list[str]:
    """ROUNDS copies of the case ``template``, each on its own item, in the same state."""
    with bot.instance.runtime.sessions.begin() as session:
        copy_case(session, template, ROUNDS, due=0, next_at=NOW + timedelta(days=30), prefix=prefix)
    return [f"{prefix}{n}" for n in range(1, ROUNDS + 1)]


def as_shown_for(message: Message, template: str, case_id: str) -> Message:
    """The template's message as it would read for another case: the same buttons, carrying that case's id."""
    return replace(message, blocks=json.loads(json.dumps(message.blocks).replace(template, case_id)))


def together(*presses: tuple[Bot, str, Message, str]) -> None:
    """Each (instance, person, message, button) pressed at the same moment, through its own instance."""
    start = threading.Barrier(len(presses))
    statuses: list[int] = []

    def press(bot: Bot, user: str, message: Message, label: str) -> None:
        start.wait()
        statuses.append(bot.user(user).click(message, label).status)

    threads = [threading.Thread(target=press, args=p) for p in presses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [200] * len(presses)


def audit(bot: Bot, case_id: str) -> list[tuple[str, str, str]]:
    with bot.instance.runtime.sessions() as session:
        rows = session.execute(
            select(AuditRow.from_state, AuditRow.to_state, AuditRow.actor)
            .where(AuditRow.case_id == case_id)
            .order_by(AuditRow.seq)
        )
        return [tuple(row) for row in rows]


def ledger(bot: Bot, case_id: str) -> list[tuple[str, int]]:
    with bot.instance.runtime.sessions() as session:
        rows = session.execute(
            select(LedgerRow.kind, LedgerRow.amount_minor).where(LedgerRow.case_id == case_id).order_by(LedgerRow.id)
        )
        return [tuple(row) for row in rows]


def proposed(bot: Bot) -> str:
    case_id = escalated(bot)
    click(bot, MEDIATOR, card(bot, case_id), "Claim")
    click(bot, MEDIATOR, card(bot, case_id), "Propose")
    submit(bot, MEDIATOR, {"Refund to the client (USD)": "40.00", "Rationale": "Two of five concepts fit."} | PARTLY)
    return case_id


def test_both_parties_accepting_a_proposal_at_once_are_both_recorded(bots):
    first, second = bots
    template = proposed(first)
    shown = {user: dm(first, user, template) for user in (CLIENT, FREELANCER)}
    before = len(audit(first, template))
    for case_id in copies(first, template, "R-P"):
        together(
            (first, CLIENT, as_shown_for(shown[CLIENT], template, case_id), "Accept proposal"),
            (second, FREELANCER, as_shown_for(shown[FREELANCER], template, case_id), "Accept proposal"),
        )
        row = first.case(case_id)
        assert (row.state, row.refunded_minor) == ("settled", 4000), case_id
        steps = audit(first, case_id)[before:]
        assert sorted(actor for *_, actor in steps) == sorted((CLIENT, FREELANCER))  # one answer each
        assert steps[-1][1] == "settled"
        assert ledger(first, case_id) == [("refund", 4000), ("release", 6000)]
    first.drain()
    assert not [r for r in first.standin.responses if "not recorded" in r["text"] or "Nothing changed" in r["text"]]


def test_both_parties_agreeing_to_arbitrate_at_once_both_pay_and_the_mediator_arbitrates(bots):
    first, second = bots
    template = proposed(first)
    click(first, FREELANCER, dm(first, FREELANCER, template), "Accept proposal")
    click(first, CLIENT, dm(first, CLIENT, template), "Reject proposal")
    assert first.case(template).state == "arbitration_offered"
    shown = {user: dm(first, user, template) for user in (CLIENT, FREELANCER)}
    for case_id in copies(first, template, "R-A"):
        together(
            (first, CLIENT, as_shown_for(shown[CLIENT], template, case_id), "Agree and pay the fee"),
            (second, FREELANCER, as_shown_for(shown[FREELANCER], template, case_id), "Agree and pay the fee"),
        )
        row = first.case(case_id)
        assert (row.state, row.answers) == ("arbitration", {"client": "paid", "freelancer": "paid"}), case_id


def test_approve_against_withdraw_on_two_instances_has_exactly_one_outcome(bots):
    first, second = bots
    template = request(first)
    approve, withdraw = freelancer_dm(first), client_dm(first)
    for case_id in copies(first, template, "R-W"):
        heard = len(first.standin.responses)
        together(
            (first, FREELANCER, as_shown_for(approve, template, case_id), "Approve"),
            (second, CLIENT, as_shown_for(withdraw, template, case_id), "Withdraw"),
        )
        first.drain()
        row = first.case(case_id)
        assert row.state in ("approved", "withdrawn"), case_id
        assert [to for _, to, _ in audit(first, case_id)] == ["awaiting_freelancer", row.state]
        assert ledger(first, case_id) == ([("refund", 10000)] if row.state == "approved" else [])
        [told] = first.standin.responses[heard:]  # the loser, and only the loser, hears it
        assert f"already {row.state}" in told["text"]
