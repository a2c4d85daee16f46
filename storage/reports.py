"""Reports for the marketplace's finance and trust teams (`refundbot export`): one row per case or ledger entry,
as plain values, read in batches so an export of millions of rows keeps its memory flat."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bot.domain.money import Money
from bot.domain.vocabulary import SCHEDULER
from bot.services.models import ClosedCase
from storage.tables import CaseRow, ContractRow, EvidenceFileRow, EvidenceRow, LedgerRow, PayoutAnswerRow

BATCH = 1000

CASE_COLUMNS = (
    "case_id",
    "team_id",
    "contract_id",
    "contract_kind",
    "item_kind",
    "item_id",
    "item_label",
    "client_id",
    "freelancer_id",
    "currency",
    "paid",
    "requested",
    "disputed",
    "refunded",
    "stage",
    "state",
    "outcome",
    "decided_by_deadline",
    "binding",
    "mediator_id",
    "policy_version",
    "opened_at",
    "updated_at",
    "closed_at",
)
LEDGER_COLUMNS = (
    "entry_id",
    "team_id",
    "case_id",
    "contract_id",
    "item_kind",
    "item_id",
    "kind",
    "amount",
    "currency",
    "actor",
    "policy_version",
    "at",
    "payout",
    "payout_reference",
    "payout_reason",
)


def _amount(minor: int | None, currency: str) -> str | None:
    """Major units as written ("150.00", "¥1200" as "1200", KWD "1.500"): exact, never a float."""
    return None if minor is None else str(Money(minor, currency).amount)


def _instant(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _in_period(
    query: Select[Any], at: Any, team: Any, since: datetime, until: datetime, team_id: str | None, *order: Any
) -> Select[Any]:
    """``query`` over the rows whose ``at`` falls in [since, until), of workspace ``team_id`` alone if named (its
    column ``team``), in ``order``, read in batches."""
    query = query.where(at >= since, at < until).order_by(*order).execution_options(yield_per=BATCH)
    return query if team_id is None else query.where(team == team_id)


def _with_kind() -> Select[Any]:
    """Cases, each with the kind of its contract."""
    return select(CaseRow, ContractRow.kind).join(
        ContractRow, (ContractRow.team_id == CaseRow.team_id) & (ContractRow.id == CaseRow.contract_id)
    )


def cases(session: Session, since: datetime, until: datetime, team_id: str | None = None) -> Iterator[dict[str, Any]]:
    """Every case changed in [since, until): opened, moved on or closed then, so daily exports miss none."""
    at = CaseRow.updated_at
    query = _in_period(_with_kind(), at, CaseRow.team_id, since, until, team_id, at, CaseRow.id)
    for case, kind in session.execute(query):
        yield {
            "case_id": case.id,
            "team_id": case.team_id,
            "contract_id": case.contract_id,
            "contract_kind": kind,
            "item_kind": case.item_kind,
            "item_id": case.item_id,
            "item_label": case.item_label,
            "client_id": case.client_id,
            "freelancer_id": case.freelancer_id,
            "currency": case.currency,
            "paid": _amount(case.paid_minor, case.currency),
            "requested": _amount(case.requested_minor, case.currency),
            "disputed": _amount(case.disputed_minor, case.currency),
            "refunded": _amount(case.refunded_minor, case.currency),
            "stage": case.stage,
            "state": case.state,
            "outcome": case.state if case.closed_at else None,
            "decided_by_deadline": case.updated_by == SCHEDULER,
            "binding": case.binding,
            "mediator_id": case.mediator_id,
            "policy_version": case.policy_version,
            "opened_at": _instant(case.opened_at),
            "updated_at": _instant(case.updated_at),
            "closed_at": _instant(case.closed_at),
        }


def ledger(session: Session, since: datetime, until: datetime, team_id: str | None = None) -> Iterator[dict[str, Any]]:
    """Every ledger entry made in [since, until), with what the marketplace's payments endpoint answered."""
    answered = select(LedgerRow, PayoutAnswerRow).outerjoin(PayoutAnswerRow, PayoutAnswerRow.entry_id == LedgerRow.id)
    query = _in_period(answered, LedgerRow.at, LedgerRow.team_id, since, until, team_id, LedgerRow.id)
    for entry, answer in session.execute(query):
        yield {
            "entry_id": entry.id,
            "team_id": entry.team_id,
            "case_id": entry.case_id,
            "contract_id": entry.contract_id,
            "item_kind": entry.item_kind,
            "item_id": entry.item_id,
            "kind": entry.kind,
            "amount": _amount(entry.amount_minor, entry.currency),
            "currency": entry.currency,
            "actor": entry.actor,
            "policy_version": entry.policy_version,
            "at": _instant(entry.at),
            "payout": answer.outcome if answer else None,
            "payout_reference": answer.reference if answer else None,
            "payout_reason": answer.reason if answer else None,
        }


