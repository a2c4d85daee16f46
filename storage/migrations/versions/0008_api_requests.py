"""Signed pushes to the marketplace API already taken (POST /api/v1/contracts), so a replay is refused.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 18:47:19.838122
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Expand only: the code of the revision before runs on this schema, and this one's reads what that code writes.
EXPAND_ONLY = True


def upgrade() -> None:
    op.create_table(
        "api_requests",
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("signature", name=op.f("pk_api_requests")),
    )
    with op.batch_alter_table("api_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_requests_seen_at"), ["seen_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("api_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_requests_seen_at"))

    op.drop_table("api_requests")
