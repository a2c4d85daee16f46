"""Reasoned decisions: a mediator's proposal, decision or award names the policy rule it applies and cites the
evidence it relied on, on the case (its latest outcome) and on the audit row that recorded it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Expand only: the code of the revision before runs on this schema, and this one's reads what that code writes.
EXPAND_ONLY = True


# Plain ALTER TABLE both ways, never batch mode: recreating audit_events on SQLite would drop the triggers that
# keep it append-only. (SQLite drops a column in place since 3.35.)


def upgrade() -> None:
    for table in ("cases", "audit_events"):
        op.add_column(table, sa.Column("rule", sa.String(length=64), nullable=True))
        op.add_column(table, sa.Column("cited", sa.JSON(), nullable=True))


def downgrade() -> None:
    for table in ("audit_events", "cases"):
        op.drop_column(table, "cited")
        op.drop_column(table, "rule")
