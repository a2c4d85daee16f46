"""Issue 10 as people meet it in a real workspace: the form opens and can be sent, hostile text stays text,
refusals read right where they are shown, and every amount and window reads one way."""

import json
from datetime import UTC, datetime

from storage.tables import AuditRow
from tests.e2e.conftest import CLIENT, FREELANCER, MEDIATOR, PARTLY, STRANGER, Bot
from tests.e2e.test_escalation import ask_for_refund, card, click, decline, dm, escalated, submit, thread_text
from tests.slack_standin import text_of

QUESTION = ("Почему макет не соответствует брифу? Заказчик просил другое. " * 8)[:450]
HOSTILE = "<!channel> <https://evil.example|your bank> <@U0ADMIN>"
PINGS = ("<!channel>", "<https://evil", "<@U0ADMIN>")


def first_form(bot: Bot, user: str = CLIENT) -> dict:
    assert bot.user(user).command("").status == 200
    return bot.standin.latest_view(user)


def everything_slack_was_sent(bot: Bot) -> list[str]:
    """Every mrkdwn text the app sent Slack, in messages, updates, modals, Home tabs and private answers."""

    def walk(node) -> list[str]:
        if isinstance(node, dict):
            own = [node["text"]] if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str) else []
            return own + [t for value in node.values() for t in walk(value)]
        if isinstance(node, list):
            return [t for item in node for t in walk(item)]
        if isinstance(node, str) and node.startswith(("[", "{")):
            try:
                return walk(json.loads(node))
            except ValueError:
                return []
        return []

    return walk([call.args for call in bot.standin.calls]) + walk(bot.standin.responses)


def test_the_first_form_has_its_submit_button_and_says_which_choice_is_missing(bot):
    view = first_form(bot)
    assert view["submit"]["text"] == "Send request"  # Slack refuses a modal with an input and no submit
    nothing = bot.user(CLIENT).submit(view, {})
    assert nothing.json == {"response_action": "errors", "errors": {"contract": "Choose the contract."}}
    bot.user(CLIENT).choose(view, "Contract", "Logo redesign")
    no_item = bot.user(CLIENT).submit(bot.standin.latest_view(CLIENT), {})
    assert no_item.json == {"response_action": "errors", "errors": {"item": "Choose the milestone or week to refund."}}
    assert bot.count(AuditRow) == 0
    # The shortcut opens the same form, with the same button.
    bot.user(CLIENT).shortcut("request_refund")
    assert bot.standin.latest_view(CLIENT)["submit"]["text"] == "Send request"


def test_a_contract_with_nothing_left_to_refund_says_so_on_the_contract_field(bot):
    ask_for_refund(bot, "Logo redesign", "Milestone “Concepts”", "100.00")  # the only paid milestone is now held
    view = first_form(bot)
    bot.user(CLIENT).choose(view, "Contract", "Logo redesign")
    view = bot.standin.latest_view(CLIENT)
    assert "No item of this contract can be refunded now." in text_of(view["blocks"])
    answer = bot.user(CLIENT).submit(view, {})
    assert answer.json["errors"] == {
        "contract": "No item of contract C-100 can be refunded now; choose another contract."
    }


def test_when_slack_will_not_open_the_form_the_person_is_told_and_nothing_breaks(bot):
    bot.standin.fail("views.open", 500)  # not retried: the trigger would have expired by then
    answer = bot.user(CLIENT).command("")
    assert answer.status == 200
    assert "Slack would not open the refund form (internal_error)" in text_of(answer.json["blocks"])
    assert answer.json["response_type"] == "ephemeral"
    assert bot.user(CLIENT).command("").status == 200  # and the next try opens it
    assert bot.standin.latest_view(CLIENT)["callback_id"] == "refund_modal"


