"""The one error path of the Slack edge.

- ``click``: a button is acknowledged at once; a refusal (stale, not theirs, too late) is told to the clicker
  alone, through the click's response_url.
- ``form``: a modal submission closes on success; a refusal goes under the field it concerns, or replaces the
  form when it concerns none of its fields.
- ``on_error`` (the app's Bolt error handler): anything else, and a refusal from a slash command. A refusal is
  answered in words; an unexpected error is logged with a short reference and the person is told "Something
  went wrong (ref …); nothing was changed", in the modal or privately, so nobody is left looking at a spinner.

An outage is not a bug: the database not answering (``StorageUnavailable``), or Slack not opening a form in
time (``open_form``), becomes the refusal ``Unavailable``, told at once, straight through the response_url and
off the request path (the outbox is in the database, and the ack must not wait), or as the form's error, so
the form can simply be sent again. A signed payload our surfaces could not have sent (``Malformed``) is a
warning in the log and a polite answer.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from slack_bolt import Ack, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.webhook import WebhookClient

from bot.blocks import refusals, replies
from bot.blocks.format import DEFAULT_LOCALE
from bot.blocks.kit import View
from bot.domain.errors import Refused, Unavailable
from bot.handlers.payloads import Malformed, kind, shape_problem, trigger, who
from bot.services import core, read_models
from bot.services.core import Deps
from bot.services.ports import StorageBusy, StorageUnavailable

log = logging.getLogger("refundbot.handlers")

Click = Callable[[dict[str, Any], WebClient, Deps], object]
Form = Callable[[dict[str, Any], dict[str, Any], Deps], object]


# Notices sent straight to a response_url, off the request path: a slow Slack must not delay the ack.
_NOTICES = ThreadPoolExecutor(max_workers=2, thread_name_prefix="slack-notice")


def click(act: Click) -> Callable[[Ack, dict[str, Any], WebClient, Deps], None]:
    """A button: ack first (Slack wants it within 3 s), then act; a refusal is told to the clicker privately."""

    def listener(ack: Ack, body: dict[str, Any], client: WebClient, deps: Deps) -> None:
        ack()
        try:
            act(body, client, deps)
        except StorageUnavailable as down:
            _outage(body, _down(kind(body), down))
        except Unavailable as unavailable:  # logged where it was raised
            _outage(body, unavailable)
        except Refused as refusal:
            team_id, user_id = who(body)
            url = body.get("response_url")
            if not url:  # every message of ours sends one; a click without it has nowhere private to be answered
                log.info("a refusal with no response_url to answer it through: %s", refusal)
                return
            done = (body.get("actions") or [body])[0]  # a button's action, or a shortcut itself
            key = f"{user_id}:{done.get('action_ts') or body.get('trigger_id', '')}"
            core.tell(deps, team_id, user_id, url, refusal, key)

    return _named(listener, act)


def form(act: Form) -> Callable[[Ack, dict[str, Any], dict[str, Any], Deps], None]:
    """A modal submission: the ack is the answer, so it waits for the use case. A form whose work goes on off the
    request path (its files are read) returns the view it shows meanwhile."""

    def listener(ack: Ack, body: dict[str, Any], view: dict[str, Any], deps: Deps) -> None:
        try:
            meanwhile = act(body, view, deps)
        except StorageUnavailable as down:
            ack(**refusals.form_answer(_down(f"{view.get('callback_id')} form", down), view))
            return
        except Refused as refusal:
            ack(**refusals.form_answer(refusal, view, locale_of(deps, body)))
            return
        if isinstance(meanwhile, dict):
            ack(response_action="update", view=meanwhile)
            return
        ack()

    return _named(listener, act)


def locale_of(deps: Deps, body: dict[str, Any]) -> str:
    """The clicker's locale for a form's hints and errors, as their DMs use it (en_US until Slack has said)."""
    return read_models.reader_locale(deps, *who(body)) or DEFAULT_LOCALE


def open_form(client: WebClient, body: dict[str, Any], view: View) -> None:
    """views.open on the click's trigger, within the listeners' client timeout (it fits inside the trigger's
    3 s). Slack too slow or failing (a timeout, a 5xx, a rate limit, a trigger that expired on the way): the
    person is told to try again (``Unavailable``). Slack refusing the form itself is a bug of ours, and goes to
    the error handler with a reference."""
    try:
        client.views_open(trigger_id=trigger(body), view=view)
    except SlackApiError as exc:
        status, error = exc.response.status_code, exc.response.get("error")
        if status < 500 and status != 429 and error != "expired_trigger_id":
            raise
        log.warning("Slack did not open the %s form: %s", view.get("callback_id"), _slack_error(exc))
        raise Unavailable("slack") from None
    except (SlackRequestError, OSError) as exc:
        log.warning("Slack did not open the %s form in time: %s", view.get("callback_id"), _slack_error(exc))
        raise Unavailable("slack") from None


def _down(what: str, down: StorageUnavailable) -> Unavailable:
    """What the person is told when the database failed them, said once in the log: busy (a lock or a statement
    past its bound; try again in a moment) or unavailable."""
    if isinstance(down, StorageBusy):
        log.warning("the database was busy for a %s (a lock or a statement past its bound): %s", what, down)
        return Unavailable("busy")
    log.warning("database unavailable for a %s: %s", what, down)
    return Unavailable("database")


def _slack_error(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        details = (exc.response.get("response_metadata") or {}).get("messages") or []
        return " ".join([str(exc.response.get("error") or exc.response.status_code), *details])[:300]
    return " ".join(str(getattr(exc, "reason", None) or exc or type(exc).__name__).split())[:300]


def _outage(body: dict[str, Any], unavailable: Unavailable) -> None:
    """Told at once through the click's response_url, off the request path: not the outbox, which is in the
    database that may be what failed."""
    if url := body.get("response_url"):
        _NOTICES.submit(_tell_directly, url, refusals.message(unavailable))


def screen(body: dict[str, Any]) -> BoltResponse | None:
    """Before Bolt (which reads some of these fields itself, unguarded): a signed payload missing what Bolt
    and the listeners read is answered politely here, or None lets it through."""
    problem = shape_problem(body)
    if problem is None:
        return None
    log.warning("a signed %s payload lacks what refund-bot reads (%s); refused", kind(body), problem)
    return _polite(body, _unreadable())


L = TypeVar("L")


def _named(listener: L, act: Callable[..., object]) -> L:
    # Bolt logs a listener by its name; a wrapper keeps the act's (no __wrapped__: Bolt reads the wrapper's
    # arguments to know what to inject).
    for attribute in ("__name__", "__qualname__", "__doc__", "__module__"):
        setattr(listener, attribute, getattr(act, attribute))
    return listener


def on_error(error: Exception, body: dict[str, Any], response: BoltResponse | None) -> BoltResponse:
    """Bolt's error handler for every listener."""
    what = kind(body)
    if isinstance(error, StorageUnavailable):
        text = refusals.message(_down(what, error))
    elif isinstance(error, Malformed):
        log.warning("a signed %s payload could not be read (%s); refused", what, error.what)
        text = _unreadable()
    elif isinstance(error, Refused):  # a slash command's: its answer is the ack, seen only by the person
        text = refusals.message(error)
    else:
        ref = "E-" + secrets.token_hex(3).upper()
        log.error("unexpected %s error (ref %s): %s", what, ref, type(error).__name__, exc_info=error)
        text = replies.went_wrong(ref)
    return _polite(body, text)


