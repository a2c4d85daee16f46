"""Disputes, escrow refunds, mediation and arbitration: the case's later-stage fields, deadlines with several
parties, and the append-only evidence table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 10:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Not expand only: the code of the revision before cannot run on this schema (upgrading needs downtime).
EXPAND_ONLY = False


def _case_columns() -> tuple[sa.Column, ...]:
    return (
        sa.Column("disputed_minor", sa.BigInteger(), nullable=True),
        sa.Column("disputed_minutes", sa.Integer(), nullable=True),
        sa.Column("dispute_reason", sa.Text(), nullable=True),
        sa.Column("statement", sa.Text(), nullable=True),
        sa.Column("binding", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("mediator_id", sa.String(length=32), nullable=True),
        sa.Column("proposal_minor", sa.BigInteger(), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False, server_default="{}"),
        sa.Column("award_reference", sa.String(length=100), nullable=True),
        sa.Column("evidence_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
    )


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    for column in _case_columns():
        op.add_column("cases", column)
    op.create_index(
        "ix_cases_state_open",
        "cases",
        ["team_id", "state"],
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    )

    # A deadline may wait on both parties (a proposal, an arbitration offer): one party becomes a list.
    op.add_column("deadlines", sa.Column("parties", sa.JSON(), nullable=False, server_default="[]"))
    op.execute(f"UPDATE deadlines SET parties = {'json_build_array' if _postgres() else 'json_array'}(party)")
    op.drop_column("deadlines", "party")

    op.create_table(
        "evidence",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("answers", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_evidence_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
        sa.UniqueConstraint("case_id", "seq", name=op.f("uq_evidence_case_id_seq")),
    )
    # Evidence is frozen once added (design §3): the database refuses changes, as for the ledger.
    if _postgres():
        op.execute(
            "CREATE TRIGGER evidence_append_only BEFORE UPDATE OR DELETE ON evidence "
            "FOR EACH ROW EXECUTE FUNCTION refundbot_append_only()"
        )
    else:
        for change in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER evidence_no_{change.lower()} BEFORE {change} ON evidence "
                "BEGIN SELECT RAISE(ABORT, 'evidence is append-only'); END"
            )


def downgrade() -> None:
    if _postgres():
        op.execute("DROP TRIGGER evidence_append_only ON evidence")
    else:
        for change in ("update", "delete"):
            op.execute(f"DROP TRIGGER evidence_no_{change}")
    op.drop_table("evidence")

    op.add_column("deadlines", sa.Column("party", sa.String(length=32), nullable=False, server_default=""))
    first = "parties->>0" if _postgres() else "json_extract(parties, '$[0]')"
    op.execute(f"UPDATE deadlines SET party = {first}")
    op.drop_column("deadlines", "parties")

    op.drop_index("ix_cases_state_open", table_name="cases")
    for column in _case_columns():
        op.drop_column("cases", column.name)
