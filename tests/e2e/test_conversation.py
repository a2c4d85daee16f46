"""Issue 35, the conversation as people see it: other people's text cannot disturb what they read, and presses that
cannot be undone ask first, saying what will happen."""

import json

from tests.e2e.conftest import CLIENT, FREELANCER, Bot
from tests.e2e.test_refund_request import client_dm, freelancer_dm, request, thread_texts
from tests.slack_standin import text_of

BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def everything_shown(bot: Bot) -> str:
    """Every message and Home any person has, as Slack would draw them."""
    with bot.standin.lock:
        messages = [json.dumps([m.text, m.blocks], ensure_ascii=False) for m in bot.standin.messages.values()]
        homes = [json.dumps(home, ensure_ascii=False) for home in bot.standin.homes.values()]
    return "\n".join(messages + homes)


def test_a_right_to_left_override_in_a_reason_reverses_nothing_for_anyone(bot):
    reason = "Invoice \u202egpj.exe\u202c was not the logo \u2067عميل\u2069 asked for."
    request(bot, reason=reason)
    bot.user(FREELANCER).click(freelancer_dm(bot), "Decline")
    decline = "Delivered \u202dexactly\u202c as briefed."
    bot.user(FREELANCER).submit(bot.standin.latest_view(FREELANCER), {"Why are you declining?": decline})
    bot.drain()
    shown = everything_shown(bot)
    assert not BIDI_CONTROLS & set(shown)
    assert "Invoice gpj.exe was not the logo عميل asked for." in text_of(freelancer_dm(bot).blocks)
    assert "Delivered exactly as briefed." in text_of(client_dm(bot).blocks)
    assert any("Invoice gpj.exe was not the logo" in text for text in thread_texts(bot))
