"""Development over Socket Mode: the app connects out to Slack, so no public URL is needed."""

from __future__ import annotations

import logging
import signal
import threading

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.app.probe import health_server
from bot.app.runtime import one_line, start
from bot.app.slack import Instance

log = logging.getLogger("refundbot")


def socket_mode_handler(instance: Instance, app_token: str) -> SocketModeHandler:
    """Development: the app connects out to Slack over a WebSocket, so no public URL is needed."""
    return SocketModeHandler(instance.app, app_token)


def serve_socket_mode(app_token: str) -> None:
    """Until SIGTERM or SIGINT: then the connection closes and the ticker and relay finish what they hold."""
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    instance = Instance.build(start())
    instance.start()
    runtime = instance.runtime
    if runtime.settings.health_port is not None:
        health_server(runtime, runtime.settings.health_port)
    handler = socket_mode_handler(instance, app_token)
    wait, warned = 1.0, False
    while not stopped.is_set():
        try:
            handler.connect()
            break
        except (SlackRequestError, SlackApiError, OSError) as exc:
            if not warned:
                log.warning("Socket Mode cannot connect to Slack (%s); retrying in the background", one_line(exc))
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
