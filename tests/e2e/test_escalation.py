"""After "no", end to end through the Slack stand-in (design §2.3, §2.4, §3): both full stories, the review
window's edge, mediators racing and impostors, and mediator-only evidence staying with the mediators."""

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from storage.tables import AuditRow, LedgerRow
from tests.e2e.conftest import CLIENT, FREELANCER, MEDIATOR, MEDIATOR2, MEDIATOR_CHANNEL, PARTLY, Bot, at_once
from tests.slack_standin import Message, button_labels, find_input, text_of

HOURS = {"Policy rule applied": "The hours billed are not shown by the work or the work diary."}
CITE_FIRST = {"Evidence relied on": ["#1"]}
SECRET = "Private: the client's cousin did the designs"


def ask_for_refund(bot: Bot, contract: str, item: str, amount: str, label: str = "Amount (USD)") -> str:
    client = bot.user(CLIENT)
    client.command("")
    client.choose(bot.standin.latest_view(CLIENT), "Contract", contract)
    client.choose(bot.standin.latest_view(CLIENT), "Item", item)
    answer = client.submit(bot.standin.latest_view(CLIENT), {label: amount, "Reason": "Not what we agreed."})
    assert answer.body in ("", "null"), answer.body
    bot.drain()
    [case_id] = [row for row in _case_ids(bot) if row not in _seen(bot)]
    _seen(bot).add(case_id)
    return case_id


def _case_ids(bot: Bot) -> list[str]:
    from storage.tables import CaseRow

    with bot.instance.runtime.sessions() as session:
        return list(session.scalars(select(CaseRow.id)))


def _seen(bot: Bot) -> set[str]:
    return bot.__dict__.setdefault("_seen_cases", set())


def dm(bot: Bot, user: str, case_id: str) -> Message:
    found = [m for m in bot.standin.dms(user) if case_id in m.text or case_id in text_of(m.blocks)]
    assert found, f"no DM about {case_id} for {user}"
    return found[0]


def card(bot: Bot, case_id: str) -> Message:
    [found] = [m for m in bot.standin.channel_messages(MEDIATOR_CHANNEL) if case_id in m.text]
    return found


def click(bot: Bot, user: str, message: Message, label: str) -> None:
    assert bot.user(user).click(message, label).status == 200
    bot.drain()


def submit(bot: Bot, user: str, values: dict[str, str]) -> str:
    answer = bot.user(user).submit(bot.standin.latest_view(user), values)
    assert answer.status == 200
    bot.drain()
    return answer.body


def decline(bot: Bot, case_id: str) -> None:
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Decline")
    assert submit(bot, FREELANCER, {"Why are you declining?": "Delivered as briefed."}) in ("", "null")


def last_notice(bot: Bot) -> str:
    return bot.standin.responses[-1]["text"]


def thread_text(bot: Bot) -> str:
    channel = bot.standin.dm_channel(CLIENT, FREELANCER)
    return "\n".join(text_of(m.blocks) for m in bot.standin.channel_messages(channel, replies=True))


def ledger(bot: Bot, case_id: str) -> list[tuple[str, int]]:
    with bot.instance.runtime.sessions() as session:
        rows = session.scalars(select(LedgerRow).where(LedgerRow.case_id == case_id).order_by(LedgerRow.id))
        return [(row.kind, row.amount_minor) for row in rows]


