"""The HTTP edge: what reaches refund-bot from the network, before Bolt sees it (an ASGI app).

It runs under gunicorn's uvicorn workers (``bot.app.http``) and, in the tests, under uvicorn in a thread: the
same app on the same server. A connection costs a coroutine, not a thread, until its whole body has arrived,
so clients that send headers and then trickle (or never send) the body wait on the event loop and are cut off
after ``BODY_TIMEOUT``, while the requests Slack sends go straight to a small pool of threads for Bolt and
the database.

``POST /slack/events``, in order:

1. a body larger than ``MAX_BODY`` is refused (413), from its Content-Length before any of it is read, or as
   soon as a body without one grows past it;
2. a body not complete within ``BODY_TIMEOUT`` is refused (408);
3. the body must be UTF-8, as everything Slack sends is (and as the signature is computed over): 400;
4. the signature is checked with slack_sdk's verifier (a timestamp that is not a number is a bad signature,
   not a crash): 401;
5. the body must parse as Slack's payloads do (a form, its ``payload=`` JSON, or a JSON event): 400;
6. ``screen`` may answer a signed payload that lacks what Bolt and the listeners read (``bot.handlers.errors``);
   then Bolt dispatches it. Bolt's own signature check is off: this is the one door, and it is checked
   here once.

With OAuth on (SLACK_CLIENT_ID), ``GET /slack/install`` and ``GET /slack/oauth_redirect`` are Bolt's OAuth flow.

``GET /healthz`` says the process is alive (its event loop answers); ``GET /readyz`` whether it can serve
(``bot.app.runtime.readiness``: the database, its migrations, the outbox). ``GET /metrics`` is Prometheus's scrape:
on PORT, or with METRICS_PORT set on that port alone, which answers nothing else but the two probes. A refused
request is logged in one line (who, what, why), never with its body, and past ``LOGGED_REFUSALS`` a minute only
counted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.oauth import OAuthFlow
from slack_sdk.signature import SignatureVerifier

from bot.logs import about
from bot.metrics import ACK_SECONDS, listener

log = logging.getLogger("refundbot.edge")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

SLACK_PATH = "/slack/events"
# Larger than anything Slack sends us. The largest payload our own surfaces can cause is a form submission:
# every input at its max_length in Cyrillic (2 bytes a letter, 6 once URL-encoded) plus the view Slack echoes
# back; `tests/e2e/test_edge.py` builds it and holds it well under this bound.
MAX_BODY = 1024 * 1024
# Slack sends a request whole and gives up on our answer after 3 s; a body still arriving after this is not
# Slack's.
BODY_TIMEOUT = 5.0
LOGGED_REFUSALS = 20  # a minute; the rest are counted, so a flood of junk cannot fill the log


class _Refusals:
    """One log line per refused request, up to a number a minute; then a count once the minute is over."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window = 0.0
        self._logged = 0
        self._unlogged = 0

    def note(self, client: str, status: int, why: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._window >= 60:
                if self._unlogged:
                    log.info("edge: %d more requests refused in the last minute", self._unlogged)
                self._window, self._logged, self._unlogged = now, 0, 0
            if self._logged >= LOGGED_REFUSALS:
                self._unlogged += 1
                return
            self._logged += 1
        log.info("edge: refused a request from %s (%d): %s", client, status, why)


class Refusal(Exception):
    def __init__(self, status: int, why: str, answer: str) -> None:
        super().__init__(why)
        self.status, self.why, self.answer = status, why, answer


class Edge:
    def __init__(
        self,
        app: App,
        signing_secret: str,
        ready: Callable[[], tuple[int, dict[str, Any]]],
        metrics: Callable[[], tuple[bytes, str]] | None = None,
        api: dict[str, Callable[[dict[str, str], str], tuple[int, dict[str, Any]]]] | None = None,
        documents: dict[str, dict[str, Any]] | None = None,
        screen: Callable[[dict[str, Any]], BoltResponse | None] = lambda body: None,
        threads: int = 8,
        metrics_port: int | None = None,
    ) -> None:
        self.app = app
        self.screen = screen
        self.verifier = SignatureVerifier(signing_secret)
        self.ready = ready
        self.metrics = metrics
        self.metrics_port = metrics_port  # /metrics answered there alone, with the probes (METRICS_PORT)
        self.api = api or {}  # POST path → a JSON endpoint that checks its own signature (bot.api)
        self.documents = documents or {}  # GET path → a JSON document (the API's OpenAPI description)
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="slack-request")
        self.refusals = _Refusals()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if path == "/healthz" and method == "GET":  # alive: the event loop answers, whatever else is wrong
            await _answer(send, 200, json.dumps({"status": "alive"}), "application/json")
            return
        if path == "/readyz" and method == "GET":
            status, report = await asyncio.get_running_loop().run_in_executor(self.pool, self.ready)
            await _answer(send, status, json.dumps(report), "application/json")
            return
        scrape = self.metrics if path == "/metrics" and method == "GET" else None
        if self.metrics_port is not None and (scope.get("server") or ("", None))[1] == self.metrics_port:
            # The operators' port: the scrape, and the probes above; nothing of Slack's.
            await (_scrape(send, scrape, self.pool) if scrape else _answer(send, 404, "Not Found"))
            return
        if scrape and self.metrics_port is None:
            await _scrape(send, scrape, self.pool)
            return
        if path in self.documents and method == "GET":
            await _answer(send, 200, json.dumps(self.documents[path]), "application/json")
            return
        if path in self.api and method == "POST":
            await self._api(scope, receive, send, self.api[path])
            return
        flow = self.app.oauth_flow
        if flow is not None and method == "GET" and path in (flow.install_path, flow.redirect_uri_path):
            await self._oauth(scope, send, flow)
            return
        if path != SLACK_PATH:
            await _answer(send, 404, "Not Found")
            return
        if method != "POST":
            await _answer(send, 405, "Method Not Allowed")
            return
        arrived = time.perf_counter()
        try:
            headers = _headers(scope)
            body = _text(await _body(headers, receive))
            self._verify(headers, body)
            response, which = await asyncio.get_running_loop().run_in_executor(self.pool, self._dispatch, headers, body)
        except Refusal as refused:
            self.refusals.note(_client(scope), refused.status, refused.why)
            await _answer(send, refused.status, refused.answer)
            return
        except Exception:  # Bolt answers its listeners' errors itself; this is a fault of ours around it
            log.exception("edge: unexpected error (ref %s)", "E-" + secrets.token_hex(3).upper())
            await _answer(send, 500, "internal error")
            return
        # Counted before it is sent: a scrape that follows the answer sees it.
        ACK_SECONDS.labels(which).observe(time.perf_counter() - arrived)
        await _answer(send, response.status, response.body, _content_type(response))

    async def _api(
        self, scope: Scope, receive: Receive, send: Send, endpoint: Callable[[dict[str, str], str], tuple[int, Any]]
    ) -> None:
        """The marketplace API's door: the same limits on the body as Slack's, a JSON answer either way."""
        try:
            headers = _headers(scope)
            body = _text(await _body(headers, receive))
            status, answer = await asyncio.get_running_loop().run_in_executor(self.pool, endpoint, headers, body)
        except Refusal as refused:
            self.refusals.note(_client(scope), refused.status, refused.why)
            status, answer = refused.status, {"error": refused.why, "message": refused.answer}
        except Exception:
            ref = "E-" + secrets.token_hex(3).upper()
            log.exception("api: unexpected error (ref %s)", ref)
            status, answer = 500, {"error": "internal", "message": f"something went wrong (ref {ref})"}
        if status == 401:
            self.refusals.note(_client(scope), status, str(answer.get("error")))
        await _answer(send, status, json.dumps(answer, ensure_ascii=False), "application/json")

    async def _oauth(self, scope: Scope, send: Send, flow: OAuthFlow) -> None:
        """Bolt's OAuth flow, as its own adapters run it: the install page (which sets the state cookie), then
        Slack's redirect back with a code, which it exchanges (oauth.v2.access) and keeps as an installation."""
        request = BoltRequest(
            body="", query=scope.get("query_string", b"").decode("latin-1"), headers=_headers(scope), mode="http"
        )
        handle = flow.handle_installation if scope["path"] == flow.install_path else flow.handle_callback
        try:
            response = await asyncio.get_running_loop().run_in_executor(self.pool, handle, request)
        except Exception:
            log.exception("oauth: the install failed (ref %s)", ref := "E-" + secrets.token_hex(3).upper())
            await _answer(send, 500, f"The installation failed (ref {ref}); please try again.")
            return
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, values in (response.headers or {}).items()
            for value in values
        ]
        body = response.body.encode()
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _verify(self, headers: dict[str, str], body: str) -> None:
        stamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
            raise Refusal(401, "timestamp missing or not a number", "invalid request")
        if not self.verifier.is_valid(body=body, timestamp=stamp, signature=signature):
            raise Refusal(401, "bad or stale signature", "invalid request")

    def _dispatch(self, headers: dict[str, str], body: str) -> tuple[BoltResponse, str]:
        """Bolt's answer, and which listener it was for."""
        try:
            request = BoltRequest(body=body, headers=headers)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            # Signed, so Slack's (or a leaked secret's): worth a warning, still never the body.
            log.warning("edge: a signed request could not be read as a Slack payload (%s)", type(exc).__name__)
            raise Refusal(400, "signed, but not a Slack payload", "bad request") from None
        with about(team=request.context.team_id, user=request.context.user_id):
            return self.screen(request.body) or self.app.dispatch(request), listener(request.body)


