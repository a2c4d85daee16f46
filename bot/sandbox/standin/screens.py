"""What the stand-in shows a person apart from messages: modals (views.open, push, update and publish, each with
its trigger id valid once within 3 s) and private answers through a click's response_url."""

from __future__ import annotations

import time
from typing import Any

from bot.sandbox.standin.state import RESPONSE_URL_LIFETIME, RESPONSE_URL_POSTS, TRIGGER_LIFETIME, decoded


class Screens:
    """The view and response_url methods of ``SlackStandIn``, which holds their state."""

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
        if view_id not in self.views.by_id or view_id in self.views.closed:  # a closed modal is gone
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