def test_a_fixed_price_case_from_refund_to_an_arbitration_award(bot):
    case_id = ask_for_refund(bot, "Logo redesign", "Milestone “Concepts”", "100.00")
    decline(bot, case_id)

    # The client sees the route before confirming it.
    client_dm = dm(bot, CLIENT, case_id)
    assert "*Request again* will take this to the *escrow refund process*" in text_of(client_dm.blocks)
    click(bot, CLIENT, client_dm, "Request again")
    assert "The escrow refund process" in text_of(bot.standin.latest_view(CLIENT)["blocks"])
    assert submit(bot, CLIENT, {}) in ("", "null")
    assert (bot.case(case_id).stage, bot.case(case_id).state) == ("escrow_refund", "awaiting_freelancer")

    # The freelancer disputes with a statement and adds mediator-only evidence; the client adds evidence too.
    freelancer_dm = dm(bot, FREELANCER, case_id)
    assert button_labels(freelancer_dm.blocks) == [
        "Accept and refund",
        "Dispute",
        "I'm away: 2 days more",
        "Add evidence",
    ]
    click(bot, FREELANCER, freelancer_dm, "Dispute")
    submit(bot, FREELANCER, {"Your statement": "The concepts follow the signed brief."})
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Add evidence")
    submit(
        bot,
        FREELANCER,
        {"Description": SECRET, "Links": "https://example.com/brief.pdf", "Who sees it": "The mediator only"},
    )
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Add evidence")
    submit(bot, CLIENT, {"Description": "Our brief asked for three concepts.", "Who sees it": "Both sides"})
    assert "Our brief asked for three concepts." in thread_text(bot)

    # The client rejects the freelancer's position: the case card appears for the mediators.
    client_dm = dm(bot, CLIENT, case_id)
    assert "The concepts follow the signed brief." in text_of(client_dm.blocks)
    click(bot, CLIENT, client_dm, "Reject: ask a mediator")
    the_card = card(bot, case_id)
    card_text = text_of(the_card.blocks)
    assert "<@U0CLIENT01>" in card_text
    assert "2 pieces · refundbot-1" in card_text
    assert button_labels(the_card.blocks) == ["History", "Claim"]  # History: the parties' records
    card_thread = "\n".join(text_of(m.blocks) for m in bot.standin.replies(MEDIATOR_CHANNEL, the_card.ts))
    assert SECRET in card_thread  # the mediators see everything, in the card's thread

    # Claim, ask, propose.
    click(bot, MEDIATOR, card(bot, case_id), "Claim")
    assert button_labels(card(bot, case_id).blocks) == [
        "History",
        "Propose",
        "Ask for information",
        "Reassign",
        "Release",
    ]
    click(bot, MEDIATOR, card(bot, case_id), "Ask for information")
    submit(bot, MEDIATOR, {"Ask": "The freelancer", "Question": "Which brief version did you work from?"})
    question = next(m for m in bot.standin.dms(FREELANCER) if "asks you" in text_of(m.blocks))
    click(bot, FREELANCER, question, "Answer")
    submit(bot, FREELANCER, {"Your answer": "Version 2, dated 20 October."})
    assert "Version 2, dated 20 October." in thread_text(bot)
    # The proposal names a rule of the case's policy and cites the evidence it relied on.
    click(bot, MEDIATOR, card(bot, case_id), "Propose")
    form = bot.standin.latest_view(MEDIATOR)
    rules = [o["text"]["text"] for o in find_input(form, "Policy rule applied")[1]["options"]]
    assert PARTLY["Policy rule applied"] in rules
    assert not [rule for rule in rules if "hours" in rule]  # the hourly rules do not fit a milestone
    items = [o["text"]["text"] for o in find_input(form, "Evidence relied on")[1]["options"]]
    assert items == [
        "#3 freelancer: Version 2, dated 20 October.",
        "#2 client: Our brief asked for three concepts.",
        f"#1 freelancer, mediator only: {SECRET}",
    ]
    assert submit(bot, MEDIATOR, {"Refund to the client (USD)": "100.01", "Rationale": "x"} | PARTLY) != ""
    proposal = {"Refund to the client (USD)": "40.00", "Rationale": "Two of five concepts fit."} | PARTLY
    assert "Choose the evidence you relied on" in submit(bot, MEDIATOR, proposal)
    assert bot.case(case_id).state == "claimed"
    submit(bot, MEDIATOR, proposal | {"Evidence relied on": ["#1", "#2"]})
    assert bot.case(case_id).state == "proposed"
    for user in (CLIENT, FREELANCER):
        shown = text_of(dm(bot, user, case_id).blocks)
        assert "proposes a refund of *$40.00*" in shown
        assert "Two of five concepts fit." in shown
        assert f"*Rule applied:* {PARTLY['Policy rule applied']}" in shown
        assert "• #1 from the freelancer (seen by the mediator only)" in shown
        assert "• #2 from the client: Our brief asked for three concepts." in shown
        assert SECRET not in shown  # a mediator-only item is cited by number alone
        assert "brief.pdf" not in shown
    assert SECRET not in thread_text(bot)
    with bot.instance.runtime.sessions() as session:
        row = session.scalars(select(AuditRow).where(AuditRow.case_id == case_id, AuditRow.to_state == "proposed"))
        proposed = row.one()
        assert (proposed.rationale, proposed.rule, proposed.cited) == (
            "Two of five concepts fit.",
            "partly_delivered",
            [1, 2],
        )

    # The client rejects: arbitration is offered, with the fee shown next to the amount at stake.
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Accept proposal")
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Reject proposal")
    assert bot.case(case_id).state == "arbitration_offered"
    offer = text_of(dm(bot, CLIENT, case_id).blocks)
    assert "The arbitration fee is *$291.00* per party; *$100.00* is at stake." in offer
    assert "The fee is more than the amount at stake." in offer
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Agree and pay the fee")
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Agree and pay the fee")
    assert bot.case(case_id).state == "arbitration"

    # The mediator records the binding award; the case closes and the ledger says who gets what.
    click(bot, MEDIATOR, card(bot, case_id), "Record award")
    submit(
        bot,
        MEDIATOR,
        {
            "Refund to the client (USD)": "70.00",
            "Rationale": "Award of the tribunal.",
            "Award reference": "AAA-118",
            "Evidence relied on": ["#2"],
        }
        | PARTLY,
    )
    row = bot.case(case_id)
    assert (row.state, row.refunded_minor, row.closed_at is not None) == ("awarded", 7000, True)
    assert ledger(bot, case_id) == [("refund", 7000), ("release", 3000)]
    assert "*Awarded* by arbitration" in text_of(dm(bot, CLIENT, case_id).blocks)
    assert button_labels(card(bot, case_id).blocks) == ["History"]  # closed: nothing to act on, the records stay
    timeline = thread_text(bot)
    for step in ("escrow refund process", "disputed the escrow refund", "proposes a refund", "arbitration", "Awarded"):
        assert step in timeline
    assert bot.count(AuditRow, case_id=case_id) == row.transitions


