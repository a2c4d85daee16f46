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

import base64
import hashlib
import itertools
import json
import math
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.signature import SignatureVerifier

TEAM = "T0DEMO01"
TRIGGER_LIFETIME = 3.0
# "You can use response_url to publish up to 5 times within 30 minutes" (Slack: handling user interaction).
RESPONSE_URL_POSTS = 5
RESPONSE_URL_LIFETIME = 30 * 60.0


class NotShown(LookupError):
    """What a person looked for (a button, an input, an option, an open modal) is not on their screen."""


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    team: str = TEAM  # whose token it came with


@dataclass
class OAuthApp:
    """What Slack knows of an app distributed by OAuth: its credentials, the workspaces it was granted, and the
    tokens it has been issued. With rotation on (``expires_in``), a token lives that long and comes with a refresh
    token, spent by its one use."""

    client_id: str
    client_secret: str
    expires_in: int | None = None
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # code → (team, installer)
    tokens: dict[str, tuple[str, float | None]] = field(default_factory=dict)  # bot token → (team, expires at)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token → team
    exchanges: list[dict[str, Any]] = field(default_factory=list)  # every oauth.v2.access, as asked


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    updates: int = 0
    metadata: dict[str, Any] | None = None


@dataclass
class Fault:
    status: int
    times: int
    retry_after: int | None = None
    delay: float = 0.0
    error: str | None = None  # with status 200: Slack's ok=false answer
    drop: bool = False  # the call is carried out, then the connection closes before the answer is sent


# Slack's tiers, as its method reference gives them: calls a minute per method per app per workspace.
TIERS = {
    "usergroups.users.list": 20,
    "chat.update": 50,
    "conversations.open": 50,
    "conversations.history": 50,
    "conversations.replies": 50,
    "users.info": 100,
    "views.publish": 100,
    "views.open": 100,
    "views.update": 100,
    "views.push": 100,
    "chat.postEphemeral": 100,
    "chat.getPermalink": 300,
}
# "Posting messages: 1 per second. Short bursts >1 allowed."
POSTS_PER_SECOND, POST_BURST = 1.0, 3
# Since 2025, for an app distributed outside the Slack Marketplace: one call a minute, 15 messages at most.
LOOKUPS = ("conversations.history", "conversations.replies")
LOOKUP_LIMIT = 15


@dataclass
class Limits:
    """Slack's rate limits, kept when a test turns them on (``SlackStandIn.limits``): each tier per method and
    workspace over a minute, posts to a channel at about one a second with short bursts, a channel Slack holds on
    its own (``hold``), and with ``distributed`` the stricter limits on reading messages back. Each refusal is a
    429 with Retry-After, kept in ``refused``; asking for more than 15 messages in that mode is a violation."""

    distributed: bool = False
    calls: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # (team, method) → times
    buckets: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)  # (team, channel) → (tokens, at)
    held: dict[str, float] = field(default_factory=dict)  # channel → until
    refused: list[tuple[str, str | None]] = field(default_factory=list)  # (method, channel)

    def hold(self, channel: str, seconds: float, now: float) -> None:
        self.held[channel] = now + seconds

    def check(self, team: str, method: str, args: Mapping[str, Any], now: float) -> int | None:
        """Seconds to wait, or None when the call may go (and is counted)."""
        channel = str(args.get("channel") or "") or None
        wait = self._wait(team, method, channel, now)
        if wait is not None:
            self.refused.append((method, channel))
        return wait

    def _wait(self, team: str, method: str, channel: str | None, now: float) -> int | None:
        if channel and method in ("chat.postMessage", "chat.update") and self.held.get(channel, 0) > now:
            return math.ceil(self.held[channel] - now)
        if method == "chat.postMessage" and channel:
            tokens, at = self.buckets.get((team, channel), (POST_BURST, now))
            tokens = min(POST_BURST, tokens + (now - at) * POSTS_PER_SECOND)
            if tokens < 1:
                return math.ceil((1 - tokens) / POSTS_PER_SECOND)
            self.buckets[team, channel] = (tokens - 1, now)
            return None
        allowed = 1 if self.distributed and method in LOOKUPS else TIERS.get(method)
        if allowed is None:
            return None
        recent = [t for t in self.calls.get((team, method), []) if t > now - 60]
        if len(recent) >= allowed:
            self.calls[team, method] = recent
            return max(1, math.ceil(recent[0] + 60 - now))
        self.calls[team, method] = [*recent, now]
        return None


