"""Payments out, end to end: PAYMENTS_WEBHOOK_URL set, a refund approved in Slack reaches the marketplace's
endpoint; when the marketplace refuses it, the mediators' channel hears why and both parties see the case on
hold, in place."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from storage.tables import AuditRow
from tests.conftest import REFUNDBOT
from tests.e2e.conftest import FREELANCER, MEDIATOR_CHANNEL, Bot, running_bot
from tests.e2e.test_refund_request import client_dm, freelancer_dm, request, thread_texts
from tests.integration.test_cli import run
from tests.payments_endpoint import SECRET, Reply
from tests.slack_standin import text_of


@pytest.fixture
def bot(database_url, standin, endpoint) -> Iterator[Bot]:
    with running_bot(
        database_url, standin, payments_webhook_url=endpoint.url, payments_webhook_secret=SECRET
    ) as running:
        yield running


def pay(bot: Bot) -> int:
    payouts = bot.instance.workers.payouts
    assert payouts is not None
    return payouts.run_once()


def test_an_approved_refund_is_paid_by_the_marketplace_and_nobody_is_bothered(bot, endpoint):
    case_id = request(bot)
    assert bot.user(FREELANCER).click(freelancer_dm(bot), "Approve").status == 200
    bot.drain()
    assert pay(bot) == 1
    [(key, document)] = endpoint.heard
    assert (document["case"], document["type"], document["amount"]["value"]) == (case_id, "refund", "100.00")
    assert key in endpoint.paid
    bot.drain()
    assert bot.standin.channel_messages(MEDIATOR_CHANNEL) == []
    assert "on hold" not in text_of(freelancer_dm(bot).blocks)


def test_a_refused_refund_puts_the_case_on_hold_for_the_mediators_and_both_parties_see_it(bot, endpoint):
    case_id = request(bot)
    assert bot.user(FREELANCER).click(freelancer_dm(bot), "Approve").status == 200
    bot.drain()
    endpoint.replies = [Reply(200, {"status": "refused", "reason": "The client's card was closed <!channel>"})]
    assert pay(bot) == 1
    bot.drain()
    [told] = bot.standin.channel_messages(MEDIATOR_CHANNEL)
    said = text_of(told.blocks)
    assert f"*Payout refused on case {case_id}*" in said
    assert "refund to the client of $100.00" in said
    assert "> The client's card was closed &lt;!channel&gt;" in said
    for dm in (freelancer_dm(bot), client_dm(bot)):  # updated in place, not a second message
        assert "The payout of this case is on hold" in text_of(dm.blocks)
        assert "card was closed" not in text_of(dm.blocks)
    assert "the payout of this case is on hold" in thread_texts(bot)[-1].lower()
    assert bot.case(case_id).payout_hold == "The client's card was closed <!channel>"


def refundbot(bot: Bot, endpoint, tmp_path, *args: str):
    env = {
        "DATABASE_URL": bot.instance.runtime.settings.database_url,
        "MEDIATOR_CHANNEL_ID": MEDIATOR_CHANNEL,
        "PAYMENTS_WEBHOOK_URL": endpoint.url,
        "PAYMENTS_WEBHOOK_SECRET": SECRET,
    }
    return run([str(REFUNDBOT), "payouts", *args], tmp_path, **env)


def caught_up(bot: Bot) -> None:
    """The test's clock moves to the real one the command used, so what it queued is due."""
    bot.clock.now = datetime.now(UTC) + timedelta(seconds=1)


def refused_on_hold(bot: Bot, endpoint) -> str:
    case_id = request(bot)
    assert bot.user(FREELANCER).click(freelancer_dm(bot), "Approve").status == 200
    bot.drain()
    endpoint.replies = [Reply(422, {"reason": "The client's card was closed"})]
    assert pay(bot) == 1
    bot.drain()
    return case_id


def audit(bot: Bot, case_id: str) -> list[tuple[str, str]]:
    with bot.instance.runtime.sessions() as session:
        rows = session.scalars(select(AuditRow).where(AuditRow.case_id == case_id).order_by(AuditRow.seq))
        return [(row.actor, row.rationale or "") for row in rows]


def test_an_operator_sends_a_refused_payout_again_and_its_acceptance_lifts_the_hold(bot, endpoint, tmp_path):
    case_id = refused_on_hold(bot, endpoint)
    listed = refundbot(bot, endpoint, tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert f"on hold: case {case_id} (T0DEMO01, approved): The client's card was closed" in listed.stdout
    [entry_id] = re.findall(r"refused: entry (\d+) refund 100.00 USD of case " + case_id, listed.stdout)
    assert refundbot(bot, endpoint, tmp_path, "resend", "999").returncode == 1  # no such refused entry
    done = refundbot(bot, endpoint, tmp_path, "resend", entry_id, "--by", "ops-anna")
    assert done.returncode == 0, done.stderr
    assert ("ops-anna", f"refund {entry_id} sent again") in audit(bot, case_id)
    caught_up(bot)
    bot.drain()
    told = text_of(bot.standin.channel_messages(MEDIATOR_CHANNEL)[-1].blocks)
    assert f"*Payout sent again on case {case_id}*: ledger entry {entry_id}" in told
    assert bot.case(case_id).payout_hold is not None  # until the marketplace says yes
    assert pay(bot) == 1  # the same idempotency key as the first time
    assert [key for key, _ in endpoint.heard][-2] == [key for key, _ in endpoint.heard][-1]
    bot.drain()
    assert bot.case(case_id).payout_hold is None
    assert "on hold" not in text_of(freelancer_dm(bot).blocks)  # the parties' messages, updated in place
    assert "no case is on hold and no payout is refused" in refundbot(bot, endpoint, tmp_path).stdout
    again = refundbot(bot, endpoint, tmp_path, "resend", entry_id)
    assert (again.returncode, again.stderr.strip()) == (
        1,
        f"refundbot: Ledger entry {entry_id} was not refused by the marketplace, so there is nothing to send again.",
    )


def test_an_operator_lifts_a_hold_with_a_reason_on_record_and_the_mediators_hear_it(bot, endpoint, tmp_path):
    case_id = refused_on_hold(bot, endpoint)
    assert refundbot(bot, endpoint, tmp_path, "release-hold", case_id).returncode == 2  # --reason is required
    done = refundbot(bot, endpoint, tmp_path, "release-hold", case_id.lower(), "--reason", "Paid by bank transfer")
    assert done.returncode == 0, done.stderr
    assert bot.case(case_id).payout_hold is None
    assert audit(bot, case_id)[-1] == ("operator", "payout hold lifted: Paid by bank transfer")
    caught_up(bot)
    bot.drain()
    told = text_of(bot.standin.channel_messages(MEDIATOR_CHANNEL)[-1].blocks)
    assert f"*Hold lifted on case {case_id}*" in told
    assert "Paid by bank transfer" in told
    assert "on hold" not in text_of(client_dm(bot).blocks)
    twice = refundbot(bot, endpoint, tmp_path, "release-hold", case_id, "--reason", "again")
    assert (twice.returncode, twice.stderr.strip()) == (
        1,
        f"refundbot: Case {case_id} is not on hold: no refused payout holds it.",
    )
    assert refundbot(bot, endpoint, tmp_path, "release-hold", "R-NOPE00", "--reason", "x").returncode == 1
