"""The refund request in Slack, end to end: /refund → the freelancer's Approve / Adjust / Decline → both told."""

import copy
import logging
import re
import threading

import pytest

from storage.tables import AuditRow, LedgerRow
from tests.e2e.conftest import CLIENT, FREELANCER, STRANGER, Bot, told
from tests.slack_standin import Message, button_labels, find_input, text_of

CONTRACT = "Logo redesign"
ITEM = "Milestone “Concepts”"


def open_form(bot: Bot, contract: str = CONTRACT, item: str = ITEM) -> dict:
    client = bot.user(CLIENT)
    assert client.command("").status == 200
    assert client.choose(bot.standin.latest_view(CLIENT), "Contract", contract).status == 200
    if item:
        assert client.choose(bot.standin.latest_view(CLIENT), "Item", item).status == 200
    return bot.standin.latest_view(CLIENT)


def request(bot: Bot, amount: str = "100.00", reason: str = "The concepts ignored the brief.") -> str:
    answer = bot.user(CLIENT).submit(open_form(bot), {"Amount (USD)": amount, "Reason": reason})
    assert answer.status == 200
    assert answer.body in ("", "null"), answer.body  # the modal closes
    bot.drain()
    return bot.only_case_id()


def freelancer_dm(bot: Bot) -> Message:
    [message] = bot.standin.dms(FREELANCER)
    return message


def client_dm(bot: Bot) -> Message:
    [message] = bot.standin.dms(CLIENT)
    return message


def thread_texts(bot: Bot) -> list[str]:
    channel = bot.standin.dm_channel(CLIENT, FREELANCER)
    [root] = bot.standin.channel_messages(channel)
    return [text_of(root.blocks)] + [text_of(m.blocks) for m in bot.standin.replies(channel, root.ts)]


def test_the_form_follows_the_contract_and_caps_the_amount_at_the_refundable_balance(bot):
    view = open_form(bot)
    _, amount = find_input(view, "Amount (USD)")
    assert (amount["type"], amount["min_value"], amount["max_value"]) == ("number_input", "0.01", "250.00")
    assert amount["is_decimal_allowed"] is True
    assert "Up to $250.00" in text_of(view["blocks"])
    _, item = find_input(view, "Item")
    assert [o["text"]["text"] for o in item["options"]] == ["Milestone “Concepts” · $250.00 refundable"]
    assert "Milestone “Final files”: not paid yet" in text_of(view["blocks"])


def test_a_zero_decimal_currency_takes_whole_amounts(bot):
    client = bot.user("U0CLIENT02")
    client.command("")
    client.choose(bot.standin.latest_view("U0CLIENT02"), "Contract", "Mobile app QA")
    client.choose(bot.standin.latest_view("U0CLIENT02"), "Item", "Week of 16 Nov 2026")
    _, amount = find_input(bot.standin.latest_view("U0CLIENT02"), "Amount (JPY)")
    assert (amount["is_decimal_allowed"], amount["min_value"], amount["max_value"]) == (False, "1", "60000")


def test_someone_with_no_contracts_is_told_so_kindly(bot):
    bot.user(STRANGER).command("")
    assert "You have no contracts as a client" in text_of(bot.standin.latest_view(STRANGER)["blocks"])


