"""`refundbot serve`: check the settings and Slack, migrate, then serve over HTTP or Socket Mode."""

from __future__ import annotations

import logging
import os
import sys
import tempfile

from sqlalchemy.engine import make_url

from bot.app.http import address, serve_http
from bot.app.runtime import StartupError, settings_or_fail, setup_logging, start
from bot.app.slack import SLACK_DOWN_AT_START, Instance, TokenRefused, check_app_token
from bot.app.socket_mode import serve_socket_mode
from bot.config import Settings

log = logging.getLogger("refundbot")

NO_SLACK = """refund-bot cannot start: Slack credentials are missing ({missing}).
Set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (HTTP mode), or SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode),
or for installs in many workspaces SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET (OAuth),
in the environment or in a .env file here. To get them, create the Slack app from its manifest (`refundbot manifest`
prints it): api.slack.com/apps → Create New App → From a manifest → paste it → Install to Workspace; the README's
"Creating the Slack app" section says where each value is.
To try it first without Slack, in a browser: `refundbot sandbox` (./dev run sandbox in a clone)"""


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


def start_line(settings: Settings) -> str:
    """What an operator checks first in a log: how it serves, on which database (never its password), under
    which policy."""
    if settings.slack_app_token is not None:
        mode = "Socket Mode"
    else:
        mode = f"HTTP on {address(settings.host, settings.port)} ({settings.web_concurrency} worker(s))"
        if settings.metrics_port is not None:
            mode += f", metrics on {address(settings.metrics_host or settings.host, settings.metrics_port)}"
        if settings.gunicorn_cmd_args:
            mode += f", then GUNICORN_CMD_ARGS {settings.gunicorn_cmd_args!r}"
    if settings.oauth:
        mode += f", OAuth installs at {settings.slack_install_path}"
    relay = "relay and ticker in each worker" if settings.serve_workers else "relay and ticker in `refundbot worker`"
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    return f"refund-bot serving {mode}; database {database}; policy {settings.policy().version}; {relay}"


def _count_across_workers() -> None:
    """prometheus-client's multiprocess mode must be chosen before it is first imported, and gunicorn's
    workers are forks of this process: so a start without PROMETHEUS_MULTIPROC_DIR starts again with one, a
    folder of its own (a scrape adds up every worker's files in it)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        folder = tempfile.mkdtemp(prefix="refundbot-metrics-")
        os.execve(sys.executable, [sys.executable, *sys.argv], os.environ | {"PROMETHEUS_MULTIPROC_DIR": folder})


def main() -> int:
    _count_across_workers()
    setup_logging()
    try:
        settings = settings_or_fail()
        _check_slack(settings)
        runtime = start(settings)
        instance = Instance.build(runtime)
        unreachable = None if settings.oauth else instance.link.check()
        if unreachable is None and settings.slack_app_token is not None:
            unreachable = check_app_token(instance.link, settings.slack_app_token.get_secret_value())
    except TokenRefused as refused:
        print(f"refund-bot cannot start: {refused}", file=sys.stderr)
        return 2
    except StartupError as exc:
        print(exc if str(exc).startswith("refund-bot") else f"refund-bot cannot start: {exc}", file=sys.stderr)
        return 2
    if unreachable is not None:
        log.warning("Slack cannot be reached (%s); starting anyway, and retrying in the background", unreachable)
        os.environ[SLACK_DOWN_AT_START] = "1"  # the workers, started next, say when it can be reached again
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
