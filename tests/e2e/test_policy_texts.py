"""Every text that states a duration, a date or a limit says what the case's own policy says (design §2.2):
with every number of a POLICY_FILE changed, and for a case opened under an older policy version than the one running."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.policies import preset_path
from storage.tables import OutboxRow
from tests.e2e.conftest import CLIENT, FREELANCER, MEDIATOR, NOW, PARTLY, Bot, Clock, running_bot
from tests.e2e.test_escalation import ask_for_refund, card, click, decline, dm, submit, tick_at
from tests.e2e.test_slack_rules import everything_slack_was_sent
from tests.slack_standin import button_labels, find_input, text_of

# Every number of a policy file, none of them at v1's.
V9 = {
    "version": "v9",
    "request_age_limit": "P90D",
    "reason_max_length": 700,
    "response_window": "P4D",
    "reminder_offsets": ["PT30H", "PT5H"],
    "review_window": {"opens_after": "P7DT6H", "closes_after": "P11DT18H"},  # Monday 06:00 to Friday 17:59:59
    "dispute_response_window": "P6D",
    "escrow_response_window": "P10D",
    "escrow_client_response_window": "P8D",
    "proposal_response_window": "P11D",
    "arbitration_offer_window": "P12D",
    "arbitration_fees": {"USD": {"minimum": "123.45"}},
    "non_binding_mediation_limit": "P20D",
    "extension": "PT36H",
}


def policy_file(folder: Path, **numbers: object) -> str:
    """An operator's own policy: the v1 preset with these numbers changed."""
    rules = yaml.safe_load(preset_path("upwork-like").read_text()) | numbers
    path = folder / f"{rules['version']}.yaml"
    path.write_text(yaml.safe_dump(rules))
    return str(path)


V1_WORDS = ("3 days", "7 days", "5 days", "2 days", "30 days", "180 days", "48 h", "Friday 23:59", "$291.00")


@pytest.fixture
def v9(database_url, standin, monkeypatch, tmp_path):
    """The app started as an operator would start it, with POLICY_FILE naming a file that changes every number."""
    monkeypatch.setenv("POLICY_FILE", policy_file(tmp_path, **V9))
    with running_bot(database_url, standin) as running:
        yield running


def token(at: datetime) -> str:
    return f"<!date^{int(at.timestamp())}^"


def no_v1_words(bot: Bot) -> None:
    for text in everything_slack_was_sent(bot):
        for words in V1_WORDS:
            assert words not in text, f"{words!r} (a v1 number) in {text[:300]!r}"


def test_every_text_of_a_fixed_price_story_states_its_policys_numbers(v9):
    bot = v9
    case_id = ask_for_refund(bot, "Logo redesign", "Milestone “Concepts”", "100.00")
    request_dm = dm(bot, FREELANCER, case_id)
    assert f"*Please answer by {token(NOW + timedelta(days=4))}" in text_of(request_dm.blocks)
    assert "I'm away: 1 day 12 h more" in button_labels(request_dm.blocks)
    tick_at(bot, NOW + timedelta(days=4) - timedelta(hours=30))  # the first of the policy's two reminders
    assert any("*Reminder:*" in text_of(m.blocks) for m in bot.standin.dms(FREELANCER))
    decline(bot, case_id)

    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Request again")
    escrow = text_of(bot.standin.latest_view(CLIENT)["blocks"])
    assert "has 10 days to accept" in escrow
    assert "you have 8 days to choose" in escrow
    submit(bot, CLIENT, {})
    asked_at = bot.clock.now
    assert f"by {token(asked_at + timedelta(days=10))}" in text_of(dm(bot, FREELANCER, case_id).blocks)
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Dispute")
    statement = find_input(bot.standin.latest_view(FREELANCER), "Your statement")[1]
    assert statement["max_length"] == 700
    submit(bot, FREELANCER, {"Your statement": "As briefed."})
    assert f"by {token(asked_at + timedelta(days=8))}" in text_of(dm(bot, CLIENT, case_id).blocks)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Reject: ask a mediator")
    click(bot, MEDIATOR, card(bot, case_id), "Claim")
    click(bot, MEDIATOR, card(bot, case_id), "Propose")
    assert "Each party has 11 days to accept" in text_of(bot.standin.latest_view(MEDIATOR)["blocks"])
    submit(bot, MEDIATOR, {"Refund to the client (USD)": "40.00", "Rationale": "Partly."} | PARTLY)
    assert f"by {token(asked_at + timedelta(days=11))}" in text_of(dm(bot, CLIENT, case_id).blocks)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Reject proposal")
    offer = text_of(dm(bot, CLIENT, case_id).blocks)
    assert "The arbitration fee is *$123.45* per party; *$100.00* is at stake." in offer
    assert f"pay by {token(asked_at + timedelta(days=12))}" in offer
    no_v1_words(bot)


