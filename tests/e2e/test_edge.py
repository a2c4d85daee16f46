"""The edge holds (issue 13): what an attacker, a broken client or a stale message sends gets a quick, clear
answer and a short line in the log, never a traceback, never its body in the log, and never a 500."""

import hashlib
import hmac
import http.client
import json
import logging
import socket
import time
import urllib.parse

import pytest

from bot.blocks import ids
from bot.edge import MAX_BODY
from storage.tables import CaseRow, LedgerRow
from tests.e2e.conftest import CLIENT, FREELANCER, SECRET, Bot, running_bot, told
from tests.e2e.test_escalation import ask_for_refund, click, decline, dm, escalated
from tests.slack_standin import TEAM, text_of

MARKER = "BODY-MARKER-7f3a"


@pytest.fixture
def edge(standin, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    with running_bot(f"sqlite:///{tmp_path / 'refundbot.db'}", standin) as running:
        yield running


def _address(bot: Bot) -> tuple[str, int]:
    parsed = urllib.parse.urlsplit(bot.url)
    return parsed.hostname, parsed.port


def send(bot: Bot, body: bytes, headers: dict[str, str], path: str = "/slack/events") -> tuple[int, str]:
    connection = http.client.HTTPConnection(*_address(bot), timeout=10)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def signed(body: bytes, stamp: str | None = None) -> dict[str, str]:
    stamp = stamp or str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
    }


def unsigned(stamp: str = "1700000000") -> dict[str, str]:
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": "v0=" + "0" * 64,
    }


def no_tracebacks(caplog) -> None:
    assert not [r for r in caplog.records if r.exc_info], "a traceback reached the log"
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        pytest.param(f"command=%2Frefund&text={MARKER}".encode(), unsigned("12:00 yesterday"), 401, id="garbled-stamp"),
        pytest.param(f"command=%2Frefund&text={MARKER}".encode(), unsigned("17²³"), 401, id="superscript-digits"),
        pytest.param(f"payload={MARKER}".encode(), unsigned(), 401, id="unsigned-not-json"),
        pytest.param(MARKER.encode() + b"\xff\xfe\x80", unsigned(), 400, id="not-utf8"),
        pytest.param(b"payload=%7Bnot+json" + MARKER.encode(), None, 400, id="signed-not-json"),
        pytest.param(b"payload=%5B1%2C2%5D", None, 400, id="signed-json-list"),
        pytest.param(b"\xc3\x28" + MARKER.encode(), None, 400, id="signed-not-utf8"),
    ],
)
def test_unreadable_or_unsigned_bodies_are_refused_in_one_line_without_the_body(edge, caplog, body, headers, status):
    answer, text = send(edge, body, headers or signed(body))
    assert answer == status
    assert text in ("invalid request", "bad request")
    refused = [r for r in caplog.records if r.name == "refundbot.edge"]
    assert len(refused) >= 1
    assert all(len(r.getMessage()) < 200 for r in refused)
    assert MARKER not in caplog.text
    no_tracebacks(caplog)


def test_a_body_larger_than_any_slack_payload_is_refused_before_it_is_sent(edge, caplog):
    """Only the headers go out: the answer comes without the server waiting for 10 MB."""
    with socket.create_connection(_address(edge), timeout=5) as link:
        link.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 10000000\r\n\r\n"
        )
        answer = link.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 413")
    no_tracebacks(caplog)


