"""SQLAlchemy 2 typed tables. Money is BIGINT minor units plus a currency code; instants are UTC.

The schema is created only by the Alembic migrations in ``storage/migrations``; these models must match them
(``tests/integration/test_migrations.py`` compares the two).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a real BIGINT identity.
RowId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC in and out on both databases (SQLite keeps no offset, so it stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"refusing to store naive datetime {value!r}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: dict[Any, Any] = {datetime: UtcDateTime(), date: Date()}  # noqa: RUF012


class ContractRow(Base):
    __tablename__ = "contracts"
    __table_args__ = (
        Index("ix_contracts_client", "team_id", "client_id"),
        Index("ix_contracts_freelancer", "team_id", "freelancer_id"),
    )

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    client_id: Mapped[str] = mapped_column(String(32))
    freelancer_id: Mapped[str] = mapped_column(String(32))
    hourly_rate_minor: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    policy_version: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MilestoneRow(Base):
    __tablename__ = "milestones"
    __table_args__ = (ForeignKeyConstraint(["team_id", "contract_id"], ["contracts.team_id", "contracts.id"]),)

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    contract_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    funded_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]


class TimesheetRow(Base):
    __tablename__ = "timesheets"
    __table_args__ = (ForeignKeyConstraint(["team_id", "contract_id"], ["contracts.team_id", "contracts.id"]),)

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    contract_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    week: Mapped[date] = mapped_column(primary_key=True)
    minutes: Mapped[int] = mapped_column(Integer)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    billed_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]


class CaseRow(Base):
    __tablename__ = "cases"
    __table_args__ = (
        ForeignKeyConstraint(["team_id", "contract_id"], ["contracts.team_id", "contracts.id"]),
        # Design §2.1: one open case per item at a time; the race between two requests ends here.
        Index(
            "uq_cases_open_item",
            "team_id",
            "contract_id",
            "item_kind",
            "item_id",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        # A resubmitted /refund modal (double click, Slack retry) finds the case its first submission opened.
        Index("uq_cases_request_key", "team_id", "request_key", unique=True),
        # /refund list and App Home: a person's open cases as client and as freelancer.
        Index(
            "ix_cases_client_open",
            "team_id",
            "client_id",
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        Index(
            "ix_cases_freelancer_open",
            "team_id",
            "freelancer_id",
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        # A party's record for mediators: all their cases, closed ones too (bot.domain.history).
        Index("ix_cases_client_all", "team_id", "client_id", "opened_at"),
        Index("ix_cases_freelancer_all", "team_id", "freelancer_id", "opened_at"),
        # The mediators' queue: open cases by state.
        Index(
            "ix_cases_state_open",
            "team_id",
            "state",
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    contract_id: Mapped[str] = mapped_column(String(64))
    item_kind: Mapped[str] = mapped_column(String(16))
    item_id: Mapped[str] = mapped_column(String(64))
    item_label: Mapped[str] = mapped_column(String(250))
    client_id: Mapped[str] = mapped_column(String(32))
    freelancer_id: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    paid_minor: Mapped[int] = mapped_column(BigInteger)
    requested_minor: Mapped[int] = mapped_column(BigInteger)
    offered_minor: Mapped[int | None] = mapped_column(BigInteger)
    refunded_minor: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    response: Mapped[str | None] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(String(24))
    state: Mapped[str] = mapped_column(String(32))
    policy_version: Mapped[str] = mapped_column(String(32))
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(32))
    closed_at: Mapped[datetime | None]
    transitions: Mapped[int] = mapped_column(Integer)
    request_key: Mapped[str | None] = mapped_column(String(100))
    disputed_minor: Mapped[int | None] = mapped_column(BigInteger)
    disputed_minutes: Mapped[int | None] = mapped_column(Integer)
    dispute_reason: Mapped[str | None] = mapped_column(Text)
    statement: Mapped[str | None] = mapped_column(Text)
    binding: Mapped[bool] = mapped_column(Boolean)
    mediator_id: Mapped[str | None] = mapped_column(String(32))
    proposal_minor: Mapped[int | None] = mapped_column(BigInteger)
    rationale: Mapped[str | None] = mapped_column(Text)
    rule: Mapped[str | None] = mapped_column(String(64))
    cited: Mapped[list[int] | None] = mapped_column(JSON)
    answers: Mapped[dict[str, str]] = mapped_column(JSON)
    award_reference: Mapped[str | None] = mapped_column(String(100))
    outcome_minor: Mapped[int | None] = mapped_column(BigInteger)  # what an outcome open to appeal gives the client
    appeal: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the party's appeal, once made
    evidence_count: Mapped[int] = mapped_column(Integer)
    escalated_at: Mapped[datetime | None]
    extended_by: Mapped[list[str]] = mapped_column(JSON)
    payout_hold: Mapped[str | None] = mapped_column(String(500))
    # The mediators' deadlines missed: kind → [the due time missed, when it was seen] (issue 38).
    mediators_late: Mapped[dict[str, list[str]] | None] = mapped_column(JSON)
    claimed_at: Mapped[datetime | None]  # when the mediator who holds it took it
    acted_at: Mapped[datetime | None]  # their first question, proposal or decision since
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  (compare-and-set on every UPDATE)


class DeadlineRow(Base):
    __tablename__ = "deadlines"
    __table_args__ = (
        # The scheduler's lease: active deadlines whose next reminder or due time has come, oldest first.
        Index(
            "ix_deadlines_due",
            "next_at",
            sqlite_where=text("done_at IS NULL"),
            postgresql_where=text("done_at IS NULL"),
        ),
        Index(
            "uq_deadlines_active",
            "case_id",
            "kind",
            unique=True,
            sqlite_where=text("done_at IS NULL"),
            postgresql_where=text("done_at IS NULL"),
        ),
        ForeignKeyConstraint(["case_id"], ["cases.id"]),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))  # the case's, so a lease needs no join
    case_id: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    parties: Mapped[list[str]] = mapped_column(JSON)  # who must act; reminders go to those who still have not
    due_at: Mapped[datetime]
    reminder_offsets: Mapped[list[float]] = mapped_column(JSON)
    reminders_sent: Mapped[list[float]] = mapped_column(JSON)
    next_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    done_at: Mapped[datetime | None]


class LedgerRow(Base):
    """Append-only: the migration installs triggers that refuse UPDATE and DELETE."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_item", "team_id", "contract_id", "item_kind", "item_id"),
        Index("ix_ledger_entries_case", "case_id"),
        ForeignKeyConstraint(["case_id"], ["cases.id"]),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[str] = mapped_column(String(16))
    contract_id: Mapped[str] = mapped_column(String(64))
    item_kind: Mapped[str] = mapped_column(String(16))
    item_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    actor: Mapped[str] = mapped_column(String(32))
    policy_version: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]


