"""Files as evidence (issue 37) end to end through the Slack stand-in: attached in the Add evidence form, read once
with the bot token and fingerprinted off the request path, then recorded whole or refused under the form's files
with nothing kept; each bad input answered where the person looks."""

import hashlib

import pytest
from sqlalchemy import select

from bot.services.evidence import AddEvidence, record_files
from storage.tables import EvidenceFileRow, EvidenceRow, OutboxRow
from tests.e2e.conftest import CLIENT, FREELANCER, MEDIATOR, PARTLY, Bot
from tests.e2e.test_escalation import ask_for_refund, card, click, decline, dm, escalated, submit
from tests.slack_standin import find_input, text_of

BRIEF = b"%PDF-1.7\nThe brief: three logo concepts, vector, by 20 November.\n"
SCREEN = b"\x89PNG\r\n\x1a\n a screenshot of the chat where the brief was agreed"


def attach(bot: Bot, user: str, values: dict, *files: tuple[str, bytes]) -> dict:
    """Open Add evidence on the case in the person's DM, attach ``files`` from their computer, submit: what the
    form answered."""
    attached = [bot.standin.add_file(user, name, content) for name, content in files]
    answer = bot.user(user).submit(bot.standin.latest_view(user), values | {"Files": attached})
    assert answer.status == 200, answer.body
    return answer.json or {}


def read_files(bot: Bot) -> None:
    """The files reader's work, in the test's own time, then the messages it caused."""
    while bot.instance.workers.files.run_once():
        pass
    bot.drain()


def pieces(bot: Bot, case_id: str) -> list[EvidenceRow]:
    with bot.instance.runtime.sessions() as session:
        return list(session.scalars(select(EvidenceRow).where(EvidenceRow.case_id == case_id)))


def form_text(bot: Bot, user: str) -> str:
    return text_of(bot.standin.open_view(user)["blocks"])


def disputed(bot: Bot) -> str:
    """A fixed-price case in the escrow refund process, the freelancer's dispute stated: either may add evidence."""
    case_id = ask_for_refund(bot, "Logo redesign", "Milestone “Concepts”", "100.00")
    decline(bot, case_id)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Request again")
    submit(bot, CLIENT, {})
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Dispute")
    submit(bot, FREELANCER, {"Your statement": "As briefed."})
    return case_id


def copies_in(bot: Bot, channel: str, thread_ts: str) -> dict[str, bytes]:
    """The files shared in a thread, by name: what a reader there opens."""
    return {
        f["name"]: bot.standin.file_content(f["id"]) for m in bot.standin.replies(channel, thread_ts) for f in m.files
    }


