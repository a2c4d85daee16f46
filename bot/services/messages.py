"""What a state change asks Slack to show: outbox messages, written in the same transaction as the change.

A message names a *surface* (which builder in ``bot.blocks`` renders it) and a *view* (plain JSON values the
builder needs), so the relay renders at send time with whatever it then knows (the thread's permalink).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Target:
    """Where a message goes: a DM, the case's group DM, a channel, a reply in a kept message's thread,
    a response_url, or a person's App Home."""

    kind: str  # "dm" | "group" | "channel" | "thread" | "response_url" | "home"
    users: tuple[str, ...] = ()
    parent_key: str | None = None
    url: str | None = None
    channel: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "users": list(self.users),
            "parent_key": self.parent_key,
            "url": self.url,
            "channel": self.channel,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Target:
        return cls(
            data["kind"], tuple(data.get("users") or ()), data.get("parent_key"), data.get("url"), data.get("channel")
        )


def dm(user: str) -> Target:
    return Target("dm", users=(user,))


def group(*users: str) -> Target:
    return Target("group", users=users)


def channel(channel_id: str) -> Target:
    return Target("channel", channel=channel_id)


def thread(parent_key: str) -> Target:
    return Target("thread", parent_key=parent_key)


def home(user: str) -> Target:
    return Target("home", users=(user,))


def response_url(url: str, user: str) -> Target:
    """A private answer to ``user``'s click, posted to the click's response_url."""
    return Target("response_url", users=(user,), url=url)


@dataclass(frozen=True)
class OutboxMessage:
    stream: str  # messages of one stream (a case) are delivered in order
    dedupe_key: str  # the same key twice is queued once
    target: Target
    surface: str
    view: dict[str, Any] = field(default_factory=dict)
    message_key: str | None = None  # set for messages kept up to date: the first is posted, later ones update it
