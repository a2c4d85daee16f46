"""The files reader: reads the files of an evidence form off the request path, since a form must be answered
within 3 seconds and ten files of 10 MB cannot be (``bot.services.evidence.queue_files`` queues them).

For each file, with the workspace's bot token:

- ``files.info`` says what Slack holds now: deleted (``FileGone``), not readable by the app (``FileUnreadable``),
  or not the person's own upload in this workspace after all (``FileNotYours``);
- a download of its ``url_private_download``, streamed through SHA-256 and never past the policy's size. The token
  goes only to Slack's own hosts, and never follows a redirect; Slack's sign-in page where the file should be
  means the token may not read it. What the bytes show is checked too: empty, too large, a program under
  another name.

Slack down, slow or limiting: the form is read again later (``bot.lanes``) and keeps saying "checking". Then the
piece is recorded whole with its files' fingerprints (``record_files``), or refused with nothing kept, and the
form is answered again (``views.update``): added, or as it was filled with what was wrong under its files. A form
closed meanwhile: a refusal goes to the person's DM; an added piece shows where any evidence does.
"""

from __future__ import annotations

import hashlib
import logging
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.evidence_forms import Draft, added_modal, evidence_modal
from bot.blocks.format import DEFAULT_LOCALE
from bot.blocks.stages import file_changed
from bot.domain.errors import FileGone, FileNotYours, FileUnreadable, InvalidInput, Refused, one_or_all
from bot.domain.events import Evidence
from bot.domain.files import HEAD_BYTES, EvidenceFile, FileClaim, FileRules, content_problem
from bot.lanes import Dead, LaneWorker, Later, NoRedirects, Undeliverable
from bot.services import evidence
from bot.services.core import Deps, tell
from bot.services.evidence import AddEvidence
from bot.services.messages import Surface
from bot.services.models import EvidenceForm
from bot.services.read_models import reader_locale
from bot.services.surfaces import FileCopyShown
from bot.workspaces import NotInstalled, Workspaces
from storage.outbox import Lane, LeasedMessage

log = logging.getLogger("refundbot.files")

FIRST_WAIT = timedelta(seconds=5)
MAX_WAIT = timedelta(minutes=5)
# About an hour of trying (5 s, 10 s, … then every 5 min) before a form waits for the operator.
MAX_ATTEMPTS = 16
CHUNK = 64 * 1024
# Slack's errors that no retry changes: the app's token or scopes are wrong.
BROKEN = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked", "missing_scope"})


class _NotServed(Exception):
    """Slack did not hand over the file: gone, or not for this token."""

    def __init__(self, *, gone: bool) -> None:
        super().__init__("gone" if gone else "not readable with this token")
        self.gone = gone


