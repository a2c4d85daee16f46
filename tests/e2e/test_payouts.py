"""Payments out, end to end: PAYMENTS_WEBHOOK_URL set, a refund approved in Slack reaches the marketplace's
endpoint; when the marketplace refuses it, the mediators' channel hears why and both parties see the case on
hold, in place."""

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import FREELANCER, MEDIATOR_CHANNEL, Bot, running_bot
from tests.e2e.test_refund_request import client_dm, freelancer_dm, request, thread_texts
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
