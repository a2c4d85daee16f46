"""The Slack relay: delivers outbox rows, at least once, in order per case (design §5).

Each app instance runs one in a thread. It leases rows, renders them, calls Slack through the one
WebClient (whose retry handlers already absorb a short 429, 5xx or dropped connection), stores the returned
channel + ts so later changes to the same message use chat.update, and settles the row. What the client's
retries could not absorb is retried later with back-off (or after Retry-After); permanent failures are parked
as ``dead`` with Slack's error, for `refundbot outbox` and the logs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient
from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.format import DEFAULT_LOCALE, babel_locale
from bot.blocks.render import Rendered
from storage.outbox import LeasedMessage, MessageRef, OutboxRepository

log = logging.getLogger("refundbot.relay")

# Slack errors that another attempt cannot fix: the message itself or its destination is wrong.
PERMANENT = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "user_not_found",
        "user_disabled",
        "cannot_dm_bot",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "invalid_arguments",
        "expired_url",
        "used_url",
        "no_service",
    }
)
MAX_ATTEMPTS = 12
MAX_BACKOFF = timedelta(minutes=10)


class Undeliverable(Exception):
    """A failure outside the Web API (a response_url, a missing thread root), permanent or not."""

    def __init__(self, error: str, *, permanent: bool) -> None:
        super().__init__(error)
        self.error = error
        self.permanent = permanent


Renderer = Callable[[str, dict[str, Any], str | None, str], Rendered]
"""(surface, view, case thread permalink or None, reader's locale) -> what Slack shows."""
LOCALE_TTL = 3600.0


def web_client(token: str | None, base_url: str, timeout: int = 10) -> WebClient:
    """The one WebClient of an app instance: Slack's own retry handlers for 429, 5xx and dropped connections.

    One quick retry each: longer outages are the relay's to wait out, without holding up other cases.
    """
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1),
            RateLimitErrorRetryHandler(max_retry_count=1),
            ServerErrorRetryHandler(max_retry_count=1),
        ],
    )


