"""Listeners for what happens after "no": the parties' buttons and forms, and the mediators' case card.

Buttons carry a case id only; whether the clicker may act is decided from the database and the mediator roster.
A refused click changes nothing and is answered privately; a refused form shows the problem on its field."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.models.views import View

from bot.blocks import ids, refusals, stage_modals
from bot.domain.errors import Refused
from bot.domain.routing import RouteKind
from bot.handlers.actions import refused
from bot.handlers.views import value
from bot.services import escalation, refunds
from bot.services.escalation import AddEvidence, AskAgain, Mediate
from bot.services.refunds import Deps


def _who(body: dict[str, Any]) -> tuple[str, str]:
    return body["team"]["id"], body["user"]["id"]


def _value(body: dict[str, Any]) -> str:
    """What the button carries: a case id (a question's Answer button: the question's id)."""
    return str(body["actions"][0]["value"])


def _click(deps: Deps, change: Callable[[str, str, str], object]) -> Callable[[Ack, dict[str, Any]], None]:
    """A button that makes one change: ack at once, act, and tell the clicker privately if it was refused."""

    def listener(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        team_id, user_id = _who(body)
        try:
            change(team_id, user_id, _value(body))
        except Refused as refusal:
            refused(deps, body, refusal)

    return listener


def _form(deps: Deps, build: Callable[[str, str, str], View]) -> Callable[[Ack, dict[str, Any], WebClient], None]:
    """A button that opens a modal, once the clicker is known to be allowed to use it."""

    def listener(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        team_id, user_id = _who(body)
        try:
            view = build(team_id, user_id, _value(body))
        except Refused as refusal:
            refused(deps, body, refusal)
            return
        client.views_open(trigger_id=body["trigger_id"], view=view)

    return listener


def _submit(
    act: Callable[[str, str, dict[str, Any], dict[str, Any]], object],
) -> Callable[[Ack, dict[str, Any], dict[str, Any]], None]:
    """A modal submission: act, close on success, or show the refusal on the field it concerns."""

    def listener(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = json.loads(view.get("private_metadata") or "{}")
        try:
            act(body["team"]["id"], body["user"]["id"], meta, view)
        except Refused as refusal:
            ack(**refusals.form_answer(refusal, view))
            return
        ack()

    return listener


def register(app: App, deps: Deps) -> None:
    # The client asks again, along the route the policy gives now.
    app.action(ids.ASK_AGAIN)(
        _form(deps, lambda t, u, c: stage_modals.ask_again_modal(escalation.ask_again_form(deps, t, u, c)))
    )

    def ask_again(team_id: str, user_id: str, meta: dict[str, Any], view: dict[str, Any]) -> object:
        return escalation.ask_again(
            deps,
            AskAgain(
                team_id=team_id,
                user_id=user_id,
                case_id=meta["case"],
                route=RouteKind(meta["route"]),
                reason=value(view, ids.REASON_BLOCK),
                certified=value(view, ids.CERTIFY_BLOCK) == "yes",
                hours=value(view, ids.HOURS_BLOCK),
                minutes=value(view, ids.MINUTES_BLOCK),
                amount=value(view, ids.AMOUNT_BLOCK),
            ),
        )

    app.view(ids.ASK_AGAIN_MODAL)(_submit(ask_again))

    # The freelancer answers a dispute or an escrow refund; the client answers the freelancer's dispute.
    app.action(ids.CLAIM_ACCEPT)(_click(deps, lambda t, u, c: escalation.respond(deps, t, u, c, accept=True)))
    app.action(ids.CLAIM_CONTEST)(
        _form(deps, lambda t, u, c: stage_modals.contest_modal(escalation.case_to_contest(deps, t, u, c)))
    )
    app.view(ids.CONTEST_MODAL)(
        _submit(
            lambda t, u, meta, view: escalation.respond(
                deps, t, u, meta["case"], accept=False, statement=value(view, ids.STATEMENT_BLOCK)
            ),
        )
    )
    app.action(ids.POSITION_ACCEPT)(_click(deps, lambda t, u, c: escalation.position(deps, t, u, c, accept=True)))
    app.action(ids.POSITION_REJECT)(_click(deps, lambda t, u, c: escalation.position(deps, t, u, c, accept=False)))
    app.action(ids.PROPOSAL_ACCEPT)(
        _click(deps, lambda t, u, c: escalation.answer_proposal(deps, t, u, c, accept=True))
    )
    app.action(ids.PROPOSAL_REJECT)(
        _click(deps, lambda t, u, c: escalation.answer_proposal(deps, t, u, c, accept=False))
    )
    app.action(ids.ARBITRATE)(_click(deps, lambda t, u, c: escalation.agree_to_arbitrate(deps, t, u, c)))
    app.action(ids.EXTEND)(_click(deps, lambda t, u, c: refunds.extend(deps, t, u, c)))

    # Evidence, and answers to a mediator's questions (evidence both sides see).
    app.action(ids.EVIDENCE_ADD)(
        _form(deps, lambda t, u, c: stage_modals.evidence_modal(escalation.case_for_party(deps, t, u, c)))
    )

    def add_evidence(team_id: str, user_id: str, meta: dict[str, Any], view: dict[str, Any]) -> object:
        links = (value(view, ids.LINKS_BLOCK) or "").split()
        return escalation.add_evidence(
            deps,
            AddEvidence(
                team_id=team_id,
                user_id=user_id,
                case_id=meta["case"],
                text=value(view, ids.EVIDENCE_BLOCK),
                links=links,
                visibility=value(view, ids.VISIBILITY_BLOCK) or "both_sides",
                question_id=meta.get("question"),
            ),
        )

    app.view(ids.EVIDENCE_MODAL)(_submit(add_evidence))

    def answer_form(team_id: str, user_id: str, question_id: str) -> View:
        return stage_modals.answer_modal(*escalation.question_for_party(deps, team_id, user_id, question_id))

    app.action(ids.ANSWER_QUESTION)(_form(deps, answer_form))
    app.view(ids.ANSWER_MODAL)(_submit(add_evidence))

    # Mediators, from the case card.
    def mediate(action: str) -> Callable[[str, str, str], object]:
        return lambda t, u, c: escalation.mediate(deps, Mediate(team_id=t, user_id=u, case_id=c, action=action))

    app.action(ids.MEDIATOR_CLAIM)(_click(deps, mediate("claim")))
    app.action(ids.MEDIATOR_RELEASE)(_click(deps, mediate("release")))
    for action_id, action in (
        (ids.MEDIATOR_PROPOSE, "propose"),
        (ids.MEDIATOR_DECIDE, "decide"),
        (ids.MEDIATOR_AWARD, "award"),
    ):
        app.action(action_id)(
            _form(
                deps,
                lambda t, u, c, action=action: stage_modals.mediate_modal(
                    escalation.case_for_mediator(deps, t, u, c), action
                ),
            )
        )

    def mediate_form(team_id: str, user_id: str, meta: dict[str, Any], view: dict[str, Any]) -> object:
        """Propose, Decide, Record award and Reassign (the action is in the form's metadata); the fields a form
        lacks are simply empty."""
        return escalation.mediate(
            deps,
            Mediate(
                team_id=team_id,
                user_id=user_id,
                case_id=meta["case"],
                action=meta["action"],
                amount=value(view, ids.AMOUNT_BLOCK),
                text=value(view, ids.RATIONALE_BLOCK),
                reference=value(view, ids.REFERENCE_BLOCK),
                to_user=value(view, ids.MEDIATOR_BLOCK),
            ),
        )

    app.view(ids.MEDIATE_MODAL)(_submit(mediate_form))
    app.action(ids.MEDIATOR_ASK)(
        _form(deps, lambda t, u, c: stage_modals.ask_modal(escalation.case_for_mediator(deps, t, u, c)))
    )
    app.view(ids.ASK_MODAL)(
        _submit(
            lambda t, u, meta, view: escalation.ask(
                deps, t, u, meta["case"], value(view, ids.PARTY_BLOCK) or "", value(view, ids.QUESTION_BLOCK) or ""
            ),
        )
    )
    app.action(ids.MEDIATOR_REASSIGN)(
        _form(deps, lambda t, u, c: stage_modals.reassign_modal(escalation.case_for_mediator(deps, t, u, c)))
    )
    app.view(ids.REASSIGN_MODAL)(_submit(mediate_form))
