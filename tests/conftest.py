"""Fixtures shared by every test folder: the two real databases, the Slack stand-in and the marketplace's
payments endpoint.

PostgreSQL tests run against REFUNDBOT_TEST_POSTGRES_URL (default: the local server with trust auth). On a
newcomer's machine without PostgreSQL they skip with the reason; where REFUNDBOT_TEST_POSTGRES=required (as
in .ci/run) or CI=true, they fail instead, so a green CI always means PostgreSQL was tested.
"""

import atexit
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from storage.db import make_engine, migrate
from tests.payments_endpoint import PaymentsEndpoint

# The operator's command, as this Python's environment installed it.
REFUNDBOT = Path(sys.executable).parent / "refundbot"
POSTGRES_URL = os.environ.get("REFUNDBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
POSTGRES_REQUIRED = (
    os.environ.get("REFUNDBOT_TEST_POSTGRES") == "required" or os.environ.get("CI", "").lower() == "true"
)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (the default, pyproject.toml). The unit tests compute: one worker a core. The others mostly wait on
    sockets, databases and subprocesses: two a core, at most 8, so that a big machine's tests still see the timings
    Slack would."""
    cores = os.cpu_count() or 1
    unit = config.rootpath / "tests" / "unit"
    chosen = [(config.rootpath / arg.split("::")[0]).resolve() for arg in config.args]
    if chosen and all(path == unit or unit in path.parents for path in chosen):
        return max(1, cores)
    return max(2, min(8, 2 * cores))


def _worker_database(url: str) -> str:
    """Each xdist worker works in a PostgreSQL database of its own (made once, then reused), so nothing one worker
    does (an advisory lock, a held row) reaches another's tests; without xdist, or where databases cannot be made,
    the database named by the URL itself."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        return url
    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    except ProgrammingError:  # no CREATEDB right: the schemas of each test keep them apart all the same
        return url
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    engine = create_engine(POSTGRES_URL)
    try:
        engine.connect().close()
    except OperationalError as exc:
        reason = f"PostgreSQL is not reachable at {POSTGRES_URL} ({exc.orig})"
        if POSTGRES_REQUIRED:
            pytest.fail(f"{reason}; the PostgreSQL tests are required here", pytrace=False)
        pytest.skip(f"{reason}; start it or set REFUNDBOT_TEST_POSTGRES_URL to run these tests")
    engine.dispose()
    engine = create_engine(_worker_database(POSTGRES_URL))
    yield engine
    engine.dispose()


def empty_database(kind: str, request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """An empty database of this kind: a new SQLite file, or a new PostgreSQL schema dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'refundbot.db'}"
        return
    admin = request.getfixturevalue("postgres_admin")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> Iterator[str]:
    yield from empty_database(request.param, request, tmp_path)


_HEAD: dict[str, Any] = {}  # this process's SQLite file at the head, and the statements that brought PostgreSQL there


def at_head(url: str) -> None:
    """Bring one of the tests' databases to the schema's head quickly, when it is still empty. The first of each kind
    in a process is migrated as the app does it (storage.db.migrate); the others get a copy of that SQLite file, or
    the statements that migration sent to PostgreSQL, replayed in their own schema. The migrations themselves are
    tested from empty databases (tests/integration/test_migrations.py); here they would only be run again."""
    target = make_url(url)
    if target.get_backend_name() == "sqlite":
        if Path(target.database or "").exists():
            return
        if "sqlite" not in _HEAD:
            folder = Path(tempfile.mkdtemp(prefix="refundbot-head-"))
            atexit.register(shutil.rmtree, folder, True)
            engine = make_engine(f"sqlite:///{folder / 'head.db'}")
            migrate(engine)
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # all of it in the file itself
            engine.dispose()
            _HEAD["sqlite"] = folder / "head.db"
        shutil.copyfile(_HEAD["sqlite"], target.database or "")
        return
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            if connection.scalar(text("SELECT to_regclass('alembic_version')")) is not None:
                return
        if "postgresql" not in _HEAD:
            sent: list[tuple[str, Any]] = []

            @event.listens_for(engine, "before_cursor_execute")
            def keep(_connection: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
                if not statement.lstrip().upper().startswith("SELECT"):  # reads need no replay
                    sent.append((statement, parameters))

            migrate(engine)
            _HEAD["postgresql"] = sent
            return
        with engine.begin() as connection:
            for statement, parameters in _HEAD["postgresql"]:
                connection.exec_driver_sql(statement, parameters)
    finally:
        engine.dispose()


@pytest.fixture
def endpoint() -> Iterator[PaymentsEndpoint]:
    """The marketplace's payments endpoint, over real HTTP: it answers what the test tells it to."""
    server = PaymentsEndpoint()
    yield server
    server.stop()