@dataclass
class Views:
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    user_of: dict[str, str] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)  # submitted or dismissed: no longer on anyone's screen
    errors: dict[str, dict[str, str]] = field(default_factory=dict)  # view id → block id → the app's error


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up on a slow reply hangs up; that is the point of a slow reply, not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Rules:
    """Slack's rules for what an app sends it, as the stand-in holds payloads to them: each method returns the
    problems found, one line each naming its JSON path. This one finds none; the test suite's (``tests/slack_rules``)
    checks Slack's Block Kit schema and view rules."""

    def message_problems(self, message: Mapping[str, Any]) -> list[str]:
        return []

    def view_problems(self, view: Any, kind: str) -> list[str]:
        return []

    def form_answer_problems(self, answer: Any, submitted: Mapping[str, Any]) -> list[str]:
        return []

    def command_answer_problems(self, answer: Any) -> list[str]:
        return []


def decoded(value: Any) -> Any:
    """Web API arguments carry ``blocks`` and ``view`` as JSON strings when form-encoded."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class SlackStandIn:
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

    def distribute(self, client_id: str, client_secret: str, expires_in: int | None = None) -> OAuthApp:
        self.oauth = OAuthApp(client_id, client_secret, expires_in)
        return self.oauth

    def grant(self, team: str, installer: str) -> str:
        """Someone of ``team`` pressed Allow on Slack's consent screen: the code Slack redirects back with."""
        if self.oauth is None:
            raise RuntimeError("the app is not distributed: call distribute() first")
        code = f"code-{team}-{next(self._ids)}"
        self.oauth.codes[code] = (team, installer)
        return code

    def token_of(self, team: str) -> str:
        """The workspace's live bot token."""
        if self.oauth is None:
            raise RuntimeError("the app is not distributed: call distribute() first")
        return next(token for token, (owner, _) in self.oauth.tokens.items() if owner == team)

    def _oauth_v2_access(self, args: dict[str, Any], authorization: str) -> dict[str, Any]:
        app = self.oauth
        if app is None:
            return {"ok": False, "error": "invalid_client_id"}
        given = dict(args)
        if authorization.startswith("Basic "):
            client_id, _, secret = base64.b64decode(authorization.removeprefix("Basic ")).decode().partition(":")
            given |= {"client_id": client_id, "client_secret": secret}
        app.exchanges.append(given)
        if given.get("client_id") != app.client_id:
            return {"ok": False, "error": "invalid_client_id"}
        if given.get("client_secret") != app.client_secret:
            return {"ok": False, "error": "bad_client_secret"}
        if given.get("grant_type") == "refresh_token":
            team = app.refresh_tokens.pop(str(given.get("refresh_token")), None)
            if team is None:
                return {"ok": False, "error": "invalid_refresh_token"}
            for token in [t for t, (owner, _) in app.tokens.items() if owner == team]:
                del app.tokens[token]  # the old token stops working
            installer = None
        else:
            grant = app.codes.pop(str(given.get("code")), None)
            if grant is None:
                return {"ok": False, "error": "invalid_code"}
            team, installer = grant
        n = next(self._ids)
        token = f"xoxe.xoxb-{team}-{n}" if app.expires_in else f"xoxb-{team}-{n}"
        app.tokens[token] = (team, time.time() + app.expires_in if app.expires_in else None)
        answer: dict[str, Any] = {
            "ok": True,
            "access_token": token,
            "token_type": "bot",
            "scope": "commands,chat:write",
            "bot_user_id": "U0BOT",
            "app_id": "A0REFUNDBOT",
            "team": {"id": team, "name": f"Workspace {team}"},
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if installer is not None:
            answer["authed_user"] = {"id": installer}
        if app.expires_in:
            refresh = f"xoxe-1-{team}-{n}"
            app.refresh_tokens[refresh] = team
            answer |= {"refresh_token": refresh, "expires_in": app.expires_in}
        return answer

    def _auth_test(self, team: str) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://demo.slack.com/",
            "team": "Demo",
            "team_id": team,
            "user_id": "U0BOT",
            "bot_id": "B0BOT",
            "user": "refund-bot",
        }

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(args.get("users", "")).split(",") if u]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": self.dm_channel(*users)}}

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

    def _trigger(self, method: str, args: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
        """A trigger id opens one view, within 3 s of the interaction that gave it."""
        trigger = str(args.get("trigger_id"))
        issued = self.triggers.pop(trigger, None)
        if issued is None:
            used = trigger in self.used_triggers
            problem = (
                f"trigger_id: {trigger!r} was {'already used' if used else 'never issued'}; a trigger opens one view"
            )
            return None, self._refuse(method, "invalid_trigger_id" if not used else "expired_trigger_id", [problem])
        self.used_triggers.add(trigger)
        age = time.monotonic() - issued[1]
        if age > TRIGGER_LIFETIME:
            problem = f"trigger_id: used {age:.1f} s after the interaction; it expires after {TRIGGER_LIFETIME:.0f} s"
            return None, self._refuse(method, "expired_trigger_id", [problem])
        return issued[0], None

    def _modal(self, method: str, args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        view = decoded(args.get("view"))
        if self.checking and (problems := self.rules.view_problems(view, "modal")):
            return {}, self._refuse(method, "invalid_arguments", problems)
        return dict(view), None

    def _open(self, view: dict[str, Any], user: str) -> dict[str, Any]:
        view_id = f"V{next(self._ids):08d}"
        view.update(id=view_id, hash=f"h{next(self._ids)}", state={"values": {}})
        self.views.by_id[view_id] = view
        self.views.user_of[view_id] = user
        return {"ok": True, "view": view}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        user, refused = self._trigger("views.open", args)
        if refused:
            return refused
        view, refused = self._modal("views.open", args)
        if refused:
            return refused
        self.views.closed |= {vid for vid, owner in self.views.user_of.items() if owner == user}  # a new modal
        return self._open(view, user or "")

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        user, refused = self._trigger("views.push", args)
        if refused:
            return refused
        if not any(owner == user for owner in self.views.user_of.values()):
            return self._refuse("views.push", "not_found", ["trigger_id: views.push needs a modal open for the user"])
        view, refused = self._modal("views.push", args)
        return refused or self._open(view, user or "")

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = str(args.get("view_id"))
        if view_id not in self.views.by_id:
            return {"ok": False, "error": "not_found"}
        if args.get("hash") and args["hash"] != self.views.by_id[view_id]["hash"]:
            return {"ok": False, "error": "hash_conflict"}  # the view changed since: a race Slack reports, no bug
        view, refused = self._modal("views.update", args)
        if refused:
            return refused
        view.update(id=view_id, hash=f"h{next(self._ids)}", state={"values": {}})
        self.views.by_id[view_id] = view
        self.views.errors.pop(view_id, None)
        return {"ok": True, "view": view}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        view = decoded(args.get("view"))
        if self.checking and (problems := self.rules.view_problems(view, "home")):
            return self._refuse("views.publish", "invalid_arguments", problems)
        if not args.get("user_id"):
            return self._refuse("views.publish", "invalid_arguments", ["user_id: required"])
        user = str(args["user_id"])
        # As Slack returns a view: every field present, the ones the app left out empty.
        blank = {"callback_id": "", "private_metadata": ""}
        self.homes[user] = blank | view | {"id": f"VHOME{user}", "type": "home", "state": {"values": {}}}
        return {"ok": True, "view": self.homes[user]}

    def issue_response_url(self, user: str | None = None) -> str:
        path = f"/response/{next(self._ids)}"
        self.response_urls[path] = [time.monotonic(), 0]
        if user is not None:
            self.response_readers[path] = user
        return self.url + path

    def _response(self, path: str, body: dict[str, Any]) -> tuple[int, str]:
        """A post to a response_url: a message for the person, at most 5 within 30 minutes of the interaction."""
        issued = self.response_urls.get(path)
        where = f"response_url {path}"
        if issued is None:
            self._refuse(where, "no_service", ["url: never issued by Slack"])
            return 404, "no_service"
        issued[1] += 1
        if time.monotonic() - issued[0] > RESPONSE_URL_LIFETIME:
            self._refuse(where, "expired_url", ["url: a response_url lives 30 minutes"])
            return 404, "expired_url"
        if issued[1] > RESPONSE_URL_POSTS:
            self._refuse(where, "used_url", [f"url: post {issued[1]}; a response_url takes at most 5"])
            return 404, "used_url"
        problems = self.rules.message_problems(body)
        if body.get("response_type", "ephemeral") not in ("ephemeral", "in_channel"):
            problems.append(f"response_type: must be ephemeral or in_channel (got {body['response_type']!r})")
        if problems:
            self._refuse(where, "invalid_blocks", problems)
            return 400, "invalid_blocks"
        with self.lock:
            self.responses.append({"url": self.url + path, "user": self.response_readers.get(path), **body})
            self.version += 1
        return 200, "ok"

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user"))
        zone = self.timezones.get(user, "America/New_York")
        now = datetime.fromtimestamp(self.clock(), UTC)
        return {
            "ok": True,
            "user": {
                "id": user,
                "team_id": TEAM,
                "name": user.lower(),
                "tz": self.timezones.get(user, "America/New_York"),
                "tz_offset": int((ZoneInfo(zone).utcoffset(now) or timedelta(0)).total_seconds()),
                "locale": self.locales.get(user, "en-US"),
            },
        }

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = str(args.get("usergroup"))
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[group])}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
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
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


