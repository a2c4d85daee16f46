"""The appeal (design §2.4, issue 16) end to end through the Slack stand-in, under the default preset (refund-bot's
own: 48 hours to appeal a decision on an hourly dispute or a rejected proposal): what each party and each mediator
sees and can press, the ledger adjusted, the window closing, and two parties pressing at once."""

import copy
import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from storage.tables import AuditRow
from tests.e2e.conftest import CLIENT, FREELANCER, MEDIATOR, MEDIATOR2, PARTLY, Bot, at_once, told
from tests.e2e.test_desk import desk
from tests.e2e.test_escalation import (
    HOURS,
    ask_for_refund,
    card,
    click,
    decline,
    dm,
    escalated,
    ledger,
    submit,
    thread_text,
    tick_at,
)
from tests.slack_standin import button_labels, find_input, text_of

REASON = "The calendar export shows every standup; the mediator did not open it."


def decided(bot: Bot) -> str:
    """An hourly week disputed for 2 h 30 min ($100.00), contested, and decided by MEDIATOR2 at $40.00 citing the
    client's evidence."""
    case_id = ask_for_refund(bot, "Backend work", "Week of 16 Nov 2026", "100.00")
    decline(bot, case_id)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Request again")
    dispute = {"Disputed hours": "2", "and minutes": "30", "Reasons": "No standup that week."}
    submit(bot, CLIENT, dispute | {"Certification": "I certify"})
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Add evidence")
    submit(bot, CLIENT, {"Description": "Calendar: no standup on Tuesday.", "Who sees it": "Both sides"})
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Contest")
    submit(bot, FREELANCER, {"Your statement": "Standups happened daily."})
    click(bot, MEDIATOR2, card(bot, case_id), "Claim")
    click(bot, MEDIATOR2, card(bot, case_id), "Decide")
    decision = {"Refund to the client (USD)": "40.00", "Rationale": "One standup is undocumented."}
    assert submit(bot, MEDIATOR2, decision | HOURS | {"Evidence relied on": ["#1"]}) in ("", "null")
    assert bot.case(case_id).state == "decided"
    return case_id


