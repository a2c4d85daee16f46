"""A marketplace's payments endpoint, as one would write it against README "Payments out": the receiver of the
payout tests, on a loopback port."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_sdk.signature import SignatureVerifier

SECRET = "payments-secret"


@dataclass
class Reply:
    status: int = 200
    body: dict[str, Any] = field(default_factory=lambda: {"status": "accepted", "reference": "po_1"})
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering: longer than the sender waits is no answer at all


class PaymentsEndpoint:
    """The marketplace's side: checks each request's signature (5 minutes' tolerance, as the push API) and pays
    each idempotency key once, however often it hears of it."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.heard: list[tuple[str, dict[str, Any]]] = []  # (Idempotency-Key, body) of every signed request
        self.paid: dict[str, dict[str, Any]] = {}
        self.unsigned = 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                stamp = self.headers.get("X-Refundbot-Request-Timestamp", "")
                signed = SignatureVerifier(SECRET).is_valid(
                    body=body, timestamp=stamp, signature=self.headers.get("X-Refundbot-Signature", "")
                )
                if not signed or abs(time.time() - int(stamp or 0)) > 300:
                    endpoint.unsigned += 1
                    return self._answer(Reply(401, {"error": "bad_signature"}))
                document = json.loads(body)
                key = self.headers["Idempotency-Key"]
                endpoint.heard.append((key, document))
                reply = endpoint.replies.pop(0) if endpoint.replies else Reply()
                time.sleep(reply.delay)
                if reply.status == 200 and reply.body.get("status", "accepted") == "accepted":
                    endpoint.paid.setdefault(key, document)
                self._answer(reply)

            def _answer(self, reply: Reply) -> None:
                payload = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the sender may have stopped waiting
                    self.wfile.write(payload)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/refund-bot/payouts"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()  # stops within 0.05 s

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
