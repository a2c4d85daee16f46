"""Block builders are pure: the same view model gives the same blocks, checked by value and by Slack's rules."""

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.blocks import card, ids, modals, replies, request
from bot.blocks.format import babel_locale, counted, dated, duration, escape, money, pieces, quote, trim, when
from bot.blocks.home import home
from bot.blocks.refusals import message
from bot.blocks.render import render
from bot.domain.case.mediation import AlreadyClaimed
from bot.domain.errors import AmountOverBalance, AnswerTimeOver, CaseMovedOn, NotYourCase
from bot.domain.money import Money
from bot.services.messages import Surface
from bot.services.models import DESK_PAGE, DESK_SECTIONS, CaseView, DeskRow, ItemChoice, RefundForm, Unavailable
from tests.slack_rules import blocks_problems, view_problems
from tests.slack_standin import button_labels, text_of

CASE = CaseView(
    id="R-7K3Q9A",
    contract_id="C-100",
    contract_title="Logo redesign",
    contract_kind="fixed_price",
    item_label="Milestone “Concepts”",
    client_id="U0CLIENT01",
    freelancer_id="U0FREELA01",
    currency="USD",
    paid_minor=25000,
    refunded_before_minor=5000,
    requested_minor=10000,
    refunded_minor=0,
    offered_minor=None,
    reason="Off-brief <!channel>",
    response=None,
    state="awaiting_freelancer",
    updated_by="U0CLIENT01",
    updated_at="2026-11-25T10:00:00+00:00",
    due_at="2026-11-28T10:00:00+00:00",
    policy_version="v1",
    at_stake_minor=10000,
    waiting_on=["U0FREELA01"],
    moves={"freelancer": ["answer", "extend", "add_evidence"], "client": ["withdraw", "add_evidence"]},
)
DUE = "<!date^1795860000^{date_short_pretty} at {time}|Sat 28 Nov 2026 10:00 UTC>"


@pytest.mark.parametrize(
    ("minor", "currency", "locale", "shown"),
    [
        (123450, "USD", "en_US", "$1,234.50"),
        (123450, "USD", "de_DE", "1.234,50\xa0$"),
        (60000, "JPY", "en_US", "¥60,000"),
        (120500, "KWD", "en_US", "KWD\xa0120.500"),
        (5, "IQD", "en_US", "IQD\xa00.005"),  # ISO's three decimals, where CLDR would show none
    ],
)
def test_money_uses_the_locale_and_the_iso_exponent(minor, currency, locale, shown):
    assert money(Money(minor, currency), locale) == shown


@pytest.mark.parametrize(
    ("span", "said"),
    [
        (timedelta(days=3), "3 days"),
        (timedelta(days=1), "1 day"),
        (timedelta(hours=48), "2 days"),
        (timedelta(hours=36), "1 day 12 h"),
        (timedelta(days=7, hours=12), "7 days 12 h"),
        (timedelta(hours=5), "5 h"),
        (timedelta(minutes=90), "90 min"),
        (timedelta(seconds=20), "20 s"),
    ],
)
def test_a_policy_duration_reads_as_people_say_it(span, said):
    assert duration(span) == said


def test_dates_are_slack_tokens_with_a_utc_fallback():
    assert when(datetime(2026, 11, 28, 10, 0, tzinfo=UTC)) == DUE


def test_peoples_text_is_escaped_quoted_and_trimmed():
    assert escape("<!channel> & <https://evil|bank>") == "&lt;!channel&gt; &amp; &lt;https://evil|bank&gt;"
    assert quote("one\ntwo") == "> one\n> two"
    assert quote("x" * 2000, limit=10) == "> xxxxxxx…"
    assert len(trim("y" * 5000)) == 3000
    assert trim("y" * 5000).endswith("(the rest is in the case thread)")


