"""/refund and the "Request a refund" shortcut."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.blocks import ids, modals, replies
from bot.blocks.render import refusal_text
from bot.domain.errors import Refused
from bot.services import refunds
from bot.services.refunds import Deps


def open_refund_form(deps: Deps, client: WebClient, team_id: str, user_id: str, trigger_id: str) -> None:
    form = refunds.refund_form(deps, team_id, user_id)
    view = modals.refund_modal(form) if form.contracts else modals.no_contracts_modal()
    client.views_open(trigger_id=trigger_id, view=view)


def on_refund(ack: Ack, command: dict[str, Any], client: WebClient, deps: Deps) -> None:
    words = (command.get("text") or "").split()
    team_id, user_id = command["team_id"], command["user_id"]
    if not words:
        ack()
        open_refund_form(deps, client, team_id, user_id, command["trigger_id"])
        return
    match [words[0].lower(), *words[1:]]:
        case ["help"]:
            ack(blocks=replies.help_reply(), response_type="ephemeral")
        case ["list"]:
            cases = refunds.open_cases(deps, team_id, user_id)
            ack(blocks=replies.list_reply(cases, user_id), response_type="ephemeral")
        case ["status", case_id]:
            try:
                ack(
                    blocks=replies.status_reply(refunds.case_status(deps, team_id, user_id, case_id)),
                    response_type="ephemeral",
                )
            except Refused as refusal:
                ack(text=refusal_text(refusal), response_type="ephemeral")
        case _:
            prefix = f"I don't know `/refund {' '.join(words)[:100]}`."
            ack(blocks=replies.help_reply(prefix), response_type="ephemeral")


def on_shortcut(ack: Ack, shortcut: dict[str, Any], client: WebClient, deps: Deps) -> None:
    ack()
    open_refund_form(deps, client, shortcut["team"]["id"], shortcut["user"]["id"], shortcut["trigger_id"])


def register(app: App, deps: Deps) -> None:
    app.command("/refund")(lambda ack, command, client: on_refund(ack, command, client, deps))
    app.shortcut(ids.SHORTCUT_REQUEST)(lambda ack, shortcut, client: on_shortcut(ack, shortcut, client, deps))
