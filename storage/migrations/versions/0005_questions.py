"""A mediator's questions, kept so that the Answer button carries an id rather than the question itself (a
button value holds at most 2,000 characters; a 500-character question in Cyrillic is 3,000 as JSON).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Expand only: the code of the revision before runs on this schema, and this one's reads what that code writes.
EXPAND_ONLY = True


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table(
        "questions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=16), nullable=False),
        sa.Column("asked_by", sa.String(length=32), nullable=False),
        sa.Column("asked", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_questions_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questions")),
    )
    # Part of the case's record, like evidence: the database refuses changes.
    if _postgres():
        op.execute(
            "CREATE TRIGGER questions_append_only BEFORE UPDATE OR DELETE ON questions "
            "FOR EACH ROW EXECUTE FUNCTION refundbot_append_only()"
        )
    else:
        for change in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER questions_no_{change.lower()} BEFORE {change} ON questions "
                "BEGIN SELECT RAISE(ABORT, 'questions is append-only'); END"
            )


def downgrade() -> None:
    if _postgres():
        op.execute("DROP TRIGGER questions_append_only ON questions")
    else:
        for change in ("update", "delete"):
            op.execute(f"DROP TRIGGER questions_no_{change}")
    op.drop_table("questions")
