"""The outbox's SQL: queue with dedupe, lease, settle; and the refs of messages kept up to date."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, Update, and_, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from bot.services.messages import OutboxMessage, Place, Surface, Target
from storage import leases
from storage.tables import OutboxRow, SlackMessageRow

PENDING, SENT, DEAD = "pending", "sent", "dead"

# Built once: the statement is the same for every message, and its rows go in one executemany.
_QUEUE = {
    "postgresql": pg_insert(OutboxRow.__table__).on_conflict_do_nothing(index_elements=["dedupe_key"]),
    "sqlite": sqlite_insert(OutboxRow.__table__).on_conflict_do_nothing(index_elements=["dedupe_key"]),
}

# The relay's reads and settles of every batch, built once and bound at execution (Core: plain rows): building
# them anew cost more than running them.
_MESSAGES = SlackMessageRow.__table__
_REF_COLUMNS = (
    _MESSAGES.c.team_id,
    _MESSAGES.c.message_key,
    _MESSAGES.c.channel,
    _MESSAGES.c.ts,
    _MESSAGES.c.permalink,
)
_REFS = select(*_REF_COLUMNS).where(
    _MESSAGES.c.team_id.in_(bindparam("ref_teams", expanding=True)),
    _MESSAGES.c.message_key.in_(bindparam("ref_keys", expanding=True)),
)
_OUTBOX = OutboxRow.__table__


def _settling(**values: Any) -> Update:
    """Only the relay still holding the lease may settle a row; a late one must not undo another's work."""
    return (
        update(_OUTBOX)
        .where(
            _OUTBOX.c.id.in_(bindparam("settle_ids", expanding=True)),
            _OUTBOX.c.lease_owner == bindparam("settle_owner"),
            _OUTBOX.c.status == PENDING,
        )
        .values(lease_owner=None, lease_until=None, **values)
    )


_SENT = _settling(status=SENT, sent_at=bindparam("settled_at"), last_error=None)  # every batch's


def _upsert_refs(builder: Any) -> Any:
    statement = builder(_MESSAGES)
    return statement.on_conflict_do_update(
        index_elements=["team_id", "message_key"],
        set_={name: statement.excluded[name] for name in ("channel", "ts", "permalink", "updated_at")},
    )


_SAVE_REFS = {"postgresql": _upsert_refs(pg_insert), "sqlite": _upsert_refs(sqlite_insert)}


@cache
def _sweeps(count: int) -> Select[Any]:
    """The messages kept under ``count`` (workspace, key prefix) pairs; one statement per power of two."""
    return select(*_REF_COLUMNS).where(
        or_(
            *(
                (_MESSAGES.c.team_id == bindparam(f"sweep_team_{n}"))
                & _MESSAGES.c.message_key.like(bindparam(f"sweep_like_{n}"), escape="/")
                for n in range(count)
            )
        )
    )


def _like_prefix(prefix: str) -> str:
    return prefix.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


@dataclass(frozen=True)
class LeasedMessage:
    id: int
    team_id: str
    stream: str
    target: Target
    message_key: str | None
    surface: str
    view: dict[str, Any]
    attempts: int
    dedupe_key: str
    created_at: datetime
    in_doubt: bool  # an earlier attempt may have reached Slack: look for it before posting again
    # What the row's messages already are in Slack (its own, its case thread's root, its thread's parent), read
    # with the lease: a stream has one row in flight, so no one else records them meanwhile.
    refs: dict[str, MessageRef] = field(default_factory=dict)
    swept: dict[str, MessageRef] = field(default_factory=dict)  # a sweep's messages, by key (``Place.NUDGES``)

    def ref(self, key: str | None) -> MessageRef | None:
        return self.refs.get(key) if key else None

    @property
    def sweeps(self) -> bool:
        return self.target.kind == Place.NUDGES

    @property
    def keys(self) -> set[str]:
        return {key for key in (self.message_key, f"{self.stream}:thread", self.target.parent_key) if key}


@dataclass(frozen=True)
class MessageRef:
    channel: str
    ts: str
    permalink: str | None


def _kind(payouts: bool) -> ColumnElement[bool]:
    """Slack's work (messages, and files to read), or the payout instructions for the marketplace
    (``bot.payouts``)."""
    return (OutboxRow.surface == Surface.PAYOUT) if payouts else (OutboxRow.surface != Surface.PAYOUT)


class Lane(StrEnum):
    """Who works a row off: each lane has its worker, and its streams are its own."""

    SLACK = "slack"  # messages, delivered by the relay (bot.relay)
    FILES = "files"  # files attached as evidence, read and hashed (bot.files)
    PAYOUTS = "payouts"  # ledger entries for the marketplace's payments endpoint (bot.payouts)


_NOT_MESSAGES = {Lane.FILES: (Surface.FILE_INTAKE, Surface.FILE_RECHECK), Lane.PAYOUTS: (Surface.PAYOUT,)}


def _in_lane(lane: Lane) -> ColumnElement[bool]:
    if lane is Lane.SLACK:
        return OutboxRow.surface.not_in([surface for surfaces in _NOT_MESSAGES.values() for surface in surfaces])
    return OutboxRow.surface.in_(_NOT_MESSAGES[lane])