class Relay:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        client: WebClient,
        render: Renderer,
        *,
        owner: str,
        clock: Callable[[], datetime],
        lease: timedelta = timedelta(seconds=60),
        batch: int = 20,
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.render = render
        self.owner = owner
        self.clock = clock
        self.lease = lease
        self.batch = batch
        self.wake = threading.Event()
        self._locales: dict[str, tuple[str, float]] = {}
        self._dms: dict[str, str] = {}

    def lease_batch(self) -> list[LeasedMessage]:
        with self.sessions.begin() as session:
            return OutboxRepository(session).lease_due(self.owner, self.clock(), self.lease, self.batch)

    def run_once(self) -> int:
        """Claim a batch and deliver it; returns how many rows were attempted."""
        rows = self.lease_batch()
        for row in rows:
            self.deliver(row)
        return len(rows)

    def run(self, stop: threading.Event, idle: float = 0.5) -> None:
        """Deliver until ``stop``; sleep ``idle`` seconds between empty polls unless woken by a new commit."""
        while not stop.is_set():
            try:
                if self.run_once():
                    continue
            except Exception:  # the loop must outlive a database hiccup; the rows stay leased and come back
                log.exception("relay: leasing failed; trying again shortly")
            self.wake.wait(idle)
            self.wake.clear()

    def deliver(self, row: LeasedMessage) -> None:
        try:
            self._send(row)
        except SlackApiError as exc:
            self._failed(row, exc)
        except Undeliverable as exc:
            if exc.permanent:
                self._dead(row, exc.error)
            else:
                self._later(row, exc.error, None)
        except (SlackRequestError, URLError, TimeoutError, OSError) as exc:
            self._later(row, f"{type(exc).__name__}: {exc}", None)
        except Exception as exc:  # one bad row must not stall the batch: back off, and dead after the last try
            log.exception("relay: message %s (%s) failed unexpectedly", row.id, row.surface)
            self._later(row, f"unexpected {type(exc).__name__}: {exc}", None)
        else:
            with self.sessions.begin() as session:
                OutboxRepository(session).sent(row.id, self.owner, self.clock())

    def _send(self, row: LeasedMessage) -> None:
        with self.sessions.begin() as session:
            outbox = OutboxRepository(session)
            kept = outbox.message_ref(row.team_id, row.message_key) if row.message_key else None
            root = outbox.message_ref(row.team_id, f"{row.stream}:thread")
            parent = outbox.message_ref(row.team_id, row.target.parent_key) if row.target.parent_key else None
        target = row.target
        reader = target.users[0] if target.kind in ("dm", "home", "response_url") and target.users else None
        try:
            shown = self.render(row.surface, row.view, root.permalink if root else None, self._locale(reader))
        except Exception as exc:  # a message that cannot be rendered now never will be: park it for a fix
            raise Undeliverable(f"cannot render {row.surface}: {type(exc).__name__}: {exc}", permanent=True) from exc
        if target.kind == "response_url":
            response = WebhookClient(target.url or "", timeout=10).send(
                text=shown.text, blocks=shown.blocks, response_type="ephemeral", replace_original=False
            )
            if response.status_code >= 300:
                error = f"response_url answered {response.status_code}: {response.body}"
                raise Undeliverable(error, permanent=response.status_code < 500)
            return
        if target.kind == "home":
            self.client.views_publish(user_id=target.users[0], view={"type": "home", "blocks": shown.blocks})
            return
        if kept is not None:
            self.client.chat_update(channel=kept.channel, ts=kept.ts, text=shown.text, blocks=shown.blocks)
            return
        thread_ts = None
        if target.kind == "thread":
            if parent is None:  # rows of a stream go in order, so the root is dead, not late
                raise Undeliverable("the case thread was never posted", permanent=True)
            channel, thread_ts = parent.channel, parent.ts
        elif target.kind == "channel":
            channel = target.channel or ""
        else:
            channel = self._dm_channel(",".join(target.users))
        posted = self.client.chat_postMessage(
            channel=channel, text=shown.text, blocks=shown.blocks, thread_ts=thread_ts
        )
        if row.message_key:
            permalink = None
            if row.message_key.endswith(":thread"):
                permalink = self.client.chat_getPermalink(channel=posted["channel"], message_ts=posted["ts"])[
                    "permalink"
                ]
            with self.sessions.begin() as session:
                OutboxRepository(session).save_ref(
                    row.team_id, row.message_key, MessageRef(posted["channel"], posted["ts"], permalink), self.clock()
                )

    def _dm_channel(self, users: str) -> str:
        """A DM's channel id never changes, so conversations.open is asked once per person (or group)."""
        if (channel := self._dms.get(users)) is None:
            channel = self._dms[users] = self.client.conversations_open(users=users)["channel"]["id"]
        return channel

    def _locale(self, user: str | None) -> str:
        """The reader's locale from users.info, cached for an hour; en_US when Slack does not say."""
        if user is None:
            return DEFAULT_LOCALE
        cached = self._locales.get(user)
        if cached and time.monotonic() - cached[1] < LOCALE_TTL:
            return cached[0]
        try:
            found = self.client.users_info(user=user, include_locale=True)["user"].get("locale")
        except (SlackApiError, SlackRequestError, URLError, OSError):
            return DEFAULT_LOCALE  # formatting is no reason to hold a message back
        locale = babel_locale(found)
        self._locales[user] = (locale, time.monotonic())
        return locale

    def _failed(self, row: LeasedMessage, exc: SlackApiError) -> None:
        status = exc.response.status_code
        error = exc.response.get("error") or f"http_{status}"
        if error in PERMANENT or (400 <= status < 500 and status != 429):
            self._dead(row, error)
            return
        retry_after = exc.response.headers.get("Retry-After") if status == 429 else None
        self._later(row, error, int(retry_after) if retry_after and str(retry_after).isdigit() else None)

    def _dead(self, row: LeasedMessage, error: str) -> None:
        log.error("relay: message %s (%s, case %s) is dead: %s", row.id, row.surface, row.stream, error)
        with self.sessions.begin() as session:
            OutboxRepository(session).dead(row.id, self.owner, error)

    def _later(self, row: LeasedMessage, error: str, retry_after: int | None) -> None:
        if row.attempts >= MAX_ATTEMPTS:
            self._dead(row, f"gave up after {row.attempts} attempts: {error}")
            return
        with self.sessions.begin() as session:
            outbox = OutboxRepository(session)
            wait = (
                timedelta(seconds=retry_after) if retry_after else min(timedelta(seconds=2**row.attempts), MAX_BACKOFF)
            )
            log.warning("relay: message %s (%s) failed (%s); retrying in %s", row.id, row.surface, error, wait)
            outbox.retry(row.id, self.owner, self.clock() + wait, error)
