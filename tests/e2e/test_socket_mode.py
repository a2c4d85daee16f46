"""Socket Mode (the README's way to try the app): the same story, over the WebSocket Slack would open."""

import pytest
from slack_sdk.errors import SlackApiError

from bot.app.socket_mode import socket_mode_handler
from tests.e2e.conftest import CLIENT, FREELANCER, Bot
from tests.slack_standin import SocketModeUser, button_labels, text_of


@pytest.fixture
def socket_bot(bot: Bot):
    handler = socket_mode_handler(bot.instance, "xapp-1-e2e")
    handler.connect()
    yield bot
    handler.close()


def test_the_refund_story_runs_over_socket_mode(socket_bot):
    bot = socket_bot
    client, freelancer = SocketModeUser(bot.standin, CLIENT), SocketModeUser(bot.standin, FREELANCER)
    assert "*/refund list*" in text_of(client.command("help").json["blocks"])
    client.command("")
    client.choose(bot.standin.latest_view(CLIENT), "Contract", "Logo redesign")
    client.choose(bot.standin.latest_view(CLIENT), "Item", "Milestone “Concepts”")
    view = bot.standin.latest_view(CLIENT)
    refused = client.submit(view, {"Amount (USD)": "999", "Reason": "Too much"})
    assert refused.json["response_action"] == "errors"
    assert client.submit(view, {"Amount (USD)": "60.00", "Reason": "Off-brief"}).status == 200
    bot.drain()
    [request] = bot.standin.dms(FREELANCER)
    freelancer.click(request, "Approve")
    bot.drain()
    assert button_labels(bot.standin.dms(FREELANCER)[0].blocks) == []
    assert "$60.00 refunded in full" in text_of(bot.standin.dms(CLIENT)[0].blocks)


def test_socket_mode_needs_an_app_level_token(bot):
    with pytest.raises(SlackApiError, match="not_allowed_token_type"):
        bot.instance.app.client.apps_connections_open(app_token="xoxb-not-an-app-token")