def test_every_text_of_an_hourly_story_states_its_calendars_window(v9):
    bot = v9
    closes = datetime(2026, 11, 27, 18, tzinfo=UTC)  # Friday 18:00 UTC under this policy
    last_second = token(closes - timedelta(seconds=1))
    case_id = ask_for_refund(bot, "Backend work", "Week of 16 Nov 2026", "100.00")
    decline(bot, case_id)
    assert f"review window is open until {last_second}" in text_of(dm(bot, CLIENT, case_id).blocks)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Request again")
    form = bot.standin.latest_view(CLIENT)
    assert f"It is open until {last_second}" in text_of(form["blocks"])
    assert "then has 6 days to accept or contest" in text_of(form["blocks"])
    assert find_input(form, "Reasons")[1]["max_length"] == 700
    tick_at(bot, closes - timedelta(hours=30))
    [reminder] = [m for m in bot.standin.dms(CLIENT) if "dispute window" in m.text]
    assert f"closes {last_second}" in text_of(reminder.blocks)

    recent = ask_for_refund(bot, "Backend work", "Week of 09 Nov 2026", "50.00")
    decline(bot, recent)
    paid = datetime(2026, 11, 16, 12, tzinfo=UTC)
    mediation_until = token(paid + timedelta(days=20) - timedelta(seconds=1))
    assert "*non-binding mediation*: the review window has closed, but payment was recent enough until " in text_of(
        dm(bot, CLIENT, recent).blocks
    )
    assert mediation_until in text_of(dm(bot, CLIENT, recent).blocks)
    no_v1_words(bot)


def test_the_refund_form_states_the_policys_age_limit_and_reason_length(v9):
    bot = v9
    bot.user(CLIENT).command("")
    bot.user(CLIENT).choose(bot.standin.latest_view(CLIENT), "Contract", "Website copy")
    view = bot.standin.latest_view(CLIENT)
    assert "more than 90 days ago" in text_of(view["blocks"])  # both drafts were paid before the 90 days
    bot.user(CLIENT).choose(bot.standin.latest_view(CLIENT), "Contract", "Logo redesign")
    bot.user(CLIENT).choose(bot.standin.latest_view(CLIENT), "Item", "Milestone “Concepts”")
    assert find_input(bot.standin.latest_view(CLIENT), "Reason")[1]["max_length"] == 700
    long = bot.user(CLIENT).submit(bot.standin.latest_view(CLIENT), {"Amount (USD)": "10", "Reason": "r" * 701})
    assert long.json["errors"] == {"reason": "The reason can be at most 700 characters; this one has 701."}


