"""Appeals: an outcome a party may appeal keeps what it gave the client in its stage (``outcome_minor``), and an
appealed case keeps the appeal (who asked, why, when, the outcome and its mediator) for the second mediator's
review. Ledger kinds gain refund_reversal and release_reversal: the column already fits them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Expand only: the code of the revision before runs on this schema, and this one's reads what that code writes.
EXPAND_ONLY = True


# Plain ALTER TABLE both ways, as 0012: SQLite drops a column in place since 3.35, keeping the table's indexes.


def upgrade() -> None:
    op.add_column("cases", sa.Column("outcome_minor", sa.BigInteger(), nullable=True))
    op.add_column("cases", sa.Column("appeal", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("cases", "appeal")
    op.drop_column("cases", "outcome_minor")
