"""The real app over real HTTP against the local Slack stand-in, on SQLite and PostgreSQL."""

import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.app import http
from bot.app.runtime import build_runtime
from bot.app.slack import Instance
from bot.config import load_settings
from bot.services.importing import DEMO, import_contracts, read_import_file
from storage.tables import CaseRow
from tests.conftest import POSTGRES_URL, at_head, empty_database
from tests.e2e.served import SECRET, Server
from tests.slack_standin import SlackStandIn, SlackUser
from tests.slack_standin import standin as standin  # the fixture, for every test here
from tests.tcp_proxy import TcpProxy

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # the demo set's week: see bot/demo.yaml
CLIENT, FREELANCER, STRANGER = "U0CLIENT01", "U0FREELA01", "U0STRANGER"
# U0MEDIATE1 is listed in MEDIATOR_USER_IDS; U0MEDIATE2 and U0FREELA02 are members of MEDIATOR_USERGROUP_ID.
MEDIATOR, MEDIATOR2, MEDIATOR_GROUP = "U0MEDIATE1", "U0MEDIATE2", "S0MEDIATORS"
MEDIATOR_CHANNEL = "C0MEDIATORS"
# The rule a mediator names in the tests' outcomes: v1's rule that fits either kind of contract.
PARTLY = {"Policy rule applied": "Part of the work was delivered as agreed; the refund covers the rest."}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Bot:
    instance: Instance
    url: str
    standin: SlackStandIn
    clock: Clock

    def user(self, user_id: str) -> SlackUser:
        return SlackUser(self.standin, f"{self.url}/slack/events", SECRET, user_id)

    def drain(self, rounds: int = 50) -> None:
        """Deliver everything the outbox holds now (the relay thread's work, done in the test's own time)."""
        for _ in range(rounds):
            if not self.instance.workers.relay.run_once():
                return
        raise AssertionError("the outbox never emptied")

    def count(self, table, **where) -> int:
        with self.instance.runtime.sessions() as session:
            query = select(func.count()).select_from(table)
            for name, value in where.items():
                query = query.where(getattr(table, name) == value)
            return session.scalar(query)

    def case(self, case_id: str) -> CaseRow:
        with self.instance.runtime.sessions() as session:
            return session.get(CaseRow, case_id)

    def only_case_id(self) -> str:
        with self.instance.runtime.sessions() as session:
            [case_id] = session.scalars(select(CaseRow.id)).all()
            return case_id


@contextmanager
def running_bot(database_url: str, standin: SlackStandIn, clock: Clock | None = None, **settings: str) -> Iterator[Bot]:
    """The app over real HTTP on this database, with the demo contracts; ``settings`` override the test ones
    (a policy, say). Several may run on one database, as several instances do."""
    settings = {
        "database_url": database_url,
        "slack_bot_token": "xoxb-e2e",
        "slack_signing_secret": SECRET,
        "slack_api_url": standin.api_url,
        "mediator_channel_id": MEDIATOR_CHANNEL,
        "mediator_user_ids": MEDIATOR,
        "mediator_usergroup_id": MEDIATOR_GROUP,
        "slack_pace_seconds": "0",  # the clock stands still in these stories; the relay's tests pace
    } | settings
    standin.usergroups[MEDIATOR_GROUP] = [MEDIATOR2, "U0FREELA02"]
    at_head(database_url)
    runtime = build_runtime(load_settings(**settings), NOW)
    clock = clock or Clock()
    runtime.clock = clock
    import_contracts(read_import_file(DEMO), runtime.uow(), NOW, runtime.policy)
    instance = Instance.build(runtime)
    instance.workers.deps.roster.refresh()  # what start_workers does first, in the test's own time
    try:
        with serving(instance.asgi()) as url:
            yield Bot(instance, url, standin, clock)
    finally:
        runtime.engine.dispose()


@contextmanager
def serving(asgi) -> Iterator[str]:
    """The app's ASGI edge under uvicorn, as each gunicorn worker runs it, on a loopback port of its own."""
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    with http.serving(asgi, listening):
        yield f"http://127.0.0.1:{listening.getsockname()[1]}"


@pytest.fixture
def bot(database_url, standin) -> Iterator[Bot]:
    with running_bot(database_url, standin) as running:
        yield running


@pytest.fixture
def proxied(standin, postgres_admin, request, tmp_path):
    """The app on PostgreSQL through a proxy the test can cut."""
    schema = empty_database("postgresql", request, tmp_path)
    url = next(schema)
    target = make_url(POSTGRES_URL)
    proxy = TcpProxy((target.host or "127.0.0.1", target.port or 5432))
    through = make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        with running_bot(through, standin) as running:
            yield running, proxy
    finally:
        proxy.close()
        next(schema, None)  # drops it


def told(bot: Bot, text: str, seconds: float = 5.0) -> dict:
    """What the person was told privately (a response_url post), waiting for it: it is sent off the ack's path."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for response in list(bot.standin.responses):
            if text in response.get("text", ""):
                return response
        time.sleep(0.05)
    raise AssertionError(f"never told {text!r}; told {[r.get('text') for r in bot.standin.responses]}")


def at_once(press: Callable[[str], object], users: Iterable[str]) -> None:
    """Each user presses at the same instant (a barrier, then a thread each), as two people do."""
    users = list(users)
    start = threading.Barrier(len(users))

    def go(user: str) -> None:
        start.wait()
        press(user)

    threads = [threading.Thread(target=go, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.fixture
def launch(tmp_path):
    started: list[Server] = []

    def start(env: dict[str, str]) -> Server:
        server = Server(env, tmp_path)
        started.append(server)
        server.wait_until_up()
        return server

    yield start
    for server in started:
        server.stop()
