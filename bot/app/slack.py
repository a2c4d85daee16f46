"""One instance's Slack app: Bolt with the listeners, who the app is in Slack (auth.test, learnt off the request
path), and the OAuth flow when the app is installed in many workspaces."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt import App, BoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import Authorize
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.oauth.installation_store import InstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine

from bot import api, metrics
from bot.app.runtime import Runtime, one_line, readiness, state_of
from bot.app.workers import Workers
from bot.clients import listener_client
from bot.config import Settings
from bot.edge import Edge
from bot.handlers import errors, register
from bot.workspaces import Installed, NotInstalled
from storage.api_requests import ApiRequests

log = logging.getLogger("refundbot")
# An install begun at /slack/install must come back from Slack within this many seconds.
OAUTH_STATE_SECONDS = 600
# Set by `refundbot serve` for the workers it starts when start-up found Slack unreachable: each worker's first answer
# from Slack is then news ("reachable again"), even if Slack was back before that worker booted.
SLACK_DOWN_AT_START = "REFUNDBOT_SLACK_DOWN_AT_START"


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
            return one_line(exc)
        self.bot_user_id, self.bot_id = answer.get("user_id"), answer.get("bot_id")
        return None

    def keep_trying(self, stop: threading.Event, *, failed: bool = False) -> None:
        """Until Slack answers, backing off from 1 s to a minute. Start-up has already warned if Slack could not
        be reached (one warning, not one per worker); this says when it can again. ``failed``: start-up found it
        unreachable, so the first answer is news even when it comes at this worker's first try."""
        wait = 1.0
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


class InstalledAuthorize(Authorize):
    """Bolt's authorize for an app installed by OAuth, from each workspace's installation as ``Installed`` keeps
    it (read from the store at most once a minute, rotated before it expires). Bolt's own would read the store
    and call auth.test on every request, and a slow auth.test would then fail the click; the installation
    already names the bot's user and bot ids, so no request calls Slack to authorize."""

    def __init__(self, installed: Installed) -> None:
        self.installed = installed

    def __call__(  # type: ignore[override]
        self, *, context: BoltContext, enterprise_id: str | None, team_id: str | None, user_id: str | None, **_: object
    ) -> AuthorizeResult | None:
        try:
            found = self.installed.installation(team_id or "")
        except NotInstalled:
            return None
        return AuthorizeResult(
            enterprise_id=found.enterprise_id,
            team_id=found.team_id,
            bot_token=found.bot_token,
            bot_user_id=found.bot_user_id,
            bot_id=found.bot_id,
            bot_scopes=found.bot_scopes,
            user_id=user_id,
        )


def _revocations(app: App, store: InstallationStore, installed: Installed) -> None:
    """app_uninstalled and tokens_revoked: the workspace's installation goes, here and in this process's cache.
    Bolt's own tokens_revoked listener deletes only the bot row, which leaves the installation listed."""

    @app.event("app_uninstalled")
    def uninstalled(context: BoltContext) -> None:
        store.delete_all(enterprise_id=context.enterprise_id, team_id=context.team_id)
        installed.forget(context.team_id or "")
        log.info("refund-bot was uninstalled from workspace %s; its installation is deleted", context.team_id)

    @app.event("tokens_revoked")
    def revoked(event: dict[str, object], context: BoltContext) -> None:
        tokens = event.get("tokens")
        tokens = tokens if isinstance(tokens, dict) else {}
        if tokens.get("bot"):  # without its bot token the app can do nothing there: it is no longer installed
            store.delete_all(enterprise_id=context.enterprise_id, team_id=context.team_id)
        for user in tokens.get("oauth") or []:
            store.delete_installation(enterprise_id=context.enterprise_id, team_id=context.team_id, user_id=user)
        installed.forget(context.team_id or "")
        log.info("tokens of workspace %s were revoked; its installation is deleted", context.team_id)


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
        if workers.installations is not None and workers.installed is not None:
            app = App(
                client=listeners,
                signing_secret=secret,
                installation_store=workers.installations,
                authorize=InstalledAuthorize(workers.installed),
                oauth_settings=_oauth_settings(settings, workers.installations, runtime.engine),
                request_verification_enabled=False,  # the edge checks every signature, once (bot.edge)
                process_before_response=True,
            )
            _revocations(app, workers.installations, workers.installed)
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
        else:
            self.workers.watch_roster()
        if not self.runtime.settings.oauth:  # each installation's token is checked as it is installed
            down = os.environ.get(SLACK_DOWN_AT_START) == "1"
            learn = threading.Thread(
                target=self.link.keep_trying, args=(self.workers.stop,), kwargs={"failed": down}, daemon=True
            )
            learn.start()

    def asgi(self) -> Edge:
        secret = self.runtime.settings.slack_signing_secret
        engine = self.runtime.engine
        runtime = self.runtime
        ready = lambda: readiness(engine)  # noqa: E731
        watched = lambda: metrics.exposition(state_of(runtime), runtime.clock)  # noqa: E731
        endpoints, documents = {}, {}
        if keys := api_keys(runtime.settings):
            requests = ApiRequests(runtime.sessions)
            push = api.ContractsApi(keys, runtime.uow, requests, runtime.clock, runtime.policy)
            endpoints, documents = {api.PATH: push}, {api.OPENAPI_PATH: api.openapi()}
        signing = secret.get_secret_value() if secret else ""
        metrics_port = runtime.settings.metrics_port
        return Edge(self.app, signing, ready, watched, endpoints, documents, errors.screen, metrics_port=metrics_port)


def api_keys(settings: Settings) -> dict[str | None, api.Key]:
    """The push API's keys by id, MARKETPLACE_API_SECRET's under None; none: the API is off."""
    keys: dict[str | None, api.Key] = {
        name: api.Key(key.secret.get_secret_value(), frozenset(key.teams) if key.teams is not None else None)
        for name, key in settings.marketplace_api_keys.items()
    }
    if settings.marketplace_api_secret is not None:
        keys[None] = api.Key(settings.marketplace_api_secret.get_secret_value())
    return keys


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


def check_app_token(link: SlackLink, app_token: str) -> str | None:
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
        return one_line(exc)
    return None
