"""Development over Socket Mode: the app connects out to Slack, so no public URL is needed; and the probe that
answers /healthz and /readyz beside it."""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.app.runtime import one_line, readiness, start
from bot.app.slack import Instance

log = logging.getLogger("refundbot")


def socket_mode_handler(instance: Instance, app_token: str) -> SocketModeHandler:
    """Development: the app connects out to Slack over a WebSocket, so no public URL is needed."""
    return SocketModeHandler(instance.app, app_token)


def health_server(host: str, port: int, ready: Callable[[], tuple[int, dict[str, Any]]]) -> ThreadingHTTPServer:
    """/healthz and /readyz for Socket Mode, which has no HTTP of its own for a probe to ask."""

    class Probe(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/healthz":
                status, report = 200, {"status": "alive"}
            elif self.path == "/readyz":
                status, report = ready()
            else:
                status, report = 404, {"status": "not found"}
            body = json.dumps(report).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:  # a probe every few seconds is not news
            pass

    server = ThreadingHTTPServer((host, port), Probe)
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server


def serve_socket_mode(app_token: str) -> None:
    """Until SIGTERM or SIGINT: then the connection closes and the ticker and relay finish what they hold."""
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    instance = Instance.build(start())
    instance.start()
    runtime = instance.runtime
    if runtime.settings.health_port is not None:
        settings = runtime.settings
        health_server(settings.host, settings.health_port, lambda: readiness(runtime.engine, runtime.clock()))
    handler = socket_mode_handler(instance, app_token)
    wait, warned = 1.0, False
    while not stopped.is_set():
        try:
            handler.connect()
            break
        except (SlackRequestError, SlackApiError, OSError) as exc:
            if not warned:
                log.warning("Socket Mode cannot connect to Slack (%s); retrying in the background", one_line(exc))
                warned = True
            stopped.wait(wait)
            wait = min(wait * 2, 60.0)
    if warned and not stopped.is_set():
        log.info("Socket Mode connected")
    stopped.wait()
    log.info("refund-bot stopping: closing the Socket Mode connection, then the ticker and the relay")
    handler.close()
    instance.workers.shutdown()
    log.info("refund-bot stopped")