def test_an_hourly_case_from_refund_to_a_mediator_decision(bot):
    case_id = ask_for_refund(bot, "Backend work", "Week of 16 Nov 2026", "100.00")
    decline(bot, case_id)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Request again")
    view = bot.standin.latest_view(CLIENT)
    assert "An hourly dispute" in text_of(view["blocks"])
    no_certificate = submit(bot, CLIENT, {"Disputed hours": "2", "and minutes": "30", "Reasons": "No standup."})
    assert "certifying" in no_certificate
    body = submit(
        bot,
        CLIENT,
        {"Disputed hours": "2", "and minutes": "30", "Reasons": "No standup that week.", "Certification": "I certify"},
    )
    assert body in ("", "null"), body
    row = bot.case(case_id)
    assert (row.stage, row.state, row.disputed_minutes, row.disputed_minor) == (
        "hourly_dispute",
        "awaiting_freelancer",
        150,
        10000,
    )

    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Contest")
    submit(bot, FREELANCER, {"Your statement": "Standups happened daily; see the calendar."})
    assert bot.case(case_id).state == "in_review"
    click(bot, MEDIATOR2, card(bot, case_id), "Claim")  # a member of the mediators' user group
    assert button_labels(card(bot, case_id).blocks) == [
        "History",
        "Decide",
        "Ask for information",
        "Reassign",
        "Release",
    ]
    click(bot, MEDIATOR2, card(bot, case_id), "Decide")
    submit(bot, MEDIATOR2, {"Refund to the client (USD)": "40.00", "Rationale": "One standup is undocumented."} | HOURS)
    row = bot.case(case_id)
    assert (row.state, row.refunded_minor) == ("decided", 4000)
    assert ledger(bot, case_id) == [("refund", 4000), ("release", 6000)]
    for user in (CLIENT, FREELANCER):
        shown = text_of(dm(bot, user, case_id).blocks)
        assert "*Decided* by <@U0MEDIATE2>" in shown
        assert "One standup is undocumented." in shown
    status = bot.user(CLIENT).command(f"status {case_id}")
    assert "Decided" in status.body