def test_a_case_keeps_the_policy_it_started_under_when_a_newer_one_runs(database_url, standin, tmp_path):
    """Reminders, questions and expiries of a v1 case read v1's numbers even when the instance runs v2."""
    clock = Clock()
    with running_bot(database_url, standin, clock) as old:
        case_id = ask_for_refund(old, "Logo redesign", "Milestone “Concepts”", "100.00")
    v2 = policy_file(tmp_path, version="v2", extension="PT12H", response_window="P5D")
    with running_bot(database_url, standin, clock, policy_file=v2) as new:
        new.__dict__["_seen_cases"] = {case_id}
        hourly = ask_for_refund(new, "Backend work", "Week of 16 Nov 2026", "10.00")
        assert "I'm away: 12 h more" in button_labels(dm(new, FREELANCER, hourly).blocks)
        tick_at(new, NOW + timedelta(days=3) - timedelta(hours=24))  # v1's 24-hour mark for the v1 case
        [reminder] = [m for m in standin.dms(FREELANCER) if "*Reminder:*" in text_of(m.blocks) and case_id in m.text]
        assert "I'm away: 2 days more" in button_labels(reminder.blocks)  # v1's extension, not v2's 12 h
        assert f"until {token(NOW + timedelta(days=3))}" in text_of(reminder.blocks)
        tick_at(new, NOW + timedelta(days=3))  # v1's three days, not v2's five
        assert new.case(case_id).state == "lapsed"
        assert new.case(hourly).state == "awaiting_freelancer"

        click(new, CLIENT, dm(new, CLIENT, case_id), "Request again")
        submit(new, CLIENT, {})
        click(new, FREELANCER, dm(new, FREELANCER, case_id), "Dispute")
        submit(new, FREELANCER, {"Your statement": "As briefed."})
        click(new, CLIENT, dm(new, CLIENT, case_id), "Reject: ask a mediator")
        click(new, MEDIATOR, card(new, case_id), "Claim")
        click(new, MEDIATOR, card(new, case_id), "Ask for information")
        submit(new, MEDIATOR, {"Ask": "The client", "Question": "Which brief?"})
        with new.instance.runtime.sessions() as session:
            rows = session.scalars(select(OutboxRow).where(OutboxRow.surface == "question")).all()
        assert [row.view["terms"]["extension"] for row in rows] == [48 * 3600.0] * len(rows)


def test_under_the_fiverr_like_preset_a_partial_refund_is_at_most_60_percent_of_the_price(database_url, standin):
    with running_bot(database_url, standin, policy_preset="fiverr-like") as bot:
        case_id = ask_for_refund(bot, "Logo redesign", "Milestone “Concepts”", "200.00")  # the milestone cost $250
        request = text_of(dm(bot, FREELANCER, case_id).blocks)
        assert f"*Please answer by {token(NOW + timedelta(hours=48))}" in request
        click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Adjust")
        form = bot.standin.latest_view(FREELANCER)
        amount = find_input(form, "Refund amount (USD)")[1]
        assert (amount["min_value"], amount["max_value"]) == ("0.01", "150.00")
        assert "at most $150.00, 60% of the $250.00 paid" in json.dumps(form["blocks"])
        # A forged submission past the form's own limit is refused on the field, and nothing is refunded.
        over = bot.user(FREELANCER).submit(form, {"Refund amount (USD)": "150.01"})
        assert over.json["errors"] == {
            "amount": "A partial refund can be at most $150.00 on an item that cost $250.00, under this "
            "marketplace's rules; to refund more, approve the request in full."
        }
        assert bot.case(case_id).state == "awaiting_freelancer"
        assert submit(bot, FREELANCER, {"Refund amount (USD)": "150.00"}) in ("", "null")
        assert bot.case(case_id).state == "adjusted"


def test_under_the_freelancer_like_preset_the_arbitration_fee_follows_the_amount(database_url, standin):
    with running_bot(database_url, standin, policy_preset="freelancer-like") as bot:
        case_id = ask_for_refund(bot, "Logo redesign", "Milestone “Concepts”", "200.00")
        assert f"*Please answer by {token(NOW + timedelta(days=4))}" in text_of(dm(bot, FREELANCER, case_id).blocks)
        decline(bot, case_id)
        click(bot, CLIENT, dm(bot, CLIENT, case_id), "Request again")
        assert "you have 14 days to choose" in text_of(bot.standin.latest_view(CLIENT)["blocks"])
        submit(bot, CLIENT, {})
        click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Dispute")
        submit(bot, FREELANCER, {"Your statement": "As briefed."})
        click(bot, CLIENT, dm(bot, CLIENT, case_id), "Reject: ask a mediator")
        click(bot, MEDIATOR, card(bot, case_id), "Claim")
        click(bot, MEDIATOR, card(bot, case_id), "Propose")
        submit(bot, MEDIATOR, {"Refund to the client (USD)": "40.00", "Rationale": "Partly."} | PARTLY)
        click(bot, CLIENT, dm(bot, CLIENT, case_id), "Reject proposal")
        offer = text_of(dm(bot, CLIENT, case_id).blocks)
        assert "The arbitration fee is *$10.00* per party; *$200.00* is at stake." in offer  # 5% of $200