def test_a_body_without_a_length_is_cut_off_once_it_grows_past_the_bound(edge, caplog):
    with socket.create_connection(_address(edge), timeout=10) as link:
        link.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"a" * 65536
        try:
            for _ in range(MAX_BODY // len(chunk) + 2):
                link.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass  # the server closed the connection as soon as it had answered: that is the point
        answer = link.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 413")
    no_tracebacks(caplog)


def test_a_flood_of_refused_requests_fills_the_log_by_lines_not_bodies(edge, caplog):
    body = ("payload=" + MARKER * 50_000).encode()  # 850 KB each
    for _ in range(40):
        assert send(edge, body, unsigned())[0] == 401
    refused = [r for r in caplog.records if r.name == "refundbot.edge"]
    assert len(refused) == 20  # then counted, once a minute
    assert len(caplog.text) < 6_000
    assert MARKER not in caplog.text


def test_the_largest_form_our_surfaces_make_is_far_inside_the_bound(edge, caplog):
    """Why MAX_BODY is enough: the Add evidence form (the largest we send), every text input filled to its
    max_length in Cyrillic (6 bytes a letter once URL-encoded), as Slack would post it back."""
    case_id = escalated(edge)
    form = open_evidence_form(edge, case_id)
    inputs = [b for b in form["blocks"] if b["type"] == "input" and b["element"]["type"] == "plain_text_input"]
    values = {b["label"]["text"]: "Ж" * b["element"].get("max_length", 3000) for b in inputs}
    values["Links"] = " ".join(["https://files.example/д"] * 100)[: _max_length(form, "Links")]
    client = edge.user(CLIENT)
    assert client.submit(form, values).status == 200
    assert 0 < client.last_sent < MAX_BODY / 4
    no_tracebacks(caplog)


def open_evidence_form(bot: Bot, case_id: str) -> dict:
    bot.drain()
    answer = bot.user(CLIENT).click(dm(bot, CLIENT, case_id), "Add evidence")
    assert answer.status == 200
    return bot.standin.latest_view(CLIENT)


def _max_length(form: dict, label: str) -> int:
    [block] = [b for b in form["blocks"] if b["type"] == "input" and b["label"]["text"] == label]
    return block["element"].get("max_length", 3000)


# --- signed, but not what our surfaces send -------------------------------------------------------------------


def post_payload(bot: Bot, payload: dict) -> tuple[int, str]:
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    return send(bot, body, signed(body))


def click_payload(bot: Bot, **changes) -> dict:
    bot.drain()
    message = bot.standin.dms(FREELANCER)[0]
    approve = next(
        e for b in message.blocks if b["type"] == "actions" for e in b["elements"] if e.get("action_id") == ids.APPROVE
    )
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM},
        "user": {"id": FREELANCER},
        "trigger_id": bot.standin.issue_trigger(FREELANCER),
        "response_url": bot.standin.issue_response_url(),
        "actions": [{"type": "button", "action_id": ids.APPROVE, "value": approve["value"], "action_ts": "1.0"}],
        "channel": {"id": message.channel},
        "message": {"ts": message.ts, "blocks": message.blocks},
    }
    for key, value in changes.items():
        if value is None:
            payload.pop(key)
        else:
            payload[key] = value
    return payload


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"user": None}, id="no-user"),
        pytest.param({"team": None}, id="no-team"),
        pytest.param({"actions": None}, id="no-actions"),
        pytest.param({"actions": []}, id="empty-actions"),
        pytest.param({"user": "U0FREELA01"}, id="user-not-an-object"),
        pytest.param({"actions": [{"action_id": ids.APPROVE}]}, id="no-button-value"),
    ],
)
def test_a_signed_click_missing_what_we_read_is_refused_politely(edge, caplog, changes):
    case_id = ask_for_refund(edge, "Logo redesign", "Milestone “Concepts”", "100.00")
    status, _ = post_payload(edge, click_payload(edge, **changes))
    assert status == 200
    warned = [r for r in caplog.records if r.levelno == logging.WARNING and "payload" in r.getMessage()]
    assert warned, caplog.text
    no_tracebacks(caplog)
    told(edge, "could not read this request")  # told privately, through the click's response_url
    edge.drain()
    assert edge.case(case_id).state == "awaiting_freelancer"  # nothing changed
    assert edge.count(LedgerRow) == 0


def submission(bot: Bot, callback_id: str, private_metadata: str, **view) -> dict:
    return {
        "type": "view_submission",
        "team": {"id": TEAM},
        "user": {"id": CLIENT},
        "trigger_id": bot.standin.issue_trigger(CLIENT),
        "view": {
            "id": "V0FORGED",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "title": {"type": "plain_text", "text": "Add evidence"},
            "state": {"values": {}},
            **view,
        },
    }


