"""Composition root: settings → database (migrated) → policy → Slack app, relay, HTTP or Socket Mode.

`python app.py` and `refundbot serve` are the same entry point.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from slack_bolt import App, BoltContext
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.oauth.installation_store import InstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot import api, logs, metrics
from bot.blocks.render import render
from bot.config import ConfigError, Settings, load_settings
from bot.domain.policy import Policy
from bot.edge import Edge
from bot.handlers import errors, register
from bot.payouts import PayoutSender
from bot.relay import ALARM_AFTER, Relay, listener_client, relay_client, web_client
from bot.services import scheduler
from bot.services.core import Deps
from bot.services.payments import LedgerOnly, Webhook
from bot.services.ports import StorageUnavailable
from bot.services.roster import GroupMembers, Roster
from bot.workspaces import Installed, Workspaces
from storage.api_requests import ApiRequests
from storage.db import DatabaseAhead, DatabaseError, open_existing, pending_migrations, prepare, session_factory
from storage.outbox import OutboxRepository
from storage.repositories import PolicyConflict
from storage.state import operations
from storage.uow import SqlUnitOfWork
from storage.workspaces import WorkspaceDesks

log = logging.getLogger("refundbot")
# An install begun at /slack/install must come back from Slack within this many seconds.
OAUTH_STATE_SECONDS = 600

NO_SLACK = """refund-bot cannot start: Slack credentials are missing ({missing}).
Set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (HTTP mode), or SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode),
or for installs in many workspaces SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET (OAuth),
in the environment or in a .env file here. To get them, create the Slack app from manifest.yml:
api.slack.com/apps → Create New App → From a manifest → paste manifest.yml → Install to Workspace; the README's
"Creating the Slack app" section says where each value is.
To try it first without Slack, in a browser: ./dev run sandbox"""


class StartupError(Exception):
    """Why refund-bot cannot start, in one line for the operator."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    policy: Policy
    clock: Callable[[], datetime] = utc_now

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.sessions)


def build_runtime(settings: Settings, now: datetime) -> Runtime:
    engine = prepare(settings.database_url)
    sessions = session_factory(engine)
    policy = settings.policy()
    with SqlUnitOfWork(sessions) as uow:
        uow.policies.register(policy, now)
        uow.commit()
    return Runtime(settings, engine, sessions, policy)


