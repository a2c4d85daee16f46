"""The runtime every process shares: settings, the database (migrated) and the policy; and what an operator asks of
it: readiness, the state behind /metrics, purging the outbox. Start-up problems become one readable line."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot import logs, metrics
from bot.config import ConfigError, Settings, load_settings
from bot.domain.policy import Policy
from bot.services.roster import Desk, GroupMembers, Roster
from storage.db import DatabaseAhead, DatabaseError, open_existing, pending_migrations, prepare, session_factory
from storage.outbox import OutboxRepository
from storage.repositories import PolicyConflict
from storage.state import operations
from storage.uow import SqlUnitOfWork
from storage.workspaces import WorkspaceDesks


class StartupError(Exception):
    """Why refund-bot cannot start, in one line for the operator."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    policy: Policy
    clock: Callable[[], datetime] = utc_now

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.sessions)


def build_runtime(settings: Settings, now: datetime) -> Runtime:
    engine = prepare(settings.database_url)
    sessions = session_factory(engine)
    policy = settings.policy()
    with SqlUnitOfWork(sessions) as uow:
        uow.policies.register(policy, now)
        uow.commit()
    return Runtime(settings, engine, sessions, policy)


def settings_or_fail(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        raise StartupError(f"configuration: {exc}") from None


def existing(settings: Settings | None = None) -> Runtime:
    """The runtime of the commands that only look at the app's database or tidy it: nothing is created,
    migrated or registered (StartupError otherwise, as for ``start``)."""
    settings = settings or settings_or_fail()
    try:
        engine = open_existing(settings.database_url)
    except DatabaseError as exc:
        raise StartupError(str(exc)) from None
    return Runtime(settings, engine, session_factory(engine), settings.policy())


def start(settings: Settings | None = None) -> Runtime:
    """Everything start-up can trip on becomes a StartupError with a readable line, never a traceback."""
    try:
        return build_runtime(settings or settings_or_fail(), utc_now())
    except (DatabaseError, PolicyConflict) as exc:
        raise StartupError(str(exc)) from None


def roster_of(runtime: Runtime, members: GroupMembers | None = None) -> Roster:
    """Who mediates and leads, workspace by workspace: the MEDIATOR_* settings' desk, and each workspace's own
    (`refundbot workspace set`). The settings' user groups are one workspace's, so OAuth installs leave them aside.
    ``members`` lists a user group with its workspace's token; without it, the groups' members are not known."""
    settings = runtime.settings
    one = not settings.oauth
    default = Desk(
        settings.mediator_channel_id,
        frozenset(settings.mediator_user_ids),
        settings.mediator_usergroup_id if one else None,
        settings.mediator_assignment,
        frozenset(settings.mediator_lead_ids),
        settings.mediator_lead_usergroup_id if one else None,
    )
    return Roster(default, WorkspaceDesks(runtime.sessions), members)


def state_of(runtime: Runtime) -> metrics.State:
    def read(now: datetime) -> dict[str, Any]:
        with runtime.sessions() as session:
            return operations(session, now)

    return read


def readiness(engine: Engine) -> tuple[int, dict[str, Any]]:
    """GET /readyz: this instance can serve. About this instance alone: the database answers (within the
    request path's bounds), and its schema is one this code runs on. What every instance shares (Slack down, a
    backlog in the outbox) would take them all out of a load balancer at once, so it is a metric
    (refundbot_outbox_oldest_pending_seconds) and the relay's ALARM line instead."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        if pending := pending_migrations(engine):
            return 503, {"status": "unready", "migrations_pending": pending}
    except SQLAlchemyError as exc:
        return 503, {"status": "unready", "database": " ".join(str(exc.orig or exc).split())[:300]}
    except DatabaseAhead as ahead:
        return 503, {"status": "unready", "database": str(ahead)}
    return 200, {"status": "ready", "database": "reachable", "migrations": "current"}


def purge_outbox(runtime: Runtime, batch: int = 5_000) -> int:
    """Forget sent messages past the retention period, a batch per transaction so no lock is held long."""
    before = runtime.clock() - timedelta(days=runtime.settings.outbox_retention_days)
    purged = 0
    while True:
        with runtime.sessions.begin() as session:
            done = OutboxRepository(session).purge_sent(before, batch)
        purged += done
        if done < batch:
            return purged


def one_line(error: BaseException) -> str:
    return " ".join(str(getattr(error, "reason", None) or error).split())[:200] or type(error).__name__


def setup_logging() -> None:
    """LOG_LEVEL and LOG_FORMAT for this process. A bad setting is reported by whatever loads the settings
    next, in its one line; until then the defaults stand in."""
    try:
        settings = load_settings()
        logs.configure(settings.log_level, settings.log_format)
    except ConfigError:
        logs.configure()
    # Bolt reads SLACK_BOT_TOKEN from the environment itself and warns that it goes unused: the token reaches it
    # through ``authorize`` instead (SlackLink), so the warning says nothing true.
    logging.getLogger("slack_bolt.App").addFilter(lambda record: "will be unused" not in record.getMessage())