def test_a_dispute_with_files_each_seen_only_by_whom_it_is_for_and_cited_by_the_mediator(bot):
    case_id = escalated(bot)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Add evidence")
    answer = attach(
        bot,
        CLIENT,
        {"Description": "The brief we agreed, and the chat.", "Who sees it": "Both sides"},
        ("brief.pdf", BRIEF),
        ("chat.png", SCREEN),
    )
    # Answered at once: the form says its files are being checked; nothing is recorded yet.
    assert answer["response_action"] == "update"
    assert "Checking 2 files" in form_text(bot, CLIENT)
    assert pieces(bot, case_id) == []

    read_files(bot)
    shown = form_text(bot, CLIENT)
    assert "Added to case" in shown
    assert f"SHA-256 `{hashlib.sha256(BRIEF).hexdigest()[:12]}…`" in shown
    [piece] = pieces(bot, case_id)
    assert [(f["name"], f["size"], f["sha256"], f["owner"]) for f in piece.files] == [
        ("brief.pdf", len(BRIEF), hashlib.sha256(BRIEF).hexdigest(), CLIENT),
        ("chat.png", len(SCREEN), hashlib.sha256(SCREEN).hexdigest(), CLIENT),
    ]
    # Copies, byte for byte, where each reader is: the parties' case thread and the mediators' card thread.
    root = bot.standin.dms(CLIENT)  # the case thread hangs from the group DM's first message
    group = bot.standin.dm_channel(CLIENT, FREELANCER)
    [thread_root] = bot.standin.channel_messages(group)
    assert copies_in(bot, group, thread_root.ts) == {"brief.pdf": BRIEF, "chat.png": SCREEN}
    the_card = card(bot, case_id)
    assert copies_in(bot, the_card.channel, the_card.ts) == {"brief.pdf": BRIEF, "chat.png": SCREEN}
    assert root  # the client's DMs are there too, and say nothing more of the files than the thread

    # The freelancer's file for the mediator only: copied under the card, never where a party looks.
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Add evidence")
    secret = b"%PDF-1.4 the draft invoice"
    attach(bot, FREELANCER, {"Who sees it": "The mediator only"}, ("invoice-draft.pdf", secret))
    read_files(bot)
    assert copies_in(bot, the_card.channel, the_card.ts)["invoice-draft.pdf"] == secret
    [original] = [f for f in bot.standin.files.values() if f.name == "invoice-draft.pdf" and f.user == FREELANCER]
    [copy] = [
        f["id"]
        for m in bot.standin.replies(the_card.channel, the_card.ts)
        for f in m.files
        if f["name"] == "invoice-draft.pdf"
    ]

    # The mediator cites both pieces; each party reads what the proposal rests on.
    click(bot, MEDIATOR, card(bot, case_id), "Claim")
    click(bot, MEDIATOR, card(bot, case_id), "Propose")
    options = [
        o["text"]["text"] for o in find_input(bot.standin.latest_view(MEDIATOR), "Evidence relied on")[1]["options"]
    ]
    assert "#1 client: The brief we agreed, and the chat. · brief.pdf, chat.png"[:75] in [o[:75] for o in options]
    proposal = {"Refund to the client (USD)": "40.00", "Rationale": "Half the concepts match the brief."}
    submit(bot, MEDIATOR, proposal | PARTLY | {"Evidence relied on": ["#1", "#2"]})
    assert bot.case(case_id).state == "proposed"
    client_dm = text_of(dm(bot, CLIENT, case_id).blocks)
    assert "brief.pdf" in client_dm
    assert "#2 from the freelancer (seen by the mediator only)" in client_dm
    bot.user(CLIENT).open_home()
    bot.user(FREELANCER).open_home()
    bot.drain()

    # Nothing either party can see names the mediator-only file, its id, or its copy.
    for party in (CLIENT, FREELANCER):
        seen = bot.standin.seen_by(party, views=party == CLIENT)  # its sender's own form named it to them
        for trace in ("invoice-draft", original.id, copy):
            i = seen.find(trace)
            assert i < 0, (party, trace, seen[max(0, i - 300) : i + 100])
    assert "brief.pdf" in bot.standin.seen_by(FREELANCER)  # what both sides see, they both see


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        pytest.param([("empty.pdf", b"")], "“empty.pdf” is empty.", id="empty"),
        pytest.param(
            [("huge.pdf", b"%PDF" + b"0" * (10 * 1024 * 1024))], "a file can be at most 10 MB", id="too-large"
        ),
        pytest.param([("setup.exe", b"MZ\x90\x00")], "“setup.exe” is a .exe file", id="forbidden-type"),
        pytest.param([(f"page{n}.pdf", b"%PDF") for n in range(11)], "At most 10 files", id="eleven-files"),
    ],
)
def test_what_the_payload_shows_is_refused_under_the_files_at_once(bot, files, problem):
    case_id = disputed(bot)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Add evidence")
    answer = attach(bot, CLIENT, {"Description": "See attached."}, *files)
    assert answer["response_action"] == "errors"
    assert problem in answer["errors"]["files"]
    assert bot.count(OutboxRow, surface="file_intake") == 0
    assert pieces(bot, case_id) == []


def test_another_persons_file_is_refused_as_forged(bot):
    case_id = disputed(bot)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Add evidence")
    theirs = bot.standin.add_file(FREELANCER, "their-notes.txt", b"not yours")
    other_workspace = bot.standin.add_file(CLIENT, "elsewhere.txt", b"another workspace", team="T0OTHER")
    for forged in (theirs, other_workspace):
        answer = bot.user(CLIENT).submit(bot.standin.latest_view(CLIENT), {"Files": [forged]})
        assert answer.json["response_action"] == "errors"
        assert "is not a file you attached here" in answer.json["errors"]["files"]
    assert pieces(bot, case_id) == []


