"""The sandbox's world: refund-bot itself, on a SQLite file of its own loaded with the demo data, its Web API calls
answered by the Slack stand-in, the people who try it, and the clock they move.

It is a composition root, as ``app`` is: the same ``Instance`` (edge, Bolt, handlers, relay, ticker) on settings of
its own, with the app's injectable clock. The people act as Slack would have them act: every click, form and
command becomes the payload Slack sends, signed with the app's signing secret and posted to ``/slack/events``.
Nothing in the handlers knows it is in a sandbox.
"""

from __future__ import annotations

import base64
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from bot.app.runtime import Runtime, start
from bot.app.slack import Instance
from bot.blocks import ids
from bot.config import load_settings
from bot.domain.vocabulary import Assignment
from bot.sandbox.standin import SlackStandIn
from bot.sandbox.standin.people import Answer, SlackUser
from bot.sandbox.standin.state import TEAM, Message, Rules
from bot.services.importing import DEMO, demo_for, import_contracts, read_import_file
from storage.outbox import OutboxRepository
from storage.state import next_deadline, recent_ledger

# The Wednesday the demo data set (bot/demo.yaml) was written for: every item stands in or out of its windows as the
# file says.
START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
MEDIATORS_CHANNEL = "C0MEDIATORS"
LEDGER_SHOWN = 12
Attach = Callable[[str, str, bytes], dict[str, Any]]  # (name, type, content) → Slack's file object
PRIVATE_SHOWN = 5  # what someone was told privately, newest last


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: str  # client, freelancer or mediator
    tz: str  # what Slack knows of them: each sees dates in their own time
    locale: str  # and amounts and numbers as their Slack's language writes them


CLIENT = Person("U0CLIENT01", "Ada Client", "client", "America/New_York", "en-US")
FREELANCER = Person("U0FREELA01", "Bruno Freelancer", "freelancer", "Europe/Berlin", "de-DE")
MEDIATORS = (
    Person("U0MEDIATE1", "Chen Mediator", "mediator", "Asia/Singapore", "en-SG"),
    Person("U0MEDIATE2", "Dana Mediator", "mediator", "Europe/London", "en-GB"),  # a second mediator, for an appeal
    # The lead mediator: told when a mediators' deadline passes, and hands cases out from the desk.
    Person("U0MEDIATE3", "Lee Lead", "mediator", "America/Sao_Paulo", "pt-BR"),
)
LEAD = MEDIATORS[-1]
PEOPLE = (CLIENT, FREELANCER, *MEDIATORS)

# Settings that would tie the sandbox to a real workspace; start-up refuses them unless told to ignore them.
SLACK_CREDENTIALS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_CLIENT_ID")


class SandboxError(Exception):
    """What the page asked for cannot be done (a person, a message or an element that is not there)."""


class SandboxClock:
    """The app's clock in the sandbox: from the demo's Wednesday it runs as real time does, and the page moves it
    forward (never back: deadlines already acted on stay so)."""

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._began = time.monotonic()
        self._ahead = timedelta(0)
        self._lock = threading.Lock()
        self.moves = 0

    def __call__(self) -> datetime:
        with self._lock:
            return self._start + timedelta(seconds=time.monotonic() - self._began) + self._ahead

    def advance(self, span: timedelta) -> None:
        if span < timedelta(0):
            raise SandboxError("the clock only moves forward")
        with self._lock:
            self._ahead += span
            self.moves += 1


def real_credentials() -> list[str]:
    """The Slack credentials set here, in the environment or in .env, by their variable names (read as names only:
    a real install's other settings need not be valid for the sandbox to say so)."""
    found = dict(dotenv_values(".env")) if Path(".env").is_file() else {}
    found |= os.environ
    return [name for name in SLACK_CREDENTIALS if (found.get(name) or "").strip()]