def settings_or_fail(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        raise StartupError(f"configuration: {exc}") from None


def existing(settings: Settings | None = None) -> Runtime:
    """The runtime of the commands that only look at the app's database or tidy it: nothing is created,
    migrated or registered (StartupError otherwise, as for ``start``)."""
    settings = settings or settings_or_fail()
    try:
        engine = open_existing(settings.database_url)
    except DatabaseError as exc:
        raise StartupError(str(exc)) from None
    return Runtime(settings, engine, session_factory(engine), settings.policy())


def start(settings: Settings | None = None) -> Runtime:
    """Everything start-up can trip on becomes a StartupError with a readable line, never a traceback."""
    try:
        return build_runtime(settings or settings_or_fail(), utc_now())
    except (DatabaseError, PolicyConflict) as exc:
        raise StartupError(str(exc)) from None


def state_of(runtime: Runtime) -> metrics.State:
    def read(now: datetime) -> dict[str, Any]:
        with runtime.sessions() as session:
            return operations(session, now)

    return read


def readiness(engine: Engine, now: datetime) -> tuple[int, dict[str, Any]]:
    """GET /readyz: this instance can serve. The database answers, its schema is current, and the outbox is
    moving: a pending message older than the relay's alarm means Slack has not heard of a change for that
    long (Slack down, a revoked token), which an operator must see before anyone trusts the answers."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        if pending := pending_migrations(engine):
            return 503, {"status": "unready", "migrations_pending": pending}
        with session_factory(engine)() as session:
            oldest = OutboxRepository(session).oldest_pending()
    except SQLAlchemyError as exc:
        return 503, {"status": "unready", "database": " ".join(str(exc.orig or exc).split())[:300]}
    except DatabaseAhead as ahead:
        return 503, {"status": "unready", "database": str(ahead)}
    if oldest is not None and now - oldest[0] > ALARM_AFTER:
        waited = str(now - oldest[0]).split(".")[0]
        stuck = {"oldest_pending": f"case {oldest[1]}, waiting {waited}", "last_error": oldest[2]}
        return 503, {"status": "unready", "outbox": stuck}
    return 200, {"status": "ready", "database": "reachable", "migrations": "current", "outbox": "moving"}


def purge_outbox(runtime: Runtime, batch: int = 5_000) -> int:
    """Forget sent messages past the retention period, a batch per transaction so no lock is held long."""
    before = runtime.clock() - timedelta(days=runtime.settings.outbox_retention_days)
    purged = 0
    while True:
        with runtime.sessions.begin() as session:
            done = OutboxRepository(session).purge_sent(before, batch)
        purged += done
        if done < batch:
            return purged


@dataclass
class Workers:
    """What works off the request path: the outbox relay and the deadline ticker. Every HTTP instance runs
    them; `refundbot worker` runs only them, and `refundbot tick --once` one sweep of them."""

    runtime: Runtime
    client: WebClient
    relay: Relay
    deps: Deps
    owner: str
    payouts: PayoutSender | None = None  # PAYMENTS_WEBHOOK_URL is set
    installations: SQLAlchemyInstallationStore | None = None  # OAuth: the workspaces that installed the app
    stop: threading.Event = field(default_factory=threading.Event)
    database_warned_at: float = -60.0
    running: list[threading.Thread | BackgroundScheduler] = field(default_factory=list)

    @classmethod
    def build(cls, runtime: Runtime) -> Workers:
        settings = runtime.settings
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"  # whose leases these are
        base_url = settings.slack_api_url
        installations = None
        if settings.oauth:
            installations = SQLAlchemyInstallationStore(settings.slack_client_id or "", runtime.engine)
            rotator = TokenRotator(
                client_id=settings.slack_client_id or "",
                client_secret=settings.slack_client_secret.get_secret_value() if settings.slack_client_secret else "",
                client=web_client(None, base_url),
            )
            slack: WebClient | Workspaces = Installed(
                installations, rotator, lambda token: relay_client(token, base_url)
            )
            client = web_client(None, base_url)  # no workspace's: each call names its token
            group = None  # a user group belongs to one workspace: each workspace's desk names its own
        else:
            token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
            client = web_client(token, base_url)
            slack = relay_client(token, base_url)
            group = _usergroup(client, settings.mediator_usergroup_id)
        pace = timedelta(seconds=settings.slack_pace_seconds)
        relay = Relay(runtime.sessions, slack, render, owner=owner, clock=runtime.clock, pace=pace)
        roster = Roster(
            frozenset(settings.mediator_user_ids), group, WorkspaceDesks(runtime.sessions), _group_members(relay)
        )
        webhook = settings.payments_webhook_url
        payouts: PayoutSender | None = None

        def delivered() -> None:  # a commit queued Slack messages, and perhaps a payout
            relay.wake.set()
            if payouts is not None:
                payouts.wake.set()

        deps = Deps(
            uow=runtime.uow,
            clock=runtime.clock,
            policy=runtime.policy,
            payments=Webhook() if webhook else LedgerOnly(),
            roster=roster,
            mediator_channel=settings.mediator_channel_id,
            delivered=delivered,
        )
        if webhook and settings.payments_webhook_secret:
            secret = settings.payments_webhook_secret.get_secret_value()
            payouts = PayoutSender(runtime.sessions, deps, webhook, secret, owner=owner, clock=runtime.clock)
        return cls(runtime, client, relay, deps, owner, payouts, installations)

    def tick(self) -> int:
        try:
            return scheduler.tick(self.deps, self.owner)
        except StorageUnavailable as down:  # the next tick tries again; one line a minute says why
            if time.monotonic() - self.database_warned_at >= 60:
                self.database_warned_at = time.monotonic()
                log.warning("ticker: the database is unavailable (%s); deadlines wait for it", down)
            return 0

    def sweep(self) -> tuple[int, int]:
        """Tick until nothing is due, then deliver until the outbox has nothing due: (deadlines acted on,
        messages attempted)."""
        acted = sent = 0
        while batch := self.tick():
            acted += batch
        while batch := self.relay.run_once():
            sent += batch
        while self.payouts is not None and (batch := self.payouts.run_once()):
            sent += batch
        return acted, sent

    def purge(self) -> int:
        try:
            return purge_outbox(self.runtime)
        except SQLAlchemyError as exc:  # the next hour's purge tries again
            log.warning("outbox: purging sent messages failed (%s)", _one_line(exc))
            return 0

    def start(self, tick_seconds: float = 5.0) -> BackgroundScheduler:
        """The relay thread, and APScheduler as a ticker only: the deadlines are rows, claimed by every tick.
        Jitter keeps several instances started together from ticking in step. The mediator user group is
        listed off the request path: now, then every few minutes."""
        relaying = threading.Thread(target=self.relay.run, args=(self.stop,), name="slack-relay", daemon=True)
        relaying.start()
        if self.payouts is not None:
            paying = threading.Thread(target=self.payouts.run, args=(self.stop,), name="payouts", daemon=True)
            paying.start()
            self.running.append(paying)
        ticker = BackgroundScheduler(timezone=UTC, daemon=True)
        ticker.add_job(
            self.tick, "interval", seconds=tick_seconds, jitter=tick_seconds / 5, max_instances=1, coalesce=True
        )
        ticker.add_job(
            self.deps.roster.refresh, "interval", minutes=5, next_run_time=utc_now(), max_instances=1, coalesce=True
        )
        ticker.add_job(self.purge, "interval", hours=1, jitter=300, max_instances=1, coalesce=True)
        ticker.start()
        self.running += [ticker, relaying]
        return ticker

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop ticking and relaying once the tick and the relay's batch under way are done, so that what they
        hold is recorded rather than left leased for another instance to take over minutes later."""
        self.stop.set()
        self.deps.delivered()  # wakes the relays to see the stop
        for part in self.running:
            if isinstance(part, BackgroundScheduler):
                part.shutdown(wait=True)
            else:
                part.join(timeout)
        self.running.clear()


class TokenRefused(Exception):
    """Slack answered, and refused a token: no retry can help, the operator must change it. The message names
    the token and Slack's error, in one line."""


def _transient(exc: SlackApiError) -> bool:
    """Slack failing or busy, not refusing: worth waiting out."""
    return exc.response.status_code >= 500 or exc.response.status_code == 429


@dataclass
class SlackLink:
    """Who the app is in Slack (auth.test), learnt off the request path: neither start-up nor a worker's restart
    waits on Slack, and a request never calls auth.test. Bolt asks ``authorize`` for every request."""

    client: WebClient
    token: str
    bot_user_id: str | None = None
    bot_id: str | None = None

    def check(self) -> str | None:
        """Ask Slack once. None when it knows the token; why not, when it cannot be reached or is failing;
        TokenRefused when it refuses the token."""
        try:
            answer = self.client.auth_test(token=self.token)
        except SlackApiError as exc:
            error = exc.response.get("error")
            if _transient(exc) or not error:
                return f"Slack answered HTTP {exc.response.status_code}"
            raise TokenRefused(f"Slack refused SLACK_BOT_TOKEN ({error})") from None
        except (SlackRequestError, OSError) as exc:
            return _one_line(exc)
        self.bot_user_id, self.bot_id = answer.get("user_id"), answer.get("bot_id")
        return None

    def keep_trying(self, stop: threading.Event) -> None:
        """Until Slack answers, backing off from 1 s to a minute. Start-up has already warned if Slack could not
        be reached (one warning, not one per worker); this says when it can again."""
        wait, failed = 1.0, False
        while not stop.is_set():
            try:
                why = self.check()
            except TokenRefused as refused:
                log.error("%s: no Slack call can succeed until it is replaced", refused)
                return
            if why is None:
                if failed:
                    log.info("Slack is reachable again")
                return
            failed = True
            stop.wait(wait)
            wait = min(wait * 2, 60.0)

    def authorizer(self) -> Callable[..., AuthorizeResult]:
        """Bolt's ``authorize``: a plain function, since Bolt passes what it asks for by argument name."""

        def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
            return AuthorizeResult(
                enterprise_id=enterprise_id,
                team_id=team_id,
                bot_token=self.token,
                bot_user_id=self.bot_user_id,
                bot_id=self.bot_id,
            )

        return authorize


@dataclass
class Instance:
    """One running refund-bot: its Slack app, its workers, and the HTTP entry points."""

    runtime: Runtime
    app: App
    workers: Workers
    link: SlackLink

    @classmethod
    def build(cls, runtime: Runtime) -> Instance:
        """No call to Slack here: a worker that restarts while Slack is down still serves."""
        workers = Workers.build(runtime)
        settings = runtime.settings
        secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
        listeners = listener_client(settings.slack_api_url)
        link = SlackLink(listeners, token)
        if workers.installations is not None:
            app = App(
                client=listeners,
                signing_secret=secret,
                installation_store=workers.installations,
                oauth_settings=_oauth_settings(settings, workers.installations, runtime.engine),
                request_verification_enabled=False,  # the edge checks every signature, once (bot.edge)
                process_before_response=True,
            )
            app.enable_token_revocation_listeners()  # app_uninstalled, tokens_revoked: the installation goes
        else:
            app = App(
                client=listeners,
                signing_secret=secret,
                authorize=link.authorizer(),
                request_verification_enabled=False,
                process_before_response=True,
            )
        app.use(_counted_client)
        register(app, workers.deps)
        return cls(runtime, app, workers, link)

    def start(self) -> None:
        """The workers (unless SERVE_WORKERS=false gives them a process of their own), and learning who the app
        is in Slack, in the background."""
        if self.runtime.settings.serve_workers:
            self.workers.start()
        if not self.runtime.settings.oauth:  # each installation's token is checked as it is installed
            learn = threading.Thread(target=self.link.keep_trying, args=(self.workers.stop,), daemon=True)
            learn.start()

    def asgi(self) -> Edge:
        secret = self.runtime.settings.slack_signing_secret
        engine = self.runtime.engine
        runtime = self.runtime
        ready = lambda: readiness(engine, runtime.clock())  # noqa: E731
        watched = lambda: metrics.exposition(state_of(runtime), runtime.clock)  # noqa: E731
        endpoints, documents = {}, {}
        if (pushed := runtime.settings.marketplace_api_secret) is not None:
            requests = ApiRequests(runtime.sessions)
            push = api.ContractsApi(pushed.get_secret_value(), runtime.uow, requests, runtime.clock, runtime.policy)
            endpoints, documents = {api.PATH: push}, {api.OPENAPI_PATH: api.openapi()}
        signing = secret.get_secret_value() if secret else ""
        return Edge(self.app, signing, ready, watched, endpoints, documents, errors.screen)


def _counted_client(context: BoltContext, next: Callable[[], None]) -> None:
    """Bolt makes each request's WebClient itself; the listeners get the same one, counting its calls."""
    given = context.client
    context["client"] = metrics.CountedWebClient(
        token=given.token,
        base_url=given.base_url,
        timeout=given.timeout,
        ssl=given.ssl,
        proxy=given.proxy,
        headers=given.headers,
        team_id=context.team_id,
        logger=given.logger,
        retry_handlers=given.retry_handlers,
    )
    next()


def _oauth_settings(settings: Settings, installations: InstallationStore, engine: Engine) -> OAuthSettings:
    """Bolt's OAuth flow under its own setting names, its state kept in our database (any instance may finish
    an install another began)."""
    return OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value() if settings.slack_client_secret else None,
        scopes=settings.slack_scopes,
        user_scopes=settings.slack_user_scopes,
        redirect_uri=settings.slack_redirect_uri,
        install_path=settings.slack_install_path,
        redirect_uri_path=settings.slack_redirect_uri_path,
        installation_store=installations,
        state_store=SQLAlchemyOAuthStateStore(expiration_seconds=OAUTH_STATE_SECONDS, engine=engine),
    )