def test_request_then_approve(bot):
    case_id = request(bot)
    dm = freelancer_dm(bot)
    shown = text_of(dm.blocks)
    assert f"Refund request {case_id}" in shown
    assert "<@U0CLIENT01> asks for a refund on *Milestone “Concepts”*" in shown
    assert "*Paid*\n$250.00" in shown
    assert "*Already refunded*\n$0.00" in shown
    assert "*Requested*\n$100.00" in shown
    assert "> The concepts ignored the brief." in shown
    assert "<!date^1795860000^{date_short_pretty} at {time}|Sat 28 Nov 2026 10:00 UTC>" in shown
    assert button_labels(dm.blocks) == ["Approve", "Adjust", "Decline", "I'm away: 2 days more"]
    assert button_labels(client_dm(bot).blocks) == ["Withdraw"]

    assert bot.user(FREELANCER).click(dm, "Approve").status == 200
    bot.drain()
    dm = freelancer_dm(bot)
    assert button_labels(dm.blocks) == []
    assert "*Approved* by <@U0FREELA01>" in text_of(dm.blocks)
    assert "$100.00 refunded in full" in text_of(dm.blocks)
    assert "*Approved* by <@U0FREELA01>" in text_of(client_dm(bot).blocks)
    assert button_labels(client_dm(bot).blocks) == []
    assert "Open the case thread" in text_of(dm.blocks)
    assert "Open the case thread" in text_of(client_dm(bot).blocks)
    assert bot.count(LedgerRow, case_id=case_id, amount_minor=10000) == 1
    thread = thread_texts(bot)
    assert len(thread) == 3
    assert "requested $100.00" in thread[1]
    assert "*Approved*" in thread[2]


def test_request_then_adjust_shows_the_client_the_partial_amount_and_next_step(bot):
    case_id = request(bot)
    bot.user(FREELANCER).click(freelancer_dm(bot), "Adjust")
    form = bot.standin.latest_view(FREELANCER)
    _, amount = find_input(form, "Refund amount (USD)")
    assert amount["max_value"] == "99.99"
    answer = bot.user(FREELANCER).submit(form, {"Refund amount (USD)": "40.00", "Note to the client": "Two of five."})
    assert answer.status == 200
    bot.drain()
    shown = text_of(client_dm(bot).blocks)
    assert "*Adjusted* by <@U0FREELA01>" in shown
    assert "$40.00 refunded of the $100.00 asked" in shown
    assert "> Two of five." in shown
    assert "*Request again* will take this to the *escrow refund process*" in shown
    assert button_labels(client_dm(bot).blocks) == ["Request again", "Close the case", "Add evidence"]
    assert bot.count(LedgerRow, case_id=case_id, amount_minor=4000) == 1


def test_request_then_decline_with_a_reason(bot):
    case_id = request(bot)
    bot.user(FREELANCER).click(freelancer_dm(bot), "Decline")
    form = bot.standin.latest_view(FREELANCER)
    empty = bot.user(FREELANCER).submit(form, {"Why are you declining?": "   "})
    assert empty.json["errors"] == {"reason": "Please give a reason for declining."}
    bot.user(FREELANCER).submit(form, {"Why are you declining?": "Delivered exactly as briefed."})
    bot.drain()
    shown = text_of(client_dm(bot).blocks)
    assert "*Declined* by <@U0FREELA01>" in shown
    assert "*Reason*\n> Delivered exactly as briefed." in shown
    assert bot.case(case_id).state == "declined"
    assert bot.count(LedgerRow, case_id=case_id) == 0


def test_client_withdraws_while_pending(bot):
    case_id = request(bot)
    bot.user(CLIENT).click(client_dm(bot), "Withdraw")
    bot.drain()
    assert bot.case(case_id).state == "withdrawn"
    assert button_labels(freelancer_dm(bot).blocks) == []
    assert "*Withdrawn* by <@U0CLIENT01>" in text_of(freelancer_dm(bot).blocks)


@pytest.mark.parametrize(
    ("amount", "says"),
    [
        ("0", "The amount must be more than zero."),
        ("-5", "The amount must be more than zero."),
        ("10.005", "USD amounts take at most 2 decimals; “10.005” has more."),
        ("250.01", "You can ask for at most $250.00 on this item; $250.01 is more than that."),
        ("lots", "“lots” is not an amount. Type a number such as 12.50."),
        ("", "“” is not an amount. Type a number such as 12.50."),
        ("1e400", "“1e400” is not an amount. Type a number such as 12.50."),
        ("9999999999999999", "“9999999999999999” is too large for an amount in USD."),
    ],
)
def test_bad_amounts_come_back_on_the_amount_field(bot, amount, says):
    answer = bot.user(CLIENT).submit(open_form(bot), {"Amount (USD)": amount, "Reason": "r"})
    assert answer.json == {"response_action": "errors", "errors": {"amount": says}}
    assert bot.count(AuditRow) == 0