def test_freelancer_message_while_waiting():
    blocks = request.freelancer_request(CASE, "https://demo.slack.com/archives/G1/p1")
    assert blocks_problems(blocks, "message") == []
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Refund request R-7K3Q9A", "emoji": True},
    }
    shown = text_of(blocks)
    assert "*Already refunded*\n$50.00" in shown
    assert "> Off-brief &lt;!channel&gt;" in shown  # no ping for everyone from a client's reason
    assert f"*Please answer by {DUE}.*" in shown
    assert button_labels(blocks) == ["Approve", "Adjust", "Decline", "I'm away: 2 days more"]
    actions = next(b for b in blocks if b["type"] == "actions")
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        (ids.APPROVE, "R-7K3Q9A"),
        (ids.ADJUST, "R-7K3Q9A"),
        (ids.DECLINE, "R-7K3Q9A"),
        (ids.EXTEND, "R-7K3Q9A"),
    ]
    assert actions["elements"][0]["confirm"]["text"]["text"] == (
        "$100.00 will be refunded to <@U0CLIENT01>. This cannot be undone."
    )
    assert blocks[-1]["elements"][0]["text"] == (
        "<https://demo.slack.com/archives/G1/p1|Open the case thread> for the full timeline."
    )


@pytest.mark.parametrize(
    ("state", "changes", "line"),
    [
        ("approved", {"refunded_minor": 10000}, ":white_check_mark: *Approved* by <@U0FREELA01>"),
        (
            "adjusted",
            {"refunded_minor": 4000, "offered_minor": 4000, "response": "Two of five"},
            "*Adjusted* by <@U0FREELA01> <!date^1795687200^{date_short_pretty} at {time}|on Thu 26 Nov 2026 "
            "10:00 UTC>: $40.00 refunded of the $100.00 asked.",
        ),
        ("declined", {"response": "As briefed"}, ":no_entry: *Declined* by <@U0FREELA01>"),
        ("lapsed", {"updated_by": "scheduler"}, "no answer came before the deadline"),
        ("withdrawn", {"updated_by": "U0CLIENT01"}, "*Withdrawn* by <@U0CLIENT01>"),
    ],
)
def test_after_a_decision_the_answer_buttons_go_and_the_outcome_shows(state, changes, line):
    closed = state in ("approved", "withdrawn")
    moves = {} if closed else {"client": ["ask_again", "withdraw", "add_evidence"], "freelancer": ["add_evidence"]}
    fields = {"updated_by": "U0FREELA01", "updated_at": "2026-11-26T10:00:00+00:00", "open": not closed} | changes
    fields |= {"moves": moves, "by_deadline": state == "lapsed"}
    decided = replace(CASE, state=state, due_at=None, waiting_on=[] if closed else ["U0CLIENT01"], **fields)
    freelancer = request.freelancer_request(decided, None)
    client = request.client_request(decided, None)
    for blocks in (freelancer, client):
        assert blocks_problems(blocks, "message") == []
        assert line in text_of(blocks)
        assert "Case thread: posting…" in text_of(blocks)
    # Closed: nothing left to press. Otherwise the client may take it further or close it; both may add evidence.
    assert button_labels(freelancer) == ([] if closed else ["Add evidence"])
    assert button_labels(client) == ([] if closed else ["Request again", "Close the case", "Add evidence"])


def test_client_message_offers_withdraw_only_while_waiting():
    blocks = request.client_request(CASE, None)
    assert button_labels(blocks) == ["Withdraw"]
    assert f"<@U0FREELA01> has until {DUE} to approve, adjust or decline." in text_of(blocks)


@pytest.mark.parametrize(
    ("step", "says"),
    [
        ({"route": "escrow_refund"}, "the *escrow refund process*"),
        (
            {"route": "hourly_dispute", "until": "2026-11-28T00:00:00+00:00"},
            "an *hourly dispute*: this week's review window is open until <!date^",
        ),
        ({"route": "mediation", "until": "2026-12-23T06:00:00+00:00"}, "*non-binding mediation*"),
        (
            {
                "route": "closed",
                "review_closes_at": "2026-11-28T00:00:00+00:00",
                "mediation_closes_at": "2026-12-23T06:00:00+00:00",
            },
            "*Next step:* none. The review window closed <!date^1795823999^{date_short_pretty} at {time}|on Fri 27 "
            "Nov 2026 23:59 UTC>, and non-binding mediation was possible until <!date^1798005599^",
        ),
    ],
)
def test_the_client_sees_the_next_step_the_policy_allows(step, says):
    declined = replace(CASE, state="declined", due_at=None, response="No", next_step=step)
    assert says in text_of(request.client_request(declined, None))


