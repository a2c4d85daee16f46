"""A scrape under gunicorn reads every worker's metrics file; a worker (re)started as the scrape runs creates its
file empty for a moment. The scrape waits that moment out instead of answering 500."""

import threading
from datetime import UTC, datetime

import pytest
from prometheus_client.values import MultiProcessValue

from bot import metrics

STATE = {
    "outbox": {},
    "payouts": {},
    "payouts_on_hold": 0,
    "oldest_pending_seconds": 0.0,
    "deadlines_due": 0,
    "deadlines_overdue": 0,
    "cases_by_stage": {},
}


def scrape() -> str:
    return metrics.exposition(lambda _: STATE, lambda: datetime(2026, 12, 7, tzinfo=UTC))[0].decode()


def test_a_workers_metrics_file_caught_empty_is_read_once_written(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    starting = tmp_path / "counter_4242.db"
    starting.touch()  # the new worker's file, before its first bytes

    def written() -> None:
        value = MultiProcessValue(lambda: 4242)("counter", "refundbot_x_total", "refundbot_x_total", (), (), "x")
        value.inc(1)

    threading.Timer(metrics.SCRAPE_PAUSE / 2, written).start()
    assert "refundbot_x_total 1.0" in scrape()


def test_a_file_that_stays_empty_still_fails_the_scrape(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (tmp_path / "counter_4243.db").touch()
    with pytest.raises(Exception, match="unpack_from requires a buffer"):
        scrape()
