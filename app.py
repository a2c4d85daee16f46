"""Composition root: settings → database (migrated) → policy. The CLI and the Slack app start from here."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import ConfigError, Settings, load_settings
from bot.domain.policy import Policy
from storage.db import DatabaseError, prepare, session_factory
from storage.repositories import PolicyConflict
from storage.tables import ContractRow
from storage.uow import SqlUnitOfWork


class StartupError(Exception):
    """Why refund-bot cannot start, in one line for the operator."""


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    policy: Policy

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


def start(**overrides: object) -> Runtime:
    """Everything start-up can trip on becomes a StartupError with a readable line, never a traceback."""
    try:
        return build_runtime(load_settings(**overrides), datetime.now(UTC))
    except ConfigError as exc:
        raise StartupError(f"configuration: {exc}") from None
    except (DatabaseError, PolicyConflict) as exc:
        raise StartupError(str(exc)) from None


def main() -> int:
    try:
        runtime = start()
    except StartupError as exc:
        print(f"refund-bot cannot start: {exc}", file=sys.stderr)
        return 2
    with runtime.sessions() as session:
        contracts = session.scalar(select(func.count()).select_from(ContractRow))
    print(f"refund-bot: database {runtime.engine.url!r} is migrated; policy {runtime.policy.version} is in force.")
    print(f"refund-bot: {contracts} contracts loaded; add more with `refundbot import FILE`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
