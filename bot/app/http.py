"""Production over HTTP: gunicorn managing uvicorn workers, each an event loop in front of the edge (``bot.edge``).

Gunicorn's settings come from refund-bot's (HOST, PORT, WEB_CONCURRENCY, WEB_TIMEOUT, WEB_GRACEFUL_TIMEOUT,
WEB_KEEPALIVE, and METRICS_PORT as a second listener), then from gunicorn's own ``GUNICORN_CMD_ARGS``, which win.
uvicorn bounds neither a request's headers nor its body; the body is the edge's to bound, the headers this
module's (HEADER_TIMEOUT), so a client that trickles its headers cannot hold a connection for ever.
"""

from __future__ import annotations

import shlex
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.app.runtime import start
from bot.app.slack import Instance
from bot.config import Settings

REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"


class HeadersOnTime(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, with a deadline on each request's headers: from the moment the connection opens
    (or the previous response completes, for the next request on it) until the headers are whole. Past it the client
    gets 408 and the connection closes, however steadily it was trickling them."""

    header_timeout = 10.0
    _headers_due: Any = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._expect_headers()

    def handle_events(self) -> None:
        super().handle_events()
        if self._headers_due is not None and self.conn.their_state is not h11.IDLE:  # the headers are whole
            self._headers_due.cancel()
            self._headers_due = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:  # no pipelined request under way
            self._expect_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._headers_due is not None:
            self._headers_due.cancel()
        super().connection_lost(exc)

    def _expect_headers(self) -> None:
        if self._headers_due is not None:
            self._headers_due.cancel()
        self._headers_due = self.loop.call_later(self.header_timeout, self._headers_overdue)

    def _headers_overdue(self) -> None:
        self._headers_due = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.write(REQUEST_TIMEOUT)
            self.transport.close()


def headers_on_time(timeout: float) -> type[H11Protocol]:
    """The protocol class for uvicorn, with this deadline on the headers."""
    return type("HeadersOnTime", (HeadersOnTime,), {"header_timeout": timeout})


def address(host: str, port: int) -> str:
    """host:port as gunicorn binds it ([::1]:3000 for an IPv6 address)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def gunicorn_settings(settings: Settings) -> dict[str, Any]:
    """refund-bot's settings as gunicorn's (before GUNICORN_CMD_ARGS, which may change any of them)."""
    bind = [address(settings.host, settings.port)]
    if settings.metrics_port is not None:
        bind.append(address(settings.metrics_host or settings.host, settings.metrics_port))
    return {
        "bind": bind,
        "workers": settings.web_concurrency,
        "timeout": settings.web_timeout,
        "graceful_timeout": settings.web_graceful_timeout,
        "keepalive": settings.web_keepalive,
    }


def serve_http(settings: Settings) -> None:
    """Until stopped: each worker builds its own instance after the fork, without calling Slack."""
    from gunicorn.app.base import BaseApplication
    from gunicorn.glogging import Logger
    from uvicorn_worker import UvicornWorker

    class Logs(Logger):  # type: ignore[misc]
        """Gunicorn's own lines (workers booting, exiting) in the process's format, not in one of its own."""

        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            for own in (self.error_log, self.access_log):
                own.handlers.clear()
                own.propagate = True

    class Worker(UvicornWorker):  # type: ignore[misc]
        CONFIG_KWARGS: ClassVar[dict[str, Any]] = {"loop": "asyncio", "http": headers_on_time(settings.header_timeout)}

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("logger_class", Logs)
            self.cfg.set("worker_class", Worker)
            for name, value in gunicorn_settings(settings).items():
                self.cfg.set(name, value)
            # The operator's own gunicorn options, parsed by gunicorn, come last and win.
            given = self.cfg.parser().parse_args(shlex.split(settings.gunicorn_cmd_args or ""))
            for name, value in vars(given).items():
                if value is not None and name != "args":
                    self.cfg.set(name.lower(), value)

        def load(self) -> Callable[..., Any]:
            instance = Instance.build(start())
            instance.start()
            return instance.asgi()

    Server().run()


@contextmanager
def serving(
    asgi: Any, listening: socket.socket, header_timeout: float = HeadersOnTime.header_timeout
) -> Iterator[None]:
    """``asgi`` under uvicorn in a thread, with the protocol each gunicorn worker runs, on the bound socket
    ``listening``, until the block ends (the socket is closed then): the sandbox's server, and the tests'."""
    config = uvicorn.Config(
        asgi, http=headers_on_time(header_timeout), log_config=None, access_log=False, timeout_keep_alive=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            listening.close()
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listening.close()
