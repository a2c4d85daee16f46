"""Extensions (design §2.2): which parties of a case have had their one extension. Deadlines carry their
case's workspace, so the scheduler's claim returns everything it needs from one UPDATE … RETURNING.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Not expand only: the code of the revision before cannot run on this schema (upgrading needs downtime).
EXPAND_ONLY = False


def upgrade() -> None:
    op.add_column("cases", sa.Column("extended_by", sa.JSON(), nullable=False, server_default="[]"))
    op.add_column("deadlines", sa.Column("team_id", sa.String(length=32), nullable=False, server_default=""))
    op.execute("UPDATE deadlines SET team_id = (SELECT cases.team_id FROM cases WHERE cases.id = deadlines.case_id)")


def downgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): a batch copy of `cases` would trip its foreign keys.
    op.drop_column("deadlines", "team_id")
    op.drop_column("cases", "extended_by")
