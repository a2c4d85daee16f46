"""Slack's published rules for what an app sends it, as the stand-in enforces them.

Block Kit itself is checked by ``vendor/slack/blockkit/check_blocks.py``: a JSON Schema compiled from Slack's
Block Kit reference, plus the view rules it adds (submit with inputs; title, submit and close of at most 24
characters; private_metadata of at most 3,000; 100 blocks per view and 50 per message; duplicate block_ids and
action_ids). This module adds what Slack's method and interactivity references state around the blocks:

- a message with blocks carries a ``text`` fallback, which notifications and screen readers read;
- a modal's ``response_action`` is one of errors, update, push or clear, and its errors name input blocks of
  the submitted view ("errors: an object keyed by block_id");
- a slash command's answer is a message (``response_type`` ephemeral or in_channel).

Every problem is one line that names the JSON path it is about.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "vendor" / "slack" / "blockkit"))
from check_blocks import validate_blocks, validate_view

from bot.sandbox.standin.state import Rules, decoded

RESPONSE_ACTIONS = ("errors", "update", "push", "clear")


def blocks_problems(blocks: Any, surface: str, path: str = "blocks") -> list[str]:
    return validate_blocks(blocks, surface, path=path)  # type: ignore[arg-type]


def message_problems(message: Mapping[str, Any], path: str = "") -> list[str]:
    """A message's blocks, and its text: required without blocks, and as their fallback with them."""
    prefix = f"{path}." if path else ""
    blocks = decoded(message.get("blocks"))
    text = message.get("text")
    problems: list[str] = []
    if blocks is not None:
        problems += blocks_problems(blocks, "message", f"{prefix}blocks")
    if text is not None and not isinstance(text, str):
        problems.append(f"{prefix}text: must be a string")
    elif not (text or "").strip():
        if blocks:
            problems.append(
                f"{prefix}text: a message with blocks needs a text fallback, for notifications and screen readers"
            )
        else:
            problems.append(f"{prefix}text: a message needs text or blocks (no_text)")
    return problems


def view_problems(view: Any, kind: str, path: str = "view") -> list[str]:
    """A view for views.open/update/push (``kind`` "modal") or views.publish ("home")."""
    view = decoded(view)
    if isinstance(view, Mapping) and view.get("type") != kind:
        return [f"{path}.type: must be {kind!r} here (got {view.get('type')!r})"]
    return validate_view(view, path=path)


def input_block_ids(view: Mapping[str, Any]) -> set[str]:
    return {b.get("block_id") for b in view.get("blocks") or [] if isinstance(b, Mapping) and b.get("type") == "input"}


def form_answer_problems(answer: Any, submitted: Mapping[str, Any]) -> list[str]:
    """What an app may answer a view_submission with: nothing (the modal closes), or a response_action."""
    if answer is None:
        return []
    if not isinstance(answer, Mapping):
        return ["(ack): a view_submission is answered with an empty body or a JSON object"]
    action = answer.get("response_action")
    if action not in RESPONSE_ACTIONS:
        return [f"(ack).response_action: must be one of {', '.join(RESPONSE_ACTIONS)} (got {action!r})"]
    if action == "errors":
        errors = answer.get("errors")
        if not isinstance(errors, Mapping) or not errors:
            return ["(ack).errors: must be an object of block_id → message"]
        inputs = input_block_ids(submitted)
        problems = []
        for block_id, message in errors.items():
            if block_id not in inputs:
                problems.append(
                    f"(ack).errors.{block_id}: not an input block of the submitted view (inputs: {sorted(inputs)})"
                )
            if not isinstance(message, str) or not message.strip():
                problems.append(f"(ack).errors.{block_id}: the message must be a non-empty string")
        return problems
    if action in ("update", "push"):
        return view_problems(answer.get("view"), "modal", "(ack).view")
    return []


def command_answer_problems(answer: Any) -> list[str]:
    """A slash command's immediate answer: nothing, or a message shown to the person (or the channel)."""
    if answer is None:
        return []
    if not isinstance(answer, Mapping):
        return ["(ack): a slash command is answered with an empty body or a JSON message"]
    problems = message_problems(answer, "(ack)")
    if answer.get("response_type", "ephemeral") not in ("ephemeral", "in_channel"):
        problems.append(f"(ack).response_type: must be ephemeral or in_channel (got {answer['response_type']!r})")
    return problems


class SlackRules(Rules):
    """The stand-in's rules: Slack's."""

    def message_problems(self, message: Mapping[str, Any]) -> list[str]:
        return message_problems(message)

    def view_problems(self, view: Any, kind: str) -> list[str]:
        return view_problems(view, kind)

    def form_answer_problems(self, answer: Any, submitted: Mapping[str, Any]) -> list[str]:
        return form_answer_problems(answer, submitted)

    def command_answer_problems(self, answer: Any) -> list[str]:
        return command_answer_problems(answer)


SLACK_RULES = SlackRules()
