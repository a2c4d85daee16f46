"""Who is who in the stand-in: an app distributed by OAuth (its grants and tokens), auth.test, users.info and
user groups."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.sandbox.standin.state import TEAM, OAuthApp


class Workspaces:
    """The workspace methods of ``SlackStandIn``, which holds their state."""

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