def test_the_case_thread_opens_with_the_case_and_grows_a_line_per_step():
    assert "*Case R-7K3Q9A*: <@U0CLIENT01> asks <@U0FREELA01> for a refund of $100.00" in text_of(
        request.thread_root(CASE)
    )
    assert f"<@U0FREELA01> has until {DUE} to answer." in text_of(request.timeline_entry(CASE))


def test_refund_modal_without_a_contract_chosen_shows_only_the_contract_select_and_can_be_sent():
    view = modals.refund_modal(RefundForm(contracts=[("C-100", "Logo redesign")]))
    assert view_problems(view, "modal") == []
    assert [b["block_id"] for b in view["blocks"]] == [ids.CONTRACT_BLOCK]
    assert view["submit"]["text"] == "Send request"  # Slack refuses a modal with an input and no submit
    assert view["blocks"][0]["dispatch_action"] is True


def test_refund_modal_with_an_item_caps_the_amount_and_explains_what_is_missing():
    form = RefundForm(
        contracts=[("C-100", "Logo redesign")],
        contract_id="C-100",
        currency="USD",
        items=[ItemChoice("milestone:M-1", "Milestone “Concepts”", 25000, 20000)],
        item_key="milestone:M-1",
        unavailable=[Unavailable("Milestone “Final files”", "unpaid")],
    )
    view = modals.refund_modal(form)
    assert view_problems(view, "modal") == []
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == [
        ids.CONTRACT_BLOCK,
        ids.ITEM_BLOCK,
        ids.AMOUNT_BLOCK,
        ids.REASON_BLOCK,
    ]
    amount = next(b for b in view["blocks"] if b.get("block_id") == ids.AMOUNT_BLOCK)
    assert amount["element"] == {
        "type": "number_input",
        "action_id": ids.AMOUNT_INPUT,
        "is_decimal_allowed": True,
        "min_value": "0.01",
        "max_value": "200.00",
    }
    assert amount["hint"]["text"] == "Up to $200.00: what is left of the $250.00 paid after earlier refunds."
    assert "• Milestone “Final files”: not paid yet" in text_of(view["blocks"])
    assert json.loads(view["private_metadata"]) == {"contract": "C-100", "item": "milestone:M-1"}


def test_adjust_modal_allows_less_than_requested_only():
    view = modals.adjust_modal(CASE)
    assert view_problems(view, "modal") == []
    amount = next(b for b in view["blocks"] if b.get("block_id") == ids.AMOUNT_BLOCK)
    assert (amount["element"]["min_value"], amount["element"]["max_value"]) == ("0.01", "99.99")
    assert view["private_metadata"] == "R-7K3Q9A"


def test_decline_modal_requires_a_reason():
    view = modals.decline_modal(CASE)
    assert view_problems(view, "modal") == []
    reason = next(b for b in view["blocks"] if b.get("block_id") == ids.REASON_BLOCK)
    assert reason.get("optional", False) is False
    assert reason["element"]["max_length"] == 2000


def test_replies_list_and_status():
    assert "You have no open cases." in text_of(replies.list_reply([], 0, "U0CLIENT01").blocks)
    listed = text_of(replies.list_reply([CASE], 1, "U0FREELA01").blocks)
    assert (
        f"*R-7K3Q9A* · Milestone “Concepts” (Logo redesign) · <@U0CLIENT01> asked $100.00 · waiting for the "
        f"freelancer · answer due {DUE}" in listed
    )
    assert "Status: waiting for the freelancer, until" in text_of(replies.status_reply(CASE).blocks)
    assert "…and 248 more." in text_of(replies.list_reply([CASE, CASE], 250, "U0FREELA01").blocks)


