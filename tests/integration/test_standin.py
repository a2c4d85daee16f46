"""The Slack stand-in is as strict as Slack's published rules: each rule it models refuses what breaks it, the
way Slack answers, and records the violation with its path, so the test that caused it fails."""

import urllib.error
import urllib.request

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from tests.slack_rules import command_answer_problems, form_answer_problems
from tests.slack_standin import TRIGGER_LIFETIME
from tests.slack_standin import standin as standin  # the fixture

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "A case"}}
INPUT = {
    "type": "input",
    "block_id": "reason",
    "label": {"type": "plain_text", "text": "Reason"},
    "element": {"type": "plain_text_input", "action_id": "reason_input"},
}


def modal(**changes):
    return {"type": "modal", "title": {"type": "plain_text", "text": "Request a refund"}, "blocks": [SECTION]} | changes


@pytest.fixture
def slack(standin):
    return WebClient(token="xoxb-test", base_url=standin.api_url, retry_handlers=[])


def refused(call, error: str) -> None:
    with pytest.raises(SlackApiError) as caught:
        call()
    assert caught.value.response["error"] == error


@pytest.mark.parametrize(
    ("view", "problem"),
    [
        (
            modal(blocks=[INPUT]),
            "views.open: view.submit: required because the modal contains an input block (at view.blocks[0])",
        ),
        (
            modal(title={"type": "plain_text", "text": "x" * 25}),
            "views.open: view.title.text: text is 25 characters long; the maximum is 24",
        ),
        (
            modal(submit={"type": "plain_text", "text": "Send this refund request!"}, blocks=[INPUT]),
            "views.open: view.submit.text: text is 25 characters long; the maximum is 24",
        ),
        (
            modal(private_metadata="x" * 3001),
            "views.open: view.private_metadata: 3001 characters long; the maximum is 3000",
        ),
        (modal(blocks=[SECTION] * 101), "views.open: view.blocks: 101 blocks; a modal allows at most 100"),
        (
            modal(blocks=[dict(SECTION, block_id="same"), dict(SECTION, block_id="same")]),
            "views.open: view.blocks[1].block_id: duplicate block_id 'same' (first used at view.blocks[0])",
        ),
    ],
)
def test_a_view_slack_would_refuse_is_refused_and_named(standin, slack, view, problem):
    refused(lambda: slack.views_open(trigger_id=standin.issue_trigger("U1"), view=view), "invalid_arguments")
    assert problem in standin.take_violations()


def test_a_trigger_opens_one_view_within_three_seconds(standin, slack):
    trigger = standin.issue_trigger("U1")
    slack.views_open(trigger_id=trigger, view=modal())
    refused(lambda: slack.views_open(trigger_id=trigger, view=modal()), "expired_trigger_id")
    stale = standin.issue_trigger("U1")
    user, issued = standin.triggers[stale]
    standin.triggers[stale] = (user, issued - TRIGGER_LIFETIME - 0.1)
    refused(lambda: slack.views_open(trigger_id=stale, view=modal()), "expired_trigger_id")
    violations = standin.take_violations()
    assert any("was already used; a trigger opens one view" in v for v in violations)
    assert any("it expires after 3 s" in v for v in violations)


def test_views_update_with_a_stale_hash_fails_as_a_race_not_a_violation(standin, slack):
    opened = slack.views_open(trigger_id=standin.issue_trigger("U1"), view=modal())["view"]
    slack.views_update(view_id=opened["id"], hash=opened["hash"], view=modal())
    refused(lambda: slack.views_update(view_id=opened["id"], hash=opened["hash"], view=modal()), "hash_conflict")
    assert standin.take_violations() == []


def test_views_publish_holds_a_home_tab_to_its_rules(standin, slack):
    refused(lambda: slack.views_publish(user_id="U1", view=modal()), "invalid_arguments")
    refused(
        lambda: slack.views_publish(user_id="U1", view={"type": "home", "blocks": [SECTION] * 101}), "invalid_arguments"
    )
    assert standin.take_violations() == [
        "views.publish: view.type: must be 'home' here (got 'modal')",
        "views.publish: view.blocks: 101 blocks; a home allows at most 100",
    ]


def test_messages_need_a_text_fallback_fifty_blocks_at_most_and_buttons_of_2000(standin, slack):
    with pytest.warns(UserWarning, match="`text` argument is missing"):  # the SDK warns, and Slack's rule refuses
        refused(lambda: slack.chat_postMessage(channel="D1", blocks=[SECTION]), "invalid_blocks")
    refused(lambda: slack.chat_postMessage(channel="D1", text="t", blocks=[SECTION] * 51), "invalid_blocks")
    button = {"type": "button", "text": {"type": "plain_text", "text": "Answer"}, "action_id": "a", "value": "v" * 2001}
    refused(
        lambda: slack.chat_postMessage(channel="D1", text="t", blocks=[{"type": "actions", "elements": [button]}]),
        "invalid_blocks",
    )
    twice = {"type": "actions", "elements": [dict(button, value="1"), dict(button, value="2")]}
    refused(lambda: slack.chat_postEphemeral(channel="D1", user="U1", text="t", blocks=[twice]), "invalid_blocks")
    assert standin.take_violations() == [
        "chat.postMessage: text: a message with blocks needs a text fallback, for notifications and screen readers",
        "chat.postMessage: blocks: 51 blocks; a message allows at most 50",
        "chat.postMessage: blocks[0].elements[0].value: text is 2001 characters long; the maximum is 2000",
        "chat.postEphemeral: blocks[0].elements[1].action_id: duplicate action_id 'a' within its block "
        "(first used at blocks[0].elements[0])",
    ]


