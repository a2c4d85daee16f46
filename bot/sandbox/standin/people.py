"""People in the stand-in's workspace: what they type and click reaches the app signed as Slack signs it, and they
find buttons, inputs and options by their visible labels, as a person would."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_sdk.signature import SignatureVerifier

from bot.sandbox.standin.state import TEAM, Message, NotShown

if TYPE_CHECKING:
    from bot.sandbox.standin import SlackStandIn


@dataclass
class Answer:
    status: int
    body: str

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


Filled = str | list[str] | list[dict[str, Any]]


class SlackUser:
    """One person in the workspace, acting through Slack: what they type and click reaches the app signed."""

    def __init__(
        self, standin: SlackStandIn, app_url: str, signing_secret: str, user_id: str, team: str = TEAM
    ) -> None:
        self.standin = standin
        self.app_url = app_url
        self.signer = SignatureVerifier(signing_secret)
        self.id = user_id
        self.team = team
        self.last_sent = 0  # bytes in the body of the last request

    # --- sending --------------------------------------------------------------------------------------

    def post(
        self,
        body: str,
        content_type: str = "application/x-www-form-urlencoded",
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        timeout: float = 10,
    ) -> Answer:
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature or self.signer.generate_signature(timestamp=stamp, body=body),
        }
        data = body.encode()
        self.last_sent = len(data)
        request = urllib.request.Request(self.app_url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return Answer(response.status, response.read().decode())
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, exc.read().decode())

    def _held(
        self, kind: str, answer: Answer, *, command: bool = False, submitted: Mapping[str, Any] | None = None
    ) -> Answer:
        """The app's answer to Slack (the HTTP ack, or the Socket Mode ack's payload) under Slack's rules
        (``SlackStandIn.check_ack``)."""
        if answer.status == 200:
            try:
                body = answer.json
            except ValueError:
                self.standin.record(f"{kind} ack", [f"(ack): not JSON: {answer.body[:80]!r}"])
            else:
                self.standin.check_ack(kind, body, command=command, submitted=submitted)
        return answer

    def _response_url(self) -> str:
        return self.standin.issue_response_url(self.id)

    def command(self, text: str = "", command: str = "/refund", timeout: float = 10) -> Answer:
        form = {
            "token": "legacy-unused",
            "team_id": self.team,
            "team_domain": "demo",
            "channel_id": "C0GENERAL",
            "channel_name": "general",
            "user_id": self.id,
            "user_name": self.id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0REFUND",
            "response_url": self._response_url(),
            "trigger_id": self.standin.issue_trigger(self.id),
        }
        answer = self.post(urllib.parse.urlencode(form), timeout=timeout)
        return self._held(command, answer, command=True)

    def _payload(self, payload: dict[str, Any]) -> Answer:
        base = {
            "team": {"id": self.team, "domain": "demo"},
            "user": {"id": self.id, "team_id": self.team},
            "api_app_id": "A0REFUND",
            "token": "legacy-unused",
            "is_enterprise_install": False,
        }
        return self.post(urllib.parse.urlencode({"payload": json.dumps(base | payload)}))

    def open_home(self) -> Answer:
        """Open the app's Home tab."""
        event = {"type": "app_home_opened", "user": self.id, "channel": self.standin.dm_channel(self.id), "tab": "home"}
        return self.event(event)

    def edit_file(self, file_id: str, content: bytes) -> Answer:
        """Edit one of their files in Slack: Slack tells the app (file_change)."""
        self.standin.change_file(file_id, content)
        return self.event({"type": "file_change", "file_id": file_id, "file": {"id": file_id}})

    def delete_file(self, file_id: str) -> Answer:
        """Delete one of their files in Slack: Slack tells the app (file_deleted)."""
        self.standin.delete_file(file_id)
        return self.event({"type": "file_deleted", "file_id": file_id})

    def event(self, event: dict[str, Any]) -> Answer:
        """An Events API callback about something this person did, JSON-bodied like every event."""
        now = time.time()
        event = event | {"event_ts": f"{now:.6f}"}
        body = {
            "type": "event_callback",
            "team_id": self.team,
            "api_app_id": "A0REFUND",
            "token": "legacy-unused",
            "event": event,
            "event_id": self.standin.next_event_id(),
            "event_time": int(now),
            "authorizations": [{"team_id": self.team, "user_id": "U0BOT", "is_bot": True}],
        }
        return self._held(event["type"], self.post(json.dumps(body), "application/json"))

    def shortcut(self, callback_id: str) -> Answer:
        return self._held(
            "shortcut",
            self._payload(
                {
                    "type": "shortcut",
                    "callback_id": callback_id,
                    "action_ts": str(time.time()),
                    "trigger_id": self.standin.issue_trigger(self.id),
                }
            ),
        )

    def message_shortcut(self, message: Message, callback_id: str) -> Answer:
        """Run the app's message shortcut on ``message`` (⋯ → the shortcut): Slack sends the message, its files
        included, and where it is."""
        shown: dict[str, Any] = {"type": "message", "ts": message.ts, "text": message.text, "user": message.user}
        if message.files:
            shown["files"] = message.files
        if message.thread_ts:
            shown["thread_ts"] = message.thread_ts
        payload = {
            "type": "message_action",
            "callback_id": callback_id,
            "trigger_id": self.standin.issue_trigger(self.id),
            "action_ts": str(time.time()),
            "message_ts": message.ts,
            "channel": {"id": message.channel},
            "message": shown,
            "response_url": self._response_url(),
        }
        return self._held("message_action", self._payload(payload))

    def click(self, message: Message, label: str) -> Answer:
        """Press the button labelled ``label`` in a message, as Slack reports it."""
        return self.act_in_message(message, _pressed(message.blocks, label))

    def act_in_message(self, message: Message, action: dict[str, Any]) -> Answer:
        """An interactive element of a message was used: a button pressed, an option picked."""
        payload = self._payload(
            {
                "type": "block_actions",
                "trigger_id": self.standin.issue_trigger(self.id),
                "container": {
                    "type": "message",
                    "message_ts": message.ts,
                    "channel_id": message.channel,
                    "is_ephemeral": False,
                },
                "channel": {"id": message.channel},
                "message": {"ts": message.ts, "text": message.text, "blocks": message.blocks},
                "response_url": self._response_url(),
                "actions": [action],
            }
        )
        return self._held("block_actions", payload)

    def press(self, view: dict[str, Any], label: str) -> Answer:
        """Press the button labelled ``label`` in a Home tab or a modal: Slack sends the view, and no response_url."""
        return self._in_view(view, _pressed(view["blocks"], label))

    def pick(self, view: dict[str, Any], placeholder: str, option: str) -> Answer:
        """Pick ``option`` in the select of an actions block (a Home tab's filters) with this placeholder."""
        for block in view["blocks"]:
            for element in block.get("elements", []) if block.get("type") == "actions" else []:
                if element.get("type") == "static_select" and element["placeholder"]["text"] == placeholder:
                    action = {
                        "type": "static_select",
                        "action_id": element["action_id"],
                        "block_id": block["block_id"],
                        "selected_option": find_option(element, option),
                        "action_ts": str(time.time()),
                    }
                    return self._in_view(view, action)
        raise NotShown(f"no select with the placeholder {placeholder!r}")

    def act_in_view(self, view: dict[str, Any], action: dict[str, Any]) -> Answer:
        """An interactive element of a Home tab or a modal was used; ``view`` carries the state of its inputs."""
        return self._in_view(view, action)

    def _in_view(self, view: dict[str, Any], action: dict[str, Any]) -> Answer:
        payload = self._payload(
            {
                "type": "block_actions",
                "trigger_id": self.standin.issue_trigger(self.id),
                "container": {"type": "view", "view_id": view["id"]},
                "view": view,
                "actions": [action],
            }
        )
        return self._held("block_actions", payload)

    def choose(self, view: dict[str, Any], label: str, option: str) -> Answer:
        """Pick ``option`` in the select labelled ``label`` of an open modal (a dispatching select)."""
        block_id, element = find_input(view, label)
        chosen = find_option(element, option)
        action = {
            "type": element["type"],
            "action_id": element["action_id"],
            "block_id": block_id,
            "selected_option": chosen,
            "action_ts": str(time.time()),
        }
        return self._in_view(view, action)

    def submit(self, view: dict[str, Any], values: Mapping[str, Filled], *, view_id: str | None = None) -> Answer:
        """Fill the inputs labelled as ``values`` says (text, number, the visible text of an option, a list of
        them for a multi-select, or the files attached, ``SlackStandIn.add_file``'s) and submit."""
        return self.submit_state(dict(view, id=view_id or view["id"]), filled(view, values))

    def submit_state(self, view: dict[str, Any], state: dict[str, dict[str, Any]]) -> Answer:
        """Submit the modal with its inputs' state, as Slack's ``view.state.values`` (block_id → action_id →
        value)."""
        submitted = dict(view, state={"values": state})
        answer = self._payload(
            {"type": "view_submission", "trigger_id": self.standin.issue_trigger(self.id), "view": submitted}
        )
        self._held("view_submission", answer, submitted=submitted)
        self.standin.answered(self.id, view["id"], answer)
        return answer