def test_render_gives_notification_text_and_valid_blocks_for_every_surface():
    for surface in (Surface.FREELANCER_REQUEST, Surface.CLIENT_REQUEST, Surface.THREAD_ROOT, Surface.TIMELINE):
        shown = render(surface, CASE.as_json(), None)
        assert "R-7K3Q9A" in shown.text
        assert blocks_problems(shown.blocks, "message") == []
    refused = render(Surface.REFUSAL, NotYourCase("R-1", "freelancer").as_json(), None)
    assert refused.text == "Only the freelancer of case R-1 can do that, so nothing was changed."
    assert blocks_problems(refused.blocks, "message") == []


def test_refusals_read_well_in_slack():
    moved = CaseMovedOn("R-1", "approved", "U0FREELA01", datetime(2026, 11, 26, 10, tzinfo=UTC))
    assert message(moved).startswith("Nothing changed: this case was already approved by <@U0FREELA01> <!date^")
    assert message(CaseMovedOn("R-1", "lapsed", "scheduler", datetime(2026, 11, 28, 10, tzinfo=UTC))).startswith(
        "Nothing changed: this case was already lapsed when its deadline passed"
    )
    raced = message(CaseMovedOn("R-1", "withdrawn", "U0CLIENT01", datetime(2026, 11, 26, 10, tzinfo=UTC), raced=True))
    assert raced.startswith("Your answer was not recorded: this case was already withdrawn by <@U0CLIENT01> <!date^")
    assert "the time to answer ended <!date^" in message(AnswerTimeOver(datetime(2026, 11, 28, tzinfo=UTC)))
    assert message(AmountOverBalance(Money(150, "USD"), Money(100, "USD"))) == (
        "You can ask for at most $1.00 on this item; $1.50 is more than that."
    )
    assert message(AmountOverBalance(Money(150, "USD"), Money(100, "USD")), "de_DE") == (
        "You can ask for at most 1,00\xa0$ on this item; 1,50\xa0$ is more than that."
    )


def test_home_lists_what_waits_first_and_stays_inside_slacks_block_limit():
    many = [replace(CASE, id=f"R-{n:06d}") for n in range(300)]
    blocks = home("U0FREELA01", many[:20], many[20:40], 260)
    assert blocks_problems(blocks, "home") == []
    assert len(blocks) <= 100
    shown = text_of(blocks)
    assert shown.index("*Waiting for your answer*") < shown.index("*R-000000*") < shown.index("*Your other open")
    assert "…and 260 more: `/refund list`." in shown
    assert "Nothing is waiting for you." in text_of(home("U0CLIENT01", [], [CASE]))


def test_someone_without_contracts_gets_a_form_that_explains_instead_of_fields():
    view = modals.no_contracts_modal()
    assert view_problems(view, "modal") == []
    assert "submit" not in view
    assert "You have no contracts as a client in this workspace" in text_of(view["blocks"])


def test_a_reminder_names_what_waits_until_when_and_what_happens_otherwise():
    shown = render(
        Surface.REMINDER,
        CASE.as_json() | {"hours_left": 23.6, "role": "freelancer"},
        "https://demo.slack.com/archives/G1/p1",
    )
    assert shown.text == "Reminder: refund request R-7K3Q9A is waiting for your answer"
    assert blocks_problems(shown.blocks, "message") == []
    text = text_of(shown.blocks)
    assert f"is waiting for your answer until {DUE} (about 24 hours left)" in text
    assert "If you do not answer, the request lapses and <@U0CLIENT01> can take it further." in text
    assert "less than two hours left" in text_of(
        render(Surface.REMINDER, CASE.as_json() | {"hours_left": 1.5, "role": "freelancer"}, None).blocks
    )


def test_titles_from_the_marketplace_cannot_ping_anyone_either():
    sneaky = replace(CASE, item_label="Milestone “<!channel>”", contract_title="Logo <!here>", contract_id="<@U1>")
    for blocks in (
        request.freelancer_request(sneaky, None),
        request.client_request(sneaky, None),
        request.thread_root(sneaky),
        replies.status_reply(sneaky).blocks,
        home("U0FREELA01", [sneaky], []),
    ):
        shown = text_of(blocks)
        assert "<!channel>" not in shown
        assert "<!here>" not in shown
        assert "<@U1>" not in shown
        assert "&lt;!channel&gt;" in shown or "&lt;!here&gt;" in shown


