"""Reading Slack's payloads: who acted, what a button carries, what a form holds. The one place that knows
their shape, so a listener reads like the product."""

from __future__ import annotations

import json
from typing import Any


def who(body: dict[str, Any]) -> tuple[str, str]:
    """The workspace and the person of a click, form or shortcut."""
    return body["team"]["id"], body["user"]["id"]


def button_value(body: dict[str, Any]) -> str:
    """What the pressed button carries: a case id (a question's Answer button: the question's id)."""
    return str(body["actions"][0]["value"])


def action_id(body: dict[str, Any]) -> str:
    return str(body["actions"][0]["action_id"])


def metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The form's private_metadata: what it was opened for (a case, a route, an action)."""
    meta = json.loads(view.get("private_metadata") or "{}")
    return meta if isinstance(meta, dict) else {}


def value(view: dict[str, Any], block_id: str) -> str | None:
    """What one input of a submitted form holds, whatever its element: text, a choice, choices, a person."""
    entry = next(iter((view["state"]["values"].get(block_id) or {}).values()), None)
    if not entry:
        return None
    if "selected_option" in entry:
        return (entry["selected_option"] or {}).get("value")
    if "selected_options" in entry:
        return ",".join(option["value"] for option in entry["selected_options"] or [])
    if "selected_user" in entry:
        return entry["selected_user"]
    return entry.get("value")
