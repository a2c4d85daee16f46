"""Engines and migrations: SQLite (WAL, busy timeout, ≥ 3.35) by default, PostgreSQL through psycopg 3.

The schema only ever comes from ``alembic upgrade head``; ``prepare`` runs it on start-up.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_MINIMUM = (3, 35, 0)  # RETURNING and the partial-index forms the leases rely on
# A write waits this long for SQLite's lock, then counts as the database being unavailable: past it, Slack
# (3 s for an ack) would already have shown the person a failure, so a clear answer is worth more than waiting.
BUSY_TIMEOUT_MS = 2000
# A server that accepts the connection and never answers is given this long, then counts as unreachable: short
# enough that a click during an outage is still answered within Slack's 3 s (libpq's minimum is 2).
CONNECT_TIMEOUT_SECONDS = 2
# PostgreSQL, on the request path: a lock another transaction holds is waited for this long, a statement runs at
# most this long; then the change rolls back and the person is told the case is busy (StorageBusy), all within
# Slack's 3 s for an ack. SQLite's equivalent is its busy timeout above.
REQUEST_LOCK_TIMEOUT_MS = 1500
REQUEST_STATEMENT_TIMEOUT_MS = 2000
# Off the request path (the relay, the ticker, payouts, the commands): longer, and still bounded, so that a lock
# held for ever shows up as an error in the log rather than as a thread hung on it.
BACKGROUND_LOCK_TIMEOUT_MS = 10_000
BACKGROUND_STATEMENT_TIMEOUT_MS = 60_000
_BACKGROUND: ContextVar[bool] = ContextVar("background", default=False)
# Any constant works: it only has to be the same for every instance running migrations on one database.
MIGRATION_LOCK_KEY = 0x7265_6662_6F74


class DatabaseError(Exception):
    """One line for the operator: the database cannot be used, and why."""


class DatabaseAhead(DatabaseError):
    """The database was migrated by a newer refund-bot than this one: this code must not touch it."""

    def __init__(self, current: str, known: str) -> None:
        super().__init__(f"the database is at {current}, newer than this code ({known})")


def _one_line(error: object) -> str:
    return " ".join(str(error).split())  # drivers add hints on extra lines; the operator gets one


def _sqlite_version_ok(version: str = sqlite3.sqlite_version) -> bool:
    return tuple(int(part) for part in version.split(".")[:3]) >= SQLITE_MINIMUM


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _one_writer_at_a_time(engine: Engine) -> None:
    """SQLite takes one writer at a time and makes the others poll for its lock (sleeping ever longer, up to the
    busy timeout). Within a process, writers queue on a lock instead: taken at a transaction's first write,
    given back when it ends, so SQLite's own wait is only ever for another process's one writer. Reentrant: a
    thread may hold two units of work at once. The busy timeout bounds both waits together: a writer queued
    longer gives up as one waiting on SQLite would (the database is unavailable), and one that queued a while
    leaves SQLite only the rest of it."""
    writer = threading.RLock()

    @event.listens_for(engine, "before_cursor_execute")
    def _write(conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        if not conn.info.get("writing") and statement.lstrip()[:7].upper().startswith(_WRITES):
            started = time.monotonic()
            if not writer.acquire(timeout=BUSY_TIMEOUT_MS / 1000):  # as long as SQLite itself would wait
                raise OperationalError(statement, None, sqlite3.OperationalError("database is locked (queued writers)"))
            conn.info["writing"] = True
            waited_ms = int((time.monotonic() - started) * 1000)
            if waited_ms > 10:  # what is left of the busy timeout for SQLite's own wait: one timeout in all
                busy = max(1, BUSY_TIMEOUT_MS - waited_ms)
                conn.connection.dbapi_connection.execute(f"PRAGMA busy_timeout={busy}")  # type: ignore[union-attr]
                conn.info["shortened"] = True

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _done(conn: Connection) -> None:
        if conn.info.pop("shortened", False):
            conn.connection.dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")  # type: ignore[union-attr]
        if conn.info.pop("writing", False):
            writer.release()

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:  # a connection given back mid-write
        if record.info.pop("shortened", False):
            dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if record.info.pop("writing", False):
            writer.release()


@contextmanager
def background() -> Iterator[None]:
    """Transactions begun inside run with the background bounds instead of the request path's."""
    token = _BACKGROUND.set(True)
    try:
        yield
    finally:
        _BACKGROUND.reset(token)


