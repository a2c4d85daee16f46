"""Slack's limits as the running app meets them over HTTP: what Slack limits waits alone, and everyone else's
messages go on."""

import logging
import urllib.request

import pytest

from tests.e2e.conftest import CLIENT, FREELANCER, Bot, running_bot
from tests.slack_standin import Limits

OTHER_FREELANCER = "U0FREELA02"


@pytest.fixture
def limited(bot: Bot) -> Limits:
    bot.standin.limits = Limits()
    bot.standin.clock = lambda: bot.clock().timestamp()
    return bot.standin.limits


def ask_refund(bot: Bot, contract: str, item: str, amount: str, currency: str = "USD") -> None:
    client = bot.user(CLIENT)
    assert client.command("").status == 200
    assert client.choose(bot.standin.latest_view(CLIENT), "Contract", contract).status == 200
    assert client.choose(bot.standin.latest_view(CLIENT), "Item", item).status == 200
    answer = client.submit(
        bot.standin.latest_view(CLIENT), {"Amount (" + currency + ")": amount, "Reason": "Not as agreed."}
    )
    assert answer.status == 200


def test_one_persons_dm_limited_for_ten_minutes_holds_back_no_one_else(bot, limited, caplog):
    held = bot.standin.dm_channel(FREELANCER)
    limited.hold(held, 600, bot.clock().timestamp())
    with caplog.at_level(logging.INFO):
        ask_refund(bot, "Logo redesign", "Milestone “Concepts”", "100.00")
        ask_refund(bot, "Website copy", "Milestone “Second draft”", "50.00", "EUR")
        bot.drain()
    assert bot.standin.dms(FREELANCER) == []
    assert len(bot.standin.dms(OTHER_FREELANCER)) == 1  # the other case went out whole
    assert len(bot.standin.dms(CLIENT)) == 1  # …and the client heard of it
    assert limited.refused == [("chat.postMessage", held)]  # Slack refused once; the relay then waited
    warned = [r.getMessage() for r in caplog.records if "rate-limits" in r.getMessage()]
    assert len(warned) == 1
    assert held in warned[0]
    with urllib.request.urlopen(f"{bot.url}/metrics", timeout=5) as response:
        metrics = response.read().decode()
    assert 'refundbot_slack_rate_limited_total{method="chat.postMessage"}' in metrics
    bot.clock.advance(seconds=601)
    bot.drain()
    assert len(bot.standin.dms(FREELANCER)) == 1  # once the hold ends, the held case goes out too
    assert len(bot.standin.dms(CLIENT)) == 2
    assert len(limited.refused) == 1


def test_outside_the_marketplace_a_post_in_doubt_is_looked_for_within_slacks_stricter_limits(database_url, standin):
    standin.limits = Limits(distributed=True)
    with running_bot(database_url, standin, slack_distribution="distributed") as bot:
        standin.clock = lambda: bot.clock().timestamp()
        standin.drop("chat.postMessage", times=2)  # Slack posts both DMs, and both answers are lost
        ask_refund(bot, "Logo redesign", "Milestone “Concepts”", "100.00")
        bot.drain()
        for _ in range(4):  # the rows in doubt take turns: one lookup a minute in the workspace
            bot.clock.advance(seconds=61)
            bot.drain()
        lookups = standin.calls_to("conversations.history") + standin.calls_to("conversations.replies")
        assert lookups
        assert all(int(call.args["limit"]) <= 15 for call in lookups)
        assert standin.limits.refused == []  # never more than Slack allows this app
        assert len(bot.standin.dms(FREELANCER)) == 1  # found and adopted: exactly once
        assert len(bot.standin.dms(CLIENT)) == 1
        assert standin.take_violations() == []
