"""Modal submissions. Problems go back onto the field they concern (response_action: errors); nothing is lost."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.blocks import ids
from bot.blocks.render import refusal_text
from bot.domain import errors
from bot.services import refunds
from bot.services.refunds import AnswerRequest, Deps, RequestRefund

# Which field of the form a refusal belongs on.
_FIELD = {
    errors.InvalidAmount: ids.AMOUNT_BLOCK,
    errors.AmountNotPositive: ids.AMOUNT_BLOCK,
    errors.AmountOverBalance: ids.AMOUNT_BLOCK,
    errors.AmountNotBelowRequested: ids.AMOUNT_BLOCK,
    errors.AmountOutOfRange: ids.AMOUNT_BLOCK,
    errors.DisputedTimeInvalid: ids.HOURS_BLOCK,
    errors.CertificationRequired: ids.CERTIFY_BLOCK,
    errors.InvalidLink: ids.LINKS_BLOCK,
    errors.TooManyLinks: ids.LINKS_BLOCK,
    errors.NotAMediatorToAssign: ids.MEDIATOR_BLOCK,
    errors.CurrencyMismatch: ids.AMOUNT_BLOCK,
    errors.ItemHasOpenCase: ids.ITEM_BLOCK,
    errors.UnknownContract: ids.CONTRACT_BLOCK,
    errors.NotYourContract: ids.CONTRACT_BLOCK,
}


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


# Which field a missing or too-long text belongs on, by what the rule calls it.
_TEXT_FIELD = {
    "statement": ids.STATEMENT_BLOCK,
    "rationale": ids.RATIONALE_BLOCK,
    "award reference": ids.REFERENCE_BLOCK,
    "question": ids.QUESTION_BLOCK,
    "evidence": ids.EVIDENCE_BLOCK,
    "description or a link": ids.EVIDENCE_BLOCK,
}


def field_errors(refusal: errors.Refused, view: dict[str, Any], fallback: str) -> dict[str, str]:
    """A refusal shown on the modal field it concerns (or ``fallback``), so nothing typed is lost."""
    present = [b.get("block_id") for b in view.get("blocks", [])]
    if isinstance(refusal, errors.TextRequired | errors.TextTooLong):
        block = _TEXT_FIELD.get(refusal.what) or next(
            (b for b in (ids.REASON_BLOCK, ids.NOTE_BLOCK) if b in present), fallback
        )
    else:
        block = _FIELD.get(type(refusal), fallback)
    return {block if block in present else fallback: refusal_text(refusal)[:300]}


def on_refund_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], deps: Deps) -> None:
    contract_id, item = value(view, ids.CONTRACT_BLOCK), value(view, ids.ITEM_BLOCK)
    if not contract_id or not item:
        missing = ids.CONTRACT_BLOCK if not contract_id else ids.ITEM_BLOCK
        ack(response_action="errors", errors={missing: "Please choose one."})
        return
    command = RequestRefund(
        team_id=body["team"]["id"],
        user_id=body["user"]["id"],
        contract_id=contract_id,
        item_key=item,
        amount=value(view, ids.AMOUNT_BLOCK) or "",
        reason=value(view, ids.REASON_BLOCK) or "",
        request_key=f"view:{view['id']}",
    )
    try:
        refunds.request_refund(deps, command)
    except errors.Refused as refusal:
        ack(response_action="errors", errors=field_errors(refusal, view, ids.ITEM_BLOCK))
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
        fallback = ids.AMOUNT_BLOCK if adjusting else ids.REASON_BLOCK
        ack(response_action="errors", errors=field_errors(refusal, view, fallback))
        return
    ack()


def register(app: App, deps: Deps) -> None:
    app.view(ids.REFUND_MODAL)(lambda ack, body, view: on_refund_submit(ack, body, view, deps))
    for callback_id in (ids.ADJUST_MODAL, ids.DECLINE_MODAL):
        app.view(callback_id)(lambda ack, body, view: on_answer_submit(ack, body, view, deps))