@pytest.mark.parametrize(
    ("reason", "says"),
    [("", "Please give a reason."), ("x" * 2001, "The reason can be at most 2000 characters; this one has 2001.")],
)
def test_bad_reasons_come_back_on_the_reason_field(bot, reason, says):
    answer = bot.user(CLIENT).submit(open_form(bot), {"Amount (USD)": "10", "Reason": reason})
    assert answer.json == {"response_action": "errors", "errors": {"reason": says}}


def test_a_resubmitted_form_opens_one_case(bot):
    view = open_form(bot)
    for _ in range(2):
        assert bot.user(CLIENT).submit(view, {"Amount (USD)": "10", "Reason": "twice"}).status == 200
    bot.drain()
    assert bot.count(AuditRow) == 1
    assert len(bot.standin.dms(FREELANCER)) == 1


def test_a_stale_click_is_told_what_happened_and_changes_nothing(bot):
    case_id = request(bot)
    old = copy.deepcopy(freelancer_dm(bot))  # the message as another device still shows it
    bot.user(FREELANCER).click(old, "Approve")
    bot.drain()
    assert bot.user(FREELANCER).click(old, "Decline").status == 200
    bot.drain()
    notice = bot.standin.responses[-1]
    assert notice["response_type"] == "ephemeral"
    assert "Nothing changed: this case was already approved by <@U0FREELA01> <!date^" in notice["text"]
    assert bot.case(case_id).state == "approved"
    assert bot.count(AuditRow, case_id=case_id) == 2


def test_slack_failing_a_click_tells_the_person_with_a_reference_and_changes_nothing(bot, caplog):
    case_id = request(bot)
    bot.standin.fail("views.open", 200, error="invalid_arguments")  # Slack refuses the Adjust modal: a bug of ours
    with caplog.at_level(logging.ERROR, "refundbot.handlers"):
        assert bot.user(FREELANCER).click(freelancer_dm(bot), "Adjust").status == 200
        notice = told(bot, "Something went wrong")  # sent straight to the response_url, off the ack's path
    assert notice["response_type"] == "ephemeral"
    ref = re.search(r"Something went wrong \(ref (E-[0-9A-F]{6})\); nothing was changed", notice["text"]).group(1)
    assert ref in caplog.text  # the operator finds the failure by the reference the freelancer quotes
    assert bot.case(case_id).state == "awaiting_freelancer"
    assert button_labels(freelancer_dm(bot).blocks)[:3] == ["Approve", "Adjust", "Decline"]  # still there to press


def test_a_stranger_cannot_approve_and_nothing_changes(bot):
    case_id = request(bot)
    bot.user(STRANGER).click(freelancer_dm(bot), "Approve")
    bot.drain()
    assert f"Only the freelancer of case {case_id} can do that" in bot.standin.responses[-1]["text"]
    assert bot.case(case_id).state == "awaiting_freelancer"
    assert bot.count(LedgerRow) == 0
    bot.user(CLIENT).click(freelancer_dm(bot), "Adjust")  # the client cannot answer their own request either
    bot.drain()
    assert "Only the freelancer" in bot.standin.responses[-1]["text"]
    assert bot.standin.latest_view(CLIENT)["callback_id"] == "refund_modal"  # no Adjust modal was opened


def test_a_double_click_makes_one_decision(bot):
    case_id = request(bot)
    dm = freelancer_dm(bot)
    answers = []
    clicks = [
        threading.Thread(target=lambda: answers.append(bot.user(FREELANCER).click(dm, "Approve"))) for _ in range(2)
    ]
    for click in clicks:
        click.start()
    for click in clicks:
        click.join(timeout=20)
    assert [a.status for a in answers] == [200, 200]
    bot.drain()
    assert bot.count(LedgerRow, case_id=case_id) == 1
    assert bot.count(AuditRow, case_id=case_id, to_state="approved") == 1
    assert "already approved" in bot.standin.responses[-1]["text"]