@dataclass
class Answer:
    status: int
    body: str

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class SlackUser:
    """One person in the workspace, acting through Slack: what they type and click reaches the app signed."""

    def __init__(
        self, standin: SlackStandIn, app_url: str, signing_secret: str, user_id: str, team: str = TEAM
    ) -> None:
        self.standin = standin
        self.app_url = app_url
        self.signer = SignatureVerifier(signing_secret)
        self.id = user_id
        self.team = team
        self.last_sent = 0  # bytes in the body of the last request

    # --- sending --------------------------------------------------------------------------------------

    def post(
        self,
        body: str,
        content_type: str = "application/x-www-form-urlencoded",
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        timeout: float = 10,
    ) -> Answer:
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature or self.signer.generate_signature(timestamp=stamp, body=body),
        }
        data = body.encode()
        self.last_sent = len(data)
        request = urllib.request.Request(self.app_url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return Answer(response.status, response.read().decode())
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, exc.read().decode())

    def _held(
        self, kind: str, answer: Answer, *, command: bool = False, submitted: Mapping[str, Any] | None = None
    ) -> Answer:
        """The app's answer to Slack (the HTTP ack, or the Socket Mode ack's payload) under Slack's rules
        (``SlackStandIn.check_ack``)."""
        if answer.status == 200:
            try:
                body = answer.json
            except ValueError:
                self.standin.record(f"{kind} ack", [f"(ack): not JSON: {answer.body[:80]!r}"])
            else:
                self.standin.check_ack(kind, body, command=command, submitted=submitted)
        return answer

    def _response_url(self) -> str:
        return self.standin.issue_response_url(self.id)

    def command(self, text: str = "", command: str = "/refund", timeout: float = 10) -> Answer:
        form = {
            "token": "legacy-unused",
            "team_id": self.team,
            "team_domain": "demo",
            "channel_id": "C0GENERAL",
            "channel_name": "general",
            "user_id": self.id,
            "user_name": self.id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0REFUND",
            "response_url": self._response_url(),
            "trigger_id": self.standin.issue_trigger(self.id),
        }
        answer = self.post(urllib.parse.urlencode(form), timeout=timeout)
        return self._held(command, answer, command=True)

    def _payload(self, payload: dict[str, Any]) -> Answer:
        base = {
            "team": {"id": self.team, "domain": "demo"},
            "user": {"id": self.id, "team_id": self.team},
            "api_app_id": "A0REFUND",
            "token": "legacy-unused",
            "is_enterprise_install": False,
        }
        return self.post(urllib.parse.urlencode({"payload": json.dumps(base | payload)}))

    def open_home(self) -> Answer:
        """Open the app's Home tab: an Events API callback, JSON-bodied like every event."""
        now = time.time()
        event = {
            "type": "app_home_opened",
            "user": self.id,
            "channel": self.standin.dm_channel(self.id),
            "tab": "home",
            "event_ts": f"{now:.6f}",
        }
        body = {
            "type": "event_callback",
            "team_id": self.team,
            "api_app_id": "A0REFUND",
            "token": "legacy-unused",
            "event": event,
            "event_id": self.standin.next_event_id(),
            "event_time": int(now),
            "authorizations": [{"team_id": self.team, "user_id": "U0BOT", "is_bot": True}],
        }
        return self._held("app_home_opened", self.post(json.dumps(body), "application/json"))

    def shortcut(self, callback_id: str) -> Answer:
        return self._held(
            "shortcut",
            self._payload(
                {
                    "type": "shortcut",
                    "callback_id": callback_id,
                    "action_ts": str(time.time()),
                    "trigger_id": self.standin.issue_trigger(self.id),
                }
            ),
        )

    def click(self, message: Message, label: str) -> Answer:
        """Press the button labelled ``label`` in a message, as Slack reports it."""
        return self.act_in_message(message, _pressed(message.blocks, label))

    def act_in_message(self, message: Message, action: dict[str, Any]) -> Answer:
        """An interactive element of a message was used: a button pressed, an option picked."""
        payload = self._payload(
            {
                "type": "block_actions",
                "trigger_id": self.standin.issue_trigger(self.id),
                "container": {
                    "type": "message",
                    "message_ts": message.ts,
                    "channel_id": message.channel,
                    "is_ephemeral": False,
                },
                "channel": {"id": message.channel},
                "message": {"ts": message.ts, "text": message.text, "blocks": message.blocks},
                "response_url": self._response_url(),
                "actions": [action],
            }
        )
        return self._held("block_actions", payload)

    def press(self, view: dict[str, Any], label: str) -> Answer:
        """Press the button labelled ``label`` in a Home tab or a modal: Slack sends the view, and no response_url."""
        return self._in_view(view, _pressed(view["blocks"], label))

    def pick(self, view: dict[str, Any], placeholder: str, option: str) -> Answer:
        """Pick ``option`` in the select of an actions block (a Home tab's filters) with this placeholder."""
        for block in view["blocks"]:
            for element in block.get("elements", []) if block.get("type") == "actions" else []:
                if element.get("type") == "static_select" and element["placeholder"]["text"] == placeholder:
                    action = {
                        "type": "static_select",
                        "action_id": element["action_id"],
                        "block_id": block["block_id"],
                        "selected_option": find_option(element, option),
                        "action_ts": str(time.time()),
                    }
                    return self._in_view(view, action)
        raise NotShown(f"no select with the placeholder {placeholder!r}")

    def act_in_view(self, view: dict[str, Any], action: dict[str, Any]) -> Answer:
        """An interactive element of a Home tab or a modal was used; ``view`` carries the state of its inputs."""
        return self._in_view(view, action)

    def _in_view(self, view: dict[str, Any], action: dict[str, Any]) -> Answer:
        payload = self._payload(
            {
                "type": "block_actions",
                "trigger_id": self.standin.issue_trigger(self.id),
                "container": {"type": "view", "view_id": view["id"]},
                "view": view,
                "actions": [action],
            }
        )
        return self._held("block_actions", payload)

    def choose(self, view: dict[str, Any], label: str, option: str) -> Answer:
        """Pick ``option`` in the select labelled ``label`` of an open modal (a dispatching select)."""
        block_id, element = find_input(view, label)
        chosen = find_option(element, option)
        action = {
            "type": element["type"],
            "action_id": element["action_id"],
            "block_id": block_id,
            "selected_option": chosen,
            "action_ts": str(time.time()),
        }
        return self._in_view(view, action)

    def submit(self, view: dict[str, Any], values: dict[str, str | list[str]], *, view_id: str | None = None) -> Answer:
        """Fill the inputs labelled as ``values`` says (text, number, the visible text of an option, or a list of
        them for a multi-select) and submit."""
        return self.submit_state(dict(view, id=view_id or view["id"]), filled(view, values))

    def submit_state(self, view: dict[str, Any], state: dict[str, dict[str, Any]]) -> Answer:
        """Submit the modal with its inputs' state, as Slack's ``view.state.values`` (block_id → action_id →
        value)."""
        submitted = dict(view, state={"values": state})
        answer = self._payload(
            {"type": "view_submission", "trigger_id": self.standin.issue_trigger(self.id), "view": submitted}
        )
        self._held("view_submission", answer, submitted=submitted)
        self.standin.answered(self.id, view["id"], answer)
        return answer


