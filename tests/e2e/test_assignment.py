"""Cases handed out fairly (issue 38), over HTTP: a workspace that opts in has each case that comes to wait for a
mediator handed to an available one (round-robin or least-loaded), never to a party or to the mediator whose
outcome is appealed; `refundbot mediators` marks one away and lists each one's load; a lead hands a case to
another mediator from the desk."""

import os
import sqlite3
import subprocess
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from bot.sandbox.standin.state import NotShown
from tests.e2e.conftest import CLIENT, FREELANCER, MEDIATOR, MEDIATOR2, Bot, running_bot
from tests.e2e.test_appeal import REASON
from tests.e2e.test_desk import desk
from tests.e2e.test_escalation import (
    HOURS,
    ask_for_refund,
    card,
    click,
    decline,
    dm,
    escalated,
    submit,
)
from tests.e2e.test_workspaces import REFUNDBOT
from tests.slack_standin import button_labels, text_of

LEAD = "U0LEAD0001"
MEDIATOR3 = "U0FREELA02"  # a mediator through the user group, and the freelancer of "Website copy"
TEAM = "T0DEMO01"
BACK = "2099-01-01"  # a date after the real clock the command reads, so the mediator is away in the story's week


def refundbot(database_url: str, *args: str) -> str:
    """The operator's command, with the settings the running app has (its mediators, no Slack token)."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_", "MEDIATOR_"))}
    env = kept | {"DATABASE_URL": database_url, "MEDIATOR_USER_IDS": MEDIATOR, "MEDIATOR_LEAD_IDS": LEAD}
    done = subprocess.run([str(REFUNDBOT), *args], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def handed_out(rule: str) -> float:
    return REGISTRY.get_sample_value("refundbot_cases_handed_out_total", {"rule": rule}) or 0.0


def handed_to(bot: Bot, case_id: str) -> str | None:
    return bot.case(case_id).mediator_id


def told_of(bot: Bot, user: str, case_id: str) -> list[str]:
    return [text_of(m.blocks) for m in bot.standin.dms(user) if f"Case {case_id} (" in text_of(m.blocks)]


def website_copy_escalated(bot: Bot) -> str:
    """A fixed-price case whose freelancer, MEDIATOR3, is also a mediator."""
    case_id = ask_for_refund(bot, "Website copy", "Milestone “Second draft”", "50.00", label="Amount (EUR)")
    click(bot, MEDIATOR3, dm(bot, MEDIATOR3, case_id), "Decline")
    submit(bot, MEDIATOR3, {"Why are you declining?": "Done as asked."})
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Request again")
    submit(bot, CLIENT, {})
    click(bot, MEDIATOR3, dm(bot, MEDIATOR3, case_id), "Dispute")
    submit(bot, MEDIATOR3, {"Your statement": "Done."})
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Reject: ask a mediator")
    return case_id


def contested(bot: Bot) -> str:
    """An hourly week disputed and contested: it waits for a mediator's review."""
    case_id = ask_for_refund(bot, "Backend work", "Week of 16 Nov 2026", "100.00")
    decline(bot, case_id)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Request again")
    dispute = {"Disputed hours": "2", "and minutes": "30", "Reasons": "No standup that week."}
    submit(bot, CLIENT, dispute | {"Certification": "I certify"})
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Contest")
    submit(bot, FREELANCER, {"Your statement": "Standups happened daily."})
    return case_id


