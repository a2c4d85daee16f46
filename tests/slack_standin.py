"""The e2e tests' Slack, and the ``standin`` fixture that starts it for a test (its conftest or module imports it):
the product's stand-in (``bot.sandbox.standin``) held to Slack's published rules
(``tests/slack_rules.py``), and Socket Mode's side of Slack, which only the tests need (over ``websockets``, a
development dependency)."""

from __future__ import annotations

import json
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.sync.server import serve as ws_serve

from bot.sandbox.standin import SlackStandIn as ProductStandIn

# What the tests import from here:
from bot.sandbox.standin.people import (  # noqa: F401
    Answer,
    SlackUser,
    button_labels,
    find_button,
    find_input,
    find_option,
    text_of,
)
from bot.sandbox.standin.state import TEAM, TRIGGER_LIFETIME, Limits, Message  # noqa: F401
from tests.slack_rules import SLACK_RULES


class SlackStandIn(ProductStandIn):
    """Slack's Web API as the tests meet it: every payload held to Slack's rules, and Socket Mode on demand."""

    def __init__(self) -> None:
        super().__init__(SLACK_RULES)
        self.socket: SocketModeLink | None = None

    def stop(self) -> None:
        super().stop()
        if self.socket is not None:
            self.socket.stop()

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.socket is None:
            self.socket = SocketModeLink().start()
        return {"ok": True, "url": self.socket.url}


class SocketModeLink:
    """Slack's side of Socket Mode: the WebSocket the app connects to, over which Slack pushes envelopes and
    the app acks each one (with a response payload where Slack accepts one)."""

    def __init__(self) -> None:
        self.connections: list[Any] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self.arrived = threading.Condition()
        self.server = ws_serve(self._session, "127.0.0.1", 0)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/link/?ticket=standin"

    def start(self) -> SocketModeLink:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()

    def _session(self, connection: Any) -> None:
        connection.send(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0REFUND"}}))
        with self.arrived:
            self.connections.append(connection)
            self.arrived.notify_all()
        for raw in connection:
            ack = json.loads(raw)
            with self.arrived:
                self.acks[ack["envelope_id"]] = ack
                self.arrived.notify_all()

    def push(self, kind: str, payload: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        """Send one envelope to the connected app and wait for its ack."""
        envelope_id = str(uuid.uuid4())
        with self.arrived:
            if not self.arrived.wait_for(lambda: self.connections, timeout):
                raise AssertionError("the app never connected over Socket Mode")
            connection = self.connections[-1]
        connection.send(
            json.dumps(
                {
                    "envelope_id": envelope_id,
                    "type": kind,
                    "payload": payload,
                    "accepts_response_payload": kind != "events_api",
                    "retry_attempt": 0,
                    "retry_reason": "",
                }
            )
        )
        with self.arrived:
            if not self.arrived.wait_for(lambda: envelope_id in self.acks, timeout):
                raise AssertionError(f"the app did not ack envelope {envelope_id}")
            return self.acks.pop(envelope_id)


class SocketModeUser(SlackUser):
    """The same person, reaching the app over Socket Mode: each request travels as an envelope instead."""

    def __init__(self, standin: SlackStandIn, user_id: str, team: str = TEAM):
        super().__init__(standin, "socket-mode", "unused", user_id, team)

    def post(self, body: str, content_type: str = "application/x-www-form-urlencoded", **_: Any) -> Answer:
        if self.standin.socket is None:
            raise AssertionError("the app has not opened a Socket Mode connection")
        if "json" in content_type:
            kind, payload = "events_api", json.loads(body)
        else:
            form = {k: v[0] for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items()}
            kind, payload = (
                ("interactive", json.loads(form["payload"])) if "payload" in form else ("slash_commands", form)
            )
        ack = self.standin.socket.push(kind, payload)
        answered = ack.get("payload")
        return Answer(200, json.dumps(answered) if answered else "")


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    """The local Slack. Whatever the test made the app send that breaks Slack's published rules fails it."""
    server = SlackStandIn().start()
    yield server
    server.stop()
    if broken := server.take_violations():
        pytest.fail("the app broke Slack's rules:\n" + "\n".join(broken), pytrace=False)