class Sandbox:
    def __init__(
        self, runtime: Runtime, instance: Instance, standin: SlackStandIn, clock: SandboxClock, secret: str
    ) -> None:
        self.runtime = runtime
        self.instance = instance
        self.standin = standin
        self.clock = clock
        self.secret = secret
        self.app_url = ""  # where /slack/events is served, once it is (``start``)
        self.people = {person.id: person for person in PEOPLE}

    @classmethod
    def build(cls, database: Path, demo: Path = DEMO, rules: Rules | None = None) -> Sandbox:
        """The app on ``database`` (created and migrated; the demo data loaded), talking to a stand-in of its own.
        Its settings are the sandbox's own, bar the policy (POLICY_PRESET or POLICY_FILE, as for the app) and the
        log's: no real workspace's token, database, payments endpoint or API secret is ever used. ``rules``: what
        the stand-in holds the app's payloads to (none by default; the tests give it Slack's)."""
        standin = SlackStandIn(rules).start()
        clock = SandboxClock(START)
        standin.clock = lambda: clock().timestamp()
        standin.timezones |= {person.id: person.tz for person in PEOPLE}
        standin.locales |= {person.id: person.locale for person in PEOPLE}
        secret = secrets.token_hex(20)
        settings = load_settings(
            database_url=f"sqlite:///{database}",
            slack_bot_token="xoxb-sandbox",
            slack_signing_secret=secret,
            slack_app_token=None,
            slack_client_id=None,
            slack_client_secret=None,
            slack_api_url=standin.api_url,
            mediator_channel_id=MEDIATORS_CHANNEL,
            mediator_user_ids=[person.id for person in MEDIATORS],
            mediator_lead_ids=[LEAD.id],
            mediator_lead_usergroup_id=None,
            mediator_assignment=Assignment.OFF,  # the mediators claim, or the lead hands cases out
            mediator_usergroup_id=None,
            marketplace_api_secret=None,
            marketplace_api_keys={},
            payments_webhook_url=None,
            payments_webhook_secret=None,
            slack_pace_seconds=0,
            serve_workers=True,
        )
        try:
            runtime = start(settings)  # migrated, its policy registered; a StartupError says what is wrong
        except Exception:
            standin.stop()
            raise
        runtime.clock = clock
        # Every demo contract between the two people on the page (the file has a second client and freelancer).
        theirs = demo_for(TEAM, CLIENT.id, FREELANCER.id, START.date())
        import_contracts(read_import_file(demo, theirs), runtime.uow(), clock(), runtime.policy)
        instance = Instance.build(runtime)
        instance.workers.deps.roster.refresh()
        return cls(runtime, instance, standin, clock, secret)

    def start(self, app_url: str) -> None:
        """The relay and the ticker, as every instance runs them, once the app answers at ``app_url``."""
        self.app_url = app_url
        self.instance.start()

    def stop(self) -> None:
        self.instance.workers.shutdown(timeout=5)
        self.standin.stop()
        self.runtime.engine.dispose()

    # --- the people act -----------------------------------------------------------------------------------

    def user(self, user_id: str) -> SlackUser:
        if user_id not in self.people:
            raise SandboxError(f"{user_id!r} is not one of the sandbox's people")
        return SlackUser(self.standin, self.app_url, self.secret, user_id)

    def act(self, user_id: str, request: Mapping[str, Any]) -> dict[str, Any]:
        """One thing a person does, as Slack reports it to the app; then wait until what it caused is shown."""
        user = self.user(user_id)
        match request.get("do"):
            case "command":
                answer = user.command(str(request.get("text") or ""))
                if answer.status == 200 and isinstance(reply := answer.json, dict):
                    self.standin.tell(user_id, reply)  # a command's answer is shown to its sender alone
            case "shortcut":
                answer = user.shortcut(ids.SHORTCUT_REQUEST)
            case "home":
                answer = user.open_home()
            case "click":
                message = self._message(user_id, request)
                answer = user.act_in_message(message, _action(message.blocks, request))
            case "view_action":
                view = self._view(user_id, request)
                filled = {"state": {"values": _form_state(view, request.get("values"), self._attach(user_id))}}
                answer = user.act_in_view(view | filled, _action(view["blocks"], request))
            case "submit":
                view = self._view(user_id, request)
                answer = user.submit_state(view, _form_state(view, request.get("values"), self._attach(user_id)))
            case "close":
                self.standin.close_views(user_id)
                answer = Answer(200, "")
            case other:
                raise SandboxError(f"unknown action {other!r}")
        self.settle()
        return {"status": answer.status}

    def _attach(self, user_id: str) -> Attach:
        """A file the person picked from their computer, put into Slack as theirs, as a form's file input does."""

        def attach(name: str, kind: str, content: bytes) -> dict[str, Any]:
            return self.standin.add_file(user_id, name, content, mimetype=kind or None)

        return attach

    def _message(self, user_id: str, request: Mapping[str, Any]) -> Message:
        """A message the person can see: in their DM, the parties' group DM, or the mediators' channel."""
        found = self.standin.messages.get((str(request.get("channel")), str(request.get("ts"))))
        if found is None or found.channel not in self._channels(user_id):
            raise SandboxError("that message is not there")
        return found

    def _channels(self, user_id: str) -> set[str]:
        return {self.standin.dm_channel(user_id), self._shared(self.people[user_id])[0]}

    def _shared(self, person: Person) -> tuple[str, str]:
        """The channel a person reads beside their DM, and its name: the mediators' channel, or the parties' group
        DM, where each case has its thread."""
        if person.role == "mediator":
            return MEDIATORS_CHANNEL, "mediators"
        return self.standin.dm_channel(CLIENT.id, FREELANCER.id), "case threads"

    def _view(self, user_id: str, request: Mapping[str, Any]) -> dict[str, Any]:
        view_id = str(request.get("view_id"))
        home = self.standin.homes.get(user_id)
        if home is not None and home["id"] == view_id:
            return home
        shown = self.standin.open_view(user_id)
        if shown is None or shown["id"] != view_id:
            raise SandboxError("that form is no longer open")
        return shown

    def settle(self, seconds: float = 3.0) -> None:
        """Wait (a little) until the relay has shown what the last change queued, so the page sees it at once."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self.runtime.sessions() as session:
                if OutboxRepository(session).counts().get("pending", 0) == 0:
                    return
            time.sleep(0.05)

    # --- the clock ----------------------------------------------------------------------------------------

    def advance(self, *, hours: float = 0, to_next: bool = False) -> dict[str, Any]:
        """Move the clock forward by ``hours``, or just past the next moment a deadline acts; then let every
        deadline now due act (reminders, expiries), as the ticker would on its next round."""
        span = timedelta(hours=hours)
        if to_next:
            with self.runtime.sessions() as session:
                upcoming = next_deadline(session)
            if upcoming is None:
                raise SandboxError("no deadline is waiting")
            span = max(upcoming["at"] - self.clock(), timedelta(0)) + timedelta(seconds=1)
        if span <= timedelta(0):
            raise SandboxError("move the clock forward by some time")
        self.clock.advance(span)
        for _ in range(100):  # each tick takes a batch; a few rounds act on everything due
            if not self.instance.workers.tick():
                break
        self.instance.workers.deps.delivered()
        self.settle()
        return {"now": self.clock().isoformat()}

    # --- what the page shows ------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        with self.runtime.sessions() as session:
            upcoming = next_deadline(session)
            ledger = recent_ledger(session, LEDGER_SHOWN)
        with self.standin.lock:
            people = [self._seen_by(person) for person in PEOPLE]
            version = f"{self.standin.version}.{self.clock.moves}"
        return {
            "version": version,
            "now": self.clock().isoformat(),
            "policy": self.runtime.policy.version,
            "names": {person.id: person.name for person in PEOPLE} | {"U0BOT": "refund-bot"},
            "people": people,
            "next": upcoming and upcoming | {"at": upcoming["at"].isoformat()},
            "ledger": [entry | {"at": entry["at"].isoformat()} for entry in ledger],
        }

    def _seen_by(self, person: Person) -> dict[str, Any]:
        standin = self.standin
        modal = standin.open_view(person.id)
        shown: dict[str, Any] = {
            "id": person.id,
            "name": person.name,
            "role": person.role,
            "tz": person.tz,
            "locale": person.locale,
            "dms": [self._shown(m) for m in standin.dms(person.id)],
            "home": standin.homes.get(person.id),
            "modal": modal and {"view": modal, "errors": standin.views.errors.get(modal["id"], {})},
            # Numbered, so that a note its reader dismissed stays dismissed.
            "private": [{"n": n} | r for n, r in enumerate(standin.responses) if r.get("user") == person.id][
                -PRIVATE_SHOWN:
            ],
        }
        channel, name = self._shared(person)
        shown["channel"] = {"id": channel, "name": name, "messages": self._channel(channel)}
        return shown

    def _channel(self, channel: str) -> list[dict[str, Any]]:
        return [
            self._shown(root, [self._shown(reply) for reply in self.standin.replies(channel, root.ts)])
            for root in self.standin.channel_messages(channel)
        ]

    @staticmethod
    def _shown(message: Message, replies: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return {
            "channel": message.channel,
            "ts": message.ts,
            "text": message.text,
            "blocks": message.blocks,
            "edited": message.updates > 0,
            "files": [{"name": f["name"], "size": f["size"]} for f in message.files],
            "replies": replies or [],
        }


def _element(blocks: list[dict[str, Any]], block_id: str, action_id: str) -> dict[str, Any]:
    """The interactive element a person used, found in what they were shown (never taken from the page)."""
    for block in blocks:
        if block.get("block_id") != block_id:
            continue
        candidates = [*(block.get("elements") or []), block.get("accessory") or {}, block.get("element") or {}]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element
    raise SandboxError("that button or select is not there any more")


def _action(blocks: list[dict[str, Any]], request: Mapping[str, Any]) -> dict[str, Any]:
    """The action Slack reports for a use of an element: a press, or a choice among its own options."""
    block_id, action_id = str(request.get("block_id")), str(request.get("action_id"))
    element = _element(blocks, block_id, action_id)
    action: dict[str, Any] = {
        "type": element["type"],
        "action_id": action_id,
        "block_id": block_id,
        "action_ts": f"{time.time():.6f}",
    }
    match element["type"]:
        case "button":
            return action | {"value": element.get("value", ""), "text": element["text"]}
        case "static_select" | "radio_buttons":
            return action | {"selected_option": _option(element, request.get("selected"))}
        case "multi_static_select" | "checkboxes":
            chosen = request.get("selected") or []
            return action | {"selected_options": [_option(element, value) for value in chosen]}
        case "users_select":
            return action | {"selected_user": str(request.get("selected") or "")}
    raise SandboxError(f"a {element['type']} cannot be used that way")


def _option(element: dict[str, Any], value: Any) -> dict[str, Any]:
    for option in element.get("options") or []:
        if option.get("value") == value:
            return option
    raise SandboxError(f"{value!r} is not one of the options")


def _form_state(view: dict[str, Any], typed: Any, attach: Attach) -> dict[str, dict[str, Any]]:
    """The inputs of ``view`` as the page filled them (block id → action id → a value, a list of option values,
    or the files picked: name, type and base64 content), in the shape Slack reports as ``view.state.values``, each
    option taken from the view itself and each file put into Slack by ``attach``."""
    if typed is not None and not isinstance(typed, dict):
        raise SandboxError("a form's values are block id → action id → value")
    state: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks") or []:
        if block.get("type") != "input":
            continue
        element, given = block["element"], (typed or {}).get(block["block_id"]) or {}
        value = given.get(element["action_id"]) if isinstance(given, dict) else None
        kind = element["type"]
        if kind in ("static_select", "radio_buttons"):
            entry = {"type": kind, "selected_option": _option(element, value) if value else None}
        elif kind in ("multi_static_select", "checkboxes"):
            entry = {"type": kind, "selected_options": [_option(element, v) for v in value or []]}
        elif kind == "users_select":
            entry = {"type": kind, "selected_user": str(value) if value else None}
        elif kind == "file_input":
            entry = {"type": kind, "files": [attach(*_picked(each)) for each in value or []]}
        else:
            entry = {"type": kind, "value": str(value) if value not in (None, "") else None}
        state[block["block_id"]] = {element["action_id"]: entry}
    return state


def _picked(file: Any) -> tuple[str, str, bytes]:
    """A file the page read from the person's computer: (name, type, content)."""
    if not isinstance(file, dict) or not isinstance(file.get("name"), str) or not isinstance(file.get("data"), str):
        raise SandboxError("a file is sent as its name, type and base64 content")
    try:
        content = base64.b64decode(file["data"], validate=True)
    except ValueError:
        raise SandboxError(f"{file['name']!r} is not base64") from None
    return file["name"][:255], str(file.get("type") or ""), content
