"""The set-up refund-bot served HTTP with before issue 13, for bench/slow_clients.py only: gunicorn's gthread
workers and Bolt's WSGI adapter around the same app.

SLACK_API_URL=… SLACK_SIGNING_SECRET=… gunicorn -k gthread --threads 8 'bench.gthread_app:from_environment()'
"""

from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.app.runtime import start
from bot.app.slack import Instance


def from_environment() -> SlackRequestHandler:
    return SlackRequestHandler(Instance.build(start()).app)
