"""The WebClients refund-bot talks to Slack with, one per kind of work, each with only the retries that work can
afford: a listener's calls must fit in a trigger's life, the relay's must never post twice, and nothing sleeps
through a rate limit's Retry-After."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, ServerErrorRetryHandler

from bot.metrics import CountedWebClient

# views.open and views.update from a listener: a trigger id lives 3 s from the click, and the ack must follow
# the call; a slower answer is a failure, told to the person, and never retried (the trigger would be spent).
LISTENER_TIMEOUT = 2.0


def listener_client(base_url: str) -> WebClient:
    """The WebClient Bolt hands to the listeners (its token comes with each request): no retries, and a timeout
    that fits inside the trigger's life."""
    return CountedWebClient(base_url=base_url, timeout=LISTENER_TIMEOUT, retry_handlers=[])  # type: ignore[arg-type]


def web_client(token: str | None, base_url: str, timeout: int = 10) -> WebClient:
    """The WebClient of the work off the request path (the mediators' user group, token rotation): Slack's own
    retry handlers for 5xx and dropped connections, one quick retry each. A 429 is not slept through: its
    Retry-After may be minutes, and a rotation holds every request of its workspace meanwhile; the roster keeps
    its last list and a token its current value, and both try again later."""
    return CountedWebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1), ServerErrorRetryHandler(max_retry_count=1)],
    )


class _NeverSent(ConnectionErrorRetryHandler):
    """Retries a connection only when it was refused: that request never reached Slack. A reset or a 5xx may
    come after Slack posted, and a blind retry would post twice; the relay decides those, looking first."""

    def _can_retry(self, *, error: Exception | None = None, **_: Any) -> bool:
        return error is not None and never_sent(error)


def relay_client(token: str | None, base_url: str, timeout: int = 10) -> WebClient:
    """The relay's WebClient: only the retries that cannot double a message. A 429 is not retried here: the
    relay holds its scope (``SlackLimits``) and the row waits, while a sleeping retry would hold the batch."""
    return CountedWebClient(
        token=token, base_url=base_url, timeout=timeout, retry_handlers=[_NeverSent(max_retry_count=1)]
    )


def never_sent(exc: BaseException) -> bool:
    """The connection was refused: the request never reached Slack, so trying again cannot double it."""
    return isinstance(getattr(exc, "reason", exc), ConnectionRefusedError)