def filled(view: dict[str, Any], values: Mapping[str, str | list[str]]) -> dict[str, dict[str, Any]]:
    """The state Slack reports for the inputs of ``view`` filled as ``values`` says, by label."""
    state: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        label = block["label"]["text"]
        typed = values.get(label)
        if element["type"] in ("static_select", "external_select", "radio_buttons"):
            selected = find_option(element, typed) if typed is not None else element.get("initial_option")
            entry = {"type": element["type"], "selected_option": selected}
        elif element["type"] == "users_select":
            entry = {"type": "users_select", "selected_user": typed}
        elif element["type"] == "multi_static_select":
            chosen = [typed] if isinstance(typed, str) else typed or []
            entry = {"type": element["type"], "selected_options": [find_option(element, t) for t in chosen]}
        elif element["type"] == "checkboxes":
            entry = {"type": "checkboxes", "selected_options": [find_option(element, typed)] if typed else []}
        else:  # left as it was, a field keeps its initial value, as Slack submits it
            entry = {"type": element["type"], "value": typed if label in values else element.get("initial_value")}
        state[block["block_id"]] = {element["action_id"]: entry}
    return state


def _pressed(blocks: list[dict[str, Any]], label: str) -> dict[str, Any]:
    """The action Slack reports for a press of the button labelled ``label``."""
    block_id, button = find_button(blocks, label)
    return {
        "type": "button",
        "action_id": button["action_id"],
        "block_id": block_id,
        "value": button.get("value", ""),
        "text": button["text"],
        "action_ts": str(time.time()),
    }


