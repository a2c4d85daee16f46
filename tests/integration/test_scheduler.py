"""The scheduler on the real databases: many due deadlines, two tickers, a ticker killed mid-batch.

Each deadline must act exactly once (design §5, §6). The audit trail is the witness: a deadline acted on
twice would leave a second "lapsed" row, or a claim counted twice by the tickers.
"""

import os
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.app.runtime import build_runtime
from bot.config import load_settings
from bot.services import scheduler
from bot.services.core import Deps
from storage.tables import AuditRow, CaseRow, DeadlineRow
from tests.bulk import copy_case, demo_request
from tests.conftest import REFUNDBOT

OPENED = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
DUE = OPENED + timedelta(days=3)
MANY = 5_000


def many_due(database_url: str, count: int, opened: datetime = OPENED) -> Deps:
    """``count`` + 1 waiting requests whose freelancer deadline is ``opened`` + 3 days, and the deps to tick."""
    runtime = build_runtime(load_settings(database_url=database_url), opened)
    deps = Deps(uow=runtime.uow, clock=lambda: opened + timedelta(days=3), policy=runtime.policy)
    template = demo_request(runtime.uow, runtime.policy, opened)
    with runtime.sessions.begin() as session:
        copy_case(session, template.id, count, due=count, next_at=opened + timedelta(days=3))
    return deps


def lapses(deps: Deps) -> tuple[int, int]:
    """(cases lapsed, the most "lapsed" rows any one case has)."""
    with deps.uow() as uow:
        per_case = (
            select(func.count().label("n")).where(AuditRow.to_state == "lapsed").group_by(AuditRow.case_id).subquery()
        )
        session = uow.session
        return session.scalar(select(func.count()).select_from(per_case)) or 0, session.scalar(
            select(func.coalesce(func.max(per_case.c.n), 0))
        ) or 0


def still_due(deps: Deps) -> int:
    with deps.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(DeadlineRow).where(DeadlineRow.done_at.is_(None)))


def tick_until_done(deps: Deps, owner: str, claimed: list[int]) -> None:
    while n := scheduler.tick(deps, owner):
        claimed.append(n)


@pytest.mark.parametrize("database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_two_tickers_over_5000_due_deadlines_act_on_each_exactly_once(database_url):
    deps = many_due(database_url, MANY - 1)
    claims: dict[str, list[int]] = {"a": [], "b": []}
    tickers = [threading.Thread(target=tick_until_done, args=(deps, owner, claims[owner])) for owner in claims]
    for thread in tickers:
        thread.start()
    for thread in tickers:
        thread.join(timeout=600)
    assert sum(map(sum, claims.values())) == MANY  # no deadline was handed to both
    assert all(claims.values()), claims  # both really ticked: SKIP LOCKED shared the work
    assert lapses(deps) == (MANY, 1)
    assert still_due(deps) == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_one_ticker_on_sqlite_acts_on_each_exactly_once_and_a_second_sweep_finds_nothing(database_url):
    deps = many_due(database_url, 999)
    claimed: list[int] = []
    tick_until_done(deps, "only", claimed)
    assert sum(claimed) == 1000
    assert max(claimed) == scheduler.BATCH  # in leased batches, not all at once
    assert lapses(deps) == (1000, 1)
    assert scheduler.tick(deps, "only") == 0


def test_a_ticker_killed_mid_batch_has_its_claims_taken_over_after_the_lease(database_url, tmp_path):
    """A real `refundbot tick --once` process is killed while it works through its first batch; the deadlines
    it had claimed wait out their lease, then another ticker acts on each of them once."""
    opened = datetime.now(UTC) - timedelta(days=4)  # the process ticks on the real clock
    deps = many_due(database_url, 1999, opened)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MEDIATOR_", "DATABASE_"))}
    env |= {"DATABASE_URL": database_url, "SLACK_BOT_TOKEN": "xoxb-killed", "SLACK_API_URL": "http://127.0.0.1:9/"}
    process = subprocess.Popen([str(REFUNDBOT), "tick", "--once"], cwd=tmp_path, env=env)
    try:
        give_up = time.monotonic() + 120
        while lapses(deps)[0] < 20 and time.monotonic() < give_up:
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    done_by_killed, _ = lapses(deps)
    assert 20 <= done_by_killed < 2000, "the process must die with work left in its batch"
    with deps.uow() as uow:
        orphaned = uow.session.scalar(
            select(func.count())
            .select_from(DeadlineRow)
            .where(DeadlineRow.done_at.is_(None), DeadlineRow.lease_owner.is_not(None))
        )
    assert orphaned > 0  # claimed by the dead process, not acted on

    now = datetime.now(UTC)
    survivor = Deps(uow=deps.uow, clock=lambda: now, policy=deps.policy)
    claimed: list[int] = []
    tick_until_done(survivor, "survivor", claimed)
    assert lapses(deps)[0] == 2000 - orphaned  # the dead one's lease still holds
    later = Deps(uow=deps.uow, clock=lambda: now + scheduler.LEASE + timedelta(seconds=1), policy=deps.policy)
    tick_until_done(later, "survivor", claimed)
    assert lapses(deps) == (2000, 1)
    assert still_due(deps) == 0
    with deps.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(CaseRow).where(CaseRow.state == "lapsed")) == 2000