def test_a_decision_appealed_is_reviewed_by_a_second_mediator_and_the_ledger_adjusted(bot):
    case_id = decided(bot)
    # Both parties see the decision, until when it can be appealed, and the button; nothing is final yet.
    assert ledger(bot, case_id) == [("refund", 4000), ("release", 6000)]
    for user in (CLIENT, FREELANCER):
        shown = dm(bot, user, case_id)
        assert "Open to appeal until <!date^" in text_of(shown.blocks)
        assert "If nobody asks, the outcome is final." in text_of(shown.blocks)
        assert "Final." not in text_of(shown.blocks)
        assert button_labels(shown.blocks) == ["Ask for a review", "Add evidence"]
    before = copy.deepcopy(dm(bot, CLIENT, case_id))  # the client's DM as it stands, to press later

    # The freelancer asks; a form without a reason is answered under its field, nothing sent.
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Ask for a review")
    form = bot.standin.latest_view(FREELANCER)
    assert form["title"]["text"] == "Ask for a review"
    assert "A second mediator, not the one who made this outcome" in text_of(form["blocks"])
    assert "Please give a reason" in submit(bot, FREELANCER, {"Why should it be reviewed?": " "})
    assert bot.case(case_id).state == "decided"
    assert submit(bot, FREELANCER, {"Why should it be reviewed?": REASON}) in ("", "null")
    assert (bot.case(case_id).stage, bot.case(case_id).state) == ("appeal", "appeal_requested")

    # The client's old button is stale now: a private word, nothing changed.
    assert bot.user(CLIENT).click(before, "Ask for a review").status == 200
    bot.drain()
    told(bot, "already appealed to a second mediator by <@U0FREELA01>")

    # The card asks for another mediator; the one who decided cannot take it.
    the_card = text_of(card(bot, case_id).blocks)
    assert "Appeal: case" in the_card
    assert f"*The freelancer's reason for appealing*\n> {REASON}" in the_card
    assert "<@U0MEDIATE2> made the outcome appealed, so another mediator reviews it." in the_card
    assert button_labels(card(bot, case_id).blocks) == ["History", "Claim"]
    home = text_of(desk(bot)["blocks"])
    assert home.index("*Unclaimed* (1)") < home.index(case_id) < home.index("*Yours* (0)")
    assert "Appeal: appealed: a second mediator reviews it" in home
    click(bot, MEDIATOR2, card(bot, case_id), "Claim")
    told(bot, "<@U0MEDIATE2> made the outcome appealed on case")
    assert bot.case(case_id).mediator_id is None

    # A second mediator reviews: the form starts from the decision's amount; the review is final.
    click(bot, MEDIATOR, card(bot, case_id), "Claim")
    assert button_labels(card(bot, case_id).blocks) == [
        "History",
        "Review",
        "Ask for information",
        "Reassign",
        "Release",
    ]
    click(bot, MEDIATOR, card(bot, case_id), "Review")
    form = bot.standin.latest_view(MEDIATOR)
    assert "Review the decision (*$40.00* refunded of the $100.00)" in text_of(form["blocks"])
    assert find_input(form, "Refund to the client (USD)")[1]["initial_value"] == "40.00"
    review = {"Refund to the client (USD)": "25.00", "Rationale": "The export shows four of five standups."}
    assert submit(bot, MEDIATOR, review | HOURS | {"Evidence relied on": ["#1"]}) in ("", "null")
    row = bot.case(case_id)
    assert (row.state, row.refunded_minor, row.closed_at is not None) == ("reviewed", 2500, True)
    assert ledger(bot, case_id) == [("refund", 4000), ("release", 6000), ("refund_reversal", 1500), ("release", 1500)]
    for user in (CLIENT, FREELANCER):
        shown = text_of(dm(bot, user, case_id).blocks)
        assert "*Reviewed on appeal* by <@U0MEDIATE1> <!date^" in shown
        assert "$25.00 refunded of the $100.00, changed from $40.00. Final." in shown
        assert "*The reviewing mediator's rationale*\n> The export shows four of five standups." in shown
        assert "• #1 from the client: Calendar: no standup on Tuesday." in shown
        assert "Ask for a review" not in button_labels(dm(bot, user, case_id).blocks)
    assert "*Reviewed on appeal*" in thread_text(bot)
    with bot.instance.runtime.sessions() as session:
        rows = session.execute(
            select(AuditRow.to_state, AuditRow.actor, AuditRow.rationale, AuditRow.rule, AuditRow.cited)
            .where(AuditRow.case_id == case_id)
            .order_by(AuditRow.seq)
        ).all()
    assert [tuple(r) for r in rows[-3:]] == [
        ("appeal_requested", FREELANCER, REASON, None, None),
        ("appeal_requested", MEDIATOR, "claimed the case", None, None),
        ("reviewed", MEDIATOR, "The export shows four of five standups.", "hours_not_shown", [1]),
    ]


def test_nobody_appeals_so_both_are_reminded_and_the_decision_becomes_final(bot):
    case_id = decided(bot)
    decided_at = bot.case(case_id).updated_at
    tick_at(bot, decided_at + timedelta(hours=24))
    for user in (CLIENT, FREELANCER):
        [reminder] = [
            m for m in bot.standin.dms(user) if "you may ask for a second mediator's review" in text_of(m.blocks)
        ]
        assert "Ask for a review" in button_labels(reminder.blocks)
    tick_at(bot, decided_at + timedelta(hours=48))
    row = bot.case(case_id)
    assert (row.state, row.closed_at is not None, row.refunded_minor) == ("decided", True, 4000)
    assert ledger(bot, case_id) == [("refund", 4000), ("release", 6000)]  # nothing rewritten, nothing added
    assert "nobody asked for a review of the outcome in time, so the outcome is final" in thread_text(bot)
    shown = dm(bot, CLIENT, case_id)
    assert "$40.00 refunded of the $100.00 disputed. Final." in text_of(shown.blocks)
    assert "Ask for a review" not in button_labels(shown.blocks)
    assert bot.user(CLIENT).click(reminder, "Ask for a review").status == 200  # a reminder's button, pressed late
    bot.drain()
    told(bot, "Nothing changed: a review could be asked for until <!date^")  # the window, not "already decided by"
    assert "so the outcome stands" in bot.standin.responses[-1]["text"]


