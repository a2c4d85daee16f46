"""Issue 35, the conversation as people see it: other people's text cannot disturb what they read, and presses that
cannot be undone ask first, saying what will happen."""

import copy
import json
from datetime import timedelta

from tests.e2e.conftest import CLIENT, FREELANCER, MEDIATOR, MEDIATOR2, Bot
from tests.e2e.test_appeal import decided
from tests.e2e.test_desk import desk
from tests.e2e.test_escalation import PARTLY, ask_for_refund, card, click, decline, dm, escalated, submit, tick_at
from tests.e2e.test_refund_request import client_dm, freelancer_dm, request, thread_texts
from tests.slack_standin import Message, button_labels, find_button, find_input, text_of

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


def confirm_of(message: Message, label: str) -> str:
    """What Slack's confirm dialog of a button says before the press is sent; empty when it asks nothing."""
    _, button = find_button(message.blocks, label)
    dialog = button.get("confirm")
    return f"{dialog['title']['text']}: {dialog['text']['text']}" if dialog else ""


def test_presses_that_cannot_be_undone_ask_first_and_say_what_will_happen(bot):
    case_id = ask_for_refund(bot, "Logo redesign", "Milestone “Concepts”", "100.00")
    decline(bot, case_id)
    assert confirm_of(dm(bot, CLIENT, case_id), "Close the case") == (
        "Close the case?: The case closes as it stands: $0.00 refunded, nothing more of the $100.00 asked. "
        "You cannot reopen it."
    )
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Request again")
    submit(bot, CLIENT, {})
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Dispute")
    submit(bot, FREELANCER, {"Your statement": "As briefed."})
    assert confirm_of(dm(bot, CLIENT, case_id), "Reject: ask a mediator") == (
        "Ask a mediator?: A mediator takes the case and decides how much of the $100.00 is refunded. "
        "You cannot take this back."
    )
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Reject: ask a mediator")
    click(bot, MEDIATOR, card(bot, case_id), "Claim")
    assert confirm_of(card(bot, case_id), "Release") == (
        "Release the case?: It goes back to the queue for any mediator to claim, and you no longer hold it."
    )
    assert confirm_of(card(bot, case_id), "Propose") == ""  # a form follows: nothing happens on the press itself
    click(bot, MEDIATOR, card(bot, case_id), "Propose")
    submit(bot, MEDIATOR, {"Refund to the client (USD)": "40.00", "Rationale": "Two of five fit."} | PARTLY)
    assert confirm_of(dm(bot, CLIENT, case_id), "Reject proposal") == (
        "Reject the proposal?: The $40.00 proposed is not refunded. Arbitration is offered instead: for a fee of "
        "$291.00 each, an arbitrator decides the $100.00, bindingly. You cannot take this back."
    )
    assert confirm_of(dm(bot, CLIENT, case_id), "Accept proposal") == ""
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Reject proposal")
    assert confirm_of(dm(bot, FREELANCER, case_id), "Agree and pay the fee") == (
        "Go to arbitration?: You agree to pay the $291.00 fee and to binding arbitration of the $100.00: the "
        "arbitrator's award is final."
    )


def test_a_stale_press_on_a_rejected_proposal_is_told_who_rejected_it_and_what_follows(bot):
    case_id = escalated(bot)
    click(bot, MEDIATOR, card(bot, case_id), "Claim")
    click(bot, MEDIATOR, card(bot, case_id), "Propose")
    submit(bot, MEDIATOR, {"Refund to the client (USD)": "40.00", "Rationale": "Two of five fit."} | PARTLY)
    before = copy.deepcopy(dm(bot, FREELANCER, case_id))  # as another of the freelancer's devices still shows it
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Reject proposal")
    assert bot.user(FREELANCER).click(before, "Accept proposal").status == 200
    bot.drain()
    said = bot.standin.responses[-1]["text"]
    assert said.startswith("Nothing changed: the proposal was already rejected by <@U0CLIENT01> <!date^")
    assert said.endswith(", so arbitration is offered.")
    assert bot.case(case_id).state == "arbitration_offered"


def test_a_long_decline_reason_is_read_whole_in_the_case_thread_and_every_limit_is_said_before_typing(bot):
    request(bot)
    bot.user(FREELANCER).click(freelancer_dm(bot), "Decline")
    form = bot.standin.latest_view(FREELANCER)
    _, field = find_input(form, "Why are you declining?")
    [block] = [b for b in form["blocks"] if b.get("element") is field]
    assert field["max_length"] == 2000
    assert block["hint"]["text"].endswith(" Up to 2,000 characters.")
    reason = "Q&A & fixes & sign-off; " * 83  # 1,992 characters, over 3,000 once escaped for Slack
    bot.user(FREELANCER).submit(form, {"Why are you declining?": reason})
    bot.drain()
    assert "… _(the whole of it is in the case thread)_" in text_of(client_dm(bot).blocks)
    [declined] = [text for text in thread_texts(bot) if "*Declined*" in text]
    assert declined.count("Q&amp;A &amp; fixes &amp; sign-off;") == 83


