"""Cases assigned fairly (issue 38): a workspace's desk may hand waiting cases out itself (``assignment``:
round-robin or least-loaded) and names its own lead mediators (users, or a user group); each mediator's
availability (away until a date) and when a case was last handed to them (whose turn it is) are kept per
workspace in ``mediators``.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Expand only: the code of the revision before neither reads nor writes the new columns or table.
EXPAND_ONLY = True


def upgrade() -> None:
    op.add_column("workspaces", sa.Column("assignment", sa.String(16), nullable=True))
    op.add_column("workspaces", sa.Column("lead_user_ids", sa.JSON(), nullable=True))
    op.add_column("workspaces", sa.Column("lead_usergroup_id", sa.String(32), nullable=True))
    op.create_table(
        "mediators",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("away_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("mediators")
    op.drop_column("workspaces", "lead_usergroup_id")
    op.drop_column("workspaces", "lead_user_ids")
    op.drop_column("workspaces", "assignment")
