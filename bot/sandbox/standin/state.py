"""What the stand-in keeps of Slack (calls, messages, modals, an OAuth app's grants) and the rules and faults it
answers by: its own Slack rate limits, and 429s, 500s and slow answers on demand."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TEAM = "T0DEMO01"
TRIGGER_LIFETIME = 3.0
# "You can use response_url to publish up to 5 times within 30 minutes" (Slack: handling user interaction).
RESPONSE_URL_POSTS = 5
RESPONSE_URL_LIFETIME = 30 * 60.0
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
    "files.info": 100,
    "files.getUploadURLExternal": 100,
    "files.completeUploadExternal": 100,
}
# "Posting messages: 1 per second. Short bursts >1 allowed."
POSTS_PER_SECOND, POST_BURST = 1.0, 3
# Since 2025, for an app distributed outside the Slack Marketplace: one call a minute, 15 messages at most.
LOOKUPS = ("conversations.history", "conversations.replies")
LOOKUP_LIMIT = 15


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
    files: list[dict[str, Any]] = field(default_factory=list)  # Slack's file objects it shows
    user: str | None = None  # who posted it, where a person did


@dataclass
class Fault:
    status: int
    times: int
    retry_after: int | None = None
    delay: float = 0.0
    error: str | None = None  # with status 200: Slack's ok=false answer
    drop: bool = False  # the call is carried out, then the connection closes before the answer is sent


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