def test_a_program_named_as_a_document_is_refused_once_read_with_the_form_as_it_was(bot):
    case_id = disputed(bot)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Add evidence")
    values = {"Description": "Concepts as delivered", "Links": "https://example.com/a", "Who sees it": "Both sides"}
    attach(bot, CLIENT, values, ("concepts.pdf", b"MZ\x90\x00\x03 a Windows program"), ("brief.pdf", BRIEF))
    read_files(bot)
    form = bot.standin.open_view(CLIENT)
    assert form["callback_id"] == "evidence_modal"
    assert "“concepts.pdf” is a program or a script" in text_of(form["blocks"])
    assert "Nothing was added." in text_of(form["blocks"])
    initial = {b["block_id"]: b["element"].get("initial_value") for b in form["blocks"] if b["type"] == "input"}
    assert (initial["evidence"], initial["links"]) == ("Concepts as delivered", "https://example.com/a")
    assert pieces(bot, case_id) == []


@pytest.mark.parametrize(
    ("befall", "problem"),
    [
        pytest.param("delete_file", "was deleted before refund-bot could check it", id="deleted"),
        pytest.param("hide", "refund-bot cannot read", id="unreadable"),
    ],
)
def test_a_file_slack_no_longer_hands_over_is_refused_once_read(bot, befall, problem):
    case_id = disputed(bot)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Add evidence")
    attach(bot, CLIENT, {}, ("brief.pdf", BRIEF))
    [stored] = [f for f in bot.standin.files.values() if f.name == "brief.pdf"]
    if befall == "hide":
        stored.hidden = True
    else:
        bot.standin.delete_file(stored.id)
    read_files(bot)
    assert problem in form_text(bot, CLIENT)
    assert pieces(bot, case_id) == []


def test_a_case_that_moved_on_while_the_files_were_read_records_nothing(bot):
    case_id = disputed(bot)
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Add evidence")
    attach(bot, FREELANCER, {}, ("delivery.zip", b"PK\x03\x04 the concepts"))
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Accept their position")
    read_files(bot)
    assert f"Case {case_id} is closed, so nothing more can be added to it." in form_text(bot, FREELANCER)
    assert pieces(bot, case_id) == []


def test_slack_failing_while_files_are_read_retries_and_the_form_keeps_saying_checking(bot):
    case_id = disputed(bot)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Add evidence")
    attach(bot, CLIENT, {"Who sees it": "Both sides"}, ("brief.pdf", BRIEF))
    bot.standin.fail("files.info", 500)
    read_files(bot)
    assert "Checking 1 file" in form_text(bot, CLIENT)
    assert pieces(bot, case_id) == []
    with bot.instance.runtime.sessions() as session:
        [row] = session.scalars(select(OutboxRow).where(OutboxRow.surface == "file_intake")).all()
        assert (row.status, row.attempts) == ("pending", 1)
        row.next_attempt_at = bot.clock.now  # its back-off over
        session.commit()
    read_files(bot)
    assert "Added to case" in form_text(bot, CLIENT)
    assert len(pieces(bot, case_id)) == 1


def test_a_closed_form_is_answered_in_a_dm_and_a_second_reading_records_nothing_twice(bot):
    case_id = disputed(bot)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Add evidence")
    attach(bot, CLIENT, {}, ("setup.pdf", b"#!/bin/sh\nrm -rf ~\n"))
    bot.standin.close_views(CLIENT)
    read_files(bot)
    [told] = [m for m in bot.standin.dms(CLIENT) if "setup.pdf" in text_of(m.blocks)]
    assert "is a program or a script" in text_of(told.blocks)

    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Add evidence")
    attach(bot, CLIENT, {}, ("brief.pdf", BRIEF))
    with bot.instance.runtime.sessions() as session:
        intakes = select(OutboxRow).where(OutboxRow.surface == "file_intake").order_by(OutboxRow.id)
        form = session.scalars(intakes).all()[-1].view  # the second form's, not the refused one's
    read_files(bot)
    assert [f["name"] for f in pieces(bot, case_id)[0].files] == ["brief.pdf"]
    # A reader that died before settling its row is followed by another: the piece is not recorded twice.
    assert record_files(bot.instance.workers.deps, AddEvidence.model_validate(form), ()) is None
    assert len(pieces(bot, case_id)) == 1