class PayoutAnswerRow(Base):
    """What the marketplace's payments endpoint answered for a ledger entry: one row per entry, written once (a
    delivery repeated after a lost answer finds it there). The ledger itself stays append-only."""

    __tablename__ = "payout_answers"
    __table_args__ = (ForeignKeyConstraint(["entry_id"], ["ledger_entries.id"]),)

    entry_id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=False)
    outcome: Mapped[str] = mapped_column(String(16))  # accepted | refused
    reason: Mapped[str | None] = mapped_column(String(500))
    reference: Mapped[str | None] = mapped_column(String(100))  # the marketplace's id for the payout
    answered_at: Mapped[datetime]


class AuditRow(Base):
    """Append-only, one row per transition; (case_id, seq) makes a doubled transition impossible to store."""

    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("case_id", "seq"),
        ForeignKeyConstraint(["case_id"], ["cases.id"]),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    rationale: Mapped[str | None] = mapped_column(Text)
    rule: Mapped[str | None] = mapped_column(String(64))  # a mediator's outcome: the rule applied
    cited: Mapped[list[int] | None] = mapped_column(JSON)  # and the evidence items relied on
    policy_version: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]


class PolicyRow(Base):
    """Each policy version's numbers, so a case keeps the rules it started under after the config changes."""

    __tablename__ = "policy_versions"

    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    numbers: Mapped[dict[str, Any]] = mapped_column(JSON)
    registered_at: Mapped[datetime]


class EvidenceRow(Base):
    """Append-only like the ledger: evidence is frozen once added (design §3)."""

    __tablename__ = "evidence"
    __table_args__ = (
        UniqueConstraint("case_id", "seq"),
        ForeignKeyConstraint(["case_id"], ["cases.id"]),
        Index("ix_evidence_intake", "team_id", "intake", unique=True),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    links: Mapped[list[str]] = mapped_column(JSON)
    visibility: Mapped[str] = mapped_column(String(16))
    answers: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]
    # Each file as read when added: id, name, type, size, owner and SHA-256 (bot.domain.files.EvidenceFile).
    files: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    intake: Mapped[str | None] = mapped_column(String(64))  # the form whose files were read: recorded once


class EvidenceFileRow(Base):
    """Each file of each piece of evidence, found by its Slack id when Slack says it changed or was deleted, and what
    a read of it then found (``changed`` or ``removed``), once: the piece itself stays as it was added."""

    __tablename__ = "evidence_files"
    __table_args__ = (Index("ix_evidence_files_file", "team_id", "file_id"),)

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    found: Mapped[str | None] = mapped_column(String(16))
    found_at: Mapped[datetime | None]


