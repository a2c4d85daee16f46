"""Alembic environment: runs on the connection refund-bot hands it, or on DATABASE_URL from the settings."""

from typing import Any, Literal

from alembic import context
from sqlalchemy import Connection

from storage.tables import Base, UtcDateTime


def _render_item(kind: str, item: Any, autogen_context: Any) -> str | Literal[False]:
    """Our UTC column is a plain timezone-aware DateTime to the database: written so, a migration needs no import
    of ``storage``."""
    if kind == "type" and isinstance(item, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    run(given)
else:
    from bot.config import load_settings
    from storage.db import make_engine

    with make_engine(load_settings().database_url).begin() as connection:
        run(connection)