def test_slack_locales_become_babel_locales_or_en_us():
    assert babel_locale("de-DE") == "de_DE"
    assert babel_locale("ja-JP") == "ja_JP"
    assert babel_locale("xx-YY") == "en_US"
    assert babel_locale(None) == "en_US"
    german = render(Surface.FREELANCER_REQUEST, CASE.as_json(), None, "de_DE")
    assert "*Paid*\n250,00\xa0$" in text_of(german.blocks)


def test_why_an_item_is_not_listed_is_shown_escaped():
    form = RefundForm(
        contracts=[("C-1", "x")],
        contract_id="C-1",
        currency="USD",
        unavailable=[Unavailable("Milestone “<!channel>”", "unpaid")],
    )
    assert "• Milestone “&lt;!channel&gt;”: not paid yet" in text_of(modals.refund_modal(form)["blocks"])


def test_a_case_on_hold_says_so_to_each_reader_and_only_the_mediators_read_the_marketplaces_reason():
    held = replace(CASE, state="approved", open=False, waiting_on=[], moves={}, payout_hold="Card closed <!here>")
    for surface in (Surface.FREELANCER_REQUEST, Surface.CLIENT_REQUEST):
        said = text_of(render(surface, held.as_json(), None).blocks)
        assert "The payout of this case is on hold" in said
        assert "Card closed" not in said
    card = text_of(render(Surface.CASE_CARD, held.as_json(), None).blocks)
    assert "*On hold*: the marketplace refused the payout.\n> Card closed &lt;!here&gt;" in card
    assert "Nothing more to do here" not in card
    told = held.as_json() | {
        "entry_id": 3,
        "entry_kind": "refund",
        "entry_minor": 10000,
        "payout_reason": "Card closed",
    }
    mediators = render(Surface.PAYOUT_REFUSED, told, None)
    assert mediators.text == "Payout refused on case R-7K3Q9A"
    assert "would not carry out the refund to the client of $100.00" in text_of(mediators.blocks)
    thread = render(Surface.PAYOUT_HELD, told, None)
    assert "Card closed" not in text_of(thread.blocks)
    assert blocks_problems(mediators.blocks, "message") == blocks_problems(thread.blocks, "message") == []


def desk_view(rows_each: int, total: int, **changes) -> dict:
    hostile = "<!channel> *Этапы оплаты* " * 40
    row = DeskRow(
        id="R-7K3Q9A",
        item_label=hostile,
        contract_title=hostile,
        client_id="U0CLIENT01",
        freelancer_id="U0FREELA01",
        currency="USD",
        at_stake_minor=10_000,
        due_at="2026-11-28T10:00:00+00:00",
        stage="mediation",
        state="unassigned",
        mediator_id=None,
        waiting_since="2026-11-25T10:00:00+00:00",
        card_link=None,
    )
    part = {"offset": 0, "total": total, "rows": [vars(replace(row, id=f"R-{n:06d}")) for n in range(rows_each)]}
    view = {
        "user": "U0MEDIATE1",
        "now": "2026-11-27T10:00:00+00:00",
        "filters": {"stage": None, "kind": None, "overdue": False},
        "sections": {name: dict(part) for name in DESK_SECTIONS},
        "notice": None,
    }
    return view | changes


def test_the_desk_pages_every_part_and_stays_inside_slacks_limits_with_hostile_text():
    shown = render(Surface.DESK, desk_view(DESK_PAGE, 10_000), None)
    assert blocks_problems(shown.blocks, "home") == []
    assert view_problems({"type": "home", "blocks": shown.blocks, "private_metadata": shown.metadata}, "home") == []
    assert len(shown.blocks) <= 100
    text = text_of(shown.blocks)
    assert "10,000 unclaimed · 10,000 yours · 10,000 other open cases" in text
    assert text.count("1–10 of 10,000; 9,990 more after these") == 3
    assert "<!channel>" not in text  # escaped: a title never pings anyone
    assert button_labels(shown.blocks).count("Claim") == 3 * DESK_PAGE
    assert button_labels(shown.blocks).count("Next 10 ›") == 3
    assert "‹ Previous 10" not in button_labels(shown.blocks)
    assert json.loads(shown.metadata) == {"filters": {}, "pages": {}}


