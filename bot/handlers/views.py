"""The request stage's modal submissions. A refusal goes back onto the field it concerns, or replaces the form
when it concerns none of its fields (``bot.handlers.errors.form``); nothing typed is lost to a refusal it could
fix."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt import App

from bot.blocks import ids, refusals
from bot.domain import errors
from bot.domain.case.request import NothingRefundable
from bot.domain.errors import Field
from bot.handlers.errors import form
from bot.handlers.payloads import Malformed, parsed, value, who
from bot.services import requests
from bot.services.core import Deps
from bot.services.requests import AnswerRequest, RequestRefund


def _chosen(view: dict[str, Any]) -> tuple[str, str]:
    """The contract and item of the /refund form. It can be sent before both are chosen (a modal with inputs
    always has its submit button), and then says which one is missing."""
    contract_id, item = value(view, ids.CONTRACT_BLOCK), value(view, ids.ITEM_BLOCK)
    if not contract_id:
        raise errors.ChoiceRequired(Field.CONTRACT)
    if not item:
        if ids.ITEM_BLOCK in refusals.inputs(view):
            raise errors.ChoiceRequired(Field.ITEM)
        raise NothingRefundable(contract_id)
    return contract_id, item


@form
def on_refund_submit(body: dict[str, Any], view: dict[str, Any], deps: Deps) -> None:
    contract_id, item = _chosen(view)
    team_id, user_id = who(body)
    command = parsed(
        RequestRefund,
        team_id=team_id,
        user_id=user_id,
        contract_id=contract_id,
        item_key=item,
        amount=value(view, ids.AMOUNT_BLOCK) or "",
        reason=value(view, ids.REASON_BLOCK) or "",
        request_key=f"view:{view['id']}",
    )
    requests.request_refund(deps, command)


def _bare_case_id(view: dict[str, Any]) -> str:
    """The Adjust and Decline forms carry the bare case id as their metadata."""
    case_id = view.get("private_metadata") or ""
    if not case_id.strip():
        raise Malformed("the form names no case")
    return case_id


@form
def on_answer_submit(body: dict[str, Any], view: dict[str, Any], deps: Deps) -> None:
    adjusting = view["callback_id"] == ids.ADJUST_MODAL
    team_id, user_id = who(body)
    command = parsed(
        AnswerRequest,
        team_id=team_id,
        user_id=user_id,
        case_id=_bare_case_id(view),
        action="adjust" if adjusting else "decline",
        amount=value(view, ids.AMOUNT_BLOCK) if adjusting else None,
        text=value(view, ids.NOTE_BLOCK if adjusting else ids.REASON_BLOCK),
    )
    requests.answer_request(deps, command)


def register(app: App, deps: Deps) -> None:
    app.view(ids.REFUND_MODAL)(partial(on_refund_submit, deps=deps))
    app.view(ids.ADJUST_MODAL)(partial(on_answer_submit, deps=deps))
    app.view(ids.DECLINE_MODAL)(partial(on_answer_submit, deps=deps))
