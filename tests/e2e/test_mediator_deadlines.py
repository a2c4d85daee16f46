"""Mediators held to time (issue 38): a case that waits for a mediator is to be claimed within the policy's claim
window; the mediators are reminded under the card, the lead mediators are told when it passes, the desk and the
card mark it, and nothing is decided for or against a party. Over HTTP, under a moved clock."""

from datetime import timedelta

from prometheus_client import REGISTRY

from tests.e2e.conftest import CLIENT, FREELANCER, MEDIATOR, running_bot
from tests.e2e.test_escalation import card, click, dm, escalated, tick_at
from tests.slack_standin import text_of

LEAD = "U0LEAD0001"


def missed() -> float:
    return REGISTRY.get_sample_value("refundbot_mediator_deadlines_missed_total") or 0.0


def test_a_claim_deadline_reminds_the_mediators_then_tells_the_leads_and_decides_nothing(database_url, standin):
    with running_bot(database_url, standin, mediator_lead_ids=LEAD) as bot:
        case_id = escalated(bot)
        due = bot.case(case_id).updated_at + timedelta(hours=24)  # refund-bot's preset: 24 hours to claim
        the_card = card(bot, case_id)
        assert "A mediator is to claim this case by" in text_of(the_card.blocks)
        before = {user: [m.text for m in bot.standin.dms(user)] for user in (CLIENT, FREELANCER)}

        tick_at(bot, due - timedelta(hours=2))  # the policy's 2-hour reminder; the 48 and 24 hours fall before
        under_card = "\n".join(text_of(m.blocks) for m in bot.standin.replies(the_card.channel, the_card.ts))
        assert f"Nobody has claimed case {case_id} yet" in under_card
        assert bot.standin.dms(LEAD) == []

        counted = missed()
        tick_at(bot, due + timedelta(minutes=1))
        [told] = bot.standin.dms(LEAD)
        assert f"Nobody claimed case {case_id}" in text_of(told.blocks)
        assert "nothing was decided for or against either party" in text_of(told.blocks)
        assert "Claim overdue" in text_of(card(bot, case_id).blocks)
        assert missed() == counted + 1
        row = bot.case(case_id)
        assert (row.state, row.closed_at, row.claim_late_at is not None) == ("unassigned", None, True)
        assert {user: [m.text for m in bot.standin.dms(user)] for user in (CLIENT, FREELANCER)} == before

        # Said once: more ticks tell nobody again; a claim clears the mark.
        tick_at(bot, due + timedelta(hours=5))
        assert len(bot.standin.dms(LEAD)) == 1
        bot.user(MEDIATOR).open_home()
        bot.drain()
        assert "claim overdue since" in text_of(bot.standin.homes[MEDIATOR]["blocks"])
        click(bot, MEDIATOR, card(bot, case_id), "Claim")
        assert "Claim overdue" not in text_of(card(bot, case_id).blocks)
        assert bot.case(case_id).claim_late_at is None
        assert dm(bot, CLIENT, case_id)
