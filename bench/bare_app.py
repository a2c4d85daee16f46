"""The baseline for bench/ack.py: a Bolt app that only acks, served exactly like refund-bot.

SLACK_API_URL=… SLACK_SIGNING_SECRET=… gunicorn 'bench.bare_app:from_environment()'
"""

import os

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.blocks import ids
from bot.relay import web_client


def bare_app(api_url: str, signing_secret: str) -> App:
    app = App(client=web_client("xoxb-bench", api_url), signing_secret=signing_secret, process_before_response=True)
    app.command("/refund")(lambda ack: ack())
    app.action(ids.APPROVE)(lambda ack: ack())
    return app


def from_environment() -> SlackRequestHandler:
    return SlackRequestHandler(bare_app(os.environ["SLACK_API_URL"], os.environ["SLACK_SIGNING_SECRET"]))