def test_round_robin_hands_cases_to_the_available_mediators_never_to_a_party_or_the_appealed_one(database_url, standin):
    with running_bot(database_url, standin, mediator_assignment="round-robin", mediator_lead_ids=LEAD) as bot:
        # Three mediators (MEDIATOR by the settings, MEDIATOR2 and MEDIATOR3 by the user group); one is away.
        said = refundbot(database_url, "mediators", "--team", TEAM, "away", MEDIATOR, "--until", BACK)
        assert f"{MEDIATOR} is away until {BACK} 00:00 UTC" in said

        # Nobody was handed a case yet: the turn goes by user id, MEDIATOR3 first, then MEDIATOR2.
        counted = handed_out("round-robin")
        hourly = contested(bot)
        assert (handed_to(bot, hourly), bot.case(hourly).state) == (MEDIATOR3, "in_review")
        [told] = told_of(bot, MEDIATOR3, hourly)
        assert "was handed to you by refund-bot's assignment" in told
        assert "a first question, proposal or decision by" in told
        assert f"<@{MEDIATOR3}> is reviewing the dispute" in text_of(dm(bot, CLIENT, hourly).blocks)
        assert "a mediator is to claim this case" not in text_of(card(bot, hourly).blocks)  # it never waited
        assert "Claim" not in button_labels(card(bot, hourly).blocks)

        fixed = escalated(bot)
        assert (handed_to(bot, fixed), bot.case(fixed).state) == (MEDIATOR2, "claimed")
        assert f"<@{MEDIATOR2}> is mediating" in text_of(card(bot, fixed).blocks)

        # MEDIATOR3 decides the hourly week; the freelancer appeals. It is MEDIATOR3's turn, but theirs is the outcome
        # appealed: the next in turn reviews it (MEDIATOR is away).
        click(bot, MEDIATOR3, card(bot, hourly), "Decide")
        decision = {"Refund to the client (USD)": "40.00", "Rationale": "One standup is undocumented."}
        assert submit(bot, MEDIATOR3, decision | HOURS) in ("", "null")
        click(bot, FREELANCER, dm(bot, FREELANCER, hourly), "Ask for a review")
        assert submit(bot, FREELANCER, {"Why should it be reviewed?": REASON}) in ("", "null")
        assert (handed_to(bot, hourly), bot.case(hourly).state) == (MEDIATOR2, "appeal_requested")
        assert f"<@{MEDIATOR2}> is reviewing it" in text_of(dm(bot, FREELANCER, hourly).blocks)

        # MEDIATOR3's turn still, but they are this case's freelancer: the next in turn again.
        party = website_copy_escalated(bot)
        assert handed_to(bot, party) == MEDIATOR2
        assert told_of(bot, MEDIATOR3, party) == []

        # Nothing ever went to the mediator away; the operator sees each one's load, and the metric the hand-outs.
        assert handed_out("round-robin") == counted + 4
        assert MEDIATOR not in {handed_to(bot, case) for case in (hourly, fixed, party)}
        assert bot.standin.dms(MEDIATOR) == []
        listed = refundbot(database_url, "mediators", "--team", TEAM)
        rows = {line.split()[0]: line for line in listed.splitlines()[2:]}
        assert rows[MEDIATOR].split()[1] == "0"
        assert f"away until {BACK}" in rows[MEDIATOR]
        held = (rows[MEDIATOR2].split()[1], rows[MEDIATOR3].split()[1])
        assert held == ("3", "0")  # the fixed-price case, the appeal, Website copy; a decided case is nobody's load


