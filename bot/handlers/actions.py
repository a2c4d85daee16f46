"""Buttons and the modal's dispatching selects. Button values carry a case id only; who may act is ours to know."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import ids, modals
from bot.domain.errors import Refused
from bot.services import refunds
from bot.services.refunds import AnswerRequest, Deps, WithdrawRequest


def _who(body: dict[str, Any]) -> tuple[str, str]:
    return body["team"]["id"], body["user"]["id"]


def refused(deps: Deps, body: dict[str, Any], refusal: Refused) -> None:
    team_id, user_id = _who(body)
    action = body["actions"][0]
    refunds.tell(deps, team_id, user_id, body["response_url"], refusal, f"{user_id}:{action['action_ts']}")


def on_approve(ack: Ack, body: dict[str, Any], deps: Deps) -> None:
    ack()
    team_id, user_id = _who(body)
    try:
        refunds.answer_request(
            deps, AnswerRequest(team_id=team_id, user_id=user_id, case_id=body["actions"][0]["value"], action="approve")
        )
    except Refused as refusal:
        refused(deps, body, refusal)


def on_withdraw(ack: Ack, body: dict[str, Any], deps: Deps) -> None:
    ack()
    team_id, user_id = _who(body)
    try:
        refunds.withdraw_request(
            deps, WithdrawRequest(team_id=team_id, user_id=user_id, case_id=body["actions"][0]["value"])
        )
    except Refused as refusal:
        refused(deps, body, refusal)


def on_answer_form(ack: Ack, body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """Adjust and Decline open a modal, but only for the freelancer of a request still waiting."""
    ack()
    team_id, user_id = _who(body)
    action = body["actions"][0]
    try:
        case = refunds.case_for_answer(deps, team_id, user_id, action["value"])
    except Refused as refusal:
        refused(deps, body, refusal)
        return
    build = modals.adjust_modal if action["action_id"] == ids.ADJUST else modals.decline_modal
    client.views_open(trigger_id=body["trigger_id"], view=build(case))


def on_form_pick(ack: Ack, body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """The item list follows the contract, and the amount's range follows the item (views.update)."""
    ack()
    team_id, user_id = _who(body)
    view = body["view"]
    action = body["actions"][0]
    chosen = action["selected_option"]["value"]
    if action["action_id"] == ids.CONTRACT_PICKED:
        form = refunds.refund_form(deps, team_id, user_id, chosen)
    else:
        contract_id = json.loads(view.get("private_metadata") or "{}").get("contract")
        form = refunds.refund_form(deps, team_id, user_id, contract_id, chosen)
    try:
        client.views_update(view_id=view["id"], hash=view.get("hash"), view=modals.refund_modal(form))
    except SlackApiError as exc:
        # Two picks in quick succession: the view changed since this one was made, and the later pick's
        # update is the one the person sees, so this one is dropped, as Slack's hash is meant for.
        if exc.response.get("error") != "hash_conflict":
            raise


def register(app: App, deps: Deps) -> None:
    app.action(ids.APPROVE)(lambda ack, body: on_approve(ack, body, deps))
    app.action(ids.WITHDRAW)(lambda ack, body: on_withdraw(ack, body, deps))
    for action_id in (ids.ADJUST, ids.DECLINE):
        app.action(action_id)(lambda ack, body, client: on_answer_form(ack, body, client, deps))
    for action_id in (ids.CONTRACT_PICKED, ids.ITEM_PICKED):
        app.action(action_id)(lambda ack, body, client: on_form_pick(ack, body, client, deps))
