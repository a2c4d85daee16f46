"""The schema comes only from Alembic: from empty to head, back to empty, and matching the models."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from bot.domain.policy import Policy
from storage.db import (
    BUSY_TIMEOUT_MS,
    alembic_config,
    make_engine,
    migrate,
    pending_migrations,
    prepare,
    session_factory,
)
from storage.tables import Base
from storage.uow import SqlUnitOfWork
from tests.bulk import demo_request
from tests.integration.conftest import NOW


def test_migrations_build_every_table_from_an_empty_database(database_url):
    engine = make_engine(database_url)
    assert pending_migrations(engine)[-1] == "0001"  # newest first, down to the first migration
    migrate(engine)
    assert pending_migrations(engine) == []
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    engine.dispose()


def test_migrating_twice_changes_nothing(database_url):
    prepare(database_url).dispose()
    engine = prepare(database_url)
    assert pending_migrations(engine) == []
    engine.dispose()


def test_models_match_what_the_migrations_build(engine):
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_downgrade_to_empty_and_back(engine):
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    assert pending_migrations(engine) == []


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    engine = prepare(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == BUSY_TIMEOUT_MS
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_0004_gives_each_existing_deadline_its_cases_workspace(database_url):
    engine = prepare(database_url)
    sessions = session_factory(engine)
    policy = Policy()
    with SqlUnitOfWork(sessions) as uow:
        uow.policies.register(policy, NOW)
        uow.commit()
    demo_request(lambda: SqlUnitOfWork(sessions), policy, NOW)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0003")
    migrate(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT team_id FROM deadlines")).scalars().all() == ["T0DEMO01"]
    engine.dispose()
