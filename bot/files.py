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
from bot.domain.errors import FileGone, FileNotYours, FileUnreadable, InvalidInput, Refused, one_or_all
from bot.domain.events import Evidence
from bot.domain.files import HEAD_BYTES, EvidenceFile, FileClaim, FileRules, content_problem
from bot.lanes import Dead, LaneWorker, Later
from bot.services import evidence
from bot.services.core import Deps, tell
from bot.services.evidence import AddEvidence
from bot.services.models import CaseView
from bot.services.read_models import reader_locale
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


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """The bot token never follows a redirect: Slack redirects a download it will not serve to its sign-in page."""

    def redirect_request(self, *_: Any, **__: Any) -> None:
        return None


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
        self.timeout = timeout
        self.slack_host = urlsplit(api_url).hostname or ""
        self._opener = urllib.request.build_opener(_NoRedirects())

    def describe(self, row: LeasedMessage) -> str:
        return f"the files of form {row.view.get('intake')}"

    def work(self, row: LeasedMessage) -> None:
        form = AddEvidence.model_validate(row.view)
        try:
            client = self.workspaces.client(row.team_id)
        except NotInstalled as gone:
            raise Dead(str(gone)) from None
        case = evidence.view_for_party(self.deps, form.team_id, form.user_id, form.case_id)
        rules = case.terms.file_rules
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
            self.answer(client, form, case, outcome)

    def read(self, client: WebClient, claim: FileClaim, rules: FileRules) -> EvidenceFile | InvalidInput:
        """One file as Slack holds it now, read and hashed; what is wrong with it; or Later."""
        try:
            info = client.files_info(file=claim.file_id)["file"]
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            if exc.response.status_code == 429 or exc.response.status_code >= 500:
                retry_after = str(exc.response.headers.get("Retry-After") or "")
                wait = timedelta(seconds=int(retry_after)) if retry_after.isdigit() else None
                raise Later(f"files.info answered {exc.response.status_code} {error}", wait) from None
            if error in BROKEN:
                raise Dead(f"files.info: {error}") from None
            return FileGone(claim.name) if error == "file_deleted" else FileUnreadable(claim.name)
        except (SlackRequestError, URLError, TimeoutError, OSError) as exc:
            raise Later(f"files.info: {type(exc).__name__}: {exc}") from None
        if info.get("user") != claim.owner or (info.get("user_team") or claim.team) != claim.team:
            return FileNotYours(claim.name)
        url = str(info.get("url_private_download") or info.get("url_private") or "")
        if info.get("is_external") or not self._slacks(url):
            return FileUnreadable(claim.name)
        try:
            digest, count, head = self._download(
                url, str(client.token or ""), rules.max_bytes, str(info.get("mimetype") or "")
            )
        except _NotServed as refused:
            return FileGone(claim.name) if refused.gone else FileUnreadable(claim.name)
        if problem := content_problem(claim, head, count, rules):
            return problem
        name = str(info.get("name") or claim.name)
        return EvidenceFile(
            claim.file_id, name, str(info.get("mimetype") or claim.mimetype), count, digest, claim.owner
        )

    def _slacks(self, url: str) -> bool:
        """Whether ``url`` is Slack's (or the configured Slack's, the stand-in's): the only place the token goes."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        return parts.scheme in ("https", "http") and (host == self.slack_host or host.endswith(".slack.com"))

    def _download(self, url: str, token: str, limit: int, mimetype: str) -> tuple[str, int, bytes]:
        """(SHA-256, size, first bytes), read no further than ``limit`` + 1 bytes; _NotServed when Slack no longer
        has it or would not let the token read it."""
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        digest, count, head = hashlib.sha256(), 0, b""
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                kind = str(response.headers.get("Content-Type") or "").split(";")[0].strip()
                if kind == "text/html" and mimetype != "text/html":
                    raise _NotServed(gone=False)  # Slack's sign-in page, not the file
                while chunk := response.read(CHUNK):
                    digest.update(chunk)
                    head = (head + chunk)[:HEAD_BYTES] if len(head) < HEAD_BYTES else head
                    count += len(chunk)
                    if count > limit:
                        break
        except HTTPError as exc:
            if exc.code == 429 or exc.code >= 500:
                raise Later(f"download answered {exc.code}") from None
            raise _NotServed(gone=exc.code in (404, 410)) from None
        except (URLError, TimeoutError, OSError) as exc:
            raise Later(f"download: {type(exc).__name__}: {exc}") from None
        return digest.hexdigest(), count, head

    def answer(self, client: WebClient, form: AddEvidence, case: CaseView, outcome: Evidence | Refused) -> None:
        """The form again: added, or as filled with what was wrong; a refusal goes to a DM once it is closed."""
        locale = reader_locale(self.deps, form.team_id, form.user_id) or DEFAULT_LOCALE
        if isinstance(outcome, Evidence):
            view = added_modal(case.id, outcome, locale)
        else:
            view = evidence_modal(case, locale, Draft(form.text, form.links, form.visibility, outcome))
        if form.view_id:
            try:
                client.views_update(view_id=form.view_id, view=view)
                return
            except (SlackApiError, SlackRequestError, URLError, TimeoutError, OSError) as exc:
                log.info("files: the form of %s could not be answered in place (%s)", form.intake, exc)
        if isinstance(outcome, Refused):
            tell(self.deps, form.team_id, form.user_id, None, outcome, f"files:{form.intake}")
