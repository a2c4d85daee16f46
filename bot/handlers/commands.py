"""/refund and the "Request a refund" shortcut."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.blocks import ids, modals, replies
from bot.blocks.format import DEFAULT_LOCALE
from bot.domain.errors import Unavailable
from bot.services import core, read_models
from bot.services.core import Deps

log = logging.getLogger("refundbot.handlers")


def open_refund_form(deps: Deps, client: WebClient, team_id: str, user_id: str, trigger_id: str) -> str | None:
    """Open the form (within the listeners' client timeout, which fits inside the trigger's 3 s); if Slack
    refuses it or is too slow, say why in the log and return it."""
    form = read_models.refund_form(deps, team_id, user_id)
    view = modals.refund_modal(form, form.locale or DEFAULT_LOCALE) if form.contracts else modals.no_contracts_modal()
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        error = str(exc.response.get("error") or exc.response.status_code)
        details = (exc.response.get("response_metadata") or {}).get("messages") or []
        log.error("Slack would not open the /refund form for %s: %s %s", user_id, error, "; ".join(details))
        return error
    except (SlackRequestError, OSError) as exc:
        log.warning("Slack did not open the /refund form for %s in time: %s", user_id, exc)
        return "no answer in time"
    return None


def on_refund(ack: Ack, command: dict[str, Any], client: WebClient, deps: Deps) -> None:
    words = (command.get("text") or "").split()
    team_id, user_id = command["team_id"], command["user_id"]
    if not words:
        # The ack goes out when this listener returns, so it can still say that the form did not open.
        refused = open_refund_form(deps, client, team_id, user_id, command["trigger_id"])
        if refused:
            ack(**replies.form_not_opened(refused).as_ack())
        else:
            ack()
        return
    match [words[0].lower(), *words[1:]]:
        case ["help"]:
            ack(**replies.help_reply().as_ack())
        case ["list"]:
            cases, total = read_models.open_cases(deps, team_id, user_id, replies.LISTED)
            ack(**replies.list_reply(cases, total, user_id).as_ack())
        case ["history"]:
            ack(**replies.history_reply(read_models.own_record(deps, team_id, user_id), deps.policy).as_ack())
        case ["status", case_id]:
            # A refusal (no such case, not yours) is answered by the app's error handler, in words.
            ack(**replies.status_reply(read_models.case_status(deps, team_id, user_id, case_id)).as_ack())
        case _:
            ack(**replies.help_reply(unknown=" ".join(words)).as_ack())


def on_shortcut(ack: Ack, shortcut: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """A global shortcut carries no response_url: a form Slack did not open is told in a DM."""
    ack()
    team_id, user_id = shortcut["team"]["id"], shortcut["user"]["id"]
    if open_refund_form(deps, client, team_id, user_id, shortcut["trigger_id"]):
        key = f"{user_id}:{shortcut.get('action_ts') or shortcut['trigger_id']}"
        core.tell(deps, team_id, user_id, None, Unavailable("slack"), key)


def register(app: App, deps: Deps) -> None:
    app.command("/refund")(partial(on_refund, deps=deps))
    app.shortcut(ids.SHORTCUT_REQUEST)(partial(on_shortcut, deps=deps))