def filled(view: dict[str, Any], values: Mapping[str, Filled]) -> dict[str, dict[str, Any]]:
    """The state Slack reports for the inputs of ``view`` filled as ``values`` says, by label."""
    state: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        label = block["label"]["text"]
        typed = values.get(label)
        if element["type"] in ("static_select", "external_select", "radio_buttons"):
            selected = find_option(element, typed) if typed is not None else element.get("initial_option")
            entry = {"type": element["type"], "selected_option": selected}
        elif element["type"] == "users_select":
            entry = {"type": "users_select", "selected_user": typed}
        elif element["type"] == "multi_static_select":
            chosen = [typed] if isinstance(typed, str) else typed or []
            entry = {"type": element["type"], "selected_options": [find_option(element, t) for t in chosen]}
        elif element["type"] == "file_input":
            entry = {"type": "file_input", "files": list(typed or [])}
        elif element["type"] == "checkboxes":
            entry = {"type": "checkboxes", "selected_options": [find_option(element, typed)] if typed else []}
        else:  # left as it was, a field keeps its initial value, as Slack submits it
            entry = {"type": element["type"], "value": typed if label in values else element.get("initial_value")}
        state[block["block_id"]] = {element["action_id"]: entry}
    return state


def _pressed(blocks: list[dict[str, Any]], label: str) -> dict[str, Any]:
    """The action Slack reports for a press of the button labelled ``label``."""
    block_id, button = find_button(blocks, label)
    return {
        "type": "button",
        "action_id": button["action_id"],
        "block_id": block_id,
        "value": button.get("value", ""),
        "text": button["text"],
        "action_ts": str(time.time()),
    }


