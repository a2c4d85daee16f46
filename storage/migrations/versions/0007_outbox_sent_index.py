"""Sent outbox rows are purged after a retention period (OUTBOX_RETENTION_DAYS); this index finds them by age
without scanning the table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Expand only: the code of the revision before runs on this schema, and this one's reads what that code writes.
EXPAND_ONLY = True


def upgrade() -> None:
    op.create_index(
        "ix_outbox_sent",
        "outbox",
        ["sent_at"],
        sqlite_where=sa.text("status = 'sent'"),
        postgresql_where=sa.text("status = 'sent'"),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_sent", table_name="outbox")
