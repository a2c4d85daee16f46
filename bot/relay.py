"""The Slack relay: delivers outbox rows in order per case, each once as Slack's users see it (design §5).

Each app instance runs one in a thread. It leases rows, renders them, calls Slack, records what Slack answered
(channel + ts, so later changes to the same message use chat.update) before making any further call, and settles
the row. Every call keeps to Slack's limits (``bot.limits``): a channel, method or workspace that Slack limits
waits alone, as long as its ``Retry-After`` says, while the other rows go on. Every post carries message
metadata naming its row; when an earlier attempt may have reached Slack unrecorded (the relay died mid-send, the
answer was lost, the database failed after the post), the relay looks for that message before posting again and
adopts it. Transient failures (5xx, timeouts, refused connections) are retried with capped back-off for as long
as it takes, with an alarm in the log once the oldest message has waited too long; only Slack's permanent errors
park a row as ``dead``, for `refundbot outbox retry`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.webhook import WebhookClient
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.format import DEFAULT_LOCALE, babel_locale
from bot.blocks.render import Rendered
from bot.clients import never_sent
from bot.files import FileCopier
from bot.lanes import Undeliverable
from bot.limits import POST, SlackLimits, Throttled
from bot.logs import about
from bot.services.locales import HeldLocales
from bot.services.messages import Surface, Target, nudged
from bot.services.surfaces import FileCopyShown
from bot.workspaces import NotInstalled, OneWorkspace, Workspaces
from storage.db import background
from storage.outbox import LeasedMessage, MessageRef, OutboxRepository
from storage.people import PeopleRepository

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
MAX_BACKOFF = timedelta(minutes=5)
# The oldest pending message waiting longer than this is logged as an error, once a minute, until it goes out.
ALARM_AFTER = timedelta(minutes=15)
ALARM_EVERY = 60.0
# Every post names its outbox row in message metadata, so a post whose answer was lost can be found again.
METADATA_TYPE = "refundbot_message"
# How far around a row's life a lookup reaches: Slack's clock and ours may differ a little.
SKEW = timedelta(minutes=2)
# "chat.postMessage generally allows posting one message per second per channel" (Slack: rate limits).
PACE = timedelta(seconds=1)
SLOTS_KEPT = 10_000


@dataclass(frozen=True)
class Outcome:
    """What became of one row of a batch: sent (no error), to retry after ``wait``, or dead; and what Slack said
    of its messages on the way (``learnt``), which is kept in every case."""

    row: LeasedMessage
    learnt: list[tuple[str, MessageRef]]
    error: str | None = None
    wait: timedelta | None = None
    in_doubt: bool = False
    dead: bool = False
    unattempted: bool = False  # its scope had no room: nothing was called, so it is no attempt


# Kept messages whose permalink is asked for once posted: the case thread (linked from the DMs) and the case card
# (linked from the mediators' desk).
_LINKED = (":thread", ":card")
Renderer = Callable[[str, dict[str, Any], str | None, str], Rendered]
"""(surface, view, case thread permalink or None, reader's locale) -> what Slack shows."""
LOCALE_HELD = 3600.0  # how long this relay trusts what it holds in memory
LOCALE_REFRESH = timedelta(days=1)  # how long anyone trusts the stored one before Slack is asked again


def _destination(target: Target) -> str | None:
    """What Slack paces a message by: its channel, or the person (people) of a DM; a reply goes by its thread.
    App Homes and response_urls have limits of their own."""
    if target.kind in ("home", "response_url", "nudges"):  # an update is no post: chat.update has its own tier
        return None
    return target.channel or ",".join(target.users) or target.parent_key


class Relay:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        client: WebClient | Workspaces,
        render: Renderer,
        *,
        owner: str,
        clock: Callable[[], datetime],
        lease: timedelta = timedelta(seconds=60),
        batch: int = 20,
        pace: timedelta = PACE,
        workers: int = 4,
        limits: SlackLimits | None = None,
        copier: FileCopier | None = None,
    ) -> None:
        self.sessions = sessions
        self.copier = copier or FileCopier("")  # Slack's own file hosts only, unless told the stand-in's
        # One workspace's client, or each installed workspace's own (OAuth).
        self.workspaces: Workspaces = OneWorkspace(client) if isinstance(client, WebClient) else client
        self.render = render
        self.owner = owner
        self.clock = clock
        self.lease = lease
        self.batch = batch
        self.pace = pace
        self.workers = workers
        self.limits = limits or SlackLimits(paced=bool(pace))
        self._lookups: dict[int, str] = {}  # row → the cursor where its unfinished lookup goes on
        self._slots: dict[str, datetime] = {}  # per channel (or person): when the next message may go
        self._reserved: dict[int, datetime] = {}  # rows sent back to wait for their channel's slot
        self.wake = threading.Event()
        self._locales = HeldLocales(LOCALE_HELD)
        self._learnt_locales: dict[tuple[str, str], str] = {}  # stored with the batch's record, in its transaction
        self._dms: dict[str, str] = {}
        self._alarmed_at = 0.0
        self._database_warned_at = -ALARM_EVERY
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="relay")  # kept: a batch is milliseconds

    def lease_batch(self) -> list[LeasedMessage]:
        with self.sessions.begin() as session:
            return OutboxRepository(session).lease_due(self.owner, self.clock(), self.lease, self.batch)

    def run_once(self) -> int:
        """Claim a batch and deliver what its channels' pace allows now, different channels in parallel; the
        rest wait for their channel's next slot. What happened is recorded in one transaction. Returns how many
        rows were attempted."""
        with background():
            rows = self.lease_batch()
            ready = self._paced(rows)
            outcomes = list(self._pool.map(self.deliver, ready))
            if outcomes:
                self.settle(outcomes)
        return len(ready)

    def _paced(self, rows: list[LeasedMessage]) -> list[LeasedMessage]:
        """Slack takes about one message per second in a channel: each channel (or person) gets one slot per
        ``pace``; a row without one now goes back to the queue, due at the slot reserved for it."""
        if not self.pace:
            return rows
        now = self.clock()
        ready: list[LeasedMessage] = []
        later: list[tuple[int, datetime]] = []
        for row in rows:
            where = _destination(row.target)
            reserved = self._reserved.pop(row.id, None)
            if where is None or (reserved is not None and reserved <= now):
                ready.append(row)
                continue
            slot = max(self._slots.get(where, now), now)
            self._slots[where] = slot + self.pace
            if slot <= now:
                ready.append(row)
            else:
                later.append((row.id, slot))
                self._reserved[row.id] = slot
        if later:
            with self.sessions.begin() as session:
                outbox = OutboxRepository(session)
                for row_id, slot in later:
                    outbox.defer(row_id, self.owner, slot)
        if len(self._slots) + len(self._reserved) > SLOTS_KEPT:  # forget what is long past
            self._slots = {where: slot for where, slot in self._slots.items() if slot > now}
            self._reserved = {row_id: slot for row_id, slot in self._reserved.items() if slot > now - self.lease}
            self.limits.forget(now)
        return ready

    def run(self, stop: threading.Event, idle: float = 0.5) -> None:
        """Deliver until ``stop``; sleep ``idle`` seconds between empty polls unless woken by a new commit."""
        while not stop.is_set():
            try:
                self.check_backlog()
                if self.run_once():
                    continue
            except SQLAlchemyError as exc:  # the rows stay leased and come back; one line a minute says why
                if time.monotonic() - self._database_warned_at >= ALARM_EVERY:
                    self._database_warned_at = time.monotonic()
                    log.warning("relay: the database is unavailable (%s); retrying", " ".join(str(exc).split())[:200])
            except Exception:  # the loop must outlive anything one batch does
                log.exception("relay: a batch failed; trying again shortly")
            self.wake.wait(idle)
            self.wake.clear()

    def check_backlog(self) -> timedelta | None:
        """Once a minute: how long the oldest pending message has waited, logged as an error past ALARM_AFTER."""
        if time.monotonic() - self._alarmed_at < ALARM_EVERY:
            return None
        self._alarmed_at = time.monotonic()
        with background(), self.sessions() as session:
            oldest = OutboxRepository(session).oldest_pending()
        if oldest is None:
            return None
        queued_at, stream, error = oldest
        waited = self.clock() - queued_at
        if waited > ALARM_AFTER:
            log.error(
                "relay: ALARM the oldest pending Slack message (case %s) has waited %s; last error: %s",
                stream,
                str(waited).split(".")[0],
                error or "none yet",
            )
        return waited

    def deliver(self, row: LeasedMessage) -> Outcome:
        """Send one row; what happened is recorded with the rest of its batch (``settle``)."""
        with about(team=row.team_id, case=row.stream):
            return self._deliver(row)

    def _deliver(self, row: LeasedMessage) -> Outcome:
        learnt: list[tuple[str, MessageRef]] = []
        try:
            self._send(row, learnt)
        except Throttled as exc:
            wait = max(exc.until - self.clock(), timedelta(0))
            if exc.__cause__ is None:  # no call was made: back in the queue until its scope has room
                return Outcome(row, learnt, error=str(exc), wait=wait, in_doubt=row.in_doubt, unattempted=True)
            return Outcome(row, learnt, error="ratelimited", wait=wait, in_doubt=row.in_doubt)
        except SlackApiError as exc:
            return self._failed(row, exc, learnt)
        except Undeliverable as exc:
            if exc.permanent:
                return self._dead(row, exc.error, learnt)
            return self._later(row, exc.error, learnt, in_doubt=row.in_doubt)
        except (SlackRequestError, URLError, TimeoutError, OSError) as exc:
            # Refused: Slack never saw it. Anything else (a timeout, a reset) may have come after Slack posted.
            in_doubt = row.in_doubt or not never_sent(exc)
            return self._later(row, f"{type(exc).__name__}: {exc}", learnt, in_doubt=in_doubt)
        except Exception as exc:  # one bad row must not stall the batch: back off and look before trying again
            log.exception("relay: message %s (%s) failed unexpectedly", row.id, row.surface)
            return self._later(row, f"unexpected {type(exc).__name__}: {exc}", learnt, in_doubt=True)
        return Outcome(row, learnt)

    def settle(self, outcomes: list[Outcome]) -> None:
        """One transaction for a batch: what Slack answered (channels, ts, permalinks), then each row's fate. Until
        it commits the rows stay leased; should it never commit, they come back in doubt and are looked for in
        Slack before anything is posted again (a stream has one row in a batch, so nothing else waited on them)."""
        now = self.clock()
        with self.sessions.begin() as session:
            outbox = OutboxRepository(session)
            # In the order learnt, so a permalink found after the post is what stays.
            outbox.save_refs({(o.row.team_id, key): ref for o in outcomes for key, ref in o.learnt}, now)
            outbox.sent_all([o.row.id for o in outcomes if o.error is None], self.owner, now)
            people = PeopleRepository(session)
            for (team, user), locale in list(self._learnt_locales.items()):
                people.remember(team, user, locale, now)
                self._learnt_locales.pop((team, user), None)
            for outcome in outcomes:
                at = now + (outcome.wait or timedelta(0))
                if outcome.dead:
                    outbox.dead(outcome.row.id, self.owner, outcome.error or "")
                elif outcome.unattempted:
                    outbox.defer(outcome.row.id, self.owner, at)
                elif outcome.error is not None:
                    outbox.retry(outcome.row.id, self.owner, at, outcome.error, in_doubt=outcome.in_doubt)

    def _send(self, row: LeasedMessage, learnt: list[tuple[str, MessageRef]]) -> None:
        try:
            client = self.workspaces.client(row.team_id)
        except NotInstalled as gone:
            raise Undeliverable(str(gone), permanent=True) from None
        kept, root = row.ref(row.message_key), row.ref(f"{row.stream}:thread")
        target = row.target
        link = root.permalink if root else None

        def rendered(reader: str | None) -> Rendered:
            try:
                return self.render(row.surface, row.view, link, self._locale(client, row.team_id, reader))
            except Exception as exc:  # a message that cannot be rendered now never will be: park it for a fix
                error = f"cannot render {row.surface}: {type(exc).__name__}: {exc}"
                raise Undeliverable(error, permanent=True) from exc

        if target.kind == "nudges":
            # Every message kept under its prefixes (none: nothing to render, nobody's locale to learn), each in
            # the locale of the person it was sent to.
            shown_to: dict[str, Rendered] = {}
            for key, ref in sorted(row.swept.items()):
                if (reader := nudged(key)) not in shown_to:
                    shown_to[reader] = rendered(reader)
                self._call(
                    client, row.team_id, "chat.update", channel=ref.channel, ts=ref.ts, **_said(shown_to[reader])
                )
            return
        reader = target.users[0] if target.kind in ("dm", "home", "response_url") and target.users else None
        shown = rendered(reader)
        if row.surface == Surface.FILE_COPY:
            channel, thread_ts = self._thread(row)
            where = {"channel": channel, "thread_ts": thread_ts}
            call = partial(self._call, client, row.team_id, paced=channel)
            self.copier.copy(call, str(client.token or ""), FileCopyShown.from_json(row.view), shown.text, where)
        elif target.kind == "response_url":
            _respond(target.url or "", shown)
        elif target.kind == "home":
            home: dict[str, Any] = {"type": "home", "blocks": shown.blocks}
            if shown.metadata is not None:
                home["private_metadata"] = shown.metadata
            self._call(client, row.team_id, "views.publish", user_id=target.users[0], view=home)
        elif kept is not None:
            if kept.permalink is None and row.message_key and row.message_key.endswith(_LINKED):
                self._permalink(client, row, row.message_key, kept, learnt)  # posted and recorded, no permalink yet
            self._call(client, row.team_id, "chat.update", channel=kept.channel, ts=kept.ts, **_said(shown))
        else:
            self._post(client, row, shown, learnt)

    def _post(
        self, client: WebClient, row: LeasedMessage, shown: Rendered, learnt: list[tuple[str, MessageRef]]
    ) -> None:
        """A new message: in its thread, channel or DM; once only, even when an earlier try's fate is unknown."""
        target, thread_ts = row.target, None
        if target.kind == "thread":
            channel, thread_ts = self._thread(row)
        elif target.kind == "channel":
            channel = target.channel or ""
        else:
            channel = self._dm_channel(client, row.team_id, ",".join(target.users))
        ts = self._posted_before(client, row, channel, thread_ts) if row.in_doubt else None
        if ts is None:
            posted = self._call(
                client,
                row.team_id,
                POST,
                paced=channel,
                channel=channel,
                text=shown.text,
                blocks=shown.blocks,
                thread_ts=thread_ts,
                metadata={"event_type": METADATA_TYPE, "event_payload": {"row": row.dedupe_key}},
            )
            channel, ts = posted["channel"], posted["ts"]
        if row.message_key:
            ref = MessageRef(channel, ts, None)
            learnt.append((row.message_key, ref))  # kept whatever happens next in this row
            if row.message_key.endswith(_LINKED):
                self._permalink(client, row, row.message_key, ref, learnt)

    @staticmethod
    def _thread(row: LeasedMessage) -> tuple[str, str]:
        if (parent := row.ref(row.target.parent_key)) is None:  # rows of a stream go in order: the root is dead
            raise Undeliverable("the thread was never posted", permanent=True)
        return parent.channel, parent.ts

    def _call(self, client: WebClient, team: str, method: str, *, paced: str | None = None, **args: Any) -> Any:
        """One Web API call within Slack's limits for ``team`` (and the channel it is ``paced`` by): Throttled,
        without calling, when its scope has no room; Throttled from the SlackApiError when Slack answers 429."""
        self.limits.take(team, method, paced, self.clock())
        try:
            return getattr(client, method.replace(".", "_"))(**args)
        except SlackApiError as exc:
            if exc.response.status_code != 429:
                raise
            retry_after = str(exc.response.headers.get("Retry-After") or "")
            seconds = int(retry_after) if retry_after.isdigit() else None
            until = self.limits.refused(team, method, paced, seconds, self.clock())
            raise Throttled(method, until) from exc

    def _permalink(
        self, client: WebClient, row: LeasedMessage, key: str, ref: MessageRef, learnt: list[tuple[str, MessageRef]]
    ) -> None:
        found = self._call(client, row.team_id, "chat.getPermalink", channel=ref.channel, message_ts=ref.ts)
        learnt.append((key, replace(ref, permalink=found["permalink"])))

    def _posted_before(self, client: WebClient, row: LeasedMessage, channel: str, thread_ts: str | None) -> str | None:
        """The ts of this row's message if an earlier attempt posted it, found by its metadata: only between
        the row's queuing and now, ``lookup_limit`` messages a call. Where Slack allows one call a minute, a
        lookup throttled half-way goes on from its cursor when the row's turn comes again."""
        args: dict[str, Any] = {
            "channel": channel,
            "oldest": f"{(row.created_at - SKEW).timestamp():.6f}",
            "latest": f"{(self.clock() + SKEW).timestamp():.6f}",
            "include_all_metadata": True,
            "limit": self.limits.lookup_limit,
        }
        if thread_ts:
            args["ts"] = thread_ts
        method = "conversations.replies" if thread_ts else "conversations.history"
        while True:
            page = self._call(client, row.team_id, method, cursor=self._lookups.get(row.id), **args)
            for message in page.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == METADATA_TYPE and payload.get("row") == row.dedupe_key:
                    self._lookups.pop(row.id, None)
                    log.warning("relay: message %s (%s) was posted by an earlier attempt; adopted", row.id, row.surface)
                    return str(message["ts"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                self._lookups.pop(row.id, None)
                return None
            self._lookups[row.id] = cursor

    def _dm_channel(self, client: WebClient, team: str, users: str) -> str:
        """A DM's channel id never changes, so conversations.open is asked once per person (or group)."""
        if (channel := self._dms.get(users)) is None:
            opened = self._call(client, team, "conversations.open", users=users)
            channel = self._dms[users] = opened["channel"]["id"]
        return channel

    def _locale(self, client: WebClient, team: str, user: str | None) -> str:
        """The reader's locale: held for an hour, stored for a day (the forms read it there: they answer at once,
        with no time to ask Slack), else asked of users.info and stored with the batch's record; what was stored, or
        en_US, when Slack does not say. Formatting is no reason to hold a message back: neither Slack nor the
        database failing here is."""
        if user is None:
            return DEFAULT_LOCALE
        if (held := self._locales.get(team, user)) is not None:
            return held
        now = self.clock()
        try:
            with self.sessions() as session:
                known = PeopleRepository(session).known(team, user)
        except SQLAlchemyError:
            known = None
        if known and now - known[1] < LOCALE_REFRESH:
            return self._locales.hold(team, user, known[0])
        try:
            found = self._call(client, team, "users.info", user=user, include_locale=True)["user"].get("locale")
        except (Throttled, SlackApiError, SlackRequestError, URLError, OSError):
            return known[0] if known else DEFAULT_LOCALE
        locale = self._learnt_locales[(team, user)] = babel_locale(found)
        return self._locales.hold(team, user, locale)

    def _failed(self, row: LeasedMessage, exc: SlackApiError, learnt: list[tuple[str, MessageRef]]) -> Outcome:
        status = exc.response.status_code
        error = exc.response.get("error") or f"http_{status}"
        if error in PERMANENT or 400 <= status < 500:
            return self._dead(row, error, learnt)
        # A 5xx may have been carried out, after all.
        return self._later(row, error, learnt, in_doubt=row.in_doubt or status >= 500)

    def _dead(self, row: LeasedMessage, error: str, learnt: list[tuple[str, MessageRef]]) -> Outcome:
        log.error("relay: message %s (%s) is dead: %s", row.id, row.surface, error)
        return Outcome(row, learnt, error=error, dead=True)

    def _later(
        self,
        row: LeasedMessage,
        error: str,
        learnt: list[tuple[str, MessageRef]],
        *,
        in_doubt: bool,
    ) -> Outcome:
        """Transient: back off (doubling, capped at MAX_BACKOFF) and try again, however long."""
        wait = min(timedelta(seconds=2 ** min(row.attempts, 16)), MAX_BACKOFF)
        log.warning("relay: message %s (%s) failed (%s); retrying in %s", row.id, row.surface, error, wait)
        return Outcome(row, learnt, error=error, wait=wait, in_doubt=in_doubt)


def _respond(url: str, shown: Rendered) -> None:
    """A private answer through a click's response_url (no token, no rate tier: Slack's webhook for the click)."""
    response = WebhookClient(url, timeout=10).send(
        text=shown.text, blocks=shown.blocks, response_type="ephemeral", replace_original=False
    )
    if response.status_code >= 300:
        error = f"response_url answered {response.status_code}: {response.body}"
        raise Undeliverable(error, permanent=response.status_code < 500)


def _said(shown: Rendered) -> dict[str, Any]:
    return {"text": shown.text, "blocks": shown.blocks}