def _bounded(engine: Engine) -> None:
    """Every connection starts with the request path's bounds (no cost per request); a transaction begun in
    ``background()`` lifts them for itself alone (SET LOCAL ends with it)."""

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        if _BACKGROUND.get():
            conn.exec_driver_sql(
                f"SELECT set_config('lock_timeout', '{BACKGROUND_LOCK_TIMEOUT_MS}', true), "
                f"set_config('statement_timeout', '{BACKGROUND_STATEMENT_TIMEOUT_MS}', true)"
            )


def make_engine(url: str, **options: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not _sqlite_version_ok():
            minimum = ".".join(map(str, SQLITE_MINIMUM))
            raise DatabaseError(f"SQLite {sqlite3.sqlite_version} is too old; refund-bot needs {minimum} or newer")
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **options)
        event.listen(engine, "connect", _on_sqlite_connect)
        _one_writer_at_a_time(engine)
        return engine
    connect = options.setdefault("connect_args", {})
    connect.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    bounds = f"-c lock_timeout={REQUEST_LOCK_TIMEOUT_MS} -c statement_timeout={REQUEST_STATEMENT_TIMEOUT_MS}"
    given = connect.get("options") or parsed.query.get("options")  # a URL's own (a search_path, say) is kept
    connect["options"] = f"{given} {bounds}" if given else bounds
    engine = create_engine(url, pool_pre_ping=True, **options)
    _bounded(engine)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(connection: Connection, scripts: Path = MIGRATIONS) -> Config:
    config = Config()
    config.set_main_option("script_location", str(scripts))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, revision: str = "head", scripts: Path = MIGRATIONS) -> None:
    """Bring the schema up to ``revision``; instances starting together on PostgreSQL take turns. A database
    ahead of this code is left as it is: this code runs on it when the migrations past it were expand only,
    and DatabaseAhead says it does not otherwise. ``scripts``: another release's migrations (the tests')."""
    _run(engine, lambda config: command.upgrade(config, revision), scripts)


def roll_back(engine: Engine, revision: str) -> None:
    """Take the schema back down to ``revision``, newest migration first: the step before running an earlier
    version of the code (README, "Upgrading and rolling back")."""
    _run(engine, lambda config: command.downgrade(config, revision), upgrading=False)


def _run(engine: Engine, step: Callable[[Config], None], scripts: Path = MIGRATIONS, *, upgrading: bool = True) -> None:
    try:
        with engine.connect() as connection:

            def run() -> None:
                with connection.begin():
                    if connection.dialect.name == "postgresql":
                        # Unbounded: instances starting together wait their turn, and a migration takes its time.
                        connection.exec_driver_sql(
                            "SELECT set_config('lock_timeout', '0', true), set_config('statement_timeout', '0', true)"
                        )
                        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
                    if _refuse_if_ahead(connection, scripts) is None:
                        if not upgrading:  # only the release that migrated it can take it back down
                            raise DatabaseAhead(
                                _heads(connection), ", ".join(ScriptDirectory(str(scripts)).get_heads())
                            )
                        return  # a newer release migrated it, and this code still runs on it: nothing to do
                    step(alembic_config(connection, scripts))
                    _record_compat(connection, scripts)

            if connection.dialect.name == "sqlite":
                _without_foreign_keys(connection, run)
            else:
                run()
    except OperationalError as exc:
        raise DatabaseError(f"cannot reach the database {engine.url!r}: {_one_line(exc.orig)}") from None
    except SQLAlchemyError as exc:  # a migration's own statement failed; SQLite's DDL may be half applied
        raise DatabaseError(f"a migration of {engine.url!r} failed: {_one_line(exc)}") from None


