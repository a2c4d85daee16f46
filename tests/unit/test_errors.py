"""The edge's one error path (``bot.handlers.errors.on_error``): whatever fails, the person is told in the place
they are looking, and the operator can find the failure by the reference the person quotes."""

import json
import logging
import re

from bot.domain.errors import CaseNotFound
from bot.handlers.errors import on_error
from tests.slack_rules import view_problems

FORM = {
    "type": "view_submission",
    "team": {"id": "T0001"},
    "user": {"id": "U0CLIENT"},
    "view": {
        "id": "V1",
        "type": "modal",
        "callback_id": "refund_modal",
        "title": {"type": "plain_text", "text": "Ask for a refund"},
    },
}
COMMAND = {"command": "/refund", "text": "status R-1", "team_id": "T0001", "user_id": "U0CLIENT"}


def reference(text: str) -> str:
    found = re.search(r"\(ref (E-[0-9A-F]{6})\); nothing was changed", text)
    assert found, text
    return found.group(1)


def test_an_unexpected_error_in_a_form_replaces_it_with_a_notice_and_a_reference(caplog):
    with caplog.at_level(logging.ERROR, "refundbot.handlers"):
        answer = on_error(RuntimeError("database is locked"), FORM, None)
    assert answer.status == 200
    body = json.loads(answer.body)
    assert body["response_action"] == "update"
    assert view_problems(body["view"], "modal") == []
    assert body["view"]["title"]["text"] == "Ask for a refund"
    ref = reference(body["view"]["blocks"][0]["text"]["text"])
    [record] = caplog.records
    assert ref in record.getMessage()
    assert record.exc_info[1].args == ("database is locked",)  # the operator sees the cause; the person does not
    assert "database" not in json.dumps(body)


def test_each_failure_gets_its_own_reference(caplog):
    first = json.loads(on_error(RuntimeError("x"), COMMAND, None).body)["text"]
    second = json.loads(on_error(RuntimeError("x"), COMMAND, None).body)["text"]
    assert reference(first) != reference(second)


def test_a_slash_command_is_answered_privately(caplog):
    body = json.loads(on_error(RuntimeError("boom"), COMMAND, None).body)
    assert body["response_type"] == "ephemeral"
    reference(body["text"])


def test_a_refusal_from_a_slash_command_is_worded_not_logged_as_a_failure(caplog):
    with caplog.at_level(logging.ERROR, "refundbot.handlers"):
        body = json.loads(on_error(CaseNotFound("R-ZZZZZZ"), COMMAND, None).body)
    assert body["response_type"] == "ephemeral"
    assert "R-ZZZZZZ" in body["text"]
    assert "Something went wrong" not in body["text"]
    assert caplog.records == []


def test_an_event_with_nowhere_to_answer_is_acknowledged_not_failed(caplog):
    answer = on_error(RuntimeError("boom"), {"type": "event_callback", "event": {"type": "app_home_opened"}}, None)
    assert (answer.status, answer.body) == (200, "")