def _first_of_each_stream(free: ColumnElement[bool], lane: Lane) -> Select[Any]:
    """The due messages that no earlier pending message of their stream (case) holds back, oldest first."""
    earlier = aliased(OutboxRow)
    return (
        select(OutboxRow.id)
        .where(
            OutboxRow.status == PENDING,
            OutboxRow.next_attempt_at <= leases.NOW,
            _in_lane(lane),
            free,
            ~exists().where(
                and_(earlier.stream == OutboxRow.stream, earlier.status == PENDING, earlier.id < OutboxRow.id)
            ),
        )
        .order_by(OutboxRow.id)
        .limit(leases.LIMIT)
    )


class OutboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, team_id: str, message: OutboxMessage, now: datetime) -> None:
        self.add_all(team_id, [message], now)

    def add_all(self, team_id: str, messages: Iterable[OutboxMessage], now: datetime) -> None:
        """Queue messages in one statement; a message whose dedupe key is already queued is dropped, whoever
        queued it."""
        values = [
            {
                "team_id": team_id,
                "stream": message.stream,
                "dedupe_key": message.dedupe_key,
                "target": message.target.as_json(),
                "message_key": message.message_key,
                "surface": message.surface,
                "view": message.view,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for message in messages
        ]
        if values:
            self.session.execute(_QUEUE[self.session.get_bind().dialect.name], values)

    def lease_due(
        self, owner: str, now: datetime, lease: timedelta, limit: int, *, lane: Lane = Lane.SLACK
    ) -> list[LeasedMessage]:
        """Lease the next row of each stream of ``lane`` that is due and not leased by a live worker: Slack's
        messages, files to read, or the instructions for the marketplace's payments endpoint (each lane's streams
        are its own)."""
        rows = leases.lease_due(
            self.session,
            ("outbox", lane),
            OutboxRow,
            lambda free: _first_of_each_stream(free, lane),
            owner=owner,
            now=now,
            lease=lease,
            limit=limit,
            attempts=OutboxRow.attempts + 1,
            # A lease never settled means its relay died or hung mid-send: what it sent may be in Slack.
            in_doubt=OutboxRow.in_doubt | OutboxRow.lease_until.is_not(None),
        )
        leased = [
            LeasedMessage(
                r.id,
                r.team_id,
                r.stream,
                Target.from_json(r.target),
                r.message_key,
                r.surface,
                r.view,
                r.attempts,
                r.dedupe_key,
                r.created_at,
                r.in_doubt,
            )
            for r in sorted(rows, key=lambda r: r.id)
        ]
        known = self.message_refs({(row.team_id, key) for row in leased for key in row.keys})
        swept = self._swept({(row.team_id, prefix) for row in leased if row.sweeps for prefix in row.target.swept})
        return [
            replace(
                row,
                refs={key: known[row.team_id, key] for key in row.keys if (row.team_id, key) in known},
                swept={
                    key: ref for prefix in row.target.swept for key, ref in swept.get((row.team_id, prefix), {}).items()
                },
            )
            for row in leased
        ]

    def _swept(self, prefixes: set[tuple[str, str]]) -> dict[tuple[str, str], dict[str, MessageRef]]:
        """The messages kept under each sweep's prefixes (``Place.NUDGES``), for a whole batch in one statement."""
        wanted = sorted((team, prefix) for team, prefix in prefixes if prefix)
        if not wanted:
            return {}
        size = 1 << (len(wanted) - 1).bit_length()  # padded with the last pair: a few shapes, each built once
        padded = wanted + wanted[-1:] * (size - len(wanted))
        values = {f"sweep_team_{n}": team for n, (team, _) in enumerate(padded)} | {
            f"sweep_like_{n}": _like_prefix(prefix) for n, (_, prefix) in enumerate(padded)
        }
        found: dict[tuple[str, str], dict[str, MessageRef]] = {}
        for row in self.session.execute(_sweeps(size), values):
            for team, prefix in wanted:
                # SQLite's LIKE ignores ASCII case: the prefix is compared again here, exactly.
                if row.team_id == team and row.message_key.startswith(prefix):
                    found.setdefault((team, prefix), {})[row.message_key] = MessageRef(
                        row.channel, row.ts, row.permalink
                    )
        return found

    def _settle(self, row_ids: list[int], owner: str, statement: Update, **values: Any) -> int:
        if not row_ids:
            return 0
        return self.session.execute(statement, {"settle_ids": row_ids, "settle_owner": owner, **values}).rowcount

    def sent_all(self, row_ids: list[int], owner: str, now: datetime) -> int:
        """Settle a batch's delivered rows in one statement, those this relay still holds."""
        return self._settle(row_ids, owner, _SENT, settled_at=now)

    def retry(self, row_id: int, owner: str, at: datetime, error: str, *, in_doubt: bool) -> bool:
        changes = _settling(next_attempt_at=at, last_error=error, in_doubt=in_doubt)
        return bool(self._settle([row_id], owner, changes))

    def send_again(self, now: datetime, *, dead: bool = False, stream: str | None = None) -> int:
        """The operator's retry: pending rows (and dead ones, with ``dead``) are due now, each stream in order."""
        statuses = (PENDING, DEAD) if dead else (PENDING,)
        where = [OutboxRow.status.in_(statuses)]
        if stream is not None:
            where.append(OutboxRow.stream == stream)
        result = self.session.execute(update(OutboxRow).where(*where).values(status=PENDING, next_attempt_at=now))
        return result.rowcount

    def oldest_pending(self) -> tuple[datetime, str, str | None] | None:
        """When the longest-waiting pending Slack message was queued, its case, and why it is still waiting (the
        marketplace's payments endpoint being down is not Slack's, nor a reason to stop serving)."""
        row = self.session.execute(
            select(OutboxRow.created_at, OutboxRow.stream, OutboxRow.last_error)
            .where(OutboxRow.status == PENDING, OutboxRow.surface != Surface.PAYOUT)
            .order_by(OutboxRow.created_at, OutboxRow.id)
            .limit(1)
        ).first()
        return (row.created_at, row.stream, row.last_error) if row else None

    def defer(self, row_id: int, owner: str, at: datetime) -> bool:
        """Back to the queue unattempted, due ``at`` (its channel's next slot)."""
        return bool(self._settle([row_id], owner, _settling(next_attempt_at=at, attempts=_OUTBOX.c.attempts - 1)))

    def dead(self, row_id: int, owner: str, error: str) -> bool:
        return bool(self._settle([row_id], owner, _settling(status=DEAD, last_error=error)))

    def message_refs(self, wanted: set[tuple[str, str]]) -> dict[tuple[str, str], MessageRef]:
        if not wanted:
            return {}
        values = {"ref_teams": sorted({team for team, _ in wanted}), "ref_keys": sorted({key for _, key in wanted})}
        found = {
            (row.team_id, row.message_key): MessageRef(row.channel, row.ts, row.permalink)
            for row in self.session.execute(_REFS, values)
        }
        return {pair: ref for pair, ref in found.items() if pair in wanted}

    def kept_at(self, team_id: str, channel: str, ts: str) -> str | None:
        """The key of the message the app keeps at this place in Slack, if it keeps one there."""
        return self.session.scalar(
            select(SlackMessageRow.message_key)
            .where(SlackMessageRow.team_id == team_id, SlackMessageRow.channel == channel, SlackMessageRow.ts == ts)
            .limit(1)
        )

    def save_refs(self, refs: dict[tuple[str, str], MessageRef], now: datetime) -> None:
        """Record where messages are in Slack, by (workspace, message key): new ones, and changes to known ones
        (a permalink learnt later), in one statement."""
        if not refs:
            return
        rows = [
            {
                "team_id": team,
                "message_key": key,
                "channel": r.channel,
                "ts": r.ts,
                "permalink": r.permalink,
                "updated_at": now,
            }
            for (team, key), r in refs.items()
        ]
        self.session.execute(_SAVE_REFS[self.session.get_bind().dialect.name], rows)

    def purge_sent(self, before: datetime, limit: int) -> int:
        """Forget up to ``limit`` messages sent before ``before``, oldest first. Pending and dead rows stay, and
        what later updates need of a sent message (its channel and ts) is kept apart, in the message refs."""
        oldest = (
            select(OutboxRow.id)
            .where(OutboxRow.status == SENT, OutboxRow.sent_at < before)
            .order_by(OutboxRow.sent_at)
            .limit(limit)
        )
        return self.session.execute(delete(OutboxRow).where(OutboxRow.id.in_(oldest))).rowcount

    def failing(self, *, payouts: bool = False) -> tuple[int, str | None]:
        """Pending rows whose last attempt failed (backing off), and the latest of their errors."""
        kind = _kind(payouts)
        count = self.session.scalar(
            select(func.count()).where(OutboxRow.status == PENDING, OutboxRow.last_error.is_not(None), kind)
        )
        latest = self.session.scalar(
            select(OutboxRow.last_error)
            .where(OutboxRow.status == PENDING, OutboxRow.last_error.is_not(None), kind)
            .order_by(OutboxRow.next_attempt_at.desc(), OutboxRow.id.desc())
            .limit(1)
        )
        return int(count or 0), latest

    def counts(self, *, payouts: bool = False) -> dict[str, int]:
        """Rows by status: Slack's messages, or with ``payouts`` the marketplace's payout instructions."""
        kind = _kind(payouts)
        rows = self.session.execute(select(OutboxRow.status, func.count()).where(kind).group_by(OutboxRow.status))
        return {status: count for status, count in rows}

    def dead_rows(self, limit: int = 50) -> list[tuple[int, str, str, str | None]]:
        rows = self.session.execute(
            select(OutboxRow.id, OutboxRow.stream, OutboxRow.surface, OutboxRow.last_error)
            .where(OutboxRow.status == DEAD)
            .order_by(OutboxRow.id.desc())
            .limit(limit)
        )
        return [tuple(row) for row in rows]