def find_button(blocks: list[dict[str, Any]], label: str) -> tuple[str, dict[str, Any]]:
    for block in blocks:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("type") == "button" and element["text"]["text"] == label:
                return block["block_id"], element
        accessory = block.get("accessory") or {}
        if accessory.get("type") == "button" and accessory["text"]["text"] == label:
            return block["block_id"], accessory
    raise NotShown(f"no button labelled {label!r}; buttons: {button_labels(blocks)}")


def button_labels(blocks: list[dict[str, Any]]) -> list[str]:
    labels = []
    for block in blocks:
        for element in (block.get("elements") or []) + [block.get("accessory") or {}]:
            if isinstance(element, dict) and element.get("type") == "button":
                labels.append(element["text"]["text"])
    return labels


def find_input(view: dict[str, Any], label: str) -> tuple[str, dict[str, Any]]:
    for block in view.get("blocks", []):
        if block.get("type") == "input" and block["label"]["text"] == label:
            return block["block_id"], block["element"]
    labels = [b["label"]["text"] for b in view.get("blocks", []) if b.get("type") == "input"]
    raise NotShown(f"no input labelled {label!r}; inputs: {labels}")


def find_option(element: dict[str, Any], text: str | None) -> dict[str, Any]:
    for option in element.get("options", []):
        if option["text"]["text"] == text or option["text"]["text"].startswith(f"{text} "):
            return option
    shown = [o["text"]["text"] for o in element.get("options", [])]
    raise NotShown(f"no option {text!r}; options: {shown}")


def text_of(blocks: list[dict[str, Any]]) -> str:
    """Everything a person reads in these blocks, as one string."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                parts.append(node["text"])
            for key, value in node.items():
                if key != "text" or not isinstance(value, str):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return "\n".join(parts)