def test_a_mediator_only_file_added_before_escalation_is_copied_under_the_card_once_there_is_one(bot):
    case_id = disputed(bot)
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Add evidence")
    attach(bot, FREELANCER, {"Who sees it": "The mediator only"}, ("timesheet.csv", b"day,hours\nmon,8\n"))
    read_files(bot)
    group = bot.standin.dm_channel(CLIENT, FREELANCER)
    [thread_root] = bot.standin.channel_messages(group)
    assert copies_in(bot, group, thread_root.ts) == {}
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Reject: ask a mediator")
    the_card = card(bot, case_id)
    assert copies_in(bot, the_card.channel, the_card.ts) == {"timesheet.csv": b"day,hours\nmon,8\n"}
    assert "timesheet" not in bot.standin.seen_by(CLIENT)


def test_a_file_changed_in_slack_before_its_copy_is_made_is_not_copied_and_the_thread_says_so(bot):
    case_id = disputed(bot)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Add evidence")
    attach(bot, CLIENT, {"Who sees it": "Both sides"}, ("brief.pdf", BRIEF))
    while bot.instance.workers.files.run_once():
        pass
    [stored] = [f for f in bot.standin.files.values() if f.name == "brief.pdf"]
    bot.standin.change_file(stored.id, BRIEF + b"an edited line\n")
    bot.drain()
    group = bot.standin.dm_channel(CLIENT, FREELANCER)
    [thread_root] = bot.standin.channel_messages(group)
    assert copies_in(bot, group, thread_root.ts) == {}
    said = "\n".join(m.text for m in bot.standin.replies(group, thread_root.ts))
    assert "brief.pdf (evidence #1, from the client) was changed or removed in Slack after it was added" in said
    assert hashlib.sha256(BRIEF).hexdigest() in said


def test_add_as_evidence_takes_a_file_shared_in_the_case_thread_by_either_party(bot):
    case_id = disputed(bot)
    group = bot.standin.dm_channel(CLIENT, FREELANCER)
    [root] = bot.standin.channel_messages(group)
    delivered = bot.standin.add_file(FREELANCER, "final-logo.svg", b"<svg>the logo</svg>")
    shared = bot.standin.share_file(FREELANCER, group, delivered, "Here is what I delivered.", thread_ts=root.ts)
    # The client takes the freelancer's file as evidence: the shortcut's form names the case and the file.
    assert bot.user(CLIENT).message_shortcut(shared, "add_as_evidence").status == 200
    form = bot.standin.latest_view(CLIENT)
    assert f"For case {case_id}" in text_of(form["blocks"])
    assert "final-logo.svg" in text_of(form["blocks"])
    answer = bot.user(CLIENT).submit(form, {"Description": "What we got.", "Who sees it": "Both sides"})
    assert answer.json["response_action"] == "update"
    read_files(bot)
    [piece] = pieces(bot, case_id)
    assert [(f["name"], f["owner"]) for f in piece.files] == [("final-logo.svg", FREELANCER)]
    assert piece.author == CLIENT


def test_add_as_evidence_from_the_dm_with_the_app_asks_which_case(bot):
    case_id = disputed(bot)
    mine = bot.standin.add_file(CLIENT, "receipt.pdf", b"%PDF-1.7 receipt")
    shared = bot.standin.share_file(CLIENT, bot.standin.dm_channel(CLIENT), mine, "for my case")
    bot.user(CLIENT).message_shortcut(shared, "add_as_evidence")
    form = bot.standin.latest_view(CLIENT)
    bot.user(CLIENT).submit(form, {"Case": case_id, "Who sees it": "The mediator only"})
    read_files(bot)
    [piece] = pieces(bot, case_id)
    assert (piece.visibility, piece.files[0]["name"]) == ("mediator_only", "receipt.pdf")


