"""The baseline for bench/ack.py: a Bolt app that only acks, served exactly like refund-bot (behind the same
edge, under the same uvicorn workers).

SLACK_API_URL=… SLACK_SIGNING_SECRET=… gunicorn -k uvicorn_worker.UvicornWorker 'bench.bare_app:from_environment()'
"""

import os

from slack_bolt import App

from bot.blocks import ids
from bot.clients import web_client
from bot.edge import Edge


def bare_app(api_url: str) -> App:
    app = App(
        client=web_client("xoxb-bench", api_url), request_verification_enabled=False, process_before_response=True
    )
    app.command("/refund")(lambda ack: ack())
    for action in (ids.APPROVE, ids.MEDIATOR_PROPOSE, ids.CONTRACT_PICKED, ids.ITEM_PICKED):
        app.action(action)(lambda ack: ack())
    for form in (ids.REFUND_MODAL, ids.MEDIATE_MODAL):
        app.view(form)(lambda ack: ack())
    return app


def bare_edge(api_url: str, signing_secret: str) -> Edge:
    return Edge(bare_app(api_url), signing_secret, lambda: (200, {"status": "ready"}))


def from_environment() -> Edge:
    return bare_edge(os.environ["SLACK_API_URL"], os.environ["SLACK_SIGNING_SECRET"])
