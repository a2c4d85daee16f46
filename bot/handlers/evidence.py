"""Evidence, and answers to a mediator's questions (evidence both sides see). Only the case's parties add it;
only the asked party answers a question."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.blocks import evidence_forms, ids, stage_modals
from bot.blocks.kit import View
from bot.domain.errors import NoFileInMessage
from bot.handlers.errors import click, form, locale_of, open_form
from bot.handlers.payloads import Malformed, button_value, files, metadata, parsed, required, slack_files, value, who
from bot.services import evidence
from bot.services.core import Deps
from bot.services.evidence import AddEvidence


@click
def on_add_evidence(body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    form = evidence.form_for_party(deps, *who(body), button_value(body))
    open_form(client, body, evidence_forms.evidence_modal(form, locale_of(deps, body)))


@click
def on_answer_question(body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """The Answer button carries the question's id; the question and its case are read from the database."""
    case, question = evidence.question_for_party(deps, *who(body), button_value(body))
    open_form(client, body, stage_modals.answer_modal(case, question, locale_of(deps, body)))


@form
def on_evidence_submit(body: dict[str, Any], view: dict[str, Any], deps: Deps) -> View | None:
    """The evidence form and the answer form alike (an answer's form names its question). With files, the form
    says "checking" while they are read off the request path, and is answered again once they are."""
    team_id, user_id = who(body)
    meta = metadata(view)
    command = parsed(
        AddEvidence,
        team_id=team_id,
        user_id=user_id,
        case_id=required(meta, "case"),
        text=value(view, ids.EVIDENCE_BLOCK),
        links=(value(view, ids.LINKS_BLOCK) or "").split(),
        visibility=value(view, ids.VISIBILITY_BLOCK) or "both_sides",
        question_id=meta.get("question"),
        files=files(view, ids.FILES_BLOCK),
        view_id=view.get("id"),
    )
    if not command.files:
        evidence.add_evidence(deps, command)
        return None
    queued = evidence.queue_files(deps, command, uuid.uuid4().hex)
    return evidence_forms.checking_modal(queued.case_id, len(queued.files), queued.visibility, locale_of(deps, body))


@click
def on_add_as_evidence(body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """The message shortcut: the files of a message in a case's thread, or in the person's DM with the app."""
    team_id, user_id = who(body)
    message, channel = body.get("message") or {}, str((body.get("channel") or {}).get("id") or "")
    found = slack_files(message.get("files") or [], channel)
    if not found:
        raise NoFileInMessage()
    cases = evidence.message_files(deps, team_id, user_id, channel, str(message.get("thread_ts") or message.get("ts")))
    open_form(client, body, evidence_forms.from_message_modal(cases, found, channel, locale_of(deps, body)))


@form
def on_from_message_submit(body: dict[str, Any], view: dict[str, Any], deps: Deps) -> View:
    """Add as evidence's form: the message's files are read off the request path, as the evidence form's are."""
    team_id, user_id = who(body)
    meta = metadata(view)
    kept = meta.get("files")
    if not isinstance(kept, list) or not all(isinstance(each, dict) for each in kept):
        raise Malformed("the form's files are not refund-bot's")
    command = parsed(
        AddEvidence,
        team_id=team_id,
        user_id=user_id,
        case_id=meta.get("case") or value(view, ids.EVIDENCE_CASE_BLOCK) or required(meta, "case"),
        text=value(view, ids.EVIDENCE_BLOCK),
        visibility=value(view, ids.VISIBILITY_BLOCK) or "both_sides",
        files=[dict(each, shared_in=meta.get("in")) for each in kept],
        view_id=view.get("id"),
    )
    queued = evidence.queue_files(deps, command, uuid.uuid4().hex)
    return evidence_forms.checking_modal(queued.case_id, len(queued.files), queued.visibility, locale_of(deps, body))


def on_file_event(event: dict[str, Any], body: dict[str, Any], context: dict[str, Any], deps: Deps) -> None:
    """Slack says a file changed or was deleted: if it is evidence, it is read again (``file_touched``)."""
    file_id = event.get("file_id") or (event.get("file") or {}).get("id")
    if not isinstance(file_id, str) or not file_id:
        raise Malformed(f"{event.get('type')} names no file")
    key = str(body.get("event_id") or event.get("event_ts") or "")
    evidence.file_touched(deps, context["team_id"], file_id, key)


def register(app: App, deps: Deps) -> None:
    app.action(ids.EVIDENCE_ADD)(partial(on_add_evidence, deps=deps))
    app.view(ids.EVIDENCE_MODAL)(partial(on_evidence_submit, deps=deps))
    app.action(ids.ANSWER_QUESTION)(partial(on_answer_question, deps=deps))
    app.view(ids.ANSWER_MODAL)(partial(on_evidence_submit, deps=deps))
    app.shortcut(ids.SHORTCUT_ADD_EVIDENCE)(partial(on_add_as_evidence, deps=deps))
    app.view(ids.EVIDENCE_FROM_MESSAGE)(partial(on_from_message_submit, deps=deps))
    for file_event in ("file_change", "file_deleted"):
        app.event(file_event)(partial(on_file_event, deps=deps))