def _without_foreign_keys(connection: Connection, migrate: Callable[[], None]) -> None:
    """SQLite alters a table by copying it and dropping the old one (Alembic's batch mode), which the foreign
    keys of the tables that refer to it forbid: they are off while migrating, as SQLite's own procedure for
    altering a table says, checked once it is done, and back on for the connection's next user. The pragma is
    a no-op inside a transaction, so it is set outside one."""
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    connection.commit()
    try:
        migrate()
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        connection.commit()
        if broken:
            raise DatabaseError(f"a migration left {len(broken)} row(s) whose foreign key has no row, e.g. {broken[0]}")
    finally:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


def _refuse_if_ahead(connection: Connection, where: Path = MIGRATIONS) -> set[str] | None:
    """The revisions the database is at; None when a newer release migrated it and this code still runs on it
    (the migrations past this code's were all expand only); DatabaseAhead when it does not."""
    scripts = ScriptDirectory(str(where))
    current = set(MigrationContext.configure(connection).get_current_heads())
    known = {script.revision for script in scripts.walk_revisions()}
    if unknown := current - known:
        if _oldest_code_of(connection) in known:
            return None
        raise DatabaseAhead(", ".join(sorted(unknown)), ", ".join(sorted(scripts.get_heads())))
    return current


def _heads(connection: Connection) -> str:
    return ", ".join(sorted(MigrationContext.configure(connection).get_current_heads()))


def _oldest_code_of(connection: Connection) -> str | None:
    """What the last migration recorded: the oldest revision whose code runs on the schema."""
    if not inspect(connection).has_table("schema_compat"):
        return None
    return connection.scalar(text("SELECT oldest_code FROM schema_compat WHERE id = 1"))


def oldest_code(scripts: ScriptDirectory, head: str) -> str:
    """The oldest revision whose code runs on a schema at ``head``: down through the expand-only migrations."""
    revision = head
    while (script := scripts.get_revision(revision)) is not None and script.down_revision:
        if not getattr(script.module, "EXPAND_ONLY", False):
            break
        revision = str(script.down_revision)
    return revision


def _record_compat(connection: Connection, where: Path) -> None:
    """After migrating: which code still runs on the schema now (nothing to record below the table's own
    migration)."""
    if not inspect(connection).has_table("schema_compat"):
        return
    [head] = MigrationContext.configure(connection).get_current_heads()
    oldest = oldest_code(ScriptDirectory(str(where)), head)
    connection.execute(text("DELETE FROM schema_compat"))
    connection.execute(text("INSERT INTO schema_compat (id, oldest_code) VALUES (1, :oldest)"), {"oldest": oldest})


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def pending_migrations(engine: Engine) -> list[str]:
    """Revisions the database still lacks (empty when it is at head); DatabaseAhead when it is past them."""
    scripts = ScriptDirectory(str(MIGRATIONS))
    with engine.connect() as connection:
        current = _refuse_if_ahead(connection)
    if current is None or current == set(scripts.get_heads()):
        return []
    pending = []
    for script in scripts.walk_revisions():
        if script.revision in current:
            break
        pending.append(script.revision)
    return pending


def prepare(url: str) -> Engine:
    """Open the database and migrate it, or say in one line why it cannot be used."""
    try:
        engine = make_engine(url)
        migrate(engine)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot use the database {make_url(url)!r}: {_one_line(exc)}") from None
    return engine


def open_existing(url: str) -> Engine:
    """Open a database that the app has already set up, changing nothing: for the commands that only look or
    tidy (``refundbot outbox``). A missing SQLite file is not created, and a schema behind this code is not
    migrated; either is said in one line instead of showing an empty outbox."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database).expanduser()
        if not path.is_file():
            raise DatabaseError(
                f"there is no database at {path.resolve()}: set DATABASE_URL to the app's database (here or in .env)"
            )
    try:
        engine = make_engine(url)
        pending = pending_migrations(engine)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot use the database {parsed!r}: {_one_line(exc)}") from None
    if pending:
        engine.dispose()
        raise DatabaseError(
            f"the database {parsed!r} lacks {len(pending)} migration(s) of this version: run `refundbot migrate`"
        )
    return engine