def test_an_hourly_dispute_sent_after_friday_23_59_59_is_refused_with_the_dates(bot):
    case_id = ask_for_refund(bot, "Backend work", "Week of 16 Nov 2026", "100.00")
    decline(bot, case_id)
    bot.clock.now = datetime(2026, 11, 27, 23, 50, tzinfo=UTC)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Request again")
    bot.clock.now = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)  # the form was filled in too slowly
    body = submit(
        bot,
        CLIENT,
        {"Disputed hours": "1", "Reasons": "No standup.", "Certification": "I certify"},
    )
    answer = json.loads(body)  # no field of the form is wrong: the form is replaced by what happened
    assert answer["response_action"] == "update"
    message = text_of(answer["view"]["blocks"])
    assert "Week of 16 Nov 2026" in message
    assert "from <!date^1795435200^{date_short_pretty} at {time}|Mon 23 Nov 2026 12:00 UTC>" in message
    assert "until <!date^1795823999^{date_short_pretty} at {time}|Fri 27 Nov 2026 23:59 UTC>" in message
    assert (bot.case(case_id).stage, bot.case(case_id).state) == ("request", "declined")
    # Asking again now offers the route that is left: non-binding mediation.
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Request again")
    assert "Non-binding mediation" in text_of(bot.standin.latest_view(CLIENT)["blocks"])


def escalated(bot: Bot, statement: str = "As briefed.") -> str:
    case_id = ask_for_refund(bot, "Logo redesign", "Milestone “Concepts”", "100.00")
    decline(bot, case_id)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Request again")
    submit(bot, CLIENT, {})
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Dispute")
    submit(bot, FREELANCER, {"Your statement": statement})
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Reject: ask a mediator")
    return case_id


def test_two_mediators_claiming_at_once_one_wins_and_the_other_is_told(bot):
    case_id = escalated(bot)
    the_card = card(bot, case_id)
    at_once(lambda user: bot.user(user).click(the_card, "Claim"), (MEDIATOR, MEDIATOR2))
    bot.drain()
    winner = bot.case(case_id).mediator_id
    assert winner in (MEDIATOR, MEDIATOR2)
    assert bot.case(case_id).state == "claimed"
    [notice] = [r for r in bot.standin.responses if "claimed" in r["text"]]
    assert f"<@{winner}>" in notice["text"] or winner in notice["text"]
    assert bot.count(AuditRow, case_id=case_id, to_state="claimed") == 1


def test_a_party_cannot_act_as_mediator_and_nothing_changes(bot):
    case_id = escalated(bot)
    before = bot.case(case_id).version
    click(bot, CLIENT, card(bot, case_id), "Claim")  # not a mediator at all
    assert "Only the marketplace's mediators" in last_notice(bot)
    assert bot.case(case_id).version == before
    # U0FREELA02 is a mediator (through the user group) and the freelancer of "Website copy".
    other = ask_for_refund(bot, "Website copy", "Milestone “Second draft”", "50.00", label="Amount (EUR)")
    click(bot, "U0FREELA02", dm(bot, "U0FREELA02", other), "Decline")
    submit(bot, "U0FREELA02", {"Why are you declining?": "Done as asked."})
    click(bot, CLIENT, dm(bot, CLIENT, other), "Request again")
    submit(bot, CLIENT, {})
    click(bot, "U0FREELA02", dm(bot, "U0FREELA02", other), "Dispute")
    submit(bot, "U0FREELA02", {"Your statement": "Done."})
    click(bot, CLIENT, dm(bot, CLIENT, other), "Reject: ask a mediator")
    click(bot, "U0FREELA02", card(bot, other), "Claim")
    assert "you cannot act on it as a mediator" in last_notice(bot)
    assert bot.case(other).mediator_id is None