@pytest.mark.parametrize(
    ("callback_id", "metadata"),
    [
        pytest.param("evidence_modal", "{not json", id="metadata-not-json"),
        pytest.param("evidence_modal", "[1, 2]", id="metadata-not-an-object"),
        pytest.param("evidence_modal", "{}", id="metadata-without-case"),
        pytest.param("ask_again_modal", '{"case": "R-AAAAAA", "route": "small_claims_court"}', id="unknown-route"),
        pytest.param("decline_modal", "", id="no-case-id"),
    ],
)
def test_a_signed_form_with_metadata_we_never_wrote_is_answered_in_the_form(edge, caplog, callback_id, metadata):
    status, text = post_payload(edge, submission(edge, callback_id, metadata))
    assert status == 200
    answer = json.loads(text)
    assert answer["response_action"] == "update"
    assert "could not read this request" in text_of(answer["view"]["blocks"])
    assert [r for r in caplog.records if r.levelno == logging.WARNING and "could not be read" in r.getMessage()]
    no_tracebacks(caplog)


def test_a_signed_submission_without_its_view_is_answered_politely(edge, caplog):
    payload = submission(edge, "evidence_modal", "{}")
    del payload["view"]
    status, text = post_payload(edge, payload)
    assert status == 200
    assert "could not read this request" in text
    no_tracebacks(caplog)


def test_a_signed_command_without_its_person_is_answered_privately(edge, caplog):
    body = urllib.parse.urlencode({"command": "/refund", "text": "", "team_id": TEAM, "trigger_id": "1.2.x"}).encode()
    status, text = send(edge, body, signed(body))
    assert status == 200
    assert json.loads(text)["response_type"] == "ephemeral"
    assert "could not read this request" in json.loads(text)["text"]
    no_tracebacks(caplog)


def test_a_signed_event_without_its_person_is_acknowledged_and_noted(edge, caplog):
    body = json.dumps(
        {"type": "event_callback", "team_id": TEAM, "event": {"type": "app_home_opened", "tab": "home"}}
    ).encode()
    status, _ = send(edge, body, signed(body) | {"Content-Type": "application/json"})
    assert status == 200
    assert "app_home_opened names no user" in caplog.text
    no_tracebacks(caplog)


def test_other_paths_and_methods_are_not_found(edge):
    assert send(edge, b"", {}, path="/admin")[0] == 404
    connection = http.client.HTTPConnection(*_address(edge), timeout=5)
    connection.request("GET", "/slack/events")
    assert connection.getresponse().status == 405
    connection.close()


# --- numbers and text at the edge -----------------------------------------------------------------------------


def refund_form(bot: Bot) -> dict:
    client = bot.user(CLIENT)
    client.command("")
    client.choose(bot.standin.latest_view(CLIENT), "Contract", "Logo redesign")
    client.choose(bot.standin.latest_view(CLIENT), "Item", "Milestone “Concepts”")
    return bot.standin.latest_view(CLIENT)


@pytest.mark.parametrize(
    ("amount", "reason", "block", "says"),
    [
        ("1e999999999", "Off-brief.", ids.AMOUNT_BLOCK, "not an amount"),
        ("249.999999999999999999999999999", "Off-brief.", ids.AMOUNT_BLOCK, "decimal"),
        ("1_0", "Off-brief.", ids.AMOUNT_BLOCK, "not an amount"),
        ("1,000", "Off-brief.", ids.AMOUNT_BLOCK, "not an amount"),
        ("10.00", "\u200b\u200b\u200b\u2060\ufeff", ids.REASON_BLOCK, "reason"),
    ],
)
def test_amounts_and_reasons_nobody_could_mean_are_field_errors(edge, caplog, amount, reason, block, says):
    answer = edge.user(CLIENT).submit(refund_form(edge), {"Amount (USD)": amount, "Reason": reason})
    assert answer.status == 200
    assert answer.json["response_action"] == "errors"
    assert says in answer.json["errors"][block].lower()
    assert edge.count(CaseRow) == 0
    no_tracebacks(caplog)


@pytest.mark.parametrize("hours", ["1_0", "1e3", "２", "99999"])
def test_hours_nobody_could_mean_are_told_under_the_hours_field(edge, hours):
    case_id = ask_for_refund(edge, "Backend work", "Week of 16 Nov 2026", "100.00")
    decline(edge, case_id)
    click(edge, CLIENT, dm(edge, CLIENT, case_id), "Request again")
    values = {"Disputed hours": hours, "and minutes": "0", "Reasons": "No standup.", "Certification": "I certify"}
    answer = edge.user(CLIENT).submit(edge.standin.latest_view(CLIENT), values)
    assert answer.json["response_action"] == "errors"
    assert list(answer.json["errors"]) == [ids.HOURS_BLOCK]
    assert edge.case(case_id).stage == "request"
