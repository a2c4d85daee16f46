"""Outcomes in the open (issue 38), over HTTP: `/refund history`, a person's own record as mediators see it, with any
flag and the rule that sets one (on a policy that flags early); and last month's fairness report, posted once."""

from datetime import UTC, datetime

from bot.policies import preset_path
from tests.e2e.conftest import CLIENT, FREELANCER, running_bot
from tests.e2e.test_escalation import ask_for_refund, decline, dm
from tests.slack_standin import text_of

# Flagged once a client asked for refunds on more than a tenth of their paid items, from the first paid item.
EARLY = {"version: refundbot-1": "version: early-flags-1", "history_min_items: 5": "history_min_items: 1"}
EARLY_SHARE = ('history_client_request_share: "0.5"', 'history_client_request_share: "0.1"')


def early_policy(tmp_path):
    text = preset_path("refundbot").read_text()
    for old, new in [*EARLY.items(), EARLY_SHARE]:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "early.yaml"
    path.write_text(text)
    return path


def history(bot, user: str) -> str:
    answer = bot.user(user).command("history")
    assert answer.status == 200
    assert answer.json["response_type"] == "ephemeral"  # the person who typed it, alone
    return text_of(answer.json["blocks"])


def test_a_flagged_client_and_an_unflagged_freelancer_each_see_their_own_record(database_url, standin, tmp_path):
    with running_bot(database_url, standin, policy_file=str(early_policy(tmp_path))) as bot:
        assert "You have no paid items and no cases yet" in history(bot, "U0NOBODY1")
        case_id = ask_for_refund(bot, "Logo redesign", "Milestone “Concepts”", "100.00")
        decline(bot, case_id)

        client = history(bot, CLIENT)
        assert "What mediators see of you" in client
        assert "As client" in client
        assert "1 request made on" in client
        assert "asked for refunds on most of their paid items" in client  # the flag, in words
        assert "flagged when a client asked for refunds on more than 10% of their paid items" in client
        assert "once they have 1 paid item." in client

        freelancer = history(bot, FREELANCER)
        assert "As freelancer" in freelancer
        assert "1 request received on" in freelancer
        assert "disputed" not in freelancer.split("Mediators see")[0]  # no flag of theirs
        assert "most of their paid items" not in freelancer


def test_last_months_fairness_report_is_posted_once_on_the_first(database_url, standin):
    with running_bot(database_url, standin, fairness_report_channel="C0FAIRNESS") as bot:
        case_id = ask_for_refund(bot, "Logo redesign", "Milestone “Concepts”", "100.00")
        approve = bot.user(FREELANCER)
        assert approve.click(dm(bot, FREELANCER, case_id), "Approve").status == 200
        bot.drain()
        assert bot.case(case_id).closed_at is not None
        bot.clock.now = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
        for _ in range(2):  # two runs of the day (or two instances): one post
            assert bot.instance.workers.post_fairness()
            bot.drain()
        [posted] = bot.standin.channel_messages("C0FAIRNESS")
        shown = text_of(posted.blocks)
        assert "Fairness: cases closed in November 2026" in shown
        assert "1 case(s) closed from 01 Nov 2026 to 01 Dec 2026" in shown
        assert "1 case(s): fewer than 5, not shown" in shown  # one case says nothing about anyone
        bot.clock.now = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
        assert not bot.instance.workers.post_fairness()
