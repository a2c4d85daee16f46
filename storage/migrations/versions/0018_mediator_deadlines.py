"""Mediators held to time: a case keeps when its mediator took it and first acted, and which of the mediators'
deadlines passed (to claim, to act a first time, to give an outcome), which the desk and the case card show. The
deadlines themselves are rows of ``deadlines`` (kinds ``mediator_claim``, ``mediator_action``, ``mediator_outcome``).

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
    op.add_column("cases", sa.Column("mediators_late", sa.JSON(), nullable=True))
    op.add_column("cases", sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("acted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("cases", "acted_at")
    op.drop_column("cases", "claimed_at")
    op.drop_column("cases", "mediators_late")
