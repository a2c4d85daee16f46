"""Mediators held to time: a case that waits for a mediator keeps when its claim window passed unclaimed, which the
desk and the case card show (the deadline itself is a row of ``deadlines``, kind ``mediator_claim``).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Expand only: the code of the revision before neither reads nor writes the new column.
EXPAND_ONLY = True


def upgrade() -> None:
    op.add_column("cases", sa.Column("claim_late_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("cases", "claim_late_at")
