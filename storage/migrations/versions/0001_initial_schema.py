"""Contracts, items, cases, deadlines, the append-only ledger and audit trail, policy versions.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 08:01:51.373661
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# The ledger and the audit trail are append-only (design §2.1): the database itself refuses changes to them.
APPEND_ONLY = ("ledger_entries", "audit_events")

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# Not expand only: the code of the revision before cannot run on this schema (upgrading needs downtime).
EXPAND_ONLY = False


def upgrade() -> None:
    op.create_table(
        "contracts",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=False),
        sa.Column("freelancer_id", sa.String(length=32), nullable=False),
        sa.Column("hourly_rate_minor", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("policy_version", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "id", name=op.f("pk_contracts")),
    )
    op.create_index("ix_contracts_client", "contracts", ["team_id", "client_id"], unique=False)
    op.create_index("ix_contracts_freelancer", "contracts", ["team_id", "freelancer_id"], unique=False)

    op.create_table(
        "policy_versions",
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("numbers", sa.JSON(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_policy_versions")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("contract_id", sa.String(length=64), nullable=False),
        sa.Column("item_kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("item_label", sa.String(length=250), nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=False),
        sa.Column("freelancer_id", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("paid_minor", sa.BigInteger(), nullable=False),
        sa.Column("requested_minor", sa.BigInteger(), nullable=False),
        sa.Column("offered_minor", sa.BigInteger(), nullable=True),
        sa.Column("refunded_minor", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("stage", sa.String(length=24), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("policy_version", sa.String(length=32), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=32), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transitions", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id", "contract_id"], ["contracts.team_id", "contracts.id"], name=op.f("fk_cases_contracts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    op.create_index(
        "ix_cases_client_open",
        "cases",
        ["team_id", "client_id"],
        unique=False,
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    )
    op.create_index(
        "ix_cases_freelancer_open",
        "cases",
        ["team_id", "freelancer_id"],
        unique=False,
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    )
    op.create_index(
        "uq_cases_open_item",
        "cases",
        ["team_id", "contract_id", "item_kind", "item_id"],
        unique=True,
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    )

    op.create_table(
        "milestones",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("contract_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("funded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["team_id", "contract_id"], ["contracts.team_id", "contracts.id"], name=op.f("fk_milestones_contracts")
        ),
        sa.PrimaryKeyConstraint("team_id", "contract_id", "id", name=op.f("pk_milestones")),
    )
    op.create_table(
        "timesheets",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("contract_id", sa.String(length=64), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("billed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["team_id", "contract_id"], ["contracts.team_id", "contracts.id"], name=op.f("fk_timesheets_contracts")
        ),
        sa.PrimaryKeyConstraint("team_id", "contract_id", "week", name=op.f("pk_timesheets")),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.Column("stage", sa.String(length=24), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=True),
        sa.Column("to_state", sa.String(length=32), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column("policy_version", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_audit_events_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("case_id", "seq", name=op.f("uq_audit_events_case_id_seq")),
    )
    op.create_table(
        "deadlines",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("party", sa.String(length=32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminder_offsets", sa.JSON(), nullable=False),
        sa.Column("reminders_sent", sa.JSON(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_deadlines_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadlines")),
    )
    op.create_index(
        "ix_deadlines_due",
        "deadlines",
        ["next_at"],
        unique=False,
        sqlite_where=sa.text("done_at IS NULL"),
        postgresql_where=sa.text("done_at IS NULL"),
    )
    op.create_index(
        "uq_deadlines_active",
        "deadlines",
        ["case_id", "kind"],
        unique=True,
        sqlite_where=sa.text("done_at IS NULL"),
        postgresql_where=sa.text("done_at IS NULL"),
    )

    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=16), nullable=False),
        sa.Column("contract_id", sa.String(length=64), nullable=False),
        sa.Column("item_kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.Column("policy_version", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_ledger_entries_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index("ix_ledger_entries_case", "ledger_entries", ["case_id"], unique=False)
    op.create_index(
        "ix_ledger_entries_item", "ledger_entries", ["team_id", "contract_id", "item_kind", "item_id"], unique=False
    )
    _refuse_changes(APPEND_ONLY)


def downgrade() -> None:
    _allow_changes(APPEND_ONLY)
    op.drop_index("ix_ledger_entries_item", table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_case", table_name="ledger_entries")

    op.drop_table("ledger_entries")
    op.drop_index("uq_deadlines_active", table_name="deadlines")
    op.drop_index("ix_deadlines_due", table_name="deadlines")

    op.drop_table("deadlines")
    op.drop_table("audit_events")
    op.drop_table("timesheets")
    op.drop_table("milestones")
    op.drop_index("uq_cases_open_item", table_name="cases")
    op.drop_index("ix_cases_freelancer_open", table_name="cases")
    op.drop_index("ix_cases_client_open", table_name="cases")

    op.drop_table("cases")
    op.drop_table("policy_versions")
    op.drop_index("ix_contracts_freelancer", table_name="contracts")
    op.drop_index("ix_contracts_client", table_name="contracts")

    op.drop_table("contracts")


def _refuse_changes(tables: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION refundbot_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
        for table in tables:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refundbot_append_only()"
            )
        return
    for table in tables:
        for change in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{change.lower()} BEFORE {change} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def _allow_changes(tables: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in tables:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP FUNCTION refundbot_append_only()")
        return
    for table in tables:
        for change in ("update", "delete"):
            op.execute(f"DROP TRIGGER {table}_no_{change}")
