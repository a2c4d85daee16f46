"""Whose token a call to Slack goes with: the one workspace's bot token, or each installed workspace's own.

In OAuth mode (SLACK_CLIENT_ID) every workspace that installed the app has an installation in slack-sdk's
``SQLAlchemyInstallationStore``. Bolt finds it for each request Slack sends; the relay and the roster, which call
Slack on their own, find it here. A token that expires soon (token rotation) is refreshed first with slack-sdk's
``TokenRotator`` and the installation saved again, as Bolt's own authorize does, so either may rotate it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError, SlackTokenRotationError
from slack_sdk.oauth.installation_store import Installation, InstallationStore
from slack_sdk.oauth.token_rotation import TokenRotator

log = logging.getLogger("refundbot")
# Bolt's default: a token is rotated when it expires within this many minutes.
ROTATE_BEFORE_MINUTES = 120
# How long a found installation is used without looking again (an uninstall or rotation elsewhere shows after).
KEPT_SECONDS = 60.0


class NotInstalled(Exception):
    """The workspace has no installation: never installed, uninstalled, or its tokens revoked."""

    def __init__(self, team_id: str) -> None:
        super().__init__(f"refund-bot is not installed in workspace {team_id} (uninstalled, or tokens revoked)")
        self.team_id = team_id


class Workspaces(Protocol):
    def client(self, team_id: str) -> WebClient:
        """A client carrying the workspace's bot token; NotInstalled when there is none."""
        ...


class OneWorkspace:
    """SLACK_BOT_TOKEN: every call goes with it."""

    def __init__(self, client: WebClient) -> None:
        self._client = client

    def client(self, team_id: str) -> WebClient:
        return self._client


class Installed:
    """OAuth: each workspace's own bot token, from the installation store, rotated before it expires."""

    def __init__(
        self,
        store: InstallationStore,
        rotator: TokenRotator,
        make_client: Callable[[str], WebClient],
        rotate_before_minutes: int = ROTATE_BEFORE_MINUTES,
    ) -> None:
        self.store = store
        self.rotator = rotator
        self.make_client = make_client
        self.rotate_before_minutes = rotate_before_minutes
        self._lock = threading.Lock()  # one rotation at a time in this process: a refresh token is spent by it
        # team → (its installation, its client, found at)
        self._found: dict[str, tuple[Installation, WebClient, float]] = {}

    def installation(self, team_id: str) -> Installation:
        """The workspace's installation, its bot token fresh: read from the store at most once a minute, and
        again (rotated) when the token expires soon. NotInstalled when there is none."""
        return self._get(team_id)[0]

    def client(self, team_id: str) -> WebClient:
        return self._get(team_id)[1]

    def forget(self, team_id: str) -> None:
        """The workspace's installation changed here (uninstalled, tokens revoked): read it again next time."""
        with self._lock:
            self._found.pop(team_id, None)

    def _get(self, team_id: str) -> tuple[Installation, WebClient, float]:
        with self._lock:
            kept = self._found.get(team_id)
            now = time.time()
            if kept is not None:
                expires_at = kept[0].bot_token_expires_at
                soon = expires_at is not None and expires_at - now < self.rotate_before_minutes * 60
                if now - kept[2] < KEPT_SECONDS and not soon:
                    return kept
            installation = self.store.find_installation(enterprise_id=None, team_id=team_id)
            if installation is None or not installation.bot_token:
                self._found.pop(team_id, None)
                raise NotInstalled(team_id)
            try:
                rotated = self.rotator.perform_token_rotation(
                    installation=installation, minutes_before_expiration=self.rotate_before_minutes
                )
            except (SlackTokenRotationError, SlackApiError, SlackRequestError, OSError) as failed:
                expires_at = installation.bot_token_expires_at
                if expires_at is not None and expires_at <= now:
                    raise
                # Rotation starts hours before expiry: the token still works, and the next use tries again.
                log.warning("workspace %s: rotating its token failed (%s); the current one is used", team_id, failed)
                rotated = None
            if rotated is not None:
                self.store.save(rotated)
                installation = rotated
            found = self._found[team_id] = (installation, self.make_client(installation.bot_token or ""), now)
            return found
