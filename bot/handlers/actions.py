"""The request stage's buttons, and the /refund form's dispatching selects. Button values carry a case id only;
who may act is ours to know."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.blocks import ids, modals
from bot.blocks.format import DEFAULT_LOCALE
from bot.handlers.errors import click, locale_of, open_form
from bot.handlers.payloads import Malformed, action_id, button_value, metadata, parsed, selected, who
from bot.services import read_models, requests
from bot.services.core import Deps
from bot.services.requests import AnswerRequest, WithdrawRequest

log = logging.getLogger("refundbot.handlers")


@click
def on_approve(body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    team_id, user_id = who(body)
    command = parsed(AnswerRequest, team_id=team_id, user_id=user_id, case_id=button_value(body), action="approve")
    requests.answer_request(deps, command)


@click
def on_withdraw(body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    team_id, user_id = who(body)
    requests.withdraw_request(
        deps, parsed(WithdrawRequest, team_id=team_id, user_id=user_id, case_id=button_value(body))
    )


@click
def on_answer_form(body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """Adjust and Decline open a modal, but only for the freelancer of a request still waiting."""
    case = requests.view_for_answer(deps, *who(body), button_value(body))
    build = modals.adjust_modal if action_id(body) == ids.ADJUST else modals.decline_modal
    open_form(client, body, build(case, locale_of(deps, body)))


def on_form_pick(ack: Ack, body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """The item list follows the contract, and the amount's range follows the item (views.update). If Slack
    is too slow, the form stays as it was; the submission checks the choice again."""
    ack()
    team_id, user_id = who(body)
    view = body.get("view")
    if not view:
        raise Malformed("a form's select arrived without its form")
    chosen = selected(body)
    if action_id(body) == ids.CONTRACT_PICKED:
        form = read_models.refund_form(deps, team_id, user_id, chosen)
    else:
        form = read_models.refund_form(deps, team_id, user_id, metadata(view).get("contract"), chosen)
    try:
        client.views_update(
            view_id=view["id"], hash=view.get("hash"), view=modals.refund_modal(form, form.locale or DEFAULT_LOCALE)
        )
    except SlackApiError as exc:
        # Two picks in quick succession: the view changed since this one was made, and the later pick's
        # update is the one the person sees, so this one is dropped, as Slack's hash is meant for.
        if exc.response.get("error") != "hash_conflict":
            log.warning("Slack did not update the /refund form: %s", exc.response.get("error"))
    except (SlackRequestError, OSError) as exc:
        log.warning("Slack did not update the /refund form in time: %s", exc)


def register(app: App, deps: Deps) -> None:
    app.action(ids.APPROVE)(partial(on_approve, deps=deps))
    app.action(ids.WITHDRAW)(partial(on_withdraw, deps=deps))
    app.action(ids.ADJUST)(partial(on_answer_form, deps=deps))
    app.action(ids.DECLINE)(partial(on_answer_form, deps=deps))
    app.action(ids.CONTRACT_PICKED)(partial(on_form_pick, deps=deps))
    app.action(ids.ITEM_PICKED)(partial(on_form_pick, deps=deps))
