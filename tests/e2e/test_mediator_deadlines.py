"""Mediators held to time (issue 38): a case that waits for a mediator is to be claimed within the policy's claim
window; the mediators are reminded under the card, the lead mediators are told when it passes, the desk and the
card mark it, and nothing is decided for or against a party. Over HTTP, under a moved clock."""

from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from tests.e2e.conftest import CLIENT, FREELANCER, MEDIATOR, running_bot
from tests.e2e.test_escalation import card, click, dm, escalated, submit, tick_at
from tests.slack_standin import text_of

LEAD = "U0LEAD0001"
LEADS = "S0LEADS"


def missed(kind: str = "mediator_claim") -> float:
    return REGISTRY.get_sample_value("refundbot_mediator_deadlines_missed_total", {"kind": kind}) or 0.0


@pytest.mark.parametrize(
    "leads", [{"mediator_lead_ids": LEAD}, {"mediator_lead_usergroup_id": LEADS}], ids=["lead ids", "lead user group"]
)
def test_a_claim_deadline_reminds_the_mediators_then_tells_the_leads_and_decides_nothing(database_url, standin, leads):
    standin.usergroups[LEADS] = [LEAD]  # listed through usergroups.users.list, as the mediators' group is
    with running_bot(database_url, standin, **leads) as bot:
        case_id = escalated(bot)
        due = bot.case(case_id).updated_at + timedelta(hours=24)  # refund-bot's preset: 24 hours to claim
        the_card = card(bot, case_id)
        assert "a mediator is to claim this case." in text_of(the_card.blocks)
        before = {user: [m.text for m in bot.standin.dms(user)] for user in (CLIENT, FREELANCER)}

        tick_at(bot, due - timedelta(hours=2))  # the policy's 2-hour reminder; the 48 and 24 hours fall before
        under_card = "\n".join(text_of(m.blocks) for m in bot.standin.replies(the_card.channel, the_card.ts))
        assert f"Case {case_id}: by " in under_card
        assert "a mediator is to claim this case; press *Claim* on the card" in under_card
        assert bot.standin.dms(LEAD) == []

        counted = missed()
        tick_at(bot, due + timedelta(minutes=1))
        [told] = bot.standin.dms(LEAD)
        assert f"Case {case_id} (" in text_of(told.blocks)
        assert "nobody claimed this case by" in text_of(told.blocks)
        assert "nothing was decided for or against either party" in text_of(told.blocks)
        assert "*Overdue*: nobody claimed this case by" in text_of(card(bot, case_id).blocks)
        assert missed() == counted + 1
        row = bot.case(case_id)
        assert (row.state, row.closed_at, list(row.mediators_late)) == ("unassigned", None, ["mediator_claim"])
        assert {user: [m.text for m in bot.standin.dms(user)] for user in (CLIENT, FREELANCER)} == before

        # Said once: more ticks tell nobody again; a claim clears the mark.
        tick_at(bot, due + timedelta(hours=5))
        assert len(bot.standin.dms(LEAD)) == 1
        bot.user(MEDIATOR).open_home()
        bot.drain()
        assert "mediator overdue since" in text_of(bot.standin.homes[MEDIATOR]["blocks"])
        click(bot, MEDIATOR, card(bot, case_id), "Claim")
        assert "Overdue" not in text_of(card(bot, case_id).blocks)
        assert bot.case(case_id).mediators_late is None
        assert dm(bot, CLIENT, case_id)


def test_the_mediator_who_holds_a_case_owes_a_first_action_and_an_outcome(database_url, standin):
    with running_bot(database_url, standin, mediator_lead_ids=LEAD) as bot:
        case_id = escalated(bot)
        click(bot, MEDIATOR, card(bot, case_id), "Claim")
        claimed = bot.case(case_id).claimed_at
        shown = text_of(card(bot, case_id).blocks)
        assert "its mediator is to ask, propose or decide a first time." in shown
        assert "its mediator is to give an outcome." in shown

        # 48 hours to act a first time: the mediator is reminded in a DM, then the leads hear of it.
        tick_at(bot, claimed + timedelta(hours=46))
        [reminder] = [m for m in bot.standin.dms(MEDIATOR) if case_id in text_of(m.blocks)]
        assert "its mediator is to ask, propose or decide a first time" in text_of(reminder.blocks)
        counted = missed("mediator_action")
        tick_at(bot, claimed + timedelta(hours=48, minutes=1))
        [told] = bot.standin.dms(LEAD)
        assert "its mediator had not asked, proposed or decided by" in text_of(told.blocks)
        assert f"It is held by <@{MEDIATOR}>" in text_of(told.blocks)
        assert missed("mediator_action") == counted + 1

        # A question is a first action; the outcome is still owed, within 7 days of the claim.
        click(bot, MEDIATOR, card(bot, case_id), "Ask for information")
        submit(bot, MEDIATOR, {"Ask": "The freelancer", "Question": "Which brief did you follow?"})
        assert bot.case(case_id).acted_at is not None
        shown = text_of(card(bot, case_id).blocks)
        assert "its mediator is to ask" not in shown
        tick_at(bot, claimed + timedelta(days=7, minutes=1))
        assert "its mediator had given no outcome by" in text_of(bot.standin.dms(LEAD)[-1].blocks)
        assert (bot.case(case_id).state, bot.case(case_id).closed_at) == ("claimed", None)  # nothing decided
