"""The schema comes only from Alembic: from empty to head, back to empty, and matching the models."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.render import render
from bot.domain.case import Case
from bot.domain.policy import Policy
from bot.services.messages import OutboxMessage, Surface, dm
from storage.db import (
    BUSY_TIMEOUT_MS,
    make_engine,
    migrate,
    pending_migrations,
    prepare,
    roll_back,
    session_factory,
)
from storage.outbox import OutboxRepository
from storage.tables import Base, OutboxRow
from storage.uow import SqlUnitOfWork
from tests.bulk import demo_request
from tests.integration.conftest import NOW
from tests.slack_standin import button_labels, text_of

ROOT = Path(__file__).resolve().parents[2]


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
    roll_back(engine, "base")
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


def requested(database_url: str) -> tuple[Engine, sessionmaker[Session], Case]:
    """A database at head holding the demo set and one waiting request."""
    engine = prepare(database_url)
    sessions = session_factory(engine)
    policy = Policy()
    with SqlUnitOfWork(sessions) as uow:
        uow.policies.register(policy, NOW)
        uow.commit()
    return engine, sessions, demo_request(lambda: SqlUnitOfWork(sessions), policy, NOW)


def test_0004_gives_each_existing_deadline_its_cases_workspace(database_url):
    engine, _, _ = requested(database_url)
    roll_back(engine, "0003")
    migrate(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT team_id FROM deadlines")).scalars().all() == ["T0DEMO01"]
    engine.dispose()


def test_0015_brings_messages_queued_by_older_releases_to_todays_shapes(database_url):
    """A request's DMs queued without the domain's decisions, a reminder naming its reader, a Home holding every
    open case: after 0015 each reads as today's, buttons, role and bounds included, and the relay renders it."""
    engine, sessions, case = requested(database_url)
    roll_back(engine, "0014")
    old = ("moves", "at_stake_minor", "by_deadline")
    with sessions.begin() as session:
        rows = {row.surface: row for row in session.query(OutboxRow).filter(OutboxRow.stream == case.id)}
        request = rows["freelancer_request"]
        today = dict(request.view)
        request.view = {k: v for k, v in today.items() if k not in old}
        older = {k: v for k, v in today.items() if k not in old}
        for key, surface, view in (
            ("old-reminder", "reminder", older | {"hours_left": 2.0, "reader": "U0CLIENT01"}),
            ("old-home", "home", {"user": "U0FREELA01", "cases": [older] * 25}),
        ):
            queue = OutboxMessage(case.id, key, dm("U0FREELA01"), surface, view)
            OutboxRepository(session).add("T0DEMO01", queue, NOW)
    migrate(engine)
    with sessions() as session:
        upgraded = {row.dedupe_key: row.view for row in session.query(OutboxRow).filter(OutboxRow.stream == case.id)}

    def decided(view: dict) -> tuple:
        moves = {role: sorted(allowed) for role, allowed in view["moves"].items() if allowed}
        return moves, view["at_stake_minor"], view["by_deadline"]

    assert decided(upgraded[request.dedupe_key]) == decided(today)  # what the domain decides today
    assert button_labels(render(Surface.FREELANCER_REQUEST, upgraded[request.dedupe_key], None).blocks)[:3] == [
        "Approve",
        "Adjust",
        "Decline",
    ]
    assert (upgraded["old-reminder"]["role"], "reader" in upgraded["old-reminder"]) == ("client", False)
    render(Surface.REMINDER, upgraded["old-reminder"], None)
    home = upgraded["old-home"]
    assert (len(home["waiting"]), len(home["others"]), home["more"]) == (20, 0, 5)
    assert "Refunds" in text_of(render(Surface.HOME, home, None).blocks)
    engine.dispose()


def test_the_readmes_steps_for_a_new_migration_and_for_rolling_it_back_work_as_written(tmp_path):
    """README, "Writing a migration" and "Upgrading and rolling back", run as written on a copy of the schema
    with two columns more on cases (one of our UTC times), over a database with a case in it: SQLite drops the
    columns by copying the table, which the foreign keys of the case's audit and deadlines forbid unless they
    are off meanwhile."""
    shutil.copytree(ROOT / "storage", tmp_path / "storage", ignore=shutil.ignore_patterns("__pycache__"))
    for kept in ("alembic.ini", "pyproject.toml"):  # the hooks format as the project does
        shutil.copy(ROOT / kept, tmp_path / kept)
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parents[1])
    tables = tmp_path / "storage" / "tables.py"
    version = "    version: Mapped[int] = mapped_column(Integer)\n"
    assert version in tables.read_text()
    tables.write_text(
        tables.read_text().replace(
            version,
            "    note: Mapped[str | None] = mapped_column(String(20))\n    noted_at: Mapped[datetime | None]\n"
            + version,
            1,
        )
    )
    database = f"sqlite:///{tmp_path / 'app.db'}"
    engine = prepare(database)  # the app's database as this code leaves it, with a case in it
    sessions = session_factory(engine)
    with SqlUnitOfWork(sessions) as uow:
        uow.policies.register(Policy(), NOW)
        uow.commit()
    demo_request(lambda: SqlUnitOfWork(sessions), Policy(), NOW)
    before = pending_migrations(engine), _rows(engine)

    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "SLACK_", "POLICY_"))}
    env = keep | {"DATABASE_URL": "sqlite:///scratch.db", "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    last = sorted(path.name[:4] for path in (ROOT / "storage/migrations/versions").glob("0*.py"))[-1]
    number = f"{int(last) + 1:04d}"

    def run(*step: str, **extra: str) -> str:
        done = subprocess.run(
            step, cwd=tmp_path, env=env | extra, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    run(".venv/bin/refundbot", "migrate")
    run(".venv/bin/alembic", "revision", "--autogenerate", "--rev-id", number, "-m", "what changed")
    written = tmp_path / "storage" / "migrations" / "versions" / f"{number}_what_changed.py"
    assert 'batch_op.add_column(sa.Column("note", sa.String(length=20), nullable=True))' in written.read_text()
    assert 'sa.Column("noted_at", sa.DateTime(timezone=True), nullable=True)' in written.read_text()
    ruff = [str(Path(sys.executable).parent / "ruff")]
    for check in ([*ruff, "check", str(written)], [*ruff, "format", "--check", str(written)]):
        assert subprocess.run(check, cwd=ROOT, capture_output=True, text=True, check=False).returncode == 0

    # The new version upgrades the app's database, and rolling back takes it to where it was, rows and all.
    assert run(".venv/bin/refundbot", "migrate", DATABASE_URL=database).endswith(f"is up to date, at {number}\n")
    assert "note" in {column["name"] for column in inspect(engine).get_columns("cases")}
    assert run(".venv/bin/refundbot", "migrate", "--to", last, DATABASE_URL=database).endswith(f"is at {last}\n")
    assert (pending_migrations(engine), _rows(engine)) == before
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    engine.dispose()


def _rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table: connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
            for table in ("cases", "audit_events", "deadlines", "contracts", "outbox")
        }