def test_a_leads_desk_has_a_hand_out_button_under_every_case_and_stays_inside_slacks_limits():
    view = desk_view(DESK_PAGE, 10_000, lead=True)
    rest = view["sections"]["rest"]
    held = rest["rows"][0] | {"mediator_id": "U0MEDIATE2", "state": "claimed", "card_link": LINK}
    view["sections"]["rest"] = rest | {"rows": [held, *rest["rows"][1:]]}
    shown = render(Surface.DESK, view, None)
    assert blocks_problems(shown.blocks, "home") == []
    assert view_problems({"type": "home", "blocks": shown.blocks, "private_metadata": shown.metadata}, "home") == []
    assert len(shown.blocks) <= 100
    labels = button_labels(shown.blocks)
    assert (labels.count("Hand to a mediator…"), labels.count("Reassign…")) == (3 * DESK_PAGE - 1, 1)
    assert (labels.count("Claim"), labels.count("Open card")) == (3 * DESK_PAGE - 1, 1)
    assert "Hand to a mediator…" not in button_labels(render(Surface.DESK, desk_view(DESK_PAGE, 10), None).blocks)


LINK = "https://demo.slack.com/archives/C0M/p1"


def test_the_desk_marks_passed_deadlines_links_held_cases_and_says_why_a_claim_changed_nothing():
    held = desk_view(1, 25)
    rest = held["sections"]["rest"]
    rest["offset"] = 20
    rest["rows"] = [
        rest["rows"][0]
        | {"mediator_id": "U0MEDIATE2", "state": "claimed", "card_link": "https://demo.slack.com/archives/C0M/p1"}
    ]
    first = held["sections"]["mine"]["rows"][0]
    passed = "2026-11-26T10:00:00+00:00"  # before "now"
    mine = first | {"id": "R-000001", "due_at": passed, "mediator_id": "U0MEDIATE1", "state": "claimed"}
    held["sections"]["mine"] = held["sections"]["mine"] | {"rows": [mine]}
    late, waiting = first | {"id": "R-000002", "due_at": passed}, first | {"id": "R-000003"}  # nobody holds them
    held["sections"]["unclaimed"] = held["sections"]["unclaimed"] | {"rows": [late, waiting]}
    notice = AlreadyClaimed("R-000000", "U0MEDIATE2", datetime(2026, 11, 27, 9, tzinfo=UTC))
    shown = render(Surface.DESK, held | {"notice": notice.as_json(), "filters": {"kind": "hourly"}}, None)
    assert blocks_problems(shown.blocks, "home") == []
    text = text_of(shown.blocks)
    assert ":warning: Nothing changed: this case was already claimed by <@U0MEDIATE2> <!date^" in text
    assert "*deadline passed <!date^" in text
    assert "· *claim overdue since <!date^" in text  # the mediators' own deadline, not a party's
    assert "· claim by <!date^" in text
    assert "held by <@U0MEDIATE2>" in text
    assert "(filtered)" in text
    assert "21–25 of 25\n" in text
    assert "‹ Previous 10" in button_labels(shown.blocks)
    [link] = [b["accessory"] for b in shown.blocks if b.get("accessory", {}).get("text", {}).get("text") == "Open card"]
    assert link["url"] == "https://demo.slack.com/archives/C0M/p1"
    assert json.loads(shown.metadata) == {"filters": {"kind": "hourly"}, "pages": {"rest": 20}}