def test_a_case_nobody_can_take_waits_then_goes_to_a_mediator_back_and_a_lead_hands_it_on(database_url, standin):
    with running_bot(database_url, standin, mediator_assignment="least-loaded", mediator_lead_ids=LEAD) as bot:
        for mediator in (MEDIATOR, MEDIATOR2, MEDIATOR3):
            refundbot(database_url, "mediators", "--team", TEAM, "away", mediator, "--until", BACK)
        case_id = escalated(bot)
        assert (handed_to(bot, case_id), bot.case(case_id).state) == (None, "unassigned")
        assert "a mediator is to claim this case" in text_of(card(bot, case_id).blocks)
        assert bot.instance.workers.hand_out() == 0  # still nobody available

        # MEDIATOR is back: the sweep hands the waiting case over, and its claim deadline goes.
        refundbot(database_url, "mediators", "--team", TEAM, "back", MEDIATOR)
        bot.clock.advance(minutes=1)
        assert bot.instance.workers.hand_out() == 1
        bot.drain()
        assert (handed_to(bot, case_id), bot.case(case_id).state) == (MEDIATOR, "claimed")
        assert "was handed to you by refund-bot's assignment" in told_of(bot, MEDIATOR, case_id)[0]
        assert "a mediator is to claim this case" not in text_of(card(bot, case_id).blocks)

        # A mediator who is not a lead has no hand-out button on the desk; the lead (not a mediator) does.
        assert "Reassign…" not in button_labels(desk(bot, MEDIATOR)["blocks"])
        home = desk(bot, LEAD)
        assert "Mediation desk" in text_of(home["blocks"])
        assert "Reassign…" in button_labels(home["blocks"])
        assert bot.user(LEAD).press(home, "Reassign…").status == 200
        bot.drain()
        form, version = bot.standin.latest_view(LEAD), bot.case(case_id).version
        assert f"is held by <@{MEDIATOR}>" in text_of(form["blocks"])

        # Only to another mediator: the form says so under its field, and nothing changes.
        answer = bot.user(LEAD).submit(form, {"Hand the case to": CLIENT})
        assert "That person is not one of the marketplace's mediators" in answer.body
        answer = bot.user(LEAD).submit(form, {"Hand the case to": MEDIATOR})
        assert f"That mediator already holds case {case_id}" in answer.body  # form errors are plain text
        assert (handed_to(bot, case_id), bot.case(case_id).version) == (MEDIATOR, version)
        answer = bot.user(LEAD).submit(form, {"Hand the case to": MEDIATOR2})
        assert answer.body in ("", "null")
        bot.drain()
        assert handed_to(bot, case_id) == MEDIATOR2
        assert f"was handed to you by <@{LEAD}>" in told_of(bot, MEDIATOR2, case_id)[0]
        assert f"was handed to <@{MEDIATOR2}> by <@{LEAD}>; it is no longer yours" in told_of(bot, MEDIATOR, case_id)[1]
        assert f"held by <@{MEDIATOR2}>" in text_of(bot.standin.homes[LEAD]["blocks"])  # the desk, shown again

        # A click forged from a mediator's Home who is not a lead changes nothing; their desk says why.
        assert bot.user(MEDIATOR2).press(home, "Reassign…").status == 200
        bot.drain()
        assert "Only the lead mediators can hand cases out" in text_of(bot.standin.homes[MEDIATOR2]["blocks"])
        with pytest.raises(NotShown):  # no form was opened for them
            bot.standin.latest_view(MEDIATOR2)
        assert (handed_to(bot, case_id), bot.case(case_id).claimed_at) == (MEDIATOR2, bot.clock.now)


def test_a_sweep_while_the_database_is_locked_hands_out_nothing_says_so_once_and_hands_it_out_after(
    standin, tmp_path, caplog
):
    path = tmp_path / "refundbot.db"
    with running_bot(f"sqlite:///{path}", standin, mediator_assignment="round-robin") as bot:
        now = bot.clock.now
        with bot.instance.runtime.uow() as work:
            for mediator in (MEDIATOR, MEDIATOR2, MEDIATOR3):
                work.mediators.set_away(TEAM, mediator, now + timedelta(days=1), now)
            work.commit()
        case_id = escalated(bot)
        assert handed_to(bot, case_id) is None
        with bot.instance.runtime.uow() as work:
            work.mediators.set_away(TEAM, MEDIATOR, None, now)  # back
            work.commit()
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # another writer (a backup, a long import) holds the file
        try:
            assert bot.instance.workers.hand_out() == 0
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert caplog.text.count("assignment: the database is unavailable") == 1
        assert handed_to(bot, case_id) is None  # nothing half-written
        assert bot.instance.workers.hand_out() == 1
        assert handed_to(bot, case_id) == MEDIATOR
