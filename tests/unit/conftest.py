"""What the use-case tests share: the in-memory database with the demo milestone, a clock they move, and the
use cases' dependencies on them (v1, one mediator, a mediators' channel)."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.policy import Policy
from bot.services.core import Deps
from bot.services.roster import Desk, Roster
from tests.fakes import FakeDatabase
from tests.unit.factories import contract, milestone

MEDIATOR = "U0MEDIATOR"
CARDS = "C0MEDIATORS"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **span: float) -> None:
        self.now += timedelta(**span)


@pytest.fixture
def db() -> FakeDatabase:
    database = FakeDatabase()
    with database() as work:
        work.contracts.save(contract(), datetime(2026, 11, 1, tzinfo=UTC))
        work.contracts.save_item("T0001", milestone())
        work.commit()
    return database


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def deps(db, clock) -> Deps:
    ids = iter(f"R-{n}" for n in range(1, 100))
    return Deps(
        uow=db,
        clock=clock,
        policy=Policy(),
        new_case_id=lambda: next(ids),
        roster=Roster(Desk(None, frozenset({MEDIATOR}))),
        mediator_channel=CARDS,
    )
