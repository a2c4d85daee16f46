"""The payments port (design §4): refunds and releases are decisions the marketplace must carry out.

Each ledger entry a transition causes is handed to the port inside the transition's transaction. ``LedgerOnly``
records it in the ledger and nothing more. ``Webhook`` also queues the entry for the marketplace's payments
endpoint through the outbox, so an entry and its instruction commit together or not at all; ``bot.payouts``
delivers it (at least once, under one idempotency key per entry) and ``bot.services.payouts`` records the answer.
"""

from __future__ import annotations

from typing import Any, Protocol

from bot.domain.events import LedgerEntry
from bot.services.messages import OutboxMessage, Surface, payments_endpoint
from bot.services.ports import UnitOfWork


class Payments(Protocol):
    def instruct(self, uow: UnitOfWork, entry: LedgerEntry) -> None: ...


class LedgerOnly:
    """The default: the ledger is the record of what the marketplace owes whom."""

    def instruct(self, uow: UnitOfWork, entry: LedgerEntry) -> None:
        uow.ledger.add(entry)


class Webhook:
    """PAYMENTS_WEBHOOK_URL is set: each entry is also an instruction for the marketplace."""

    def instruct(self, uow: UnitOfWork, entry: LedgerEntry) -> None:
        entry_id = uow.ledger.add(entry)
        document = payout_document(entry_id, entry)
        uow.outbox.add(
            entry.team_id,
            OutboxMessage(
                f"{entry.case_id}:payouts",  # in order per case, and never waiting on the case's Slack messages
                document["id"],
                payments_endpoint(),
                Surface.PAYOUT,
                document,
            ),
            entry.at,
        )


def idempotency_key(team_id: str, entry_id: int) -> str:
    """One per ledger entry, for ever: the marketplace pays an entry once however often it hears of it."""
    return f"refundbot-{team_id}-{entry_id}"


def payout_document(entry_id: int, entry: LedgerEntry) -> dict[str, Any]:
    """What the payments endpoint receives (the OpenAPI document's ``Payout``)."""
    return {
        "id": idempotency_key(entry.team_id, entry_id),
        "entry_id": entry_id,
        "type": entry.kind.value,
        "workspace": entry.team_id,
        "case": entry.case_id,
        "contract": entry.contract_id,
        "item": {"kind": entry.item.kind, "id": entry.item.id},
        "amount": {"currency": entry.amount.currency, "minor": entry.amount.minor, "value": str(entry.amount.amount)},
        "decided_by": entry.actor,
        "policy_version": entry.policy_version,
        "decided_at": entry.at.isoformat(),
    }
