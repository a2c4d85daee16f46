"""After "no": the client asks again along the route the policy gives now, and the parties answer a dispute, an
escrow refund, the freelancer's position, a mediator's proposal or an arbitration offer; either party asks for
more time, or appeals a mediator's outcome. Buttons carry a case id only; whether the clicker may act is the case's
to say."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.blocks import ids, stage_modals
from bot.handlers.errors import click, form, locale_of, open_form
from bot.handlers.payloads import action_id, button_value, metadata, parsed, required, route, value, who
from bot.services import disputes, read_models, requests
from bot.services.core import Deps
from bot.services.disputes import AskAgain


@click
def on_ask_again(body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    asking = read_models.ask_again_form(deps, *who(body), button_value(body))
    open_form(client, body, stage_modals.ask_again_modal(asking, locale_of(deps, body)))


@form
def on_ask_again_submit(body: dict[str, Any], view: dict[str, Any], deps: Deps) -> None:
    team_id, user_id = who(body)
    meta = metadata(view)
    command = parsed(
        AskAgain,
        team_id=team_id,
        user_id=user_id,
        case_id=required(meta, "case"),
        route=route(meta),
        reason=value(view, ids.REASON_BLOCK),
        certified=value(view, ids.CERTIFY_BLOCK) == "yes",
        hours=value(view, ids.HOURS_BLOCK),
        minutes=value(view, ids.MINUTES_BLOCK),
        amount=value(view, ids.AMOUNT_BLOCK),
    )
    disputes.ask_again(deps, command)


@click
def on_concede(body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """The freelancer accepts a dispute or an escrow refund: the client is refunded."""
    disputes.respond(deps, *who(body), button_value(body), accept=True)


@click
def on_contest(body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    case = disputes.view_to_contest(deps, *who(body), button_value(body))
    open_form(client, body, stage_modals.contest_modal(case, locale_of(deps, body)))


@form
def on_contest_submit(body: dict[str, Any], view: dict[str, Any], deps: Deps) -> None:
    statement = value(view, ids.STATEMENT_BLOCK)
    disputes.respond(deps, *who(body), required(metadata(view), "case"), accept=False, statement=statement)


@click
def on_position(body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """The client accepts or rejects the freelancer's position."""
    disputes.position(deps, *who(body), button_value(body), accept=action_id(body) == ids.POSITION_ACCEPT)


@click
def on_proposal(body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """A party accepts or rejects the mediator's proposal."""
    disputes.answer_proposal(deps, *who(body), button_value(body), accept=action_id(body) == ids.PROPOSAL_ACCEPT)


@click
def on_arbitrate(body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    disputes.agree_to_arbitrate(deps, *who(body), button_value(body))


@click
def on_appeal(body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """Ask for a review: the form for the reason, once the case says this party may still appeal."""
    case = disputes.view_to_appeal(deps, *who(body), button_value(body))
    open_form(client, body, stage_modals.appeal_modal(case, locale_of(deps, body)))


@form
def on_appeal_submit(body: dict[str, Any], view: dict[str, Any], deps: Deps) -> None:
    disputes.appeal(deps, *who(body), required(metadata(view), "case"), value(view, ids.REASON_BLOCK))


@click
def on_extend(body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    requests.extend(deps, *who(body), button_value(body))


def register(app: App, deps: Deps) -> None:
    app.action(ids.ASK_AGAIN)(partial(on_ask_again, deps=deps))
    app.view(ids.ASK_AGAIN_MODAL)(partial(on_ask_again_submit, deps=deps))
    app.action(ids.CONCEDE)(partial(on_concede, deps=deps))
    app.action(ids.CONTEST)(partial(on_contest, deps=deps))
    app.view(ids.CONTEST_MODAL)(partial(on_contest_submit, deps=deps))
    app.action(ids.POSITION_ACCEPT)(partial(on_position, deps=deps))
    app.action(ids.POSITION_REJECT)(partial(on_position, deps=deps))
    app.action(ids.PROPOSAL_ACCEPT)(partial(on_proposal, deps=deps))
    app.action(ids.PROPOSAL_REJECT)(partial(on_proposal, deps=deps))
    app.action(ids.ARBITRATE)(partial(on_arbitrate, deps=deps))
    app.action(ids.EXTEND)(partial(on_extend, deps=deps))
    app.action(ids.APPEAL)(partial(on_appeal, deps=deps))
    app.view(ids.APPEAL_MODAL)(partial(on_appeal_submit, deps=deps))
