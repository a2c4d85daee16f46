"""Files as evidence (issue 37) end to end through the Slack stand-in: attached in the Add evidence form, read once
with the bot token and fingerprinted off the request path, then recorded whole or refused under the form's files
with nothing kept; each bad input answered where the person looks."""

import hashlib

import pytest
from sqlalchemy import select

from bot.services.evidence import AddEvidence, record_files
from storage.tables import EvidenceRow, OutboxRow
from tests.e2e.conftest import CLIENT, FREELANCER, Bot
from tests.e2e.test_escalation import ask_for_refund, card, click, decline, dm, escalated, submit, thread_text
from tests.slack_standin import text_of

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


def test_both_parties_add_files_each_recorded_with_its_fingerprint(bot):
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
    assert "brief.pdf" in thread_text(bot)
    the_card = card(bot, case_id)
    card_thread = "\n".join(text_of(m.blocks) for m in bot.standin.replies(the_card.channel, the_card.ts))
    assert "chat.png" in card_thread

    # The freelancer's file for the mediator only: named in the card's thread, never where the client looks.
    click(bot, FREELANCER, dm(bot, FREELANCER, case_id), "Add evidence")
    attach(bot, FREELANCER, {"Who sees it": "The mediator only"}, ("invoice-draft.pdf", b"%PDF-1.4 draft"))
    read_files(bot)
    assert len(pieces(bot, case_id)) == 2
    card_thread = "\n".join(text_of(m.blocks) for m in bot.standin.replies(the_card.channel, the_card.ts))
    assert "invoice-draft.pdf" in card_thread
    assert "invoice-draft.pdf" not in thread_text(bot)
    assert not [m for m in bot.standin.dms(CLIENT) if "invoice-draft.pdf" in text_of(m.blocks)]


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
        form = session.scalars(select(OutboxRow).where(OutboxRow.surface == "file_intake")).all()[-1].view
    read_files(bot)
    assert [f["name"] for f in pieces(bot, case_id)[0].files] == ["brief.pdf"]
    # A reader that died before settling its row is followed by another: the piece is not recorded twice.
    assert record_files(bot.instance.workers.deps, AddEvidence.model_validate(form), ()) is None
    assert len(pieces(bot, case_id)) == 1