def test_an_outcome_shows_its_rule_and_the_evidence_it_relied_on_a_mediator_only_item_by_number():
    cited = [
        {
            "seq": 1,
            "role": "client",
            "mediator_only": False,
            "text": "Brief,\n  v2 <!channel>",
            "links": ["https://x.io/a"],
        },
        {"seq": 2, "role": "freelancer", "mediator_only": True, "text": None, "links": []},
    ] + [{"seq": n, "role": "client", "mediator_only": False, "text": f"Item {n}", "links": []} for n in range(3, 14)]
    decided = replace(
        CASE,
        stage="hourly_dispute",
        state="decided",
        rationale="One hour is documented.",
        rule="hours_not_shown",
        rule_title="The hours billed are not shown by the work or the work diary.",
        cited=cited,
        open=False,
        moves={},
        due_at=None,
    )
    shown = text_of(render(Surface.CLIENT_REQUEST, decided.as_json(), None).blocks)
    assert "*Rule applied:* The hours billed are not shown by the work or the work diary." in shown
    assert "• #1 from the client: Brief, v2 &lt;!channel&gt; <https://x.io/a|link 1>" in shown
    assert "• #2 from the freelancer (seen by the mediator only)" in shown
    assert "• #10 from the client: Item 10\n• and #11, #12, #13 (in the case thread)" in shown


APPEAL = {
    "by": "U0FREELA01",
    "role": "freelancer",
    "reason": "The diary shows the meeting <!here>.",
    "at": "2026-11-26T09:00:00+00:00",
    "outcome": "decided",
    "stage": "hourly_dispute",
    "first_mediator": "U0MEDIATE1",
    "amount_minor": 2000,
    "refunded_minor": 2000,
}


def test_a_decision_open_to_appeal_offers_each_party_a_review_until_the_window_ends():
    decided = replace(
        CASE,
        stage="hourly_dispute",
        state="decided",
        disputed_minor=6000,
        at_stake_minor=6000,
        refunded_minor=2000,
        rationale="One hour is documented.",
        updated_by="U0MEDIATE1",
        appeal_until="2026-11-27T10:00:00+00:00",
        moves={"client": ["appeal", "add_evidence"], "freelancer": ["appeal", "add_evidence"]},
        due_at=None,
    )
    for surface in (Surface.CLIENT_REQUEST, Surface.FREELANCER_REQUEST):
        shown = render(surface, decided.as_json(), None)
        text = text_of(shown.blocks)
        assert "Open to appeal until <!date^1795773600^" in text
        assert "*Think this is wrong?* Either of you may ask once, with a reason, until <!date^1795773600^" in text
        assert "If nobody asks, the outcome is final." in text
        assert "Final." not in text
        assert "Ask for a review" in button_labels(shown.blocks)
    closed = replace(decided, appeal_until=None, open=False, moves={})
    assert ": $20.00 refunded of the $60.00 disputed. Final." in text_of(
        render(Surface.CLIENT_REQUEST, closed.as_json(), None).blocks
    )


def test_an_appeal_shows_its_reason_and_the_card_keeps_the_first_mediator_away():
    appealed = replace(
        CASE,
        stage="appeal",
        state="appeal_requested",
        disputed_minor=6000,
        at_stake_minor=6000,
        refunded_minor=2000,
        escalated=True,
        appeal=APPEAL,
        moves={"client": ["add_evidence"], "freelancer": ["add_evidence"], "mediator": ["claim"]},
        due_at=None,
    )
    card = render(Surface.CASE_CARD, appealed.as_json(), None)
    text = text_of(card.blocks)
    assert "Appeal: case R-7K3Q9A" in text
    assert "<@U0FREELA01> asked <!date^1795683600^" in text
    assert (
        "for a second mediator to review the decision (*$20.00* refunded of the $60.00). Waiting for a mediator "
        "other than <@U0MEDIATE1>." in text
    )
    assert "*The freelancer's reason for appealing*\n> The diary shows the meeting &lt;!here&gt;." in text
    assert "<@U0MEDIATE1> made the outcome appealed, so another mediator reviews it." in text
    assert button_labels(card.blocks)[-1:] == ["Claim"]