def find_button(blocks: list[dict[str, Any]], label: str) -> tuple[str, dict[str, Any]]:
    for block in blocks:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("type") == "button" and element["text"]["text"] == label:
                return block["block_id"], element
        accessory = block.get("accessory") or {}
        if accessory.get("type") == "button" and accessory["text"]["text"] == label:
            return block["block_id"], accessory
    raise NotShown(f"no button labelled {label!r}; buttons: {button_labels(blocks)}")


def button_labels(blocks: list[dict[str, Any]]) -> list[str]:
    labels = []
    for block in blocks:
        for element in (block.get("elements") or []) + [block.get("accessory") or {}]:
            if isinstance(element, dict) and element.get("type") == "button":
                labels.append(element["text"]["text"])
    return labels


def find_input(view: dict[str, Any], label: str) -> tuple[str, dict[str, Any]]:
    for block in view.get("blocks", []):
        if block.get("type") == "input" and block["label"]["text"] == label:
            return block["block_id"], block["element"]
    labels = [b["label"]["text"] for b in view.get("blocks", []) if b.get("type") == "input"]
    raise NotShown(f"no input labelled {label!r}; inputs: {labels}")


def find_option(element: dict[str, Any], text: str | None) -> dict[str, Any]:
    for option in element.get("options", []):
        if option["text"]["text"] == text or option["text"]["text"].startswith(f"{text} "):
            return option
    shown = [o["text"]["text"] for o in element.get("options", [])]
    raise NotShown(f"no option {text!r}; options: {shown}")


def text_of(blocks: list[dict[str, Any]]) -> str:
    """Everything a person reads in these blocks, as one string."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                parts.append(node["text"])
            for key, value in node.items():
                if key != "text" or not isinstance(value, str):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return "\n".join(parts)