def test_a_rejected_proposal_goes_to_a_second_mediator_instead_of_paid_arbitration(bot):
    case_id = escalated(bot)
    click(bot, MEDIATOR, card(bot, case_id), "Claim")
    click(bot, MEDIATOR, card(bot, case_id), "Propose")
    submit(bot, MEDIATOR, {"Refund to the client (USD)": "40.00", "Rationale": "Two of five concepts fit."} | PARTLY)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Reject proposal")
    offer = dm(bot, CLIENT, case_id)
    assert "Agree and pay the fee" in button_labels(offer.blocks)
    assert "Ask for a review" in button_labels(offer.blocks)
    assert "at no cost and the arbitration offer ends" in text_of(offer.blocks)
    click(bot, CLIENT, offer, "Ask for a review")
    submit(bot, CLIENT, {"Why should it be reviewed?": "None of the concepts follow the brief."})
    assert "Agree and pay the fee" not in button_labels(dm(bot, FREELANCER, case_id).blocks)
    click(bot, MEDIATOR2, card(bot, case_id), "Claim")
    click(bot, MEDIATOR2, card(bot, case_id), "Review")
    assert "Review the rejected proposal (*$40.00* of the $100.00)" in text_of(
        bot.standin.latest_view(MEDIATOR2)["blocks"]
    )
    submit(bot, MEDIATOR2, {"Rationale": "The proposal weighed the brief fairly."} | PARTLY)  # the amount as proposed
    row = bot.case(case_id)
    assert (row.state, row.refunded_minor) == ("reviewed", 4000)
    assert ledger(bot, case_id) == [("refund", 4000), ("release", 6000)]
    assert "$40.00 refunded of the $100.00, confirmed. Final." in text_of(dm(bot, FREELANCER, case_id).blocks)


def test_both_parties_appealing_at_once_make_one_appeal_and_the_other_is_told(bot):
    case_id = decided(bot)
    forms = {}
    for user in (CLIENT, FREELANCER):
        click(bot, user, dm(bot, user, case_id), "Ask for a review")
        forms[user] = bot.standin.latest_view(user)
    answers = {}

    def appeal(user: str) -> None:
        answers[user] = bot.user(user).submit(forms[user], {"Why should it be reviewed?": f"{user} disagrees."})

    at_once(appeal, (CLIENT, FREELANCER))
    bot.drain()
    assert bot.count(AuditRow, case_id=case_id, to_state="appeal_requested") == 1
    winner = bot.case(case_id).updated_by
    loser = CLIENT if winner == FREELANCER else FREELANCER
    assert answers[winner].body in ("", "null")
    refused = json.loads(answers[loser].body)  # the form is replaced by what happened: nothing was lost silently
    assert refused["response_action"] == "update"
    assert f"already appealed to a second mediator by <@{winner}>" in text_of(refused["view"]["blocks"])


@pytest.mark.postgres
def test_an_appeal_sent_while_the_database_is_away_keeps_its_form_and_goes_through_once_it_is_back(proxied):
    bot, proxy = proxied
    case_id = decided(bot)
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Ask for a review")
    form = bot.standin.latest_view(FREELANCER)
    proxy.down("refuse")
    started = time.monotonic()
    answer = bot.user(FREELANCER).submit(form, {"Why should it be reviewed?": REASON})
    assert time.monotonic() - started < 3.0  # Slack's limit for an acknowledgement
    assert answer.json["response_action"] == "errors"  # the form stays with what was typed, to send again
    assert "can't reach its database right now" in answer.json["errors"]["reason"]
    assert bot.instance.workers.tick() == 0  # the appeal window waits for the database too
    proxy.up()
    assert bot.case(case_id).state == "decided"  # nothing was half-written
    assert submit(bot, FREELANCER, {"Why should it be reviewed?": REASON}) in ("", "null")
    assert bot.case(case_id).state == "appeal_requested"


def test_when_slack_is_down_as_the_window_closes_the_outcome_is_final_at_once_and_told_once_slack_is_back(bot):
    case_id = decided(bot)
    decided_at = bot.case(case_id).updated_at
    bot.standin.down = True
    bot.clock.now = decided_at + timedelta(hours=48)
    bot.instance.workers.tick()
    bot.instance.workers.relay.run_once()  # Slack answers 503: the messages wait in the outbox
    assert (bot.case(case_id).state, bot.case(case_id).closed_at is not None) == ("decided", True)
    assert "nobody asked for a review" not in thread_text(bot)
    bot.standin.down = False
    bot.clock.now += timedelta(minutes=10)  # past the relay's back-off
    bot.drain()
    assert "nobody asked for a review of the outcome in time, so the outcome is final" in thread_text(bot)
    assert thread_text(bot).count("nobody asked for a review") == 1
    assert "Ask for a review" not in button_labels(dm(bot, CLIENT, case_id).blocks)
