"""The one error path of the Slack edge.

- ``click``: a button is acknowledged at once; a refusal (stale, not theirs, too late) is told to the clicker
  alone, through the click's response_url.
- ``form``: a modal submission closes on success; a refusal goes under the field it concerns, or replaces the
  form when it concerns none of its fields.
- ``on_error`` (the app's Bolt error handler): anything else, and a refusal from a slash command. A refusal is
  answered in words; an unexpected error is logged with a short reference and the person is told "Something
  went wrong (ref …); nothing was changed", in the modal or privately, so nobody is left looking at a spinner.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from slack_bolt import Ack, BoltResponse
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot.blocks import refusals, replies
from bot.domain.errors import Refused
from bot.handlers.payloads import who
from bot.services import core
from bot.services.core import Deps

log = logging.getLogger("refundbot.handlers")

Click = Callable[[dict[str, Any], WebClient, Deps], object]
Form = Callable[[dict[str, Any], dict[str, Any], Deps], object]


def click(act: Click) -> Callable[[Ack, dict[str, Any], WebClient, Deps], None]:
    """A button: ack first (Slack wants it within 3 s), then act; a refusal is told to the clicker privately."""

    def listener(ack: Ack, body: dict[str, Any], client: WebClient, deps: Deps) -> None:
        ack()
        try:
            act(body, client, deps)
        except Refused as refusal:
            team_id, user_id = who(body)
            key = f"{user_id}:{body['actions'][0]['action_ts']}"
            core.tell(deps, team_id, user_id, body["response_url"], refusal, key)

    return _named(listener, act)


def form(act: Form) -> Callable[[Ack, dict[str, Any], dict[str, Any], Deps], None]:
    """A modal submission: the ack is the answer, so it waits for the use case."""

    def listener(ack: Ack, body: dict[str, Any], view: dict[str, Any], deps: Deps) -> None:
        try:
            act(body, view, deps)
        except Refused as refusal:
            ack(**refusals.form_answer(refusal, view))
            return
        ack()

    return _named(listener, act)


L = TypeVar("L")


def _named(listener: L, act: Callable[..., object]) -> L:
    # Bolt logs a listener by its name; a wrapper keeps the act's (no __wrapped__: Bolt reads the wrapper's
    # arguments to know what to inject).
    for attribute in ("__name__", "__qualname__", "__doc__", "__module__"):
        setattr(listener, attribute, getattr(act, attribute))
    return listener


def on_error(error: Exception, body: dict[str, Any], response: BoltResponse | None) -> BoltResponse:
    """Bolt's error handler for every listener."""
    kind = body.get("type") or ("slash_command" if "command" in body else "event")
    if isinstance(error, Refused):  # a slash command's: its answer is the ack, seen only by the person
        text = refusals.message(error)
    else:
        ref = "E-" + secrets.token_hex(3).upper()
        log.error("unexpected %s error (ref %s): %s", kind, ref, type(error).__name__, exc_info=error)
        text = replies.went_wrong(ref)
    if kind == "view_submission":
        title = ((body.get("view") or {}).get("title") or {}).get("text") or "Something went wrong"
        return _json({"response_action": "update", "view": refusals.notice_modal(title, text).to_dict()})
    if kind == "slash_command":
        return _json({"response_type": "ephemeral", "text": text})
    if url := body.get("response_url"):
        _tell_directly(url, text)
    # Acknowledged already (a click) or nothing to answer (an event): Slack must not see a 500.
    return BoltResponse(status=200, body="")


def _tell_directly(url: str, text: str) -> None:
    """Straight to the response_url, not through the outbox: the database may be what failed."""
    try:
        WebhookClient(url, timeout=3).send(text=text, response_type="ephemeral", replace_original=False)
    except Exception:  # the person misses the notice; the log has the error and its reference
        log.warning("could not tell the person about the error through the response_url", exc_info=True)


def _json(payload: dict[str, Any]) -> BoltResponse:
    return BoltResponse(status=200, body=json.dumps(payload), headers={"content-type": "application/json"})