async def _scrape(send: Send, metrics: Callable[[], tuple[bytes, str]], pool: ThreadPoolExecutor) -> None:
    text, content_type = await asyncio.get_running_loop().run_in_executor(pool, metrics)
    await _answer(send, 200, text.decode(), content_type)


async def _body(headers: dict[str, str], receive: Receive) -> bytes:
    declared = headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise Refusal(413, f"body of {declared[:20]} bytes declared", "request too large")
    chunks: list[bytes] = []
    size = 0

    async def read() -> None:
        nonlocal size
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Refusal(400, "the client hung up mid-body", "bad request")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                raise Refusal(413, f"body grew past {MAX_BODY} bytes", "request too large")
            chunks.append(chunk)
            if not message.get("more_body"):
                return

    try:
        await asyncio.wait_for(read(), BODY_TIMEOUT)
    except TimeoutError:
        raise Refusal(408, f"body not complete after {BODY_TIMEOUT:g} s", "request timeout") from None
    return b"".join(chunks)


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(400, "the body is not UTF-8", "bad request") from None


def _headers(scope: Scope) -> dict[str, str]:
    # Header bytes are latin-1 on the wire (RFC 9110); a duplicate keeps its first value, as the verifier expects.
    found: dict[str, str] = {}
    for name, value in scope.get("headers") or []:
        found.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return found


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "an unknown client"


def _content_type(response: BoltResponse) -> str:
    for name, values in (response.headers or {}).items():
        if name.lower() == "content-type" and values:
            return str(next(iter(values)))
    return "text/plain;charset=utf-8"


async def _answer(send: Send, status: int, body: str, content_type: str = "text/plain;charset=utf-8") -> None:
    data = body.encode()
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(data)).encode())]
    if status >= 400 and status != 401:
        headers.append((b"connection", b"close"))  # what is left of a refused body is not read
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
