"""A party's record (shown to mediators) counts all of their cases, closed ones too: these indexes find them by
client and by freelancer without scanning the table (the existing ones cover open cases only).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 21:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Expand only: the code of the revision before runs on this schema, and this one's reads what that code writes.
EXPAND_ONLY = True


def upgrade() -> None:
    op.create_index("ix_cases_client_all", "cases", ["team_id", "client_id", "opened_at"])
    op.create_index("ix_cases_freelancer_all", "cases", ["team_id", "freelancer_id", "opened_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_freelancer_all", table_name="cases")
    op.drop_index("ix_cases_client_all", table_name="cases")
