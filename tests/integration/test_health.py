"""GET /readyz tells an operator (or a load balancer) whether this instance can serve: about this instance alone,
and never about what every instance shares (Slack, the outbox)."""

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from bot.app.runtime import readiness
from bot.services.messages import OutboxMessage, dm
from storage.db import MIGRATIONS, DatabaseAhead, alembic_config, make_engine, migrate, session_factory
from storage.outbox import OutboxRepository
from tests.integration.conftest import NOW

READY = (200, {"status": "ready", "database": "reachable", "migrations": "current"})


def test_ready_when_the_database_answers_and_is_migrated(engine):
    assert readiness(engine) == READY


def test_unready_while_migrations_are_pending(engine):
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0001")
    status, body = readiness(engine)
    assert status == 503
    assert body["migrations_pending"] == [f"{n:04d}" for n in range(19, 1, -1)]


def test_unready_when_the_database_cannot_be_reached():
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 2})
    status, body = readiness(engine)
    assert status == 503
    assert "Connection refused" in body["database"]


def test_a_backlog_of_slack_messages_never_makes_an_instance_unready(engine):
    """Slack down, or one workspace's message stuck, is every instance's: a metric and the relay's ALARM line."""
    with session_factory(engine).begin() as session:
        queue = OutboxRepository(session)
        queue.add("T0DEMO01", OutboxMessage("R-1", "a", dm("U0X"), "notice", {"text": "a"}), NOW - timedelta(hours=3))
    assert readiness(engine) == READY


# --- two releases side by side across an upgrade ------------------------------------------------------------------

NEXT_EXPAND = '''
"""The next release's migration, expand only: a column the current code never reads."""
revision = "0099"
down_revision = "{head}"
branch_labels = None
depends_on = None
EXPAND_ONLY = True

import sqlalchemy as sa
from alembic import op


def upgrade():
    op.add_column("cases", sa.Column("next_release_note", sa.String(200), nullable=True))


def downgrade():
    op.drop_column("cases", "next_release_note")
'''


def next_release(tmp_path: Path, *, expand_only: bool) -> Path:
    """This release's migrations and one more, as the next release ships them."""
    scripts = tmp_path / "next"
    shutil.copytree(MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    head = max(p.name[:4] for p in (MIGRATIONS / "versions").glob("0*.py"))
    migration = NEXT_EXPAND.format(head=head).replace("EXPAND_ONLY = True", f"EXPAND_ONLY = {expand_only}")
    (scripts / "versions" / "0099_next.py").write_text(migration)
    return scripts


def test_this_release_stays_ready_and_starts_while_the_next_one_migrates_expand_only(engine, tmp_path):
    migrate(engine, scripts=next_release(tmp_path, expand_only=True))  # the next release's first instance
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "0099"
    assert readiness(engine) == READY  # this release's instances stay in the load balancer
    migrate(engine)  # and one of them restarting starts, leaving the schema as it is
    with session_factory(engine).begin() as session:  # and writes what the next release reads
        OutboxRepository(session).add("T0DEMO01", OutboxMessage("R-1", "a", dm("U0X"), "notice", {"text": "a"}), NOW)


def test_a_migration_that_is_not_expand_only_takes_this_release_out_and_says_why(engine, tmp_path):
    migrate(engine, scripts=next_release(tmp_path, expand_only=False))
    status, body = readiness(engine)
    assert status == 503
    assert body["database"].startswith("the database is at 0099, newer than this code")
    with pytest.raises(DatabaseAhead):
        migrate(engine)