@pytest.mark.parametrize(("outcome", "verdict"), [(2000, "confirmed"), (5000, "changed from $20.00")])
def test_a_review_says_whether_it_confirmed_or_changed_the_outcome(outcome, verdict):
    reviewed = replace(
        CASE,
        stage="appeal",
        state="reviewed",
        disputed_minor=6000,
        at_stake_minor=6000,
        outcome_minor=outcome,
        updated_by="U0MEDIATE2",
        appeal=APPEAL,
        rationale="The diary has no entry.",
        open=False,
        moves={},
        due_at=None,
    )
    text = text_of(render(Surface.TIMELINE, reviewed.as_json(), None).blocks)
    assert "*Reviewed on appeal* by <@U0MEDIATE2> <!date^" in text
    assert f"{money(Money(outcome, 'USD'))} refunded of the $60.00, {verdict}. Final." in text
    assert "*The reviewing mediator's rationale*\n> The diary has no entry." in text


@pytest.mark.parametrize(
    ("count", "shown"), [(0, "0 pieces"), (1, "1 piece"), (2, "2 pieces"), (21, "21 pieces"), (1000, "1,000 pieces")]
)
def test_a_count_takes_the_noun_its_plural_rule_gives(count, shown):
    assert counted(count, "piece", "pieces") == shown


def test_the_case_card_counts_evidence_in_words():
    assert "*Evidence · policy*\n0 pieces · v1" in text_of(card.case_card(CASE))
    assert "*Evidence · policy*\n1 piece · v1" in text_of(card.case_card(replace(CASE, evidence_count=1)))


@pytest.mark.parametrize(
    "words", ["&" * 2000, "word " * 400, "\n".join(["line"] * 900), "<@U0X> " * 300, ("Почему? " * 250)[:2000]]
)
def test_a_long_text_is_spread_over_sections_whole_and_never_cut_inside_markup(words):
    quoted = quote(words, None)
    found = pieces(quoted)
    assert all(0 < len(piece) <= 3000 for piece in found)
    assert all(piece.rfind("&") <= piece.rfind(";") and piece.rfind("<") <= piece.rfind(">") for piece in found)
    # Read one after the other, the sections say the whole of it: only a quote mark is added where a line was cut.
    rejoined = "\n".join(found)
    assert rejoined.replace("\n> ", "").replace("\n", "") == quoted.replace("\n> ", "").replace("\n", "")


def test_a_decline_reason_is_cut_in_the_dms_and_whole_in_the_case_thread():
    reason = "Q&A & fixes & sign-off; " * 83  # 1,992 characters; each & is five when escaped
    declined = replace(CASE, state="declined", response=reason, moves={})
    dm = text_of(request.client_request(declined, None))
    assert "… _(the whole of it is in the case thread)_" in dm
    line = request.timeline_entry(declined)
    assert len(line) > 1  # more than one section
    assert text_of(line).count("Q&amp;A &amp; fixes &amp; sign-off;") == 83


def test_a_date_in_a_sentence_reads_right_as_today_or_as_a_day_and_in_the_fallback_text():
    """Slack shows the token as "today at 5:02 AM" or "Nov 25 at 5:02 AM", neither taking "on"; the fallback, where
    no token renders, brings its own."""
    at = datetime(2026, 11, 26, 5, 2, tzinfo=UTC)
    assert dated(at) == "<!date^1795669320^{date_short_pretty} at {time}|on Thu 26 Nov 2026 05:02 UTC>"
    declined = replace(CASE, state="declined", updated_by="U0FREELA01", updated_at=at.isoformat(), moves={})
    shown = text_of(request.client_request(declined, None))
    assert f"*Declined* by <@U0FREELA01> {dated(at)}." in shown
    assert " on <!date^" not in shown


def test_the_sandbox_draws_every_emoji_the_app_sends():
    """The sandbox page shows an emoji code it does not know as the code itself (":information_source:"), which
    Slack never would: every code in the app's messages is in its table."""
    root = Path(__file__).resolve().parents[2]
    sent = {
        code for path in (root / "bot" / "blocks").glob("*.py") for code in re.findall(r":([a-z_]+):", path.read_text())
    }
    table = (root / "bot" / "sandbox" / "static" / "blockkit.js").read_text()
    drawn = set(re.findall(r"([a-z_]+): \"", table[table.index("const EMOJI") : table.index("};")]))
    assert sent - drawn == set()
