"""Reading Slack's payloads: who acted, what a button carries, what a form holds. The one place that knows
their shape, so a listener reads like the product.

A payload can be signed and still not be what our surfaces send: an old or hand-made request, a client that
edited a message, a leaked secret. ``shape_problem`` holds each kind of payload to the fields the listeners
read (the edge runs it before Bolt, which reads some of them itself), and the readers below raise
``Malformed`` for what only the listener knows (a form's metadata, a route). Either way the person gets a
polite answer and the log a warning, never a traceback.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.domain.routing import RouteKind


class Malformed(Exception):
    """A signed payload that our surfaces could not have sent; ``what`` says which part, for the log."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Id(_Shape):
    id: str = Field(min_length=1)


class _Action(_Shape):
    action_id: str = Field(min_length=1)


class _State(_Shape):
    values: dict[str, dict[str, dict[str, Any]]]


class _View(_Shape):
    id: str = Field(min_length=1)
    type: str
    callback_id: str
    private_metadata: str = ""
    state: _State


class _Interaction(_Shape):
    team: _Id
    user: _Id


class _BlockActions(_Interaction):
    actions: list[_Action] = Field(min_length=1)
    trigger_id: str = ""
    view: _View | None = None


class _ViewSubmission(_Interaction):
    view: _View


class _Shortcut(_Interaction):
    trigger_id: str = Field(min_length=1)


class _Command(_Shape):
    team_id: str = Field(min_length=1)
    user_id: str = Field(min_length=1)
    command: str
    text: str = ""
    trigger_id: str = Field(min_length=1)


class _Event(_Shape):
    team_id: str = Field(min_length=1)
    event: dict[str, Any]


_SHAPES: dict[str, type[_Shape]] = {
    "block_actions": _BlockActions,
    "view_submission": _ViewSubmission,
    "view_closed": _Interaction,
    "shortcut": _Shortcut,
    "message_action": _Shortcut,
    "event_callback": _Event,
}


def kind(body: dict[str, Any]) -> str:
    """What Slack sent: a payload type, ``slash_command``, or ``event``."""
    return str(body.get("type") or ("slash_command" if "command" in body else "event"))


def shape_problem(body: dict[str, Any]) -> str | None:
    """Why this payload lacks what the listeners read (fields named, never their values), or None."""
    shape = _Command if "command" in body else _SHAPES.get(str(body.get("type")))
    if shape is None:
        return None  # Bolt finds no listener for it, and says so
    try:
        shape.model_validate(body)
    except ValidationError as invalid:
        return "; ".join(
            f"{'.'.join(map(str, error['loc'])) or 'body'}: {error['msg']}" for error in invalid.errors()[:3]
        )
    return None


M = TypeVar("M", bound=BaseModel)


def parsed(model: type[M], **fields: Any) -> M:
    """A use case's command from what a payload carried. A value our surfaces could not have sent (an option
    or a metadata field edited on the way) is Malformed, answered politely, never a pydantic error."""
    try:
        return model(**fields)
    except ValidationError as invalid:
        fields_named = ", ".join(".".join(map(str, error["loc"])) for error in invalid.errors()[:3])
        raise Malformed(f"a value refund-bot never offers, in {fields_named}") from None


def who(body: dict[str, Any]) -> tuple[str, str]:
    """The workspace and the person of a click, form or shortcut."""
    return body["team"]["id"], body["user"]["id"]


def button_value(body: dict[str, Any]) -> str:
    """What the pressed button carries: a case id (a question's Answer button: the question's id)."""
    found = body["actions"][0].get("value")
    if not isinstance(found, str) or not found.strip():
        raise Malformed("the button carries no value")
    return found


def action_id(body: dict[str, Any]) -> str:
    return str(body["actions"][0]["action_id"])


def selected(body: dict[str, Any]) -> str:
    """The option a dispatching select was just set to."""
    option = body["actions"][0].get("selected_option")
    if not isinstance(option, dict) or not isinstance(option.get("value"), str):
        raise Malformed("the select carries no selected option")
    return option["value"]


def trigger(body: dict[str, Any]) -> str:
    if not body.get("trigger_id"):
        raise Malformed("no trigger_id to open a form with")
    return str(body["trigger_id"])


def metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The form's private_metadata: what it was opened for (a case, a route, an action)."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        raise Malformed("the form's private_metadata is not JSON") from None
    if not isinstance(meta, dict):
        raise Malformed("the form's private_metadata is not an object")
    return meta


def required(meta: dict[str, Any], key: str) -> str:
    """One entry the form's metadata must carry."""
    found = meta.get(key)
    if not isinstance(found, str) or not found:
        raise Malformed(f"the form's private_metadata has no {key!r}")
    return found


def route(meta: dict[str, Any]) -> RouteKind:
    try:
        return RouteKind(required(meta, "route"))
    except ValueError:
        raise Malformed("the form's route is not one refund-bot offers") from None


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
    found = entry.get("value")
    return found if isinstance(found, str) or found is None else str(found)


def files(view: dict[str, Any], block_id: str) -> list[dict[str, Any]]:
    """The files attached to a file input, as ``slack_files`` gives them."""
    entry = next(iter((view["state"]["values"].get(block_id) or {}).values()), None) or {}
    return slack_files(entry.get("files") or [])


def slack_files(found: Any, shared_in: str | None = None) -> list[dict[str, Any]]:
    """Files as Slack describes them (``id``, ``name``, ``size``, ``mimetype``, and who uploaded them, ``user`` and
    ``user_team``), trimmed to what is checked; ``shared_in``: the conversation of the message that carried them.
    What no Slack could have sent (not a list of files, or a hundred of them) is Malformed; more than a piece of
    evidence takes is the use case's to refuse."""
    if not isinstance(found, list) or len(found) > 100 or not all(isinstance(each, dict) for each in found):
        raise Malformed("the files are not a list of Slack files")
    return [
        {
            "file_id": each.get("id"),
            "name": each.get("name") or each.get("title"),
            "size": each.get("size"),
            "mimetype": each.get("mimetype") or "",
            "owner": each.get("user"),
            "team": each.get("user_team"),
            "shared_in": shared_in,
        }
        for each in found
    ]


def numbers(view: dict[str, Any], block_id: str) -> tuple[int, ...]:
    """The options chosen in a multi-select whose values are numbers (evidence items, by number)."""
    chosen = [part for part in (value(view, block_id) or "").split(",") if part]
    if not all(part.isdecimal() and len(part) < 10 for part in chosen):
        raise Malformed(f"the form's {block_id!r} holds a choice that is not a number")
    return tuple(int(part) for part in chosen)