def _group_members(relay: Relay) -> GroupMembers:
    """A workspace's user group, listed with that workspace's token."""

    def members(team_id: str | None, group_id: str) -> set[str]:
        client = relay.workspaces.client(team_id or "")
        return set(client.usergroups_users_list(usergroup=group_id)["users"] or [])

    return members


def _usergroup(client: WebClient, group_id: str | None) -> Callable[[], set[str]] | None:
    if group_id is None:
        return None
    return lambda: set(client.usergroups_users_list(usergroup=group_id)["users"])


def _check_slack(settings: Settings) -> None:
    if settings.oauth:
        if settings.slack_signing_secret is None:
            raise StartupError(NO_SLACK.format(missing="SLACK_SIGNING_SECRET"))
        return
    socket_mode = settings.slack_app_token is not None
    missing = [
        name
        for name, value in (
            ("SLACK_BOT_TOKEN", settings.slack_bot_token),
            (
                "SLACK_APP_TOKEN" if socket_mode else "SLACK_SIGNING_SECRET",
                settings.slack_app_token if socket_mode else settings.slack_signing_secret,
            ),
        )
        if value is None
    ]
    if missing:
        raise StartupError(NO_SLACK.format(missing=", ".join(missing)))


def serve_http(settings: Settings) -> None:
    """Production HTTP: gunicorn managing uvicorn workers (an event loop each, Bolt and the database on a few
    threads: see bot.edge); each worker builds its own instance after the fork, without calling Slack."""
    from gunicorn.app.base import BaseApplication
    from gunicorn.glogging import Logger

    class Logs(Logger):  # type: ignore[misc]
        """Gunicorn's own lines (workers booting, exiting) in the process's format, not in one of its own."""

        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            for own in (self.error_log, self.access_log):
                own.handlers.clear()
                own.propagate = True

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("logger_class", Logs)
            self.cfg.set("bind", f"0.0.0.0:{settings.port}")
            self.cfg.set("workers", settings.web_concurrency)
            self.cfg.set("worker_class", "uvicorn_worker.UvicornWorker")
            self.cfg.set("timeout", 30)

        def load(self) -> Callable[..., Any]:
            instance = Instance.build(start())
            instance.start()
            return instance.asgi()

    Server().run()


