"""`refundbot serve` for real: gunicorn workers, /healthz, signed requests, and the relay thread delivering."""

import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import http
from tests.conftest import REFUNDBOT
from tests.e2e.conftest import CLIENT, SECRET
from tests.e2e.served import environment, healthz, wait_for
from tests.ports import free_port
from tests.slack_standin import SlackUser, text_of

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = """
team_id: T0DEMO01
contracts:
  - {{id: C-100, title: Logo redesign, kind: fixed_price, currency: USD, client: U0CLIENT01, freelancer: U0FREELA01,
     milestones: [{{id: M-1, title: Concepts, amount: "250.00", status: released, released_at: "{paid}"}}]}}
"""


@pytest.fixture
def server(standin, tmp_path, launch) -> str:
    env = environment(standin, tmp_path)
    # This server runs on the real clock, so its contract was paid yesterday, whatever day the tests run.
    paid = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    contracts = tmp_path / "contracts.yaml"
    contracts.write_text(CONTRACTS.format(paid=paid))
    subprocess.run(
        [str(REFUNDBOT), "import", str(contracts)], cwd=tmp_path, env=env, check=True, capture_output=True, timeout=60
    )
    return launch(env).url


def test_the_production_server_answers_health_and_signed_slack_requests(server, standin):
    assert healthz(server) == (200, '{"status": "alive"}')
    status, body = healthz(server, "/readyz")
    assert status == 200
    assert '"migrations": "current"' in body
    client = SlackUser(standin, f"{server}/slack/events", SECRET, CLIENT)
    assert "*/refund list*" in text_of(client.command("help").json["blocks"])
    assert client.post("command=%2Frefund&text=help", signature="v0=forged").status == 401


def test_the_relay_thread_delivers_without_being_asked(server, standin):
    client = SlackUser(standin, f"{server}/slack/events", SECRET, CLIENT)
    client.command("")
    client.choose(standin.latest_view(CLIENT), "Contract", "Logo redesign")
    client.choose(standin.latest_view(CLIENT), "Item", "Milestone “Concepts”")
    answer = client.submit(standin.latest_view(CLIENT), {"Amount (USD)": "25.00", "Reason": "Off-brief."})
    assert answer.status == 200
    wait_for(lambda: standin.dms("U0FREELA01"))
    assert "Refund request R-" in text_of(standin.dms("U0FREELA01")[0].blocks)


