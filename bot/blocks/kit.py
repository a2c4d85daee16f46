"""Block Kit as plain JSON: the few elements our surfaces use, in Slack's own field names.

Plain dicts rather than ``slack_sdk.models``: a model's ``to_dict()`` runs every validator of every object
on every render, most of what a message cost the relay (0.8 of the 1.1 ms of a freelancer's request DM, and
3.6 ms for a form listing 100 contracts). The checks are kept where they cost nothing at run time: the test
suite holds every payload to Slack's published schema and view rules (``tests/slack_rules.py``), which are
stricter than the models. Optional parts left as ``None`` or ``False`` are left out, as Slack defaults them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Block = dict[str, Any]  # one block, or an element or composition object inside one
View = dict[str, Any]  # a modal or a Home tab


def _present(**parts: Any) -> dict[str, Any]:
    return {key: value for key, value in parts.items() if value is not None}


# Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): in someone's text they would
# reverse or reorder what follows it, a reason, an amount, a name ("evil\u202etxt.exe"). Text direction itself
# needs none of them (the Unicode bidi algorithm orders Arabic and Hebrew), so every text Slack shows loses them.
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def shown(text: str) -> str:
    """Text as Slack may show it: without bidirectional controls."""
    return text.translate(_BIDI_CONTROLS)


def plain(text: str) -> Block:
    return {"type": "plain_text", "text": shown(text), "emoji": True}


def mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": shown(text)}


def section(
    text: str | None = None,
    *,
    fields: Sequence[str] | None = None,
    accessory: Block | None = None,
    block_id: str | None = None,
) -> Block:
    """A section of mrkdwn text, or of mrkdwn fields shown two by two, with a button beside it."""
    return _present(
        type="section",
        block_id=block_id,
        text=mrkdwn(text) if text is not None else None,
        fields=[mrkdwn(field) for field in fields] if fields is not None else None,
        accessory=accessory,
    )


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text)}


def divider() -> Block:
    return {"type": "divider"}


def context(text: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(text)]}


def actions(block_id: str, elements: Sequence[Block]) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(elements)}


def confirm(*, title: str, text: str, confirm: str, deny: str) -> Block:
    return {"title": plain(title), "text": mrkdwn(text), "confirm": plain(confirm), "deny": plain(deny)}


def button(
    text: str,
    action_id: str,
    value: str,
    style: str | None = None,
    confirm: Block | None = None,
    url: str | None = None,
) -> Block:
    """A button; one with a ``url`` opens it (Slack still sends the click, which must be acknowledged)."""
    return _present(
        type="button", text=plain(text), action_id=action_id, value=value, style=style, confirm=confirm, url=url
    )


def option(value: str, text: str) -> Block:
    return {"text": plain(text), "value": value}


def input_block(
    block_id: str,
    label: str,
    element: Block,
    *,
    hint: str | None = None,
    optional: bool = False,
    dispatch_action: bool = False,
) -> Block:
    return _present(
        type="input",
        block_id=block_id,
        label=plain(label),
        element=element,
        hint=plain(hint) if hint is not None else None,
        optional=optional or None,
        dispatch_action=dispatch_action or None,
    )


def text_field(action_id: str, *, max_length: int, multiline: bool, initial: str | None = None) -> Block:
    return _present(
        type="plain_text_input",
        action_id=action_id,
        multiline=multiline,
        max_length=max_length,
        initial_value=initial or None,
    )


def file_field(action_id: str, *, filetypes: list[str], max_files: int) -> Block:
    """Slack's file_input (modals only): it keeps to ``filetypes`` for convenience; the app checks them again."""
    return {"type": "file_input", "action_id": action_id, "filetypes": filetypes, "max_files": max_files}


def number_field(
    action_id: str, *, min_value: str, max_value: str, decimals: bool = False, initial: str | None = None
) -> Block:
    return _present(
        type="number_input",
        action_id=action_id,
        is_decimal_allowed=decimals,
        min_value=min_value,
        max_value=max_value,
        initial_value=initial,
    )


def static_select(action_id: str, placeholder: str, options: list[Block], initial: Block | None = None) -> Block:
    return _present(
        type="static_select",
        action_id=action_id,
        placeholder=plain(placeholder),
        options=options,
        initial_option=initial,
    )


def multi_static_select(action_id: str, placeholder: str, options: list[Block]) -> Block:
    return {
        "type": "multi_static_select",
        "action_id": action_id,
        "placeholder": plain(placeholder),
        "options": options,
    }


def radio_buttons(action_id: str, options: list[Block], initial: Block | None = None) -> Block:
    return _present(type="radio_buttons", action_id=action_id, options=options, initial_option=initial)


def checkboxes(action_id: str, options: list[Block]) -> Block:
    return {"type": "checkboxes", "action_id": action_id, "options": options}


def users_select(action_id: str, placeholder: str) -> Block:
    return {"type": "users_select", "action_id": action_id, "placeholder": plain(placeholder)}


def modal(
    title: str,
    blocks: list[Block],
    *,
    close: str,
    submit: str | None = None,
    callback_id: str | None = None,
    private_metadata: str | None = None,
) -> View:
    return _present(
        type="modal",
        title=plain(title),
        blocks=blocks,
        close=plain(close),
        submit=plain(submit) if submit is not None else None,
        callback_id=callback_id,
        private_metadata=private_metadata,
    )
