"""Files as evidence: each piece keeps the files it carries as read when added (id, name, type, size, owner and
SHA-256), and the form they came from, so a piece whose files were read is recorded once however often the
reading is retried. Each file is also listed by its Slack id (evidence_files), with what a read found once Slack
said it changed or was deleted. Kept messages are found by their place too: a message shortcut names a message by its
channel and ts, and the case thread it is in by its root's.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Expand only: the code of the revision before neither reads nor writes the new columns.
EXPAND_ONLY = True


def upgrade() -> None:
    op.add_column("evidence", sa.Column("files", sa.JSON(), nullable=True))
    op.add_column("evidence", sa.Column("intake", sa.String(64), nullable=True))
    op.create_index("ix_evidence_intake", "evidence", ["team_id", "intake"], unique=True)
    op.create_index("ix_slack_messages_place", "slack_messages", ["team_id", "channel", "ts"])
    op.create_table(
        "evidence_files",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("case_id", sa.String(16), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("file_id", sa.String(32), primary_key=True),
        sa.Column("found", sa.String(16), nullable=True),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_evidence_files_file", "evidence_files", ["team_id", "file_id"])


def downgrade() -> None:
    op.drop_table("evidence_files")
    op.drop_index("ix_slack_messages_place", table_name="slack_messages")
    op.drop_index("ix_evidence_intake", table_name="evidence")  # SQLite drops no indexed column
    op.drop_column("evidence", "intake")
    op.drop_column("evidence", "files")