def test_chat_update_needs_the_messages_channel_id_not_a_user_id(standin, slack):
    posted = slack.chat_postMessage(channel="U1", text="hello")
    refused(lambda: slack.chat_update(channel="U1", ts=posted["ts"], text="changed"), "channel_not_found")
    assert standin.take_violations() == [
        "chat.update: channel: chat.update needs the channel id of the message, not 'U1'"
    ]


def test_a_response_url_takes_five_posts_and_only_if_slack_gave_it(standin):
    url = standin.issue_response_url()
    answers = [WebhookClient(url).send(text=f"answer {n}").status_code for n in range(6)]
    assert answers == [200] * 5 + [404]
    assert WebhookClient(f"{standin.url}/response/999").send(text="x").status_code == 404
    assert WebhookClient(standin.issue_response_url()).send(blocks=[SECTION]).status_code == 400
    assert [v.split(": ", 1)[1] for v in standin.take_violations()] == [
        "url: post 6; a response_url takes at most 5",
        "url: never issued by Slack",
        "text: a message with blocks needs a text fallback, for notifications and screen readers",
    ]


def test_what_an_app_answers_a_form_with_is_held_to_slacks_rules():
    submitted = modal(blocks=[INPUT, SECTION], submit={"type": "plain_text", "text": "Send"})
    assert form_answer_problems(None, submitted) == []
    assert (
        form_answer_problems({"response_action": "errors", "errors": {"reason": "Please give a reason."}}, submitted)
        == []
    )
    assert form_answer_problems({"response_action": "errors", "errors": {"amount": "x"}}, submitted) == [
        "(ack).errors.amount: not an input block of the submitted view (inputs: ['reason'])"
    ]
    assert form_answer_problems({"response_action": "close"}, submitted) == [
        "(ack).response_action: must be one of errors, update, push, clear (got 'close')"
    ]
    assert form_answer_problems({"response_action": "update", "view": modal(blocks=[INPUT])}, submitted) == [
        "(ack).view.submit: required because the modal contains an input block (at (ack).view.blocks[0])"
    ]
    assert command_answer_problems({"blocks": [SECTION], "response_type": "ephemeral"}) == [
        "(ack).text: a message with blocks needs a text fallback, for notifications and screen readers"
    ]
    assert command_answer_problems({"text": "ok", "response_type": "everyone"}) == [
        "(ack).response_type: must be ephemeral or in_channel (got 'everyone')"
    ]


def _download(url: str, token: str | None) -> tuple[int, str, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers.get("Content-Type"), response.read()
    except urllib.error.HTTPError as refused_download:
        return refused_download.code, refused_download.headers.get("Content-Type"), b""


def test_a_file_is_read_with_a_bot_token_of_its_workspace_and_anyone_else_gets_slacks_sign_in_page(standin, slack):
    attached = standin.add_file("U0CLIENT", "brief — v2.pdf", b"%PDF-1.7 the brief")
    found = slack.files_info(file=attached["id"])["file"]
    assert (found["name"], found["size"], found["mimetype"], found["user"]) == (
        "brief — v2.pdf",
        18,
        "application/pdf",
        "U0CLIENT",
    )
    assert _download(found["url_private_download"], "xoxb-test") == (200, "application/pdf", b"%PDF-1.7 the brief")
    for token in (None, "xoxp-a-person", "xapp-socket"):
        status, kind, body = _download(found["url_private_download"], token)
        assert (status, kind.split(";")[0]) == (200, "text/html")
        assert b"Sign in" in body
    standin.change_file(attached["id"], b"%PDF-1.7 another brief")
    assert _download(found["url_private_download"], "xoxb-test")[2] == b"%PDF-1.7 another brief"
    standin.delete_file(attached["id"])
    refused(lambda: slack.files_info(file=attached["id"]), "file_deleted")
    assert _download(found["url_private_download"], "xoxb-test")[0] == 404
    refused(lambda: slack.files_info(file="F0NOSUCH"), "file_not_found")


def test_another_workspaces_file_is_not_found(standin, slack):
    theirs = standin.add_file("U0OTHER", "notes.txt", b"theirs", team="T0OTHER")
    refused(lambda: slack.files_info(file=theirs["id"]), "file_not_found")
    status, kind, _ = _download(theirs["url_private_download"], "xoxb-test")
    assert (status, kind.split(";")[0]) == (200, "text/html")


def test_an_external_upload_shares_a_copy_in_a_thread(standin, slack):
    root = slack.chat_postMessage(channel="G0CASE", text="Case R-1")
    uploaded = slack.files_upload_v2(
        content=b"\x89PNG a screenshot",
        filename="screen.png",
        title="screen.png",
        channel="G0CASE",
        thread_ts=root["ts"],
    )
    copy = uploaded["file"]["id"]
    (shared,) = standin.replies("G0CASE", root["ts"])
    assert [(f["id"], f["name"]) for f in shared.files] == [(copy, "screen.png")]
    assert standin.file_content(copy) == b"\x89PNG a screenshot"
    assert slack.files_info(file=copy)["file"]["groups"] == ["G0CASE"]
    refused(
        lambda: slack.files_completeUploadExternal(files=[{"id": copy, "title": "again"}], channel_id="G0CASE"),
        "file_not_found",
    )
