"""The payments port (design §4): refunds and releases are decisions the marketplace must carry out.

Each ledger entry a transition causes is handed to the port inside the transition's transaction. The default
port records it in the ledger and nothing more; a webhook adapter would also queue a signed event for the
marketplace through the outbox, so an entry and its notification commit together or not at all.
"""

from __future__ import annotations

from typing import Protocol

from bot.domain.events import LedgerEntry
from bot.services.ports import UnitOfWork


class Payments(Protocol):
    def instruct(self, uow: UnitOfWork, entry: LedgerEntry) -> None: ...


class LedgerOnly:
    """The default: the ledger is the record of what the marketplace owes whom."""

    def instruct(self, uow: UnitOfWork, entry: LedgerEntry) -> None:
        uow.ledger.add(entry)
