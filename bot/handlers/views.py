"""Modal submissions. A refusal goes back onto the field it concerns, or replaces the form when it concerns none
of its fields (``bot.blocks.refusals.form_answer``); nothing typed is lost to a refusal it could fix."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.blocks import ids, refusals
from bot.domain import errors
from bot.domain.errors import Field
from bot.services import refunds
from bot.services.refunds import AnswerRequest, Deps, RequestRefund


def value(view: dict[str, Any], block_id: str) -> str | None:
    entry = next(iter((view["state"]["values"].get(block_id) or {}).values()), None)
    if not entry:
        return None
    if "selected_option" in entry:
        return (entry["selected_option"] or {}).get("value")
    if "selected_options" in entry:
        return ",".join(option["value"] for option in entry["selected_options"] or [])
    if "selected_user" in entry:
        return entry["selected_user"]
    return entry.get("value")


def _chosen(view: dict[str, Any]) -> tuple[str, str]:
    """The contract and item of the /refund form. It can be sent before both are chosen (a modal with inputs
    always has its submit button), and then says which one is missing."""
    contract_id, item = value(view, ids.CONTRACT_BLOCK), value(view, ids.ITEM_BLOCK)
    if not contract_id:
        raise errors.ChoiceRequired(Field.CONTRACT)
    if not item:
        if ids.ITEM_BLOCK in refusals.inputs(view):
            raise errors.ChoiceRequired(Field.ITEM)
        raise errors.NothingRefundable(contract_id)
    return contract_id, item


def on_refund_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], deps: Deps) -> None:
    try:
        contract_id, item = _chosen(view)
        command = RequestRefund(
            team_id=body["team"]["id"],
            user_id=body["user"]["id"],
            contract_id=contract_id,
            item_key=item,
            amount=value(view, ids.AMOUNT_BLOCK) or "",
            reason=value(view, ids.REASON_BLOCK) or "",
            request_key=f"view:{view['id']}",
        )
        refunds.request_refund(deps, command)
    except errors.Refused as refusal:
        ack(**refusals.form_answer(refusal, view))
        return
    ack()


def on_answer_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], deps: Deps) -> None:
    adjusting = view["callback_id"] == ids.ADJUST_MODAL
    command = AnswerRequest(
        team_id=body["team"]["id"],
        user_id=body["user"]["id"],
        case_id=view["private_metadata"],
        action="adjust" if adjusting else "decline",
        amount=value(view, ids.AMOUNT_BLOCK) if adjusting else None,
        text=value(view, ids.NOTE_BLOCK if adjusting else ids.REASON_BLOCK),
    )
    try:
        refunds.answer_request(deps, command)
    except errors.Refused as refusal:
        ack(**refusals.form_answer(refusal, view))
        return
    ack()


def register(app: App, deps: Deps) -> None:
    app.view(ids.REFUND_MODAL)(lambda ack, body, view: on_refund_submit(ack, body, view, deps))
    for callback_id in (ids.ADJUST_MODAL, ids.DECLINE_MODAL):
        app.view(callback_id)(lambda ack, body, view: on_answer_submit(ack, body, view, deps))
