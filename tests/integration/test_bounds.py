"""How long the database may keep a transaction waiting: briefly on the request path, longer off it, never
without a bound; and a wait past it rolls back as StorageBusy."""

import threading

import pytest
from sqlalchemy import select, text

from bot.services.ports import StorageBusy
from storage.db import (
    BACKGROUND_LOCK_TIMEOUT_MS,
    BACKGROUND_STATEMENT_TIMEOUT_MS,
    REQUEST_LOCK_TIMEOUT_MS,
    REQUEST_STATEMENT_TIMEOUT_MS,
    background,
)
from storage.tables import ContractRow

pytestmark = pytest.mark.postgres


@pytest.fixture(params=["postgresql"])
def database_url(request, tmp_path):
    from tests.conftest import empty_database

    yield from empty_database(request.param, request, tmp_path)


REQUEST = (REQUEST_LOCK_TIMEOUT_MS, REQUEST_STATEMENT_TIMEOUT_MS)


def bounds(sessions) -> tuple[int, int]:
    """This transaction's lock and statement timeouts, in ms."""
    with sessions.begin() as session:
        found = dict(
            session.execute(
                text("SELECT name, setting::int FROM pg_settings WHERE name IN ('lock_timeout', 'statement_timeout')")
            ).all()
        )
    return found["lock_timeout"], found["statement_timeout"]


def test_the_request_path_is_bounded_below_slacks_3_s_and_background_work_more_loosely(sessions):
    assert bounds(sessions) == REQUEST
    with background():
        assert bounds(sessions) == (BACKGROUND_LOCK_TIMEOUT_MS, BACKGROUND_STATEMENT_TIMEOUT_MS)
    assert bounds(sessions) == REQUEST  # SET LOCAL: only its own transaction
    seen = []
    with background():  # a thread of its own starts on the request path's bounds
        worker = threading.Thread(target=lambda: seen.append(bounds(sessions)))
        worker.start()
        worker.join()
    assert seen == [REQUEST]


def test_a_lock_held_past_the_bound_rolls_back_as_busy(engine, uow):
    holder = engine.connect()
    holder.execute(text("LOCK TABLE contracts IN ACCESS EXCLUSIVE MODE"))
    try:
        with pytest.raises(StorageBusy, match="lock timeout"), uow() as work:
            work.session.execute(select(ContractRow).limit(1)).all()
    finally:
        holder.rollback()
        holder.close()