def test_mediator_only_evidence_never_reaches_the_other_party(bot):
    case_id = escalated(bot)
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Add evidence")
    submit(bot, FREELANCER, {"Description": SECRET, "Who sees it": "The mediator only"})
    click(bot, MEDIATOR, card(bot, case_id), "Claim")
    click(bot, MEDIATOR, card(bot, case_id), "Propose")
    submit(bot, MEDIATOR, {"Refund to the client (USD)": "10.00", "Rationale": "Partly."} | PARTLY | CITE_FIRST)
    assert bot.case(case_id).state == "proposed"  # citing the secret item
    bot.user(CLIENT).open_home()
    bot.drain()
    carrying = [call for call in bot.standin.calls if SECRET in json.dumps(call.args)]
    assert carrying, "the evidence reached the mediators"
    posted = [call for call in carrying if call.method != "views.open"]
    # The mediators' channel, and its sender's own DM, which says it was kept for the mediator only.
    assert {call.args.get("channel") for call in posted} == {MEDIATOR_CHANNEL, bot.standin.dm_channel(FREELANCER)}
    assert all(call.method == "chat.postMessage" for call in posted)
    [kept] = [m for m in bot.standin.dms(FREELANCER) if SECRET in text_of(m.blocks)]
    assert "for the mediator only*: the other party does not see it" in text_of(kept.blocks)
    assert not [m for m in bot.standin.dms(CLIENT) if SECRET in json.dumps(m.blocks)]
    # The one form that shows it is the mediator's own decision form, where the item is chosen to be cited.
    [form] = [view for vid, view in bot.standin.views.by_id.items() if SECRET in json.dumps(view)]
    assert form["callback_id"] == "mediate_modal"
    assert bot.standin.views.user_of[form["id"]] == MEDIATOR


def tick_at(bot: Bot, when: datetime) -> None:
    bot.clock.now = when
    bot.instance.workers.tick()
    bot.drain()


def test_silence_in_the_escrow_refund_refunds_the_client_after_the_freelancer_is_reminded(bot):
    case_id = ask_for_refund(bot, "Logo redesign", "Milestone “Concepts”", "100.00")
    decline(bot, case_id)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Request again")
    submit(bot, CLIENT, {})
    due = bot.case(case_id).updated_at + timedelta(days=7)
    tick_at(bot, due - timedelta(hours=24))
    [reminder] = [m for m in bot.standin.dms(FREELANCER) if "*Reminder:*" in text_of(m.blocks)]
    assert "$100.00 is refunded to <@U0CLIENT01>" in text_of(reminder.blocks)  # what silence will do
    assert "Accept and refund" in button_labels(reminder.blocks)
    tick_at(bot, due)
    row = bot.case(case_id)
    assert (row.state, row.refunded_minor, row.updated_by) == ("refunded", 10000, "scheduler")
    assert ledger(bot, case_id) == [("refund", 10000)]
    assert "*Refunded* $100.00 to <@U0CLIENT01>" in text_of(dm(bot, FREELANCER, case_id).blocks)
    why = "*Why:* the freelancer did not answer the escrow refund in time, so the client is refunded."
    assert why in text_of(dm(bot, CLIENT, case_id).blocks)  # told why, not only when


def test_when_only_the_freelancer_pays_for_arbitration_the_fee_rule_releases_the_funds(bot):
    case_id = escalated(bot)
    click(bot, MEDIATOR, card(bot, case_id), "Claim")
    click(bot, MEDIATOR, card(bot, case_id), "Propose")
    submit(bot, MEDIATOR, {"Refund to the client (USD)": "50.00", "Rationale": "Half."} | PARTLY)
    proposed_at = bot.case(case_id).updated_at
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Accept proposal")
    tick_at(bot, proposed_at + timedelta(days=2))  # the freelancer's silence counts as rejecting
    assert bot.case(case_id).state == "arbitration_offered"
    silence = "*Why:* no answer from the freelancer, which counts as rejecting the proposal."
    assert silence in text_of(dm(bot, FREELANCER, case_id).blocks)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "I'm away: 2 days more")  # the client's own move, not the why
    assert silence in text_of(dm(bot, CLIENT, case_id).blocks)
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Agree and pay the fee")
    tick_at(bot, proposed_at + timedelta(days=11))  # 2 + 7 days, and the client's 48 h
    row = bot.case(case_id)
    assert (row.state, row.refunded_minor) == ("released", 0)
    assert ledger(bot, case_id) == [("release", 10000)]
    assert "stays with <@U0FREELA01>" in text_of(dm(bot, CLIENT, case_id).blocks)
    assert "*Why:* only the freelancer paid the arbitration fee." in text_of(dm(bot, CLIENT, case_id).blocks)
    with bot.instance.runtime.sessions() as session:
        why = session.scalars(select(AuditRow.rationale).where(AuditRow.case_id == case_id).order_by(AuditRow.seq))
        reasons = list(why)
    assert "no answer from the freelancer, which counts as rejecting the proposal" in reasons
    assert reasons[-1] == "only the freelancer paid the arbitration fee"