@pytest.mark.parametrize(
    ("where", "problem"),
    [
        pytest.param("no-file", "That message has no file.", id="no-file"),
        pytest.param("elsewhere", "takes a file shared in a case's thread, or in your DM", id="another-channel"),
    ],
)
def test_add_as_evidence_refuses_a_message_without_a_file_or_outside_a_case(bot, where, problem):
    disputed(bot)
    if where == "no-file":
        message = bot.standin.channel_messages(bot.standin.dm_channel(CLIENT, FREELANCER))[0]
    else:
        file = bot.standin.add_file(CLIENT, "notes.txt", b"notes")
        message = bot.standin.share_file(CLIENT, "C0RANDOM", file, "in another channel")
    assert bot.user(CLIENT).message_shortcut(message, "add_as_evidence").status == 200
    bot.drain()
    assert problem in bot.standin.responses[-1]["text"]


def test_a_file_edited_or_deleted_in_slack_after_it_was_added_is_said_so_where_it_was_shown_once(bot):
    case_id = escalated(bot)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Add evidence")
    attach(bot, CLIENT, {"Who sees it": "Both sides"}, ("brief.pdf", BRIEF), ("chat.png", SCREEN))
    read_files(bot)
    brief, chat = (
        next(f for f in bot.standin.files.values() if f.name == name and f.user == CLIENT)
        for name in ("brief.pdf", "chat.png")
    )
    client = bot.user(CLIENT)
    assert client.edit_file(brief.id, BRIEF + b"a line added later\n").status == 200
    assert client.delete_file(chat.id).status == 200
    read_files(bot)
    group = bot.standin.dm_channel(CLIENT, FREELANCER)
    [root] = bot.standin.channel_messages(group)
    the_card = card(bot, case_id)
    for channel, ts in ((group, root.ts), (the_card.channel, the_card.ts)):
        said = "\n".join(text_of(m.blocks) for m in bot.standin.replies(channel, ts))
        assert "brief.pdf (evidence #1, from the client) was changed in Slack after it was added" in said
        assert "chat.png (evidence #1, from the client) was removed in Slack after it was added" in said
    # Said once: another edit changes nothing more; the copies stay as the files were added.
    before = len(bot.standin.replies(group, root.ts))
    client.edit_file(brief.id, b"edited again")
    read_files(bot)
    assert len(bot.standin.replies(group, root.ts)) == before
    assert copies_in(bot, group, root.ts) == {"brief.pdf": BRIEF, "chat.png": SCREEN}
    with bot.instance.runtime.sessions() as session:
        found = dict(session.execute(select(EvidenceFileRow.file_id, EvidenceFileRow.found)).all())
    assert found == {brief.id: "changed", chat.id: "removed"}


def test_a_file_event_about_a_file_that_is_no_evidence_queues_nothing(bot):
    disputed(bot)
    elsewhere = bot.standin.add_file(CLIENT, "holiday.jpg", b"\xff\xd8\xff a photo")
    assert bot.user(CLIENT).edit_file(elsewhere["id"], b"\xff\xd8\xff another").status == 200
    assert bot.count(OutboxRow, surface="file_recheck") == 0


def test_slack_failing_while_a_copy_is_made_retries_through_the_outbox_and_copies_once(bot):
    case_id = disputed(bot)
    click(bot, CLIENT, dm(bot, CLIENT, case_id), "Add evidence")
    attach(bot, CLIENT, {"Who sees it": "Both sides"}, ("brief.pdf", BRIEF))
    bot.standin.fail("files.completeUploadExternal", 503)
    read_files(bot)
    group = bot.standin.dm_channel(CLIENT, FREELANCER)
    [root] = bot.standin.channel_messages(group)
    assert copies_in(bot, group, root.ts) == {}
    with bot.instance.runtime.sessions() as session:
        [row] = session.scalars(select(OutboxRow).where(OutboxRow.surface == "file_copy")).all()
        assert (row.status, row.attempts) == ("pending", 1)
        row.next_attempt_at = bot.clock.now  # its back-off over
        session.commit()
    bot.drain()
    assert copies_in(bot, group, root.ts) == {"brief.pdf": BRIEF}