def metric(text: str, name: str, **labels: str) -> float:
    """A sample's value in Prometheus's text format, whatever the order of its labels (0 when absent)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        key, value = line.rsplit(" ", 1)
        found, _, rest = key.partition("{")
        if found == name and dict(re.findall(r'(\w+)="([^"]*)"', rest)) == labels:
            total += float(value)
    return total


def test_metrics_add_up_every_workers_acks_and_slack_calls_and_read_the_state(server, standin):
    client = SlackUser(standin, f"{server}/slack/events", SECRET, CLIENT)
    client.command("")  # views.open
    client.choose(standin.latest_view(CLIENT), "Contract", "Logo redesign")
    client.choose(standin.latest_view(CLIENT), "Item", "Milestone “Concepts”")
    client.submit(standin.latest_view(CLIENT), {"Amount (USD)": "25.00", "Reason": "Off-brief."})
    wait_for(lambda: standin.dms("U0FREELA01"))
    for _ in range(6):  # two workers answer these in turn: the counts are the sum of both
        client.command("help")

    def scraped() -> str:
        with urllib.request.urlopen(f"{server}/metrics", timeout=5) as response:
            assert response.headers["Content-Type"].startswith("text/plain; version=")
            return response.read().decode()

    def settled() -> str | None:  # the relay has sent everything the request queued
        found = scraped()
        return found if metric(found, "refundbot_outbox_messages", status="pending") == 0 else None

    text = wait_for(settled)
    assert metric(text, "refundbot_ack_seconds_count", listener="command /refund") == 7
    assert metric(text, "refundbot_ack_seconds_bucket", listener="command /refund", le="3.0") == 7
    assert metric(text, "refundbot_ack_seconds_count", listener="view_submission refund_modal") == 1
    assert metric(text, "refundbot_slack_calls_total", method="views.open") == 1
    assert metric(text, "refundbot_slack_calls_total", method="chat.postMessage") >= 3  # both DMs and the thread
    assert metric(text, "refundbot_open_cases", stage="request") == 1
    assert metric(text, "refundbot_deadlines", when="due") == 0
    assert metric(text, "refundbot_outbox_messages", status="sent") >= 3
    assert re.search(r"^refundbot_outbox_oldest_pending_seconds \d", text, re.MULTILINE)


def listening_addresses(port: int) -> set[str]:
    """The local addresses a socket listens on at this port, as the kernel lists them (/proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, at = local.partition(":")
            if state == "0A" and int(at, 16) == port:  # 0A: LISTEN
                found.add(socket.inet_ntop(socket.AF_INET if len(address) == 8 else socket.AF_INET6, raw(address)))
    return found


def raw(address: str) -> bytes:
    """/proc/net/tcp's hex address: 32-bit words in the host's (little-endian) order."""
    words = [bytes.fromhex(address[i : i + 8])[::-1] for i in range(0, len(address), 8)]
    return b"".join(words)


def test_the_server_listens_on_loopback_and_takes_metrics_apart_and_gunicorns_own_options(standin, tmp_path, launch):
    metrics = free_port()
    env = environment(standin, tmp_path, METRICS_PORT=str(metrics), GUNICORN_CMD_ARGS="--workers 3")
    server = launch(env)
    operators = f"http://127.0.0.1:{metrics}"
    # Nothing listens beyond loopback unless HOST says so: a proxy on the same machine publishes what it chooses.
    assert listening_addresses(int(env["PORT"])) == {"127.0.0.1"}
    assert listening_addresses(metrics) == {"127.0.0.1"}
    # Slack's door is on PORT; the scrape of what it did is on the operators' port alone, with both probes.
    client = SlackUser(standin, f"{server.url}/slack/events", SECRET, CLIENT)
    assert "*/refund list*" in text_of(client.command("help").json["blocks"])
    assert SlackUser(standin, f"{operators}/slack/events", SECRET, CLIENT).command("help").status == 404
    status, scraped = healthz(operators, "/metrics")
    assert status == 200
    assert metric(scraped, "refundbot_ack_seconds_count", listener="command /refund") == 1
    assert healthz(server.url, "/metrics")[0] == 404
    assert healthz(operators, "/healthz") == (200, '{"status": "alive"}')
    assert healthz(operators, "/readyz")[0] == healthz(server.url, "/readyz")[0] == 200
    # GUNICORN_CMD_ARGS comes after the settings (WEB_CONCURRENCY is 2) and wins, as the start line says.
    wait_for(lambda: len(server.workers()) == 3)
    assert (
        f"refund-bot serving HTTP on 127.0.0.1:{env['PORT']} (2 worker(s)), metrics on 127.0.0.1:{metrics}, then "
        "GUNICORN_CMD_ARGS '--workers 3'"
    ) in server.output()


async def hello(scope, receive, send) -> None:
    """The smallest ASGI app: the protocol under test is the server's, not the edge's."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def test_each_request_on_a_connection_has_its_own_deadline_for_its_headers():
    """HEADER_TIMEOUT as uvicorn runs it in every worker: headers slow but on time are served; a connection that says
    nothing, or trickles the next request's headers past the deadline after a first one was served, gets 408."""
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    address = listening.getsockname()
    with http.serving(hello, listening, header_timeout=1.0):
        silent = socket.create_connection(address, timeout=5)
        started = time.monotonic()
        assert silent.recv(64).startswith(b"HTTP/1.1 408")
        assert 0.9 < time.monotonic() - started < 3

        link = socket.create_connection(address, timeout=5)
        for line in (b"GET / HTTP/1.1\r\n", b"Host: x\r\n"):  # 0.6 s in all: within the deadline
            link.sendall(line)
            time.sleep(0.3)
        link.sendall(b"\r\n")
        answer = b""
        while not answer.endswith(b"\r\n\r\nok"):  # the whole response, body and all
            answer += link.recv(256)
        assert answer.startswith(b"HTTP/1.1 200")
        started = time.monotonic()  # give or take: the next deadline runs from the response
        link.sendall(b"GET / HTTP/1.1\r\n")  # the next request's deadline starts anew, and passes
        link.settimeout(0.2)
        while time.monotonic() - started < 5:
            try:
                said = link.recv(256)
                break
            except TimeoutError:
                link.sendall(b"X-Trickle: still\r\n")
        assert said.startswith(b"HTTP/1.1 408")
        assert 0.9 < time.monotonic() - started < 3
