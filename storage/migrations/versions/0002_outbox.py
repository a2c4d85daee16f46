"""The Slack outbox and the refs of messages the app keeps up to date.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 08:16:34.482699
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Expand only: the code of the revision before runs on this schema, and this one's reads what that code writes.
EXPAND_ONLY = True


def upgrade() -> None:
    op.add_column("cases", sa.Column("request_key", sa.String(length=100), nullable=True))
    op.create_index("uq_cases_request_key", "cases", ["team_id", "request_key"], unique=True)
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("target", sa.JSON(), nullable=False),
        sa.Column("message_key", sa.String(length=100), nullable=True),
        sa.Column("surface", sa.String(length=50), nullable=False),
        sa.Column("view", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
    )
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["next_attempt_at", "id"],
        unique=False,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_outbox_stream_pending",
        "outbox",
        ["stream", "id"],
        unique=False,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )

    op.create_table(
        "slack_messages",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("message_key", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("permalink", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "message_key", name=op.f("pk_slack_messages")),
    )


def downgrade() -> None:
    op.drop_index("uq_cases_request_key", table_name="cases")
    with op.batch_alter_table("cases") as batch_op:  # SQLite drops a column by copying the table
        batch_op.drop_column("request_key")
    op.drop_table("slack_messages")
    op.drop_index("ix_outbox_stream_pending", table_name="outbox")
    op.drop_index("ix_outbox_pending", table_name="outbox")

    op.drop_table("outbox")
