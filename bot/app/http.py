"""Production over HTTP: gunicorn managing uvicorn workers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.app.runtime import start
from bot.app.slack import Instance
from bot.config import Settings


def serve_http(settings: Settings) -> None:
    """Production HTTP: gunicorn managing uvicorn workers (an event loop each, Bolt and the database on a few
    threads: see bot.edge); each worker builds its own instance after the fork, without calling Slack."""
    from gunicorn.app.base import BaseApplication
    from gunicorn.glogging import Logger

    class Logs(Logger):  # type: ignore[misc]
        """Gunicorn's own lines (workers booting, exiting) in the process's format, not in one of its own."""

        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            for own in (self.error_log, self.access_log):
                own.handlers.clear()
                own.propagate = True

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("logger_class", Logs)
            self.cfg.set("bind", f"0.0.0.0:{settings.port}")
            self.cfg.set("workers", settings.web_concurrency)
            self.cfg.set("worker_class", "uvicorn_worker.UvicornWorker")
            self.cfg.set("timeout", 30)

        def load(self) -> Callable[..., Any]:
            instance = Instance.build(start())
            instance.start()
            return instance.asgi()

    Server().run()
