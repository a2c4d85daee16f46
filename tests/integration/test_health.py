"""GET /healthz tells an operator (or a load balancer) whether this instance can serve."""

from alembic import command

from app import health
from storage.db import alembic_config, make_engine


def test_healthy_when_the_database_answers_and_is_migrated(engine):
    assert health(engine) == (200, {"status": "ok", "database": "reachable", "migrations": "current"})


def test_unhealthy_while_migrations_are_pending(engine):
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0001")
    status, body = health(engine)
    assert status == 503
    assert body["migrations_pending"] == ["0007", "0006", "0005", "0004", "0003", "0002"]


def test_unhealthy_when_the_database_cannot_be_reached():
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 2})
    status, body = health(engine)
    assert status == 503
    assert "Connection refused" in body["database"]