def test_a_mediators_form_with_several_problems_is_answered_under_every_field_at_once(bot):
    case_id = ask_for_refund(bot, "Logo redesign", "Milestone “Concepts”", "100.00")
    decline(bot, case_id)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Request again")
    submit(bot, CLIENT, {})
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Add evidence")
    submit(bot, FREELANCER, {"Description": "The signed brief.", "Who sees it": "Both sides"})
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Dispute")
    submit(bot, FREELANCER, {"Your statement": "As briefed."})
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Reject: ask a mediator")
    click(bot, MEDIATOR, card(bot, case_id), "Claim")
    click(bot, MEDIATOR, card(bot, case_id), "Propose")
    # Forged past Slack's own checks: an amount out of range, no rationale, no rule, no evidence cited.
    answer = bot.user(MEDIATOR).submit(bot.standin.latest_view(MEDIATOR), {"Refund to the client (USD)": "100.01"})
    assert sorted(answer.json["errors"]) == ["amount", "cited", "rationale", "rule"]
    assert answer.json["errors"]["rule"] == "Choose the policy rule the outcome applies."
    assert answer.json["errors"]["cited"].startswith("Choose the evidence you relied on")
    assert bot.case(case_id).state == "claimed"


def test_the_desk_dates_an_appeal_from_the_appeal_and_never_offers_its_first_mediator_the_claim(bot):
    case_id = decided(bot)
    bot.clock.advance(hours=30)
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Ask for a review")
    submit(bot, FREELANCER, {"Why should it be reviewed?": "The calendar shows every standup."})
    appealed_at = int(bot.clock.now.timestamp())
    other = desk(bot, MEDIATOR)
    row = next(b for b in other["blocks"] if b.get("block_id", "").endswith(f"_unclaimed_{case_id}"))
    assert f"waiting since <!date^{appealed_at}^" in row["text"]["text"]
    assert row["accessory"]["text"]["text"] == "Claim"
    first = desk(bot, MEDIATOR2)
    row = next(b for b in first["blocks"] if b.get("block_id", "").endswith(f"_unclaimed_{case_id}"))
    assert "your outcome: another mediator reviews it" in row["text"]["text"]
    assert row.get("accessory", {}).get("text", {}).get("text") != "Claim"


def test_a_reminder_loses_its_buttons_and_says_what_happened_once_the_case_moves_on(bot):
    case_id = request(bot)
    tick_at(bot, bot.clock.now + timedelta(days=1))  # 48 hours before the freelancer's answer is due
    [reminder] = [m for m in bot.standin.dms(FREELANCER) if m.text.startswith("Reminder")]
    assert "Approve" in button_labels(reminder.blocks)
    bot.user(FREELANCER).click(dm(bot, FREELANCER, case_id), "Approve")
    bot.drain()
    reminder = bot.standin.messages[(reminder.channel, reminder.ts)]  # the same message, updated in place
    assert button_labels(reminder.blocks) == []
    shown = text_of(reminder.blocks)
    assert f"Out of date: case {case_id} has moved on." in shown
    assert "*Approved* by <@U0FREELA01>" in shown
    assert bot.standin.dms(CLIENT)  # the client's side had no reminder: nothing to update, nothing sent
    assert not [m for m in bot.standin.dms(CLIENT) if "Out of date" in text_of(m.blocks)]


def test_a_question_keeps_its_answer_while_the_case_is_open_and_loses_it_once_the_case_closes(bot):
    case_id = escalated(bot)
    click(bot, MEDIATOR, card(bot, case_id), "Claim")
    click(bot, MEDIATOR, card(bot, case_id), "Ask for information")
    submit(bot, MEDIATOR, {"Ask": "The freelancer", "Question": "Which brief version?"})
    [question] = [m for m in bot.standin.dms(FREELANCER) if "asks you" in text_of(m.blocks)]
    assert button_labels(question.blocks) == ["Answer"]
    click(bot, MEDIATOR, card(bot, case_id), "Propose")
    submit(bot, MEDIATOR, {"Refund to the client (USD)": "40.00", "Rationale": "Two of five fit."} | PARTLY)
    bot.drain()
    assert button_labels(bot.standin.messages[(question.channel, question.ts)].blocks) == ["Answer"]  # still open
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Accept proposal")
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Accept proposal")
    bot.drain()
    question = bot.standin.messages[(question.channel, question.ts)]
    assert button_labels(question.blocks) == []
    assert "Out of date" in text_of(question.blocks)
    assert "*Settled*" in text_of(question.blocks)