class FileReader(LaneWorker):
    lane = Lane.FILES
    log = log

    def __init__(
        self,
        sessions: sessionmaker[Session],
        deps: Deps,
        workspaces: Workspaces,
        api_url: str,
        *,
        owner: str,
        clock: Callable[[], datetime],
        lease: timedelta = timedelta(minutes=5),
        batch: int = 2,
        timeout: float = 20.0,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        super().__init__(
            sessions,
            owner=owner,
            clock=clock,
            lease=lease,
            batch=batch,
            max_attempts=max_attempts,
            first_wait=FIRST_WAIT,
            max_wait=MAX_WAIT,
        )
        self.deps = deps
        self.workspaces = workspaces
        self.copier = FileCopier(api_url, timeout)

    def describe(self, row: LeasedMessage) -> str:
        return f"the files of form {row.view.get('intake')}"

    def work(self, row: LeasedMessage) -> None:
        try:
            client = self.workspaces.client(row.team_id)
        except NotInstalled as gone:
            raise Dead(str(gone)) from None
        if row.surface == Surface.FILE_RECHECK:
            self.recheck(client, row.team_id, str(row.view["file_id"]))
            return
        form = AddEvidence.model_validate(row.view)
        shown = evidence.form_for_party(self.deps, form.team_id, form.user_id, form.case_id)
        rules = shown.files
        kept: list[EvidenceFile] = []
        problems: list[InvalidInput] = []
        for attached in form.files:
            read = self.read(client, attached.claim(), rules)
            if isinstance(read, InvalidInput):
                problems.append(read)
            else:
                kept.append(read)
        outcome: Evidence | Refused | None
        if refused := one_or_all(problems):
            outcome = refused
        else:
            try:
                outcome = evidence.record_files(self.deps, form, tuple(kept))
            except Refused as no:  # the case moved on while the files were read
                outcome = no
        if outcome is not None:
            self.answer(client, form, shown, outcome)

    def recheck(self, client: WebClient, team_id: str, file_id: str) -> None:
        """Slack says a file changed or was deleted: if a piece of evidence holds it and a read finds it no longer
        what was added, each such piece's case says so (``Surface.FILE_ALTERED``), once."""
        pieces = evidence.pieces_holding(self.deps, team_id, file_id)
        if not pieces:
            return
        file = next(each for each in pieces[0].files if each.file_id == file_id)
        try:
            found, _ = self.copier.read_again(_calling(client), str(client.token or ""), file)
        except SlackApiError as exc:
            raise _not_answered(exc) from None
        except (SlackRequestError, URLError, TimeoutError, OSError) as exc:
            raise Later(f"files.info: {type(exc).__name__}: {exc}") from None
        if found is not None:
            for piece in pieces:
                evidence.file_altered(self.deps, team_id, piece, file, found)

    def read(self, client: WebClient, claim: FileClaim, rules: FileRules) -> EvidenceFile | InvalidInput:
        """One file as Slack holds it now, read and hashed; what is wrong with it; or Later."""
        try:
            info = client.files_info(file=claim.file_id)["file"]
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            if exc.response.status_code == 429 or exc.response.status_code >= 500 or error in BROKEN:
                raise _not_answered(exc) from None
            return FileGone(claim.name) if error == "file_deleted" else FileUnreadable(claim.name)
        except (SlackRequestError, URLError, TimeoutError, OSError) as exc:
            raise Later(f"files.info: {type(exc).__name__}: {exc}") from None
        if info.get("user") != claim.owner or (info.get("user_team") or claim.team) != claim.team:
            return FileNotYours(claim.name)
        if claim.shared_in and claim.shared_in not in _shared_in(info):  # not in the message it was taken from
            return FileNotYours(claim.name)
        url = str(info.get("url_private_download") or info.get("url_private") or "")
        if info.get("is_external"):
            return FileUnreadable(claim.name)
        try:
            digest, count, content = self.copier.downloads.read(url, str(client.token or ""), rules.max_bytes)
        except _NotServed as refused:
            return FileGone(claim.name) if refused.gone else FileUnreadable(claim.name)
        if problem := content_problem(claim, content[:HEAD_BYTES], count, rules):
            return problem
        name = str(info.get("name") or claim.name)
        return EvidenceFile(
            claim.file_id, name, str(info.get("mimetype") or claim.mimetype), count, digest, claim.owner
        )

    def answer(self, client: WebClient, form: AddEvidence, shown: EvidenceForm, outcome: Evidence | Refused) -> None:
        """The form again: added, or as filled with what was wrong; a refusal goes to a DM once it is closed."""
        locale = reader_locale(self.deps, form.team_id, form.user_id) or DEFAULT_LOCALE
        if isinstance(outcome, Evidence):
            view = added_modal(shown.case.id, outcome, locale)
        else:
            view = evidence_modal(shown, locale, Draft(form.text, form.links, form.visibility, outcome))
        if form.view_id:
            try:
                client.views_update(view_id=form.view_id, view=view)
                return
            except (SlackApiError, SlackRequestError, URLError, TimeoutError, OSError) as exc:
                log.info("files: the form of %s could not be answered in place (%s)", form.intake, exc)
        if isinstance(outcome, Refused):
            tell(self.deps, form.team_id, form.user_id, None, outcome, f"files:{form.intake}")


def _not_answered(exc: SlackApiError) -> Undeliverable:
    """Slack answered a file call with an error no file explains: later when it is busy or failing (following a
    ``Retry-After``), or for the operator when the app's token or scopes are wrong, or the error unknown."""
    status, error = exc.response.status_code, str(exc.response.get("error") or "")
    if status == 429 or status >= 500:
        retry_after = str(exc.response.headers.get("Retry-After") or "")
        wait = timedelta(seconds=int(retry_after)) if retry_after.isdigit() else None
        return Later(f"files.info answered {status} {error}", wait)
    return Dead(f"files.info: {error}")


def _calling(client: WebClient) -> Callable[..., Any]:
    """One Web API call by its method's name, as the relay's ``_call`` makes it (without its rate limits)."""
    return lambda method, **args: getattr(client, method.replace(".", "_"))(**args)


def _shared_in(info: dict[str, Any]) -> set[str]:
    """The conversations Slack says a file is shared in."""
    shares = info.get("shares") or {}
    places = {*(info.get("channels") or ()), *(info.get("groups") or ()), *(info.get("ims") or ())}
    return places | set(shares.get("public") or {}) | set(shares.get("private") or {})


class Downloads:
    """Files read from Slack with a bot token, streamed through SHA-256: the token goes only to Slack's hosts (or the
    configured Slack's, the stand-in's), and never follows a redirect."""

    def __init__(self, api_url: str, timeout: float) -> None:
        self.slack_host = urlsplit(api_url).hostname or ""
        self.timeout = timeout
        self._opener = urllib.request.build_opener(NoRedirects())

    def read(self, url: str, token: str, limit: int) -> tuple[str, int, bytes]:
        """(SHA-256, size, content), read no further than ``limit`` + 1 bytes (the content kept is at most
        ``limit``); _NotServed when the URL is not Slack's, Slack no longer has the file, or answers its sign-in
        page (HTML) rather than the file."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme not in ("https", "http") or not (host == self.slack_host or host.endswith(".slack.com")):
            raise _NotServed(gone=False)
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        digest, count, kept = hashlib.sha256(), 0, bytearray()
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                if str(response.headers.get("Content-Type") or "").split(";")[0].strip() == "text/html":
                    raise _NotServed(gone=False)  # Slack's sign-in page, not the file (evidence is never a web page)
                while chunk := response.read(CHUNK):
                    digest.update(chunk)
                    count += len(chunk)
                    if count > limit:
                        break
                    kept += chunk
        except HTTPError as exc:
            if exc.code == 429 or exc.code >= 500:
                raise Later(f"download answered {exc.code}") from None
            raise _NotServed(gone=exc.code in (404, 410)) from None
        except (URLError, TimeoutError, OSError) as exc:
            raise Later(f"download: {type(exc).__name__}: {exc}") from None
        return digest.hexdigest(), count, bytes(kept)


class FileCopier:
    """Shares a copy of a file of the evidence in a thread where its readers are (``Surface.FILE_COPY``), for the
    relay: read again with the bot token and compared with the SHA-256 it was added with; a file changed or
    removed since is not copied, and the thread says so. The copy is uploaded (``files.upload_v2``: Slack's
    external upload) and read back, and its SHA-256 must be the same."""

    def __init__(self, api_url: str, timeout: float = 20.0) -> None:
        self.downloads = Downloads(api_url, timeout)

    def copy(
        self, call: Callable[..., Any], token: str, shown: FileCopyShown, comment: str, where: dict[str, Any]
    ) -> None:
        """``call`` makes one Web API call within Slack's limits; ``where`` is the thread (channel, thread_ts)."""
        file = shown.file
        _, content = self.read_again(call, token, file)
        if content is None:
            call("chat.postMessage", text=file_changed(shown), **where)
            return
        uploaded = call(
            "files.upload_v2", content=content, filename=file.name, title=file.name, initial_comment=comment, **where
        )
        copy_id = str(uploaded["file"]["id"])
        info = call("files.info", file=copy_id)["file"]
        try:
            digest = self.downloads.read(str(info.get("url_private_download") or ""), token, file.size)[0]
        except _NotServed:
            digest = None
        if digest != file.sha256:
            raise Dead(f"the copy {copy_id} of {file.file_id} does not read back as it was added")

    def read_again(self, call: Callable[..., Any], token: str, file: EvidenceFile) -> tuple[str | None, bytes | None]:
        """What a read of the file finds now: (None, its content) while it is what was added; ("changed", None) or
        ("removed", None: deleted, or no longer readable by the app) otherwise."""
        try:
            info = call("files.info", file=file.file_id)["file"]
        except SlackApiError as exc:
            if exc.response.status_code < 500 and exc.response.get("error") in ("file_deleted", "file_not_found"):
                return "removed", None
            raise
        try:
            digest, _, content = self.downloads.read(str(info.get("url_private_download") or ""), token, file.size)
        except _NotServed:
            return "removed", None
        return (None, content) if digest == file.sha256 else ("changed", None)
