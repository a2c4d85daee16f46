"""Ports the use cases depend on; ``storage`` provides the real ones, ``tests`` the fakes."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, Self

from bot.domain.contract import Contract, Item, ItemRef
from bot.domain.money import Money
from bot.domain.policy import Policy


class Contracts(Protocol):
    def get(self, team_id: str, contract_id: str) -> Contract | None: ...
    def save(self, contract: Contract, now: datetime) -> None: ...
    def item(self, team_id: str, contract_id: str, ref: ItemRef) -> Item | None: ...
    def save_item(self, team_id: str, item: Item) -> None: ...


class Cases(Protocol):
    def held_on_item(self, team_id: str, contract_id: str, item: ItemRef, currency: str) -> Money: ...


class Ledger(Protocol):
    def refunded_on_item(self, team_id: str, contract_id: str, item: ItemRef, currency: str) -> Money: ...


class Policies(Protocol):
    def register(self, policy: Policy, now: datetime) -> None: ...
    def get(self, version: str) -> Policy | None: ...


class UnitOfWork(Protocol):
    contracts: Contracts
    cases: Cases
    ledger: Ledger
    policies: Policies

    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> None: ...
    def commit(self) -> None: ...