def test_a_forged_or_replayed_request_gets_401_and_does_nothing(bot):
    client = bot.user(CLIENT)
    body = "command=%2Frefund&text=list&team_id=T0DEMO01&user_id=U0CLIENT01&trigger_id=x"
    assert client.post(body, signature="v0=" + "0" * 64).status == 401
    assert client.post(body, timestamp=1_700_000_000).status == 401  # signed, but far outside the 5 minutes
    view = open_form(bot)
    forged = bot.user(CLIENT)
    forged.signer.signing_secret = "not-the-secret"
    assert forged.submit(view, {"Amount (USD)": "10", "Reason": "forged"}).status == 401
    assert bot.count(AuditRow) == 0


def test_slack_rate_limiting_then_accepting_delivers_each_message_once(bot):
    bot.standin.fail("chat.postMessage", 429, retry_after=1)
    request(bot)
    bot.clock.advance(seconds=1)
    bot.drain()
    assert len(bot.standin.dms(FREELANCER)) == 1
    assert len(bot.standin.dms(CLIENT)) == 1


def test_slack_failing_for_a_while_delivers_after(bot):
    bot.standin.fail("chat.postMessage", 500, times=4)
    bot.user(CLIENT).submit(open_form(bot), {"Amount (USD)": "10", "Reason": "r"})
    bot.drain()
    assert bot.standin.dms(FREELANCER) == []  # the thread root is backing off, and the case's messages wait
    for _ in range(4):
        bot.clock.advance(minutes=1)
        bot.drain()
    assert len(bot.standin.dms(FREELANCER)) == 1
    assert len(bot.standin.channel_messages(bot.standin.dm_channel(CLIENT, FREELANCER))) == 1


def test_a_relay_killed_between_lease_and_send_delivers_after_the_lease_once(bot):
    bot.user(CLIENT).submit(open_form(bot), {"Amount (USD)": "10", "Reason": "r"})
    assert bot.instance.workers.relay.lease_batch()  # leased, and this relay dies before sending
    bot.drain()
    assert bot.standin.dms(FREELANCER) == []
    bot.clock.advance(seconds=bot.instance.workers.relay.lease.total_seconds() + 1)
    bot.drain()
    assert len(bot.standin.dms(FREELANCER)) == 1
    assert len(bot.standin.calls_to("chat.postMessage")) == 4  # root, timeline reply, two DMs: each once


def test_refund_help_list_and_status(bot):
    client = bot.user(CLIENT)
    assert "*/refund list*" in text_of(client.command("help").json["blocks"])
    unknown = client.command("frobnicate").json
    assert "I don't know “/refund frobnicate”." in text_of(unknown["blocks"])
    assert "You have no open cases." in text_of(client.command("list").json["blocks"])
    case_id = request(bot)
    assert case_id in text_of(client.command("list").json["blocks"])
    assert case_id in text_of(bot.user(FREELANCER).command("list").json["blocks"])
    status = text_of(client.command(f"status {case_id.lower()}").json["blocks"])
    assert f"*Case {case_id}*" in status
    assert "waiting for the freelancer" in status
    assert "Only the client or freelancer" in client_status(bot, STRANGER, case_id)
    assert "There is no case “R-NOPE”" in client_status(bot, CLIENT, "R-NOPE")


def client_status(bot: Bot, user: str, case_id: str) -> str:
    return bot.user(user).command(f"status {case_id}").json["text"]


