"""/healthz, /readyz and /metrics for a process that serves no HTTP for Slack: Socket Mode, and `refundbot worker`
(on HEALTH_PORT)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bot import metrics
from bot.app.runtime import Runtime, readiness, state_of


def health_server(runtime: Runtime, port: int) -> ThreadingHTTPServer:
    """Answers on HOST:port in a thread of its own, until the process ends."""

    class Probe(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            kind = "application/json"
            if self.path == "/healthz":
                status, body = 200, json.dumps({"status": "alive"}).encode()
            elif self.path == "/readyz":
                status, report = readiness(runtime.engine)
                body = json.dumps(report).encode()
            elif self.path == "/metrics":
                status, (body, kind) = 200, metrics.exposition(state_of(runtime), runtime.clock)
            else:
                status, body = 404, json.dumps({"status": "not found"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:  # a probe every few seconds is not news
            pass

    server = ThreadingHTTPServer((runtime.settings.host, port), Probe)
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server
