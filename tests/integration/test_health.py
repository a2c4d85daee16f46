"""GET /readyz tells an operator (or a load balancer) whether this instance can serve."""

from datetime import timedelta

from alembic import command

from bot.app.runtime import readiness
from bot.services.messages import OutboxMessage, dm
from storage.db import alembic_config, make_engine, session_factory
from storage.outbox import OutboxRepository
from tests.integration.conftest import NOW

READY = (200, {"status": "ready", "database": "reachable", "migrations": "current", "outbox": "moving"})


def test_ready_when_the_database_answers_is_migrated_and_the_outbox_moves(engine):
    assert readiness(engine, NOW) == READY


def test_unready_while_migrations_are_pending(engine):
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0001")
    status, body = readiness(engine, NOW)
    assert status == 503
    assert body["migrations_pending"] == [
        "0013",
        "0012",
        "0011",
        "0010",
        "0009",
        "0008",
        "0007",
        "0006",
        "0005",
        "0004",
        "0003",
        "0002",
    ]


def test_unready_when_the_database_cannot_be_reached():
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 2})
    status, body = readiness(engine, NOW)
    assert status == 503
    assert "Connection refused" in body["database"]


def test_unready_once_a_message_has_waited_past_the_relays_alarm(engine):
    with session_factory(engine).begin() as session:
        queue = OutboxRepository(session)
        queue.add("T0DEMO01", OutboxMessage("R-1", "a", dm("U0X"), "notice", {"text": "a"}), NOW)
        [row] = queue.lease_due("relay", NOW, timedelta(minutes=1), 10)
        queue.retry(row.id, "relay", NOW, "token_expired", in_doubt=False)
    assert readiness(engine, NOW + timedelta(minutes=15)) == READY  # Slack's usual hiccups are waited out
    assert readiness(engine, NOW + timedelta(minutes=16)) == (
        503,
        {
            "status": "unready",
            "outbox": {"oldest_pending": "case R-1, waiting 0:16:00", "last_error": "token_expired"},
        },
    )