def test_an_answered_question_says_so_and_loses_its_answer_button(bot):
    case_id = escalated(bot)
    click(bot, MEDIATOR, card(bot, case_id), "Claim")
    for question in ("Which brief version?", "Who signed it off?"):
        click(bot, MEDIATOR, card(bot, case_id), "Ask for information")
        submit(bot, MEDIATOR, {"Ask": "The freelancer", "Question": question})
    first, second = [m for m in bot.standin.dms(FREELANCER) if "asks you" in text_of(m.blocks)]
    shown = card(bot, case_id)  # the mediator, who is not in the parties' thread, sees under the card what was asked
    under = [text_of(m.blocks) for m in bot.standin.replies(shown.channel, shown.ts)]
    assert [text for text in under if text.startswith(":question:")] == [
        f":question: <@{MEDIATOR}> asked <@{FREELANCER}>:\n> Which brief version?",
        f":question: <@{MEDIATOR}> asked <@{FREELANCER}>:\n> Who signed it off?",
    ]
    click(bot, FREELANCER, first, "Answer")
    submit(bot, FREELANCER, {"Your answer": "Version 2, dated 20 October."})
    bot.drain()
    first = bot.standin.messages[(first.channel, first.ts)]
    assert button_labels(first.blocks) == []
    assert text_of(first.blocks).startswith(":white_check_mark: *Answered.* Your answer to the mediator of case")
    assert button_labels(bot.standin.messages[(second.channel, second.ts)].blocks) == ["Answer"]  # not this one


def test_a_mediator_reads_in_full_what_the_card_cuts_and_a_party_may_not(bot):
    statement = "Every concept followed the signed brief, page by page. " * 30 + "The end of my statement."
    case_id = escalated(bot, statement)
    shown = card(bot, case_id)
    assert "The end of my statement." not in text_of(shown.blocks)
    assert "(the whole of it: *Read in full*, below)" in text_of(shown.blocks)
    assert bot.user(MEDIATOR2).click(shown, "Read in full").status == 200  # any mediator, before a claim
    modal = bot.standin.latest_view(MEDIATOR2)
    assert modal["title"]["text"] == "Read in full"
    whole = text_of(modal["blocks"])
    assert whole.count("Every concept followed the signed brief") == 30
    assert "The end of my statement." in whole
    assert "Delivered as briefed." in whole  # the freelancer's answer, which the card does not show
    views_before = len(bot.standin.views.by_id)
    bot.user(CLIENT).click(shown, "Read in full")
    bot.drain()
    assert len(bot.standin.views.by_id) == views_before
    assert bot.standin.responses[-1]["text"].startswith("Only the marketplace's mediators can do that")


def test_a_readers_form_hints_and_field_errors_use_the_locale_their_dms_use(bot):
    bot.standin.locales[FREELANCER] = "de-DE"
    request(bot)  # the relay learns her locale as it writes her the request, and keeps it
    assert "*Requested*\n100,00\xa0$" in text_of(freelancer_dm(bot).blocks)
    bot.user(FREELANCER).click(freelancer_dm(bot), "Adjust")
    form = bot.standin.latest_view(FREELANCER)
    assert "weniger" not in json.dumps(form)  # the words stay English; the numbers are hers
    assert "less than the 100,00\xa0$ asked" in json.dumps(form, ensure_ascii=False)
    _, note = find_input(form, "Note to the client")
    [block] = [b for b in form["blocks"] if b.get("element") is note]
    assert block["hint"]["text"] == "Up to 2.000 characters."
    over = bot.user(FREELANCER).submit(form, {"Refund amount (USD)": "100.00", "Note to the client": ""})
    assert over.json["errors"] == {
        "amount": "An adjusted refund must be less than the 100,00\xa0$ requested; to refund it all, approve."
    }
    # Opening a form asks Slack nothing (a trigger lasts 3 s): the stored locale is read.
    asked = len(bot.standin.calls_to("users.info"))
    bot.user(FREELANCER).click(freelancer_dm(bot), "Decline")
    form = bot.standin.latest_view(FREELANCER)
    _, reason = find_input(form, "Why are you declining?")
    assert [b["hint"]["text"] for b in form["blocks"] if b.get("element") is reason] == [
        "The client sees this, and a mediator would too. Up to 2.000 characters."
    ]
    assert len(bot.standin.calls_to("users.info")) == asked
