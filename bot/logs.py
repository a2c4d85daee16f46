"""One logging set-up for every process (``serve``, ``worker``, ``tick`` and the other commands).

Each line has its time (UTC), level and logger, and the workspace and case it is about when the code that
logs knows them: a listener knows the workspace and the person, the relay and the ticker know the case.
``LOG_FORMAT=json`` writes one JSON object per line instead, for a log collector.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# What the current request, message or deadline is about: "team", "user", "case".
_ABOUT: ContextVar[dict[str, str]] = ContextVar("refundbot_log_about", default={})  # noqa: B039 (never mutated)
TEXT = "%(asctime)s %(levelname)s %(name)s%(about)s: %(message)s"
# Libraries that say too much at INFO: a line per migration step, per 5-second tick, per Slack retry.
_CHATTY = {"alembic": logging.WARNING, "apscheduler": logging.WARNING}


@contextmanager
def about(**fields: str | None) -> Iterator[None]:
    """Lines logged inside name what they are about (fields left as None are left out)."""
    token = _ABOUT.set(_ABOUT.get() | {key: value for key, value in fields.items() if value})
    try:
        yield
    finally:
        _ABOUT.reset(token)


class _About(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        fields = _ABOUT.get()
        record.about_fields = fields
        record.about = "".join(f" {key}={value}" for key, value in fields.items())
        return True


class _Utc(logging.Formatter):
    converter = time.gmtime

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(record.created)) + f".{int(record.msecs):03d}Z"


class JsonLines(_Utc):
    """One JSON object per line: time, level, logger, message, what it is about, and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "about_fields", {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str = "INFO", form: str = "text") -> None:
    """Replace whatever was set up before (a process configures once, at its start)."""
    handler = logging.StreamHandler()
    handler.addFilter(_About())
    handler.setFormatter(JsonLines() if form == "json" else _Utc(TEXT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name, least in _CHATTY.items():
        logging.getLogger(name).setLevel(max(least, root.level))
    # slack_sdk logs an error for every failed attempt; the relay, the start-up check and the listeners each say
    # in one line what a failure means, and an outage would otherwise add a line per retry.
    logging.getLogger("slack_sdk.web.base_client").setLevel(logging.CRITICAL)
