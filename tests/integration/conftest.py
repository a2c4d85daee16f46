from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.policy import Policy
from storage.db import prepare, session_factory
from storage.uow import SqlUnitOfWork
from tests.conftest import at_head

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url) -> Iterator[Engine]:
    at_head(database_url)
    engine = prepare(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def uow(sessions):
    """A factory: each call is a fresh unit of work (its own session and transaction)."""
    return lambda: SqlUnitOfWork(sessions)


@pytest.fixture
def policy() -> Policy:
    return Policy()
