"""The mediators' case card: claim and release, propose, decide, record an award, review an appeal, ask a party,
reassign. Who is a mediator is the roster's to say; only the case's mediator acts on it."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.blocks import card, ids, records, stage_modals
from bot.domain.errors import Refused
from bot.handlers.errors import click, form, locale_of, open_form
from bot.handlers.home import show_desk_again
from bot.handlers.payloads import action_id, button_value, metadata, numbers, parsed, required, value, who
from bot.services import mediation
from bot.services.core import Deps
from bot.services.mediation import Mediate
from bot.services.ports import StorageUnavailable

log = logging.getLogger("refundbot.handlers")

# The card's buttons that open the decision form, and the decision each one records.
_DECISIONS = {
    ids.MEDIATOR_PROPOSE: "propose",
    ids.MEDIATOR_DECIDE: "decide",
    ids.MEDIATOR_AWARD: "award",
    ids.MEDIATOR_REVIEW: "review",
}


@click
def on_claim(body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    team_id, user_id = who(body)
    mediation.mediate(
        deps, parsed(Mediate, team_id=team_id, user_id=user_id, case_id=button_value(body), action="claim")
    )


@click
def on_release(body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    team_id, user_id = who(body)
    mediation.mediate(
        deps, parsed(Mediate, team_id=team_id, user_id=user_id, case_id=button_value(body), action="release")
    )


@click
def on_decision_form(body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """Propose, Decide, Record award and Review open one form; the decision it records is in its metadata."""
    chosen = mediation.decision_form(deps, *who(body), button_value(body))
    open_form(client, body, stage_modals.mediate_modal(chosen, _DECISIONS[action_id(body)], locale_of(deps, body)))


@click
def on_history_form(body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    case_id = button_value(body)
    shown = mediation.records_for_mediator(deps, *who(body), case_id)
    open_form(client, body, records.history_modal(case_id, shown))


@click
def on_in_full(body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    case = mediation.case_for_mediators(deps, *who(body), button_value(body))
    open_form(client, body, card.in_full_modal(case))


@click
def on_ask_form(body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    case = mediation.view_for_mediator(deps, *who(body), button_value(body))
    open_form(client, body, stage_modals.ask_modal(case, locale_of(deps, body)))


@click
def on_reassign_form(body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    case = mediation.view_for_mediator(deps, *who(body), button_value(body))
    open_form(client, body, stage_modals.reassign_modal(case))


@click
def on_assign_form(body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """A lead's Hand to a mediator (or Reassign) on the desk: the form remembers the desk, to show it again after.
    A refusal (the case moved on, not a lead) is said at the top of the desk: a Home tab has no private reply."""
    team_id, user_id = who(body)
    desk = (body.get("view") or {}).get("private_metadata") or "{}"
    try:
        case = mediation.case_for_lead(deps, team_id, user_id, button_value(body))
    except Refused as refusal:
        key = str(body["actions"][0].get("action_ts", ""))
        show_desk_again(deps, team_id, user_id, desk, key, refusal)
        return
    open_form(client, body, stage_modals.reassign_modal(case, desk))


@form
def on_decision_submit(body: dict[str, Any], view: dict[str, Any], deps: Deps) -> None:
    """Propose, Decide, Record award and Reassign; the fields a form lacks are simply empty."""
    team_id, user_id = who(body)
    meta = metadata(view)
    command = parsed(
        Mediate,
        team_id=team_id,
        user_id=user_id,
        case_id=required(meta, "case"),
        action=required(meta, "action"),
        amount=value(view, ids.AMOUNT_BLOCK),
        text=value(view, ids.RATIONALE_BLOCK),
        reference=value(view, ids.REFERENCE_BLOCK),
        to_user=value(view, ids.MEDIATOR_BLOCK),
        rule=value(view, ids.RULE_BLOCK),
        cited=numbers(view, ids.CITED_BLOCK),
    )
    mediation.mediate(deps, command)
    if command.action != "assign":
        return
    try:  # from a lead's desk: it shows the case handed out
        show_desk_again(deps, team_id, user_id, str(meta.get("desk") or "{}"), str(body.get("view", {}).get("id")))
    except StorageUnavailable as down:  # the hand-out is committed: the form must not say "nothing was changed"
        log.warning("the desk of %s was not shown again after a hand-out: database unavailable (%s)", user_id, down)


@form
def on_ask_submit(body: dict[str, Any], view: dict[str, Any], deps: Deps) -> None:
    role, question = value(view, ids.PARTY_BLOCK) or "", value(view, ids.QUESTION_BLOCK) or ""
    mediation.ask(deps, *who(body), required(metadata(view), "case"), role, question)


def register(app: App, deps: Deps) -> None:
    app.action(ids.MEDIATOR_CLAIM)(partial(on_claim, deps=deps))
    app.action(ids.MEDIATOR_RELEASE)(partial(on_release, deps=deps))
    app.action(ids.MEDIATOR_PROPOSE)(partial(on_decision_form, deps=deps))
    app.action(ids.MEDIATOR_DECIDE)(partial(on_decision_form, deps=deps))
    app.action(ids.MEDIATOR_AWARD)(partial(on_decision_form, deps=deps))
    app.action(ids.MEDIATOR_REVIEW)(partial(on_decision_form, deps=deps))
    app.view(ids.MEDIATE_MODAL)(partial(on_decision_submit, deps=deps))
    app.action(ids.MEDIATOR_ASK)(partial(on_ask_form, deps=deps))
    app.action(ids.CARD_HISTORY)(partial(on_history_form, deps=deps))
    app.action(ids.CARD_IN_FULL)(partial(on_in_full, deps=deps))
    app.view(ids.ASK_MODAL)(partial(on_ask_submit, deps=deps))
    app.action(ids.MEDIATOR_REASSIGN)(partial(on_reassign_form, deps=deps))
    app.view(ids.REASSIGN_MODAL)(partial(on_decision_submit, deps=deps))
    app.action(ids.DESK_ASSIGN)(partial(on_assign_form, deps=deps))
