"""The sandbox's server (``bot.sandbox``): the real app behind it, its own settings whatever the environment says, a
page API that only its own page on loopback can use, and start-up refusing to run beside a real workspace."""

import json
import os
import socket
import subprocess
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.sandbox.standin.state import Message
from bot.sandbox.web import running
from bot.sandbox.world import CLIENT, FREELANCER, MEDIATORS_CHANNEL
from storage.tables import ContractRow
from tests.conftest import REFUNDBOT

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sandbox():
    # Settings of a real install in the environment: the sandbox must use none of them.
    real = {"DATABASE_URL": "postgresql://nobody@db.invalid/real", "PAYMENTS_WEBHOOK_URL": "https://pay.invalid/hook"}
    saved = {name: os.environ.get(name) for name in real}
    os.environ.update(real)
    try:
        with running() as (started, url):
            yield started, url.removesuffix("/sandbox")
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def send(url: str, path: str, body: object = None, headers: dict[str, str] | None = None) -> tuple[int, object]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    sent = {"Content-Type": "application/json"} | (headers or {})
    request = urllib.request.Request(url + path, data=data, headers=sent, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            raw = answer.read()
            return answer.status, json.loads(raw) if answer.headers.get_content_type() == "application/json" else raw
    except urllib.error.HTTPError as refused:
        raw = refused.read()
        return refused.code, json.loads(raw) if refused.headers.get_content_type() == "application/json" else raw


def test_the_sandbox_runs_on_its_own_file_with_the_demo_and_sends_no_payouts_whatever_the_environment_says(sandbox):
    started, url = sandbox
    settings = started.runtime.settings
    assert settings.database_url.startswith("sqlite:///")
    assert "refundbot-sandbox" in settings.database_url
    assert (settings.payments_webhook_url, settings.slack_api_url) == (None, started.standin.api_url)
    assert url.startswith("http://127.0.0.1:")
    with started.runtime.sessions() as session:
        pairs = {tuple(row) for row in session.execute(select(ContractRow.client_id, ContractRow.freelancer_id))}
    assert pairs == {(CLIENT.id, FREELANCER.id)}  # every demo contract is between the two people on the page


def test_the_page_and_its_files_are_served_and_nothing_else_of_the_folder(sandbox):
    _, url = sandbox
    status, page = send(url, "/sandbox")
    assert status == 200
    assert b"refund-bot <span>sandbox</span>" in page
    assert send(url, "/sandbox/static/blockkit.js")[0] == 200
    assert send(url, "/sandbox/static/../world.py")[0] == 404
    assert send(url, "/sandbox/static/world.py")[0] == 404


def test_the_app_behind_it_still_refuses_an_unsigned_request(sandbox):
    _, url = sandbox
    status, _ = send(url, "/slack/events", b"payload=%7B%7D", {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 401


def test_only_the_sandboxs_own_page_on_loopback_may_act(sandbox):
    _, url = sandbox
    port = url.rsplit(":", 1)[1]
    act = {"user": CLIENT.id, "do": "command", "text": "help"}
    assert send(url, "/sandbox/api/state", headers={"Host": f"refunds.example.com:{port}"})[0] == 421  # rebinding
    assert send(url, "/sandbox/api/act", act, {"Origin": "https://elsewhere.example"})[0] == 403
    assert (
        send(url, "/sandbox/api/act", b"user=U0CLIENT01", {"Content-Type": "application/x-www-form-urlencoded"})[0]
        == 415
    )
    assert send(url, "/sandbox/api/act", b"[1, 2]") == (400, {"error": "send a JSON object of at most 16 MiB"})
    assert send(url, "/sandbox/api/act", b"x" * 300_000)[0] == 400
    assert send(url, "/sandbox/api/act", act, {"Origin": f"http://127.0.0.1:{port}"})[0] == 200


def test_what_cannot_be_done_is_said_and_changes_nothing(sandbox):
    started, url = sandbox
    before = started.snapshot()["version"]
    assert send(url, "/sandbox/api/act", {"user": "U0STRANGER", "do": "home"}) == (
        400,
        {"error": "'U0STRANGER' is not one of the sandbox's people"},
    )
    assert send(url, "/sandbox/api/act", {"user": CLIENT.id, "do": "fly"}) == (400, {"error": "unknown action 'fly'"})
    gone = {"user": CLIENT.id, "do": "submit", "view_id": "V404", "values": {}}
    assert send(url, "/sandbox/api/act", gone) == (400, {"error": "that form is no longer open"})
    click = {"user": FREELANCER.id, "do": "click", "channel": "D0", "ts": "1.0", "block_id": "b", "action_id": "a"}
    assert send(url, "/sandbox/api/act", click) == (400, {"error": "that message is not there"})
    # A message the person cannot see (the mediators' channel, for a party) cannot be pressed either.
    card = Message(MEDIATORS_CHANNEL, "2.0", "Case card", [{"type": "actions", "block_id": "b", "elements": []}])
    started.standin.messages[(card.channel, card.ts)] = card
    hidden = click | {"user": CLIENT.id, "channel": card.channel, "ts": card.ts}
    assert send(url, "/sandbox/api/act", hidden) == (400, {"error": "that message is not there"})
    assert send(url, "/sandbox/api/clock", {"hours": -1}) == (400, {"error": "move the clock forward by some time"})
    assert send(url, "/sandbox/api/clock", {"hours": "soon"})[0] == 400
    assert started.snapshot()["version"] == before


def test_a_command_is_answered_to_its_sender_alone_and_the_clock_moves_forward(sandbox):
    started, url = sandbox
    assert send(url, "/sandbox/api/act", {"user": CLIENT.id, "do": "command", "text": "help"}) == (200, {"status": 200})
    seen = {person["id"]: person for person in started.snapshot()["people"]}
    assert "/refund list" in json.dumps(seen[CLIENT.id]["private"])
    assert seen[FREELANCER.id]["private"] == []
    before = started.clock()
    status, moved = send(url, "/sandbox/api/clock", {"hours": 24})
    assert status == 200
    assert moved["now"] >= (before.replace(microsecond=0) + timedelta(hours=24)).isoformat()


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "POLICY_"))}
    return subprocess.run(
        [str(REFUNDBOT), "sandbox", *args], env=clean | env, capture_output=True, text=True, timeout=60, cwd=ROOT
    )


def test_start_up_refuses_to_run_beside_a_real_workspaces_credentials_unless_told():
    refused = run(SLACK_BOT_TOKEN="xoxb-real", SLACK_SIGNING_SECRET="real")
    assert refused.returncode == 2
    assert "SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET are set here, a real workspace's credentials" in refused.stderr
    assert "--ignore-slack-credentials" in refused.stderr
    with socket.socket() as taken:  # told to go on, it gets as far as the port (taken here, so it stops there)
        taken.bind(("127.0.0.1", 0))
        port = str(taken.getsockname()[1])
        told = run("--ignore-slack-credentials", "--port", port, SLACK_BOT_TOKEN="xoxb-real")
    assert told.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in told.stderr


def test_start_up_says_when_the_port_is_taken():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        answer = run("--port", str(port))
    assert answer.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in answer.stderr
