"""A local stand-in for Slack, over real HTTP both ways: the e2e tests' Slack, and the sandbox's
(``bot.sandbox``), where people try refund-bot in a browser without a Slack workspace.

Slack → app: ``SlackUser`` signs (v0 HMAC) and POSTs slash commands, shortcuts, block actions and view
submissions to the running app the way Slack does (form bodies, ``payload=`` JSON, real header names,
trigger ids that expire after 3 s), and finds buttons and inputs by their visible labels, as a person would.

App → Slack: ``SlackStandIn`` serves the Web API methods the app calls under ``/api/``, records every call and
keeps what Slack would show: messages (updated in place), threads, Home tabs, open modals, and what was said
privately to someone (``response_url`` posts, ephemeral messages). It holds every payload to ``Rules``; the test
suite's rules are Slack's published contract (the Block Kit schema and view rules, text fallbacks, trigger ids
valid once within 3 s, ``chat.update`` by channel id, ``views.update`` hashes, ``response_url`` posts at most 5 in
30 minutes). What breaks them is answered as Slack would (``invalid_blocks``, ``invalid_arguments``,
``expired_trigger_id``, …) and recorded in ``violations``. On demand it answers 429 with Retry-After, 500, or
slowly.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bot.sandbox.standin.files import Files, StoredFile
from bot.sandbox.standin.people import Answer
from bot.sandbox.standin.screens import Screens
from bot.sandbox.standin.state import (
    LOOKUP_LIMIT,
    LOOKUPS,
    TEAM,
    Call,
    Fault,
    Limits,
    Message,
    NotShown,
    OAuthApp,
    Rules,
    Views,
    decoded,
)
from bot.sandbox.standin.workspaces import Workspaces


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up on a slow reply hangs up; that is the point of a slow reply, not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class SlackStandIn(Workspaces, Screens, Files):
    def __init__(self, rules: Rules | None = None) -> None:
        self.rules = rules or Rules()
        self.calls: list[Call] = []
        self.messages: dict[tuple[str, str], Message] = {}
        # What someone was told privately: response_url posts and ephemeral messages, each with its reader.
        self.responses: list[dict[str, Any]] = []
        self.version = 0  # counts every change to what people see, so a page knows when to look again
        self.views = Views()
        self.homes: dict[str, dict[str, Any]] = {}
        self.locales: dict[str, str] = {}  # users.info answers en-US unless a test says otherwise
        self.timezones: dict[str, str] = {}  # and New York time
        self.usergroups: dict[str, list[str]] = {}  # usergroups.users.list answers from here
        self.files: dict[str, StoredFile] = {}
        self.members: dict[str, frozenset[str]] = {}  # the people of each DM and group DM the app opened
        self.caller_team = TEAM  # the workspace of the call being answered, whose token it came with
        self.faults: dict[str, list[Fault]] = {}
        self.limits: Limits | None = None  # Slack's rate limits, when a test turns them on
        self.triggers: dict[str, tuple[str, float]] = {}
        self.used_triggers: set[str] = set()
        self.response_urls: dict[str, list[float]] = {}  # path → [issued (monotonic), posts so far]
        self.response_readers: dict[str, str] = {}  # path → whose interaction it answers
        self.violations: list[str] = []  # every break of Slack's rules, by the app or in its answers
        self.violations_lock = threading.Lock()
        self.lock = threading.RLock()  # re-entered: handlers that run under it read messages too
        self.ts_lock = threading.Lock()
        self.clock: Callable[[], float] = time.time  # message timestamps; a test with a moved clock sets its own
        self.down = False  # an outage: every Web API call answers 503
        # Distributed by OAuth: only the tokens it issued are taken, each for its workspace (``grant``).
        self.oauth: OAuthApp | None = None
        # Every payload is held to Slack's rules; a bench measuring the app's own pace may turn that off, since
        # the check costs the stand-in more than the app spends on the call (the tests keep it on).
        self.checking = True
        self._last_ts = 0.0
        self._ids = itertools.count(1)
        self.server = _Server(("127.0.0.1", 0), self._handler())
        # Stopping waits for the server's next poll: every 0.05 s, not the default 0.5, as tests start and stop many.
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    # --- life cycle -----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def start(self) -> SlackStandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- faults ---------------------------------------------------------------------------------------

    def fail(
        self, method: str, status: int, times: int = 1, retry_after: int | None = None, error: str | None = None
    ) -> None:
        """The next ``times`` calls of ``method`` answer ``status`` (429 carries Retry-After), or with status 200,
        Slack's ``{"ok": false, "error": error}``."""
        self.faults.setdefault(method, []).append(Fault(status, times, retry_after, error=error))

    def slow(self, method: str, seconds: float, times: int = 1) -> None:
        self.faults.setdefault(method, []).append(Fault(200, times, delay=seconds))

    def drop(self, method: str, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` take effect, but their answer is lost on the way back."""
        self.faults.setdefault(method, []).append(Fault(200, times, drop=True))

    def _next_ts(self) -> str:
        with self.ts_lock:
            self._last_ts = max(round(self.clock(), 6), round(self._last_ts + 0.000001, 6))
            return f"{self._last_ts:.6f}"

    def _fault(self, method: str) -> Fault | None:
        with self.lock:
            queue = self.faults.get(method) or []
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            return fault

    # --- what the app did -----------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        with self.lock:  # the app may be calling meanwhile (the relay's thread, or a server's)
            return [call for call in self.calls if call.method == method]

    def dm_channel(self, *users: str) -> str:
        key = ",".join(sorted(users))
        prefix = "D" if len(users) == 1 else "G"
        return prefix + hashlib.sha1(key.encode()).hexdigest()[:9].upper()

    def channel_messages(self, channel: str, *, replies: bool = False) -> list[Message]:
        with self.lock:
            found = [m for (c, _), m in self.messages.items() if c == channel and (replies or m.thread_ts is None)]
        return sorted(found, key=lambda m: float(m.ts))

    def dms(self, user: str) -> list[Message]:
        return self.channel_messages(self.dm_channel(user))

    def seen_by(self, user: str, *, views: bool = True) -> str:
        """Everything ``user`` could see in Slack, as one JSON text: every conversation the app opened with them
        (threads, and the files shared there, included), their App Home, what was said to them alone, and (with
        ``views``) the modals opened for them."""
        with self.lock:
            channels = {channel for channel, people in self.members.items() if user in people}
            seen = [
                {"text": m.text, "blocks": m.blocks, "files": m.files}
                for (channel, _), m in self.messages.items()
                if channel in channels
            ]
            seen += [r for r in self.responses if r.get("user") == user]
            seen += [v for vid, v in self.views.by_id.items() if views and self.views.user_of.get(vid) == user]
            seen.append(self.homes.get(user) or {})
            return json.dumps(seen, ensure_ascii=False)

    def replies(self, channel: str, thread_ts: str) -> list[Message]:
        return [m for m in self.channel_messages(channel, replies=True) if m.thread_ts == thread_ts]

    def open_view(self, user: str) -> dict[str, Any] | None:
        """The modal in front of the person: the last one opened for them and not closed since."""
        with self.lock:
            shown = [v for vid, v in self.views.by_id.items() if self.views.user_of.get(vid) == user]
            return next((v for v in reversed(shown) if v["id"] not in self.views.closed), None)

    def tell(self, user: str, message: dict[str, Any]) -> None:
        """Show ``user`` alone a message: what Slack does with a slash command's immediate answer."""
        with self.lock:
            self.responses.append({"user": user, **message})
            self.version += 1

    def close_views(self, user: str) -> None:
        """The person closed their modal (Back, or Escape): every view of it goes."""
        with self.lock:
            self.views.closed |= {vid for vid, owner in self.views.user_of.items() if owner == user}
            self.version += 1

    def answered(self, user: str, view_id: str, answer: Answer) -> None:
        """What Slack does with the app's answer to a form: none closes it; errors show under their inputs; update
        replaces it; push opens one on top; clear closes them all."""
        body = answer.json if answer.status == 200 and answer.body.strip() not in ("", "null") else None
        action = body.get("response_action") if isinstance(body, dict) else None
        with self.lock:
            if answer.status != 200:
                return  # Slack keeps the form and says it could not reach the app
            if action == "errors":
                self.views.errors[view_id] = dict(body["errors"])
            elif action == "update" and view_id in self.views.by_id:
                view = dict(body["view"], id=view_id, hash=f"h{next(self._ids)}", state={"values": {}})
                self.views.by_id[view_id] = view
                self.views.errors.pop(view_id, None)
            elif action == "push":
                self._open(dict(body["view"]), user)
            elif action == "clear":
                self.views.closed |= {vid for vid, owner in self.views.user_of.items() if owner == user}
            else:
                self.views.closed.add(view_id)
            self.version += 1

    def latest_view(self, user: str) -> dict[str, Any]:
        views = [v for vid, v in self.views.by_id.items() if self.views.user_of.get(vid) == user]
        if not views:
            raise NotShown(f"no modal is open for {user}")
        return views[-1]

    def issue_trigger(self, user: str) -> str:
        trigger = f"{next(self._ids)}.{int(time.time())}.trigger"
        self.triggers[trigger] = (user, time.monotonic())
        return trigger

    # --- the Web API ----------------------------------------------------------------------------------

    def next_event_id(self) -> str:
        return f"Ev{next(self._ids):08d}"

    def _api(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str], bool]:
        """(status, answer, headers, whether the answer is lost)."""
        if self.down:
            return 503, {"ok": False, "error": "service_unavailable"}, {}, False
        fault = self._fault(method)
        if fault and fault.delay:
            time.sleep(fault.delay)
        if fault and fault.status != 200:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            error = "ratelimited" if fault.status == 429 else "internal_error"
            return fault.status, {"ok": False, "error": error}, headers, False
        if fault and fault.error:
            return 200, {"ok": False, "error": fault.error}, {}, False
        dropped = bool(fault and fault.drop)
        if method == "oauth.v2.access":
            with self.lock:
                return 200, self._oauth_v2_access(args, str(token or "")), {}, dropped
        team = TEAM
        if self.oauth is not None and not str(token or "").startswith("xapp-"):
            issued = self.oauth.tokens.get(str(token))
            if issued is None:
                return 200, {"ok": False, "error": "invalid_auth"}, {}, dropped
            team, expires_at = issued
            if expires_at is not None and expires_at <= time.time():
                return 200, {"ok": False, "error": "token_expired"}, {}, dropped
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}, dropped
        if (method == "apps.connections.open") != str(token).startswith("xapp-"):
            return 200, {"ok": False, "error": "not_allowed_token_type"}, {}, dropped
        with self.lock:
            if self.limits is not None:
                if (wait := self.limits.check(team, method, args, self.clock())) is not None:
                    return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(wait)}, dropped
                if self.limits.distributed and method in LOOKUPS and int(args.get("limit") or 100) > LOOKUP_LIMIT:
                    self.record(method, [f"limit {args.get('limit')}: at most {LOOKUP_LIMIT} for this app"])
            self.calls.append(Call(method, args, team))
            self.caller_team = team
            if method == "auth.test":
                return 200, self._auth_test(team), {}, dropped
            handler = getattr(self, "_" + method.replace(".", "_"), None)
            if handler is None:
                return 200, {"ok": False, "error": "unknown_method"}, {}, dropped
            answer = handler(args)
            if answer.get("ok"):
                self.version += 1
            return 200, answer, {}, dropped

    # --- OAuth (an app distributed to many workspaces) -------------------------------------------------

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(args.get("users", "")).split(",") if u]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        channel = self.dm_channel(*users)
        self.members[channel] = frozenset(users)
        return {"ok": True, "channel": {"id": channel}}

    def record(self, where: str, problems: list[str]) -> None:
        """Keep what broke Slack's rules: a violation fails the test that caused it."""
        with self.violations_lock:
            self.violations += [f"{where}: {problem}" for problem in problems]

    def check_ack(
        self, kind: str, body: Any, *, command: bool = False, submitted: Mapping[str, Any] | None = None
    ) -> None:
        """The app's answer to what Slack sent it, held to Slack's rules: a command's reply, a form's
        ``response_action`` (for the view ``submitted``), or nothing for any other interaction (Slack ignores a
        body). A method of the stand-in, so that a bench's stand-in in a process of its own checks it too."""
        if command:
            problems = self.rules.command_answer_problems(body)
        elif submitted is not None:
            problems = self.rules.form_answer_problems(body, submitted)
        else:
            problems = [] if body is None else [f"(ack): unexpected body {body!r}"]
        self.record(f"{kind} ack", problems)

    def _refuse(self, method: str, error: str, problems: list[str]) -> dict[str, Any]:
        """Answer as Slack does when a call breaks its rules."""
        self.record(method, problems)
        return {"ok": False, "error": error, "errors": problems, "response_metadata": {"messages": problems}}

    def take_violations(self) -> list[str]:
        """The violations so far, forgotten: for a test that breaks a rule on purpose."""
        with self.violations_lock:
            taken, self.violations = self.violations, []
        return taken

    def _message(self, method: str, args: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        blocks = decoded(args.get("blocks")) or []
        if self.checking and (problems := self.rules.message_problems(args)):
            error = "no_text" if not blocks and not args.get("text") else "invalid_blocks"
            return blocks, self._refuse(method, error, problems)
        return blocks, None

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        blocks, refused = self._message("chat.postMessage", args)
        if refused:
            return refused
        if not args.get("channel"):
            return self._refuse("chat.postMessage", "channel_not_found", ["channel: required"])
        ts = self._next_ts()
        channel = args["channel"]
        metadata = decoded(args.get("metadata"))
        self.messages[(channel, ts)] = Message(
            channel, ts, args.get("text", ""), blocks, args.get("thread_ts"), metadata=metadata
        )
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": args.get("text"), "blocks": blocks}}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if channel[:1] in ("U", "W", ""):
            # "For direct messages, ensure that this value is a DM ID (starts with D) instead of a User ID."
            problem = f"channel: chat.update needs the channel id of the message, not {channel!r}"
            return self._refuse("chat.update", "channel_not_found", [problem])
        message = self.messages.get((channel, args.get("ts")))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        blocks, refused = self._message("chat.update", args)
        if refused:
            return refused
        message.text, message.blocks = args.get("text", ""), blocks
        message.updates += 1
        return {"ok": True, "channel": message.channel, "ts": message.ts}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        _, refused = self._message("chat.postEphemeral", args)
        if refused:
            return refused
        if not args.get("channel") or not args.get("user"):
            return self._refuse("chat.postEphemeral", "invalid_arguments", ["channel and user: required"])
        shown = {"user": args["user"], "channel": args["channel"], "text": args.get("text", "")}
        self.responses.append(shown | {"blocks": decoded(args.get("blocks")) or []})
        return {"ok": True, "message_ts": self._next_ts()}

    def _history(self, found: list[Message], args: dict[str, Any]) -> dict[str, Any]:
        """Newest first, between ``oldest`` and ``latest``, ``limit`` at a time (cursor: how many were already
        given); where Slack allows an app 15 messages a call, no more than that."""
        oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or "inf")
        newest_first = [m for m in reversed(found) if oldest < float(m.ts) < latest]
        start, limit = int(args.get("cursor") or 0), int(args.get("limit") or 100)
        if self.limits is not None and self.limits.distributed:
            limit = min(limit, LOOKUP_LIMIT)
        page = newest_first[start : start + limit]
        with_metadata = str(args.get("include_all_metadata")).lower() in ("1", "true")
        messages = [
            {"type": "message", "ts": m.ts, "text": m.text, "thread_ts": m.thread_ts}
            | ({"metadata": m.metadata} if with_metadata and m.metadata else {})
            for m in page
        ]
        more = start + limit < len(newest_first)
        return {
            "ok": True,
            "messages": messages,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._history(self.channel_messages(str(args.get("channel"))), args)

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel")), str(args.get("ts"))
        if (channel, ts) not in self.messages:
            return {"ok": False, "error": "thread_not_found"}
        return self._history([self.messages[(channel, ts)], *self.replies(channel, ts)], args)

    def _chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = str(args.get("message_ts", "")).replace(".", "")
        return {"ok": True, "permalink": f"https://demo.slack.com/archives/{args.get('channel')}/p{ts}"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if not self.path.startswith("/files-pri/"):
                    self._answer(404, "not found", {}, "text/plain")
                    return
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
                status, data, kind = standin.download(urllib.parse.unquote(self.path), token)
                self._send(status, data, {}, kind)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.startswith("/upload/"):
                    status, text = standin.upload(self.path, raw)
                    self._answer(status, text, {}, "text/plain")
                    return
                body = raw.decode()
                if self.path.startswith("/response/"):
                    status, text = standin._response(self.path, json.loads(body or "{}"))
                    self._answer(status, text, {}, "text/plain")
                    return
                method = self.path.removeprefix("/api/")
                if "json" in (self.headers.get("Content-Type") or ""):
                    args = json.loads(body or "{}")
                else:
                    args = {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip() or args.get("token")
                status, payload, headers, lost = standin._api(method, args, token)
                if lost:
                    self.close_connection = True
                    return
                self._answer(status, json.dumps(payload), headers, "application/json")

            def _answer(self, status: int, body: str, headers: dict[str, str], kind: str) -> None:
                self._send(status, body.encode(), headers, kind)

            def _send(self, status: int, data: bytes, headers: dict[str, str], kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler
