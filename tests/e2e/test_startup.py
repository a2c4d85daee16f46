"""`refundbot serve` as an operator meets it (issue 13): it starts and keeps serving whatever Slack is doing, and
when it cannot start it says why in one line, never a traceback. Also: slow clients cannot starve Slack."""

import json
import os
import re
import signal
import socket
import time

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.app.runtime import readiness
from storage.db import prepare
from tests.conftest import POSTGRES_URL
from tests.e2e.conftest import CLIENT, SECRET
from tests.e2e.served import Server, environment, healthz, run_to_exit, wait_for
from tests.ports import free_port
from tests.slack_standin import SlackUser, SocketModeUser, text_of
from tests.tcp_proxy import TcpProxy
from tests.tricklers import Tricklers


def test_slack_down_at_start_up_it_serves_with_one_warning_and_recovers(standin, tmp_path, launch):
    standin.down = True
    server = launch(environment(standin, tmp_path))
    assert healthz(server.url)[0] == 200
    wait_for(lambda: "Slack cannot be reached" in server.output())
    standin.down = False
    # Its retries back off to a minute apart: the next may come a minute after Slack is back, and later under load.
    wait_for(lambda: server.output().count("Slack is reachable again") >= 1, seconds=90)
    client = SlackUser(standin, f"{server.url}/slack/events", SECRET, CLIENT)
    assert "*/refund list*" in text_of(client.command("help").json["blocks"])
    assert "Traceback" not in server.output()


def test_a_worker_restarting_while_slack_is_down_boots_and_the_server_keeps_serving(standin, tmp_path, launch):
    server = launch(environment(standin, tmp_path))
    wait_for(lambda: len(server.workers()) == 2)
    standin.down = True
    victim = server.workers()[0]
    os.kill(victim, signal.SIGKILL)  # as the kernel's OOM killer, or gunicorn's timeout, would
    wait_for(lambda: victim not in server.workers() and len(server.workers()) == 2)
    assert server.process.poll() is None  # the master is still up
    client = SlackUser(standin, f"{server.url}/slack/events", SECRET, CLIENT)
    for _ in range(6):  # answered by both workers, the new one among them
        assert client.command("help").status == 200
    assert healthz(server.url)[0] == 200


def test_a_rejected_app_token_is_named_in_one_line(standin, tmp_path):
    env = environment(standin, tmp_path, SLACK_APP_TOKEN="xoxp-not-an-app-level-token")
    done = run_to_exit(env, tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("refund-bot cannot start: Slack refused SLACK_APP_TOKEN (not_allowed_token_type)")


def test_a_refused_bot_token_is_named_in_one_line(standin, tmp_path):
    done = run_to_exit(environment(standin, tmp_path, SLACK_BOT_TOKEN="xapp-wrong-kind"), tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "refund-bot cannot start: Slack refused SLACK_BOT_TOKEN (not_allowed_token_type)"
    )


@pytest.mark.postgres
def test_a_database_that_accepts_and_never_answers_times_out_in_one_line(standin, tmp_path, postgres_admin):
    target = make_url(POSTGRES_URL)
    proxy = TcpProxy((target.host, target.port or 5432))
    proxy.down("blackhole")
    try:
        url = make_url(POSTGRES_URL).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        started = time.monotonic()
        done = run_to_exit(environment(standin, tmp_path, DATABASE_URL=url), tmp_path)
    finally:
        proxy.close()
    assert done.returncode == 2
    assert time.monotonic() - started < 25
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("refund-bot cannot start: cannot")
    assert "timeout" in line.lower()


def test_a_database_ahead_of_the_code_says_so_at_start_up_and_in_readyz(standin, tmp_path):
    env = environment(standin, tmp_path)
    engine = prepare(env["DATABASE_URL"])  # as a newer refund-bot left it, below
    with engine.begin() as connection:
        head = connection.scalar(text("SELECT version_num FROM alembic_version"))
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
        connection.execute(text("UPDATE schema_compat SET oldest_code = '0099'"))  # it dropped what this code uses
    done = run_to_exit(env, tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"refund-bot cannot start: the database is at 0099, newer than this code ({head})"
    ]
    status, body = readiness(engine)
    assert status == 503
    assert body["database"] == f"the database is at 0099, newer than this code ({head})"


def test_slow_clients_cannot_starve_slacks_requests(standin, tmp_path, launch):
    """200 loopback connections send their headers and a trickle of body; a signed request is still answered,
    and each trickler is cut off with 408 once its body is overdue."""
    server = launch(environment(standin, tmp_path))
    port = int(server.url.rsplit(":", 1)[1])
    slow = []
    for _ in range(200):
        link = socket.create_connection(("127.0.0.1", port), timeout=15)
        link.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\npayload=")
        slow.append(link)
    try:
        client = SlackUser(standin, f"{server.url}/slack/events", SECRET, CLIENT)
        assert "*/refund list*" in text_of(client.command("help").json["blocks"])
        assert healthz(server.url)[0] == 200
        answers = [link.recv(64) for link in slow]
        assert all(answer.startswith(b"HTTP/1.1 408") for answer in answers), set(answers)
    finally:
        for link in slow:
            link.close()


def test_headers_trickled_a_line_at_a_time_are_cut_off_and_slack_is_answered_meanwhile(standin, tmp_path, launch):
    """300 connections send a header line a second and never finish, as a slowloris does. Without a proxy in front,
    the app's own server still answers a signed click within Slack's 3 s meanwhile, and closes each trickler with
    408 once HEADER_TIMEOUT has passed."""
    server = launch(environment(standin, tmp_path, HEADER_TIMEOUT="3"))
    client = SlackUser(standin, f"{server.url}/slack/events", SECRET, CLIENT)
    with Tricklers("127.0.0.1", int(server.url.rsplit(":", 1)[1]), count=300, every=1.0) as slow:
        asked = time.monotonic()
        answer = client.command("help")
        assert time.monotonic() - asked < 3
        assert "*/refund list*" in text_of(answer.json["blocks"])
        wait_for(lambda: len(slow.cut) == slow.count, seconds=20)
    assert {said[:12] for _, said in slow.cut} == {b"HTTP/1.1 408"}
    assert slow.open_after(3 + 2) == 0  # cut at the deadline, give or take
    assert slow.open_after(2.5) == slow.count  # and not before: a line a second is not a reason


def test_socket_mode_with_slack_down_at_start_up_connects_once_slack_is_back(standin, tmp_path):
    standin.down = True
    server = Server(environment(standin, tmp_path, SLACK_APP_TOKEN="xapp-1-e2e"), tmp_path)
    try:
        wait_for(lambda: "Socket Mode cannot connect to Slack" in server.output())
        assert server.process.poll() is None
        standin.down = False
        wait_for(lambda: "Socket Mode connected" in server.output(), seconds=60)
        answer = SocketModeUser(standin, CLIENT).command("help")
        assert "*/refund list*" in text_of(answer.json["blocks"])
        assert "Traceback" not in server.output()
    finally:
        server.stop()


def test_socket_mode_answers_probes_on_health_port_and_stops_cleanly_on_sigterm(standin, tmp_path):
    port = free_port()
    server = Server(environment(standin, tmp_path, SLACK_APP_TOKEN="xapp-1-e2e", HEALTH_PORT=str(port)), tmp_path)
    try:
        wait_for(lambda: "refund-bot serving Socket Mode" in server.output())
        answer = SocketModeUser(standin, CLIENT).command("help")
        assert "*/refund list*" in text_of(answer.json["blocks"])
        probes = f"http://127.0.0.1:{port}"
        assert wait_for(lambda: healthz(probes)) == (200, '{"status": "alive"}')
        status, body = healthz(probes, "/readyz")
        assert (status, json.loads(body)["status"]) == (200, "ready")
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=60) == 0, server.output()
    finally:
        if server.process.poll() is None:
            server.stop()
    assert "refund-bot stopping: closing the Socket Mode connection, then the ticker and the relay" in server.output()
    assert server.output().rstrip().endswith("refund-bot stopped")
    assert "Traceback" not in server.output()


def test_one_log_set_up_in_json_lines_when_asked_with_the_start_line_first_of_ours(standin, tmp_path, launch):
    env = environment(standin, tmp_path, LOG_FORMAT="json", LOG_LEVEL="info")
    server = launch(env)
    client = SlackUser(standin, f"{server.url}/slack/events", SECRET, CLIENT)
    assert "*/refund list*" in text_of(client.command("help").json["blocks"])
    server.stop()
    lines = [json.loads(line) for line in server.output().splitlines()]  # every line, gunicorn's too
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"]) for line in lines)
    assert {"gunicorn.error", "refundbot"} <= {line["logger"] for line in lines}
    ours = [line["message"] for line in lines if line["logger"] == "refundbot"]
    assert (
        f"refund-bot serving HTTP on 127.0.0.1:{env['PORT']} (2 worker(s)); database sqlite:///{tmp_path}/"
        "refundbot.db; policy refundbot-1; relay and ticker in each worker"
    ) in ours
    assert not [line for line in lines if "will be unused" in line["message"]]  # Bolt's untrue token warning