FILE_COLUMNS = (
    "team_id",
    "case_id",
    "evidence_seq",
    "author",
    "role",
    "visibility",
    "added_at",
    "file_id",
    "name",
    "mimetype",
    "size",
    "sha256",
    "owner",
    "found",
    "found_at",
)


def files(session: Session, since: datetime, until: datetime, team_id: str | None = None) -> Iterator[dict[str, Any]]:
    """Every file added as evidence in [since, until), one row each, with the SHA-256 it was read with (what anyone
    may compare a file in Slack, or a copy, against), and what a later read found once Slack said it changed or was
    deleted (``changed``, ``removed``; empty while it reads as it did)."""
    with_files = select(EvidenceRow, EvidenceFileRow).join(
        EvidenceFileRow,
        (EvidenceFileRow.team_id == EvidenceRow.team_id)
        & (EvidenceFileRow.case_id == EvidenceRow.case_id)
        & (EvidenceFileRow.seq == EvidenceRow.seq),
    )
    query = _in_period(with_files, EvidenceRow.at, EvidenceRow.team_id, since, until, team_id, EvidenceRow.id)
    for piece, listed in session.execute(query):
        for each in piece.files or ():
            if each["file_id"] != listed.file_id:
                continue
            yield {
                "team_id": piece.team_id,
                "case_id": piece.case_id,
                "evidence_seq": piece.seq,
                "author": piece.author,
                "role": piece.role,
                "visibility": piece.visibility,
                "added_at": _instant(piece.at),
                "file_id": each["file_id"],
                "name": each["name"],
                "mimetype": each["mimetype"],
                "size": each["size"],
                "sha256": each["sha256"],
                "owner": each["owner"],
                "found": listed.found,
                "found_at": _instant(listed.found_at),
            }


def closed_cases(
    session: Session, since: datetime, until: datetime, team_id: str | None = None
) -> Iterator[ClosedCase]:
    """Every case closed in [since, until), as the fairness report reads it."""
    at = CaseRow.closed_at
    query = _in_period(_with_kind(), at, CaseRow.team_id, since, until, team_id, at, CaseRow.id)
    for case, kind in session.execute(query):
        yield ClosedCase(
            team_id=case.team_id,
            kind=kind,
            route=case.stage,
            state=case.state,
            opened_at=case.opened_at,
            closed_at=case.closed_at,
            requested_minor=case.requested_minor,
            disputed_minor=case.disputed_minor,
            refunded_minor=case.refunded_minor,
            mediator_id=case.mediator_id,
            appeal=case.appeal,
        )


def payout_holds(session: Session) -> list[dict[str, Any]]:
    """The cases a refused payout holds, and the entries the marketplace refused: `refundbot payouts`."""
    held = session.execute(
        select(CaseRow.team_id, CaseRow.id, CaseRow.state, CaseRow.payout_hold)
        .where(CaseRow.payout_hold.is_not(None))
        .order_by(CaseRow.team_id, CaseRow.id)
    )
    return [{"team": team, "case": case, "state": state, "reason": reason} for team, case, state, reason in held]


def refused_payouts(session: Session) -> list[dict[str, Any]]:
    refused = session.execute(
        select(LedgerRow, PayoutAnswerRow.reason, PayoutAnswerRow.answered_at)
        .join(PayoutAnswerRow, PayoutAnswerRow.entry_id == LedgerRow.id)
        .where(PayoutAnswerRow.outcome == "refused")
        .order_by(LedgerRow.id)
    )
    return [
        {
            "entry": row.id,
            "team": row.team_id,
            "case": row.case_id,
            "kind": row.kind,
            "amount": _amount(row.amount_minor, row.currency),
            "currency": row.currency,
            "reason": reason,
            "answered_at": _instant(answered_at),
        }
        for row, reason, answered_at in refused
    ]


def team_of_case(session: Session, case_id: str) -> str | None:
    return session.scalar(select(CaseRow.team_id).where(CaseRow.id == case_id))
