"""The sandbox's page, served in front of the app's own edge: ``/sandbox`` and its small JSON API here, every other
path (``POST /slack/events`` above all) to the edge, exactly as in production.

The server listens on loopback only. A request must name it in its Host header (a page of another site cannot reach
it through a name it controls), and the API's POSTs must be JSON from the page's own origin, so a page elsewhere
cannot act for anyone.
"""

from __future__ import annotations

import asyncio
import json
import socket
import tempfile
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.app.http import serving
from bot.sandbox.standin.state import Rules
from bot.sandbox.world import Sandbox, SandboxError

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]

STATIC = Path(__file__).parent / "static"
FILES = {
    "index.html": "text/html; charset=utf-8",
    "sandbox.css": "text/css; charset=utf-8",
    "sandbox.js": "text/javascript; charset=utf-8",
    "blockkit.js": "text/javascript; charset=utf-8",
}
# A form with files: Slack takes 10 MB a file; sent as base64, one such file and the form fit.
MAX_BODY = 16 * 1024 * 1024
HEADERS = [
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
]
LOOPBACK = ("127.0.0.1", "localhost")


class Site:
    def __init__(self, sandbox: Sandbox, edge: ASGI, port: int) -> None:
        self.sandbox = sandbox
        self.edge = edge
        self.port = port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == "/" or path == "/sandbox" or path.startswith("/sandbox/")):
            await self.edge(scope, receive, send)
            return
        if not self._ours(_header(scope, b"host")):
            await _answer(send, 421, {"error": "this sandbox answers at 127.0.0.1 or localhost only"})
            return
        method = scope["method"]
        if path == "/":
            await _answer(send, 307, b"", "text/plain", [(b"location", b"/sandbox")])
        elif method == "GET" and path in ("/sandbox", "/sandbox/"):
            await self._file(send, "index.html")
        elif method == "GET" and path.startswith("/sandbox/static/"):
            await self._file(send, path.removeprefix("/sandbox/static/"))
        elif method == "GET" and path == "/sandbox/api/state":
            await _answer(send, 200, await asyncio.to_thread(self.sandbox.snapshot))
        elif method == "POST" and path in ("/sandbox/api/act", "/sandbox/api/clock"):
            await self._post(scope, receive, send, path)
        else:
            await _answer(send, 404, {"error": "not found"})

    def _ours(self, host: str | None) -> bool:
        name, _, port = (host or "").rpartition(":")
        return name in LOOPBACK and port == str(self.port)

    async def _file(self, send: Send, name: str) -> None:
        if name not in FILES:
            await _answer(send, 404, {"error": "not found"})
            return
        await _answer(send, 200, (STATIC / name).read_bytes(), FILES[name])

    async def _post(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        origin = _header(scope, b"origin")
        if origin is not None and not self._ours(origin.removeprefix("http://")):
            await _answer(send, 403, {"error": "only the sandbox's own page may act"})
            return
        if not (_header(scope, b"content-type") or "").startswith("application/json"):
            await _answer(send, 415, {"error": "send JSON"})
            return
        body = await _body(receive)
        try:
            request = json.loads(body) if body is not None else None
        except ValueError:
            request = None
        if not isinstance(request, dict):
            await _answer(send, 400, {"error": "send a JSON object of at most 16 MiB"})
            return
        try:
            if path.endswith("/act"):
                done = await asyncio.to_thread(self.sandbox.act, str(request.get("user")), request)
            else:
                hours = float(request.get("hours") or 0)
                done = await asyncio.to_thread(self.sandbox.advance, hours=hours, to_next=bool(request.get("next")))
        except (SandboxError, ValueError) as refused:
            await _answer(send, 400, {"error": str(refused)})
            return
        await _answer(send, 200, done)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


async def _body(receive: Receive) -> bytes | None:
    """The whole body, or None once it grows past MAX_BODY."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if len(body) > MAX_BODY:
            return None
        if not message.get("more_body"):
            return body


async def _answer(
    send: Send,
    status: int,
    body: Any,
    kind: str = "application/json",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = [(b"content-type", kind.encode()), (b"content-length", str(len(data)).encode()), *HEADERS]
    await send({"type": "http.response.start", "status": status, "headers": sent + (headers or [])})
    await send({"type": "http.response.body", "body": data})


@contextmanager
def running(database: Path | None = None, port: int = 0, rules: Rules | None = None) -> Iterator[tuple[Sandbox, str]]:
    """The sandbox served on loopback (``port`` 0: any free one), the app's workers running: (it, the page's URL).
    Without ``database``, a SQLite file in a folder of its own that goes with it; ``rules`` as for ``Sandbox.build``."""
    with tempfile.TemporaryDirectory(prefix="refundbot-sandbox-") as folder:
        listening = socket.socket()
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # started again at once, as servers are
        try:
            listening.bind(("127.0.0.1", port))
        except OSError as exc:
            listening.close()
            raise SandboxError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); choose another --port") from None
        bound = listening.getsockname()[1]
        sandbox = Sandbox.build(database or Path(folder) / "sandbox.db", rules=rules)
        try:
            with serving(Site(sandbox, sandbox.instance.asgi(), bound), listening):
                sandbox.start(f"http://127.0.0.1:{bound}/slack/events")
                yield sandbox, f"http://127.0.0.1:{bound}/sandbox"
        finally:
            sandbox.stop()
