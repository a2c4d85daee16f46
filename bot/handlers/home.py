"""App Home, refreshed each time someone opens it; for a mediator it is the desk, whose filters, pages and Claim
buttons publish it again."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from slack_bolt import Ack, App

from bot.blocks import ids
from bot.blocks.desk import ALL
from bot.domain.contract import ContractKind
from bot.domain.errors import Refused
from bot.domain.vocabulary import Stage
from bot.handlers.payloads import Malformed, action_id, button_value, metadata, parsed, who
from bot.services import mediation, read_models
from bot.services.core import Deps
from bot.services.mediation import Mediate
from bot.services.models import DESK_SECTIONS, DeskFilters
from bot.services.ports import StorageUnavailable

log = logging.getLogger("refundbot.handlers")


def on_home_opened(event: dict[str, Any], context: dict[str, Any], deps: Deps) -> None:
    if event.get("tab") != "home":
        return
    if not isinstance(user := event.get("user"), str) or not user:
        raise Malformed("app_home_opened names no user")
    read_models.show_home(deps, context["team_id"], user, str(event.get("event_ts", "")))


class _Filters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stage: Stage | None = None
    kind: ContractKind | None = None
    overdue: bool = False


class _DeskState(BaseModel):
    """The desk's private_metadata, as ``bot.blocks.desk.metadata`` wrote it."""

    model_config = ConfigDict(extra="forbid")
    filters: _Filters = _Filters()
    pages: dict[Literal["unclaimed", "mine", "rest"], int] = Field(default_factory=dict)


def _state(body: dict[str, Any]) -> _DeskState:
    try:
        return _DeskState.model_validate(metadata(body.get("view") or {}))
    except ValidationError:
        raise Malformed("the desk's private_metadata is not one it wrote") from None


def _chosen(body: dict[str, Any]) -> str | None:
    option = body["actions"][0].get("selected_option") or {}
    value = option.get("value")
    if not isinstance(value, str):
        raise Malformed("a desk filter with no option chosen")
    return None if value == ALL else value


def _page(body: dict[str, Any]) -> tuple[str, int]:
    name, _, offset = button_value(body).partition(":")
    if name not in DESK_SECTIONS or not offset.isdigit():
        raise Malformed("a desk page button names no page")
    return name, int(offset)


def on_desk(ack: Ack, body: dict[str, Any], deps: Deps) -> None:
    """A filter chosen, a page turned or a case claimed: the desk is published again. A claim that changed
    nothing (another mediator was first, the case moved on) says why at the top of it: a Home tab has no private
    reply."""
    ack()
    team_id, user_id = who(body)
    key = str(body["actions"][0].get("action_ts", ""))
    if not read_models.at_desk(deps, team_id, user_id):  # no longer one: their own Home instead
        read_models.show_home(deps, team_id, user_id, key)
        return
    state = _state(body)
    filters, pages = state.filters, dict(state.pages)
    notice: Refused | None = None
    try:
        match action_id(body):
            case ids.DESK_STAGE | ids.DESK_KIND | ids.DESK_OVERDUE as which:
                filters = _refined(filters, which, _chosen(body))
                pages = {}  # a new filter starts each part from its first page
            case ids.DESK_PAGE_BACK | ids.DESK_PAGE_NEXT:
                name, offset = _page(body)
                pages[name] = offset
            case ids.DESK_CLAIM:
                claim = parsed(Mediate, team_id=team_id, user_id=user_id, case_id=button_value(body), action="claim")
                try:
                    mediation.mediate(deps, claim)
                except Refused as refusal:
                    notice = refusal
        chosen = DeskFilters(filters.stage, filters.kind, filters.overdue)
        read_models.show_desk(deps, team_id, user_id, chosen, pages, key, notice)
    except StorageUnavailable as down:  # nowhere private to say so: the desk stays as it was
        log.warning("database unavailable for the desk of %s: %s", user_id, down)


def show_desk_again(deps: Deps, team_id: str, user_id: str, desk: str, key: str, notice: Refused | None = None) -> None:
    """The desk as it was (its filters and pages, from its private_metadata), published again after a click or a
    form it opened; ``notice`` says why that changed nothing. Only to whom the desk is for."""
    if not read_models.at_desk(deps, team_id, user_id):
        log.info("a desk click from someone the desk is not for: %s", notice)
        return
    state = _state({"view": {"private_metadata": desk}})
    filters = DeskFilters(state.filters.stage, state.filters.kind, state.filters.overdue)
    read_models.show_desk(deps, team_id, user_id, filters, dict(state.pages), key, notice)


def _refined(filters: _Filters, which: str, chosen: str | None) -> _Filters:
    field = {ids.DESK_STAGE: "stage", ids.DESK_KIND: "kind", ids.DESK_OVERDUE: "overdue"}[which]
    value: object = chosen == "overdue" if field == "overdue" else chosen
    try:
        return _Filters.model_validate(filters.model_dump() | {field: value})
    except ValidationError:
        raise Malformed("a desk filter our desk does not offer") from None


def on_desk_link(ack: Ack) -> None:
    """ "Open card" is a link; Slack still sends the click, which wants only its ack."""
    ack()


def register(app: App, deps: Deps) -> None:
    app.event("app_home_opened")(partial(on_home_opened, deps=deps))
    for action in (
        ids.DESK_STAGE,
        ids.DESK_KIND,
        ids.DESK_OVERDUE,
        ids.DESK_PAGE_BACK,
        ids.DESK_PAGE_NEXT,
        ids.DESK_CLAIM,
    ):
        app.action(action)(partial(on_desk, deps=deps))
    app.action(ids.DESK_OPEN)(on_desk_link)
