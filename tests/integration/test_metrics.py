"""What /metrics reads of the state, on the real databases, and what the ticker counts as it acts."""

from dataclasses import replace
from datetime import timedelta

from prometheus_client import REGISTRY
from sqlalchemy import func, select

from bot.app.runtime import build_runtime
from bot.config import load_settings
from bot.services import scheduler
from bot.services.messages import Surface
from storage.state import operations
from storage.tables import OutboxRow
from tests.integration.test_scheduler import DUE, OPENED, many_due


def counted(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def test_the_state_counts_open_cases_by_stage_and_deadlines_due_then_overdue(database_url):
    deps = many_due(database_url, 2)  # three waiting requests, their answers due at DUE
    runtime = build_runtime(load_settings(database_url=database_url), OPENED)
    with runtime.sessions() as session:
        opened = operations(session, OPENED)
        assert opened["cases_by_stage"] == {"request": 3}
        assert (opened["deadlines_due"], opened["deadlines_overdue"]) == (0, 0)
        late = operations(session, DUE + timedelta(minutes=2))  # no ticker ran
        assert (late["deadlines_due"], late["deadlines_overdue"]) == (3, 3)
    assert opened["outbox"]["pending"] > 0  # the request's DMs and thread, not yet relayed
    assert late["oldest_pending_seconds"] == (DUE + timedelta(minutes=2) - OPENED).total_seconds()

    before = counted("refundbot_expiries_applied_total")
    scheduler.tick(replace(deps, clock=lambda: DUE + timedelta(minutes=2)), "ticker")
    assert counted("refundbot_expiries_applied_total") == before + 3
    with runtime.sessions() as session:
        after = operations(session, DUE + timedelta(minutes=2))
    assert after["cases_by_stage"] == {"request": 3}  # lapsed, and open: the client may still ask again
    assert after["deadlines_overdue"] == 0
    runtime.engine.dispose()


def test_reminders_queued_are_counted(database_url):
    deps = many_due(database_url, 1)
    before = counted("refundbot_reminders_queued_total")
    scheduler.tick(replace(deps, clock=lambda: DUE - timedelta(hours=47)), "ticker")  # the 48 h reminder is due
    with deps.uow() as uow:
        queued = uow.session.scalar(select(func.count()).where(OutboxRow.surface == Surface.REMINDER))
    assert queued
    assert counted("refundbot_reminders_queued_total") == before + queued
