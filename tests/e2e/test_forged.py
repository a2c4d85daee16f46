"""Forged and unknown values, as a signed but tampered client would send them: every option of every form, every
field of a form's metadata and the value of every button, mutated at each step of a case's life, is refused
politely (a field error, the form replaced by a notice, or a private message), never "Something went wrong",
never an ERROR in the log."""

import copy
import json
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.sandbox.standin.people import filled
from tests.e2e.conftest import CLIENT, FREELANCER, MEDIATOR, Bot
from tests.e2e.test_escalation import _case_ids, _seen, ask_for_refund, card, click, decline, dm, submit
from tests.slack_standin import Message

# What a tampered client might put anywhere: words our forms never offer, ids of nothing, huge and odd text.
FORGED = st.one_of(
    st.sampled_from(["bogus", "everyone", "", "R-ZZZZZZ", "1e999999999", "-1", "12345678901", "\u202e", "x" * 3000]),
    st.text(max_size=40),
)
OPTIONED = ("static_select", "radio_buttons", "multi_static_select", "checkboxes")
WENT_WRONG = "Something went wrong"


def examples(n: int = 6):
    return settings(
        max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck), derandomize=True
    )


def assert_polite(bot: Bot, caplog, answer) -> None:
    assert answer.status == 200
    assert WENT_WRONG not in answer.body
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
    assert not [r for r in bot.standin.responses if WENT_WRONG in r.get("text", "")]


def forge_form(bot: Bot, user: str, values: dict, caplog) -> None:
    """Submit the form in front of ``user`` with each option and each metadata field forged in turn."""
    view = copy.deepcopy(bot.standin.latest_view(user))
    good = filled(view, values)
    optioned = [b for b in view["blocks"] if b.get("type") == "input" and b["element"]["type"] in OPTIONED]
    meta = view.get("private_metadata") or ""
    try:
        keys = list(json.loads(meta)) if meta.startswith("{") else [None]
    except ValueError:
        keys = [None]

    @examples()
    @given(forged=FORGED)
    def each(forged: str) -> None:
        option = {"text": {"type": "plain_text", "text": "forged"}, "value": forged}
        for block in optioned:
            state = copy.deepcopy(good)
            [entry] = state[block["block_id"]].values()
            if "selected_options" in entry:
                entry["selected_options"] = [option]
            else:
                entry["selected_option"] = option
            assert_polite(bot, caplog, bot.user(user).submit_state(view, state))
        for key in keys:
            forged_meta = forged if key is None else json.dumps(json.loads(meta) | {key: forged})
            assert_polite(bot, caplog, bot.user(user).submit_state(dict(view, private_metadata=forged_meta), good))

    each()
    bot.drain()
    bot.standin.close_views(user)  # the notices closed; the person opens the form again


def forge_buttons(bot: Bot, user: str, message: Message, caplog) -> None:
    """Press each button of ``message`` with its value forged."""
    buttons = [
        (block["block_id"], element)
        for block in message.blocks
        if block.get("type") == "actions"
        for element in block["elements"]
        if element.get("type") == "button"
    ]

    @examples(4)
    @given(forged=FORGED)
    def each(forged: str) -> None:
        for block_id, button in buttons:
            action = {
                "type": "button",
                "action_id": button["action_id"],
                "block_id": block_id,
                "value": forged,
                "text": button["text"],
                "action_ts": "1.0",
            }
            assert_polite(bot, caplog, bot.user(user).act_in_message(message, action))
            bot.standin.close_views(user)

    each()
    bot.drain()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_forged_option_metadata_field_and_button_value_is_refused_politely(bot, caplog):
    caplog.set_level(logging.INFO)
    client = bot.user(CLIENT)
    assert client.command("").status == 200
    assert client.choose(bot.standin.latest_view(CLIENT), "Contract", "Website copy").status == 200
    assert client.choose(bot.standin.latest_view(CLIENT), "Item", "Milestone “Second draft”").status == 200
    # (A forgery beside a form otherwise whole may be ignored: the form's metadata names the same choice.)
    forge_form(bot, CLIENT, {"Amount (EUR)": "100.00", "Reason": "Off brief."}, caplog)
    _seen(bot).update(_case_ids(bot))
    case_id = ask_for_refund(bot, "Logo redesign", "Milestone “Concepts”", "100.00")
    forge_buttons(bot, FREELANCER, dm(bot, FREELANCER, case_id), caplog)
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Adjust")
    forge_form(bot, FREELANCER, {"Refund amount (USD)": "50.00"}, caplog)
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Decline")
    forge_form(bot, FREELANCER, {"Why are you declining?": "Delivered as briefed."}, caplog)
    decline(bot, case_id)

    forge_buttons(bot, CLIENT, dm(bot, CLIENT, case_id), caplog)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Request again")
    forge_form(bot, CLIENT, {}, caplog)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Request again")
    assert submit(bot, CLIENT, {}) in ("", "null")

    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Add evidence")
    evidence = {"Description": "The brief, signed.", "Who sees it": "Both sides"}
    forge_form(bot, FREELANCER, evidence, caplog)
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Add evidence")
    submit(bot, FREELANCER, evidence)
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Dispute")
    forge_form(bot, FREELANCER, {"Your statement": "As briefed."}, caplog)
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Dispute")
    submit(bot, FREELANCER, {"Your statement": "As briefed."})
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Reject: ask a mediator")

    forge_buttons(bot, MEDIATOR, card(bot, case_id), caplog)
    click(bot, MEDIATOR, card(bot, case_id), "Claim")
    forge_buttons(bot, MEDIATOR, card(bot, case_id), caplog)
    click(bot, MEDIATOR, card(bot, case_id), "Ask for information")
    asked = {"Ask": "The freelancer", "Question": "Which brief?"}
    forge_form(bot, MEDIATOR, asked, caplog)
    click(bot, MEDIATOR, card(bot, case_id), "Ask for information")
    submit(bot, MEDIATOR, asked)
    click(bot, MEDIATOR, card(bot, case_id), "Propose")
    form = bot.standin.latest_view(MEDIATOR)
    rule = next(b for b in form["blocks"] if b.get("type") == "input" and b["label"]["text"] == "Policy rule applied")
    proposal = {
        "Refund to the client (USD)": "40.00",
        "Why": "Half the concepts were on brief.",
        "Policy rule applied": rule["element"]["options"][0]["text"]["text"],
    }
    forge_form(bot, MEDIATOR, proposal, caplog)
    assert bot.case(case_id).state == "claimed"  # nothing forged moved the case