def _unreadable() -> str:
    return (
        "refund-bot could not read this request (it may come from an old or altered message), so nothing was "
        "changed. Use the buttons of the latest message, or `/refund`."
    )


def _polite(body: dict[str, Any], text: str) -> BoltResponse:
    """The answer each kind of request can carry: the form itself, a private reply, or a notice through the
    response_url. Slack never sees a 500: it would show the person a bare failure."""
    what = kind(body)
    if what == "view_submission":
        title = (((body.get("view") or {}).get("title") or {}).get("text")) or "Nothing changed"
        return _json({"response_action": "update", "view": refusals.notice_modal(title, text)})
    if what == "slash_command":
        return _json({"response_type": "ephemeral", "text": text})
    if isinstance(url := body.get("response_url"), str) and url:
        _NOTICES.submit(_tell_directly, url, text)
    return BoltResponse(status=200, body="")


def _tell_directly(url: str, text: str) -> None:
    """Straight to the response_url, not through the outbox: the database may be what failed."""
    try:
        WebhookClient(url, timeout=3).send(text=text, response_type="ephemeral", replace_original=False)
    except Exception as exc:  # the person misses the notice; the log has why
        log.warning("could not tell the person through the response_url: %s", _slack_error(exc))


def _json(payload: dict[str, Any]) -> BoltResponse:
    return BoltResponse(status=200, body=json.dumps(payload), headers={"content-type": "application/json"})