def test_app_home_shows_what_awaits_each_person(bot):
    freelancer = bot.user(FREELANCER)
    assert freelancer.open_home().status == 200
    bot.drain()
    assert "Nothing is waiting for you." in text_of(bot.standin.homes[FREELANCER]["blocks"])
    case_id = request(bot)
    freelancer.open_home()
    bot.user(CLIENT).open_home()
    bot.drain()
    waiting = text_of(bot.standin.homes[FREELANCER]["blocks"])
    assert f"*{case_id}* · Milestone “Concepts” (Logo redesign)" in waiting
    assert "<@U0CLIENT01> asked $100.00 · waiting for the freelancer · answer by <!date^" in waiting
    assert "You asked $100.00" in text_of(bot.standin.homes[CLIENT]["blocks"])


def test_the_shortcut_opens_the_same_form(bot):
    assert bot.user(CLIENT).shortcut("request_refund").status == 200
    view = bot.standin.latest_view(CLIENT)
    assert view["callback_id"] == "refund_modal"
    _, contract = find_input(view, "Contract")
    assert [o["text"]["text"] for o in contract["options"]] == [
        "Backend work (C-200)",
        "Logo redesign (C-100)",
        "Website copy (C-110)",
    ]


def test_a_too_long_adjust_note_comes_back_on_the_note_field(bot):
    request(bot)
    bot.user(FREELANCER).click(freelancer_dm(bot), "Adjust")
    form = bot.standin.latest_view(FREELANCER)
    answer = bot.user(FREELANCER).submit(form, {"Refund amount (USD)": "40.00", "Note to the client": "n" * 2001})
    assert answer.json == {
        "response_action": "errors",
        "errors": {"note": "The note can be at most 2000 characters; this one has 2001."},
    }
    over = bot.user(FREELANCER).submit(form, {"Refund amount (USD)": "100.00", "Note to the client": ""})
    assert over.json["errors"] == {
        "amount": "An adjusted refund must be less than the $100.00 requested; to refund it all, approve."
    }


def test_each_person_reads_amounts_in_their_own_locale(bot):
    bot.standin.locales[FREELANCER] = "de-DE"
    request(bot)
    assert "*Requested*\n100,00\xa0$" in text_of(freelancer_dm(bot).blocks)
    assert "You asked <@U0FREELA01> for $100.00" in text_of(client_dm(bot).blocks)
    lookups = [call.args["user"] for call in bot.standin.calls_to("users.info")]
    assert sorted(set(lookups)) == [CLIENT, FREELANCER]
    assert len(lookups) == 2  # looked up once each, then remembered


def test_a_locale_slack_will_not_give_falls_back_without_holding_the_message(bot):
    bot.standin.fail("users.info", 500, times=10)
    request(bot)
    assert "*Requested*\n$100.00" in text_of(freelancer_dm(bot).blocks)


def test_the_same_form_submitted_twice_at_once_opens_one_case(bot):
    view = open_form(bot)
    answers = []
    submits = [
        threading.Thread(
            target=lambda: answers.append(bot.user(CLIENT).submit(view, {"Amount (USD)": "10", "Reason": "at once"}))
        )
        for _ in range(2)
    ]
    for submit in submits:
        submit.start()
    for submit in submits:
        submit.join(timeout=20)
    assert [a.status for a in answers] == [200, 200]
    assert all(a.body in ("", "null") for a in answers)  # both modals close: the request went in once
    bot.drain()
    assert bot.count(AuditRow) == 1


def test_two_requests_racing_for_one_item_open_one_case_and_the_other_is_told(bot):
    first, second = open_form(bot), open_form(bot)
    answers = []
    submits = [
        threading.Thread(
            target=lambda v=v: answers.append(bot.user(CLIENT).submit(v, {"Amount (USD)": "10", "Reason": "race"}))
        )
        for v in (first, second)
    ]
    for submit in submits:
        submit.start()
    for submit in submits:
        submit.join(timeout=20)
    assert bot.count(AuditRow) == 1
    # Whether the loser met the winner's row in the unique index or simply found it open, it is told the same.
    [refused] = [a.json for a in answers if a.body not in ("", "null")]
    assert refused["errors"]["item"].startswith("Milestone “Concepts” already has an open case")
    assert bot.only_case_id() in refused["errors"]["item"]