def socket_mode_handler(instance: Instance, app_token: str) -> SocketModeHandler:
    """Development: the app connects out to Slack over a WebSocket, so no public URL is needed."""
    return SocketModeHandler(instance.app, app_token)


def health_server(port: int, ready: Callable[[], tuple[int, dict[str, Any]]]) -> ThreadingHTTPServer:
    """/healthz and /readyz for Socket Mode, which has no HTTP of its own for a probe to ask."""

    class Probe(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/healthz":
                status, report = 200, {"status": "alive"}
            elif self.path == "/readyz":
                status, report = ready()
            else:
                status, report = 404, {"status": "not found"}
            body = json.dumps(report).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:  # a probe every few seconds is not news
            pass

    server = ThreadingHTTPServer(("0.0.0.0", port), Probe)
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server


def serve_socket_mode(app_token: str) -> None:
    """Until SIGTERM or SIGINT: then the connection closes and the ticker and relay finish what they hold."""
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    instance = Instance.build(start())
    instance.start()
    runtime = instance.runtime
    if runtime.settings.health_port is not None:
        health_server(runtime.settings.health_port, lambda: readiness(runtime.engine, runtime.clock()))
    handler = socket_mode_handler(instance, app_token)
    wait, warned = 1.0, False
    while not stopped.is_set():
        try:
            handler.connect()
            break
        except (SlackRequestError, SlackApiError, OSError) as exc:
            if not warned:
                log.warning("Socket Mode cannot connect to Slack (%s); retrying in the background", _one_line(exc))
                warned = True
            stopped.wait(wait)
            wait = min(wait * 2, 60.0)
    if warned and not stopped.is_set():
        log.info("Socket Mode connected")
    stopped.wait()
    log.info("refund-bot stopping: closing the Socket Mode connection, then the ticker and the relay")
    handler.close()
    instance.workers.shutdown()
    log.info("refund-bot stopped")


def _check_app_token(link: SlackLink, app_token: str) -> str | None:
    """Socket Mode's token, asked of Slack once: TokenRefused names it; a reason when Slack cannot be reached."""
    try:
        link.client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        if _transient(exc):
            return f"Slack answered HTTP {exc.response.status_code}"
        raise TokenRefused(
            f"Slack refused SLACK_APP_TOKEN ({exc.response.get('error')}): it must be the app-level token (xapp-…) "
            "with the connections:write scope, from Basic Information → App-Level Tokens"
        ) from None
    except (SlackRequestError, OSError) as exc:
        return _one_line(exc)
    return None


def _one_line(error: BaseException) -> str:
    return " ".join(str(getattr(error, "reason", None) or error).split())[:200] or type(error).__name__


def start_line(settings: Settings) -> str:
    """What an operator checks first in a log: how it serves, on which database (never its password), under
    which policy."""
    if settings.slack_app_token is not None:
        mode = "Socket Mode"
    else:
        mode = f"HTTP on port {settings.port} ({settings.web_concurrency} worker(s))"
    if settings.oauth:
        mode += f", OAuth installs at {settings.slack_install_path}"
    relay = "relay and ticker in each worker" if settings.serve_workers else "relay and ticker in `refundbot worker`"
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    return f"refund-bot serving {mode}; database {database}; policy {settings.policy().version}; {relay}"


def setup_logging() -> None:
    """LOG_LEVEL and LOG_FORMAT for this process. A bad setting is reported by whatever loads the settings
    next, in its one line; until then the defaults stand in."""
    try:
        settings = load_settings()
        logs.configure(settings.log_level, settings.log_format)
    except ConfigError:
        logs.configure()
    # Bolt reads SLACK_BOT_TOKEN from the environment itself and warns that it goes unused: the token reaches it
    # through ``authorize`` instead (SlackLink), so the warning says nothing true.
    logging.getLogger("slack_bolt.App").addFilter(lambda record: "will be unused" not in record.getMessage())


def _count_across_workers() -> None:
    """prometheus-client's multiprocess mode must be chosen before it is first imported, and gunicorn's
    workers are forks of this process: so a start without PROMETHEUS_MULTIPROC_DIR starts again with one, a
    folder of its own (a scrape adds up every worker's files in it)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        folder = tempfile.mkdtemp(prefix="refundbot-metrics-")
        os.execve(sys.executable, [sys.executable, *sys.argv], os.environ | {"PROMETHEUS_MULTIPROC_DIR": folder})


def main() -> int:
    if sys.argv[1:2] == ["sandbox"]:  # `./dev run sandbox`: the app in a browser, without Slack (bot.sandbox)
        from bot.cli import cli

        return cli(["sandbox", *sys.argv[2:]], prog_name="refundbot", standalone_mode=True) or 0
    _count_across_workers()
    setup_logging()
    try:
        settings = settings_or_fail()
        _check_slack(settings)
        runtime = start(settings)
        instance = Instance.build(runtime)
        unreachable = None if settings.oauth else instance.link.check()
        if unreachable is None and settings.slack_app_token is not None:
            unreachable = _check_app_token(instance.link, settings.slack_app_token.get_secret_value())
    except TokenRefused as refused:
        print(f"refund-bot cannot start: {refused}", file=sys.stderr)
        return 2
    except StartupError as exc:
        print(exc if str(exc).startswith("refund-bot") else f"refund-bot cannot start: {exc}", file=sys.stderr)
        return 2
    if unreachable is not None:
        log.warning("Slack cannot be reached (%s); starting anyway, and retrying in the background", unreachable)
    if settings.mediator_channel_id is None or not instance.workers.deps.roster.configured:
        log.warning(
            "no MEDIATOR_CHANNEL_ID or no mediators (MEDIATOR_USER_IDS / MEDIATOR_USERGROUP_ID): cases that "
            "reach mediation wait without a case card or anyone allowed to claim them"
        )
    runtime.engine.dispose()
    log.info(start_line(settings))
    if runtime.settings.slack_app_token is not None:
        serve_socket_mode(runtime.settings.slack_app_token.get_secret_value())
    else:
        serve_http(runtime.settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