def test_a_mediators_long_question_in_russian_is_answered_through_its_button(bot):
    case_id = escalated(bot)
    click(bot, MEDIATOR, card(bot, case_id), "Claim")
    click(bot, MEDIATOR, card(bot, case_id), "Ask for information")
    assert submit(bot, MEDIATOR, {"Ask": "The client", "Question": QUESTION}) in ("", "null")
    asked = next(m for m in bot.standin.dms(CLIENT) if "asks you" in text_of(m.blocks))
    assert QUESTION in text_of(asked.blocks)
    [answer_button] = [e for b in asked.blocks if b["type"] == "actions" for e in b["elements"]]
    assert answer_button["value"].isdigit()  # the question's id: the question itself stays in the database
    bot.user(STRANGER).click(asked, "Answer")
    bot.drain()
    assert "Only the client or freelancer of case" in bot.standin.responses[-1]["text"]
    click(bot, CLIENT, asked, "Answer")
    form = bot.standin.latest_view(CLIENT)
    assert form["callback_id"] == "answer_modal"
    assert QUESTION in text_of(form["blocks"])
    assert submit(bot, CLIENT, {"Your answer": "Бриф, версия 2, от 20 октября."}) in ("", "null")
    timeline = thread_text(bot)
    assert "Бриф, версия 2, от 20 октября." in timeline
    assert QUESTION[:100] in timeline


CITED = {"Evidence relied on": ["#1"]}


def test_free_text_never_pings_or_links_anywhere_it_is_shown(bot):
    case_id = escalated(bot)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Add evidence")
    submit(bot, CLIENT, {"Description": HOSTILE, "Who sees it": "Both sides"})
    click(bot, MEDIATOR, card(bot, case_id), "Claim")
    click(bot, MEDIATOR, card(bot, case_id), "Propose")
    submit(bot, MEDIATOR, {"Refund to the client (USD)": "40.00", "Rationale": HOSTILE} | PARTLY | CITED)
    assert "*Evidence relied on*\n• #1 from the client: " in text_of(dm(bot, FREELANCER, case_id).blocks)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Reject proposal")
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Agree and pay the fee")
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Agree and pay the fee")
    click(bot, MEDIATOR, card(bot, case_id), "Record award")
    answer = submit(
        bot,
        MEDIATOR,
        {"Refund to the client (USD)": "70.00", "Rationale": HOSTILE, "Award reference": HOSTILE[:100]}
        | PARTLY
        | CITED,
    )
    assert answer in ("", "null"), answer
    assert bot.case(case_id).state == "awarded"
    assert "(award &lt;!channel&gt; &lt;https://evil.example|your bank&gt;" in text_of(dm(bot, CLIENT, case_id).blocks)
    for text in everything_slack_was_sent(bot):
        for ping in PINGS:
            assert ping not in text, f"{ping} reached Slack unescaped: {text[:300]}"


def test_a_refusal_under_a_field_is_plain_text_and_one_about_the_case_replaces_the_form(bot):
    case_id = ask_for_refund(bot, "Logo redesign", "Milestone “Concepts”", "100.00")
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Adjust")
    adjust = bot.standin.latest_view(FREELANCER)
    over = bot.user(FREELANCER).submit(adjust, {"Refund amount (USD)": "100.00"})
    [shown] = over.json["errors"].values()
    assert shown == "An adjusted refund must be less than the $100.00 requested; to refund it all, approve."
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Withdraw")
    late = bot.user(FREELANCER).submit(adjust, {"Refund amount (USD)": "40.00"})
    assert late.json["response_action"] == "update"  # no field of the form is wrong: the case moved on
    notice = text_of(late.json["view"]["blocks"])
    assert notice.startswith("Nothing changed: this case was already withdrawn by <@U0CLIENT01> <!date^")
    assert late.json["view"]["title"]["text"] == "Adjust the refund"
    assert bot.case(case_id).state == "withdrawn"