class QuestionRow(Base):
    """A mediator's question to one party. Append-only: the Answer button carries only its id, and the answer
    (evidence) quotes the text kept here."""

    __tablename__ = "questions"
    __table_args__ = (ForeignKeyConstraint(["case_id"], ["cases.id"]),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[str] = mapped_column(String(16))
    asked_by: Mapped[str] = mapped_column(String(32))
    asked: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


APPEND_ONLY_TABLES = (
    LedgerRow.__tablename__,
    AuditRow.__tablename__,
    EvidenceRow.__tablename__,
    QuestionRow.__tablename__,
)


class OutboxRow(Base):
    """A message the Slack relay must deliver, written in the same transaction as the change that caused it.

    Rows of one ``stream`` (a case) go out in id order, so a case's thread root precedes its replies and an
    update never overtakes the post it updates; different streams go out in parallel.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        # The relay's lease: pending rows that are due, oldest first.
        Index(
            "ix_outbox_pending",
            "next_attempt_at",
            "id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_outbox_stream_pending",
            "stream",
            "id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        # The retention purge: sent rows by age.
        Index(
            "ix_outbox_sent",
            "sent_at",
            sqlite_where=text("status = 'sent'"),
            postgresql_where=text("status = 'sent'"),
        ),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    stream: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    target: Mapped[dict[str, Any]] = mapped_column(JSON)
    message_key: Mapped[str | None] = mapped_column(String(100))
    surface: Mapped[str] = mapped_column(String(50))
    view: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    # An earlier attempt may have reached Slack without its answer being recorded: look before posting again.
    in_doubt: Mapped[bool] = mapped_column(Boolean, server_default=false())


class SlackMessageRow(Base):
    """Where a message the app keeps up to date lives, so later changes use chat.update on it."""

    __tablename__ = "slack_messages"
    # A message shortcut names a message by its place: the case thread it is in is found by its root's.
    __table_args__ = (Index("ix_slack_messages_place", "team_id", "channel", "ts"),)

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    message_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))
    permalink: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]


class ApiRequestRow(Base):
    """Signed pushes to the marketplace API already taken: the same signature again is a replay. Kept for
    twice the signature's tolerance window, beyond which a replay is refused as stale anyway."""

    __tablename__ = "api_requests"

    signature: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the signature header
    seen_at: Mapped[datetime] = mapped_column(index=True)


class WorkspaceRow(Base):
    """A workspace's own mediators, when refund-bot serves several (OAuth installs): where its case cards go and
    who mediates there. Unset, the settings' MEDIATOR_* apply (the single-workspace set-up)."""

    __tablename__ = "workspaces"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    mediator_channel_id: Mapped[str | None] = mapped_column(String(32))
    mediator_user_ids: Mapped[list[str]] = mapped_column(JSON)
    mediator_usergroup_id: Mapped[str | None] = mapped_column(String(32))
    assignment: Mapped[str | None] = mapped_column(String(16))  # bot.domain.vocabulary.Assignment; unset: off
    lead_user_ids: Mapped[list[str] | None] = mapped_column(JSON)
    lead_usergroup_id: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime]


class MediatorRow(Base):
    """A mediator of one workspace as assignment weighs them (issue 38): away until when, and when a case was last
    handed to them (round-robin's turn). A mediator with no row is available and was never assigned."""

    __tablename__ = "mediators"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    away_until: Mapped[datetime | None]
    last_assigned_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class PersonRow(Base):
    """What Slack last said of a person that shapes how the app speaks to them: their locale, so a form's hints
    and errors (answered at once, with no time to ask Slack) read as their DMs do. Refreshed now and then by the
    relay, which asks Slack as it delivers to them."""

    __tablename__ = "people"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    locale: Mapped[str] = mapped_column(String(35))  # a BCP 47 tag as Babel spells it: de_DE, zh_Hant_TW
    checked_at: Mapped[datetime]


class SchemaCompatRow(Base):
    """The oldest revision whose code runs on this schema, one row kept by the migrations (storage.db): an
    instance of an older release reads it to know whether it may go on serving a database migrated past it."""

    __tablename__ = "schema_compat"

    id: Mapped[int] = mapped_column(primary_key=True)
    oldest_code: Mapped[str] = mapped_column(String(32))


# slack-sdk's own tables for Bolt's OAuth flow (SQLAlchemyInstallationStore, SQLAlchemyOAuthStateStore), built by
# its own table builders on our metadata, so that our migrations create them on both databases.
INSTALLATIONS = SQLAlchemyInstallationStore.build_installations_table(Base.metadata, "slack_installations")
BOTS = SQLAlchemyInstallationStore.build_bots_table(Base.metadata, "slack_bots")
OAUTH_STATES = SQLAlchemyOAuthStateStore.build_oauth_states_table(Base.metadata, "slack_oauth_states")