def test_a_case_handed_to_someone_who_is_no_mediator_is_refused_without_a_raw_id(bot):
    case_id = escalated(bot)
    click(bot, MEDIATOR, card(bot, case_id), "Claim")
    click(bot, MEDIATOR, card(bot, case_id), "Reassign")
    answer = bot.user(MEDIATOR).submit(bot.standin.latest_view(MEDIATOR), {"Hand the case to": STRANGER})
    assert answer.json["errors"] == {
        "mediator": "That person is not one of the marketplace's mediators; choose a mediator."
    }
    client = bot.user(MEDIATOR).submit(bot.standin.latest_view(MEDIATOR), {"Hand the case to": CLIENT})
    assert client.json["errors"] == {
        "mediator": "That person is not one of the marketplace's mediators; choose a mediator."
    }
    assert bot.case(case_id).mediator_id == MEDIATOR


def test_money_reads_the_same_in_a_form_error_and_in_the_dm(bot):
    over = bot.user(CLIENT).submit(_form_with_item(bot), {"Amount (USD)": "250.01", "Reason": "r"})
    assert over.json["errors"]["amount"] == "You can ask for at most $250.00 on this item; $250.01 is more than that."
    case_id = ask_for_refund(bot, "Logo redesign", "Milestone “Concepts”", "250.00")
    assert "*Requested*\n$250.00" in text_of(dm(bot, FREELANCER, case_id).blocks)


def _form_with_item(bot: Bot) -> dict:
    view = first_form(bot)
    bot.user(CLIENT).choose(view, "Contract", "Logo redesign")
    bot.user(CLIENT).choose(bot.standin.latest_view(CLIENT), "Item", "Milestone “Concepts”")
    return bot.standin.latest_view(CLIENT)


def timestamp(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp())


def test_a_review_windows_end_is_shown_as_its_last_second_everywhere(bot):
    friday = timestamp(2026, 11, 27, 23, 59, 59)
    saturday = timestamp(2026, 11, 28)
    case_id = ask_for_refund(bot, "Backend work", "Week of 16 Nov 2026", "100.00")
    decline(bot, case_id)
    next_step = text_of(dm(bot, CLIENT, case_id).blocks)
    assert f"this week's review window is open until <!date^{friday}^" in next_step
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Request again")
    form = text_of(bot.standin.latest_view(CLIENT)["blocks"])
    assert f"It is open until <!date^{friday}^" in form
    for text in everything_slack_was_sent(bot):
        assert f"<!date^{saturday}^" not in text  # never the first instant outside the window


def test_next_step_none_names_the_review_windows_close_and_the_end_of_mediation(bot):
    case_id = ask_for_refund(bot, "Backend work", "Week of 12 Oct 2026", "100.00")
    decline(bot, case_id)
    shown = text_of(dm(bot, CLIENT, case_id).blocks)
    review_closed = timestamp(2026, 10, 23, 23, 59, 59)  # the week of 12 Oct: Friday 23 Oct 23:59:59 UTC
    mediation_ended = timestamp(2026, 11, 18, 11, 59, 59)  # paid 19 Oct 12:00 UTC, plus 30 days
    assert (
        f"*Next step:* none. The review window closed <!date^{review_closed}^{{date_short_pretty}} at {{time}}|on Fri "
        f"23 Oct 2026 23:59 UTC>, and non-binding mediation was possible until <!date^{mediation_ended}^"
    ) in shown
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Request again")
    form = text_of(bot.standin.latest_view(CLIENT)["blocks"])
    assert f"to <!date^{review_closed}^" in form
    assert f"possible until <!date^{mediation_ended}^" in form


def test_two_quick_picks_in_the_form_leave_the_later_one_showing(bot):
    view = first_form(bot)
    assert bot.user(CLIENT).choose(view, "Contract", "Backend work").status == 200
    stale = bot.user(CLIENT).choose(view, "Contract", "Logo redesign")  # made from the form before the first pick
    assert stale.status == 200
    shown = bot.standin.latest_view(CLIENT)
    assert "Week of 16 Nov 2026" in json.dumps(shown)
    assert [call.args.get("hash") for call in bot.standin.calls_to("views.update")] == [view["hash"]] * 2
