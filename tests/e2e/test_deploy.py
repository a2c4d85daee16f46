"""What operators deploy (deploy/), run as they would run it: the app (`refundbot serve`) behind Debian's nginx with
the shipped site, on TLS with a certificate made here, and the systemd units checked by systemd itself.

Without nginx or openssl these tests are skipped with the reason; where REFUNDBOT_TEST_NGINX=required (as in .ci/run,
which installs nginx) or CI=true, they fail instead.
"""

import getpass
import os
import re
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.edge import MAX_BODY
from tests.conftest import REFUNDBOT
from tests.e2e.conftest import CLIENT, SECRET
from tests.e2e.served import Server, environment, wait_for
from tests.ports import free_port
from tests.slack_standin import SlackStandIn, SlackUser, text_of
from tests.tricklers import Tricklers

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
REQUIRED = os.environ.get("REFUNDBOT_TEST_NGINX") == "required" or os.environ.get("CI", "").lower() == "true"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
HOST = "refund-bot.example.com"  # the shipped site's placeholder for the operator's host
# nginx's own files for a run of its own: the shipped site is included as it is, bar the values an operator sets.
MAIN = """
user {user};
worker_processes 2;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/refund-bot.conf;
}}
"""


def needed(tool: str | None, what: str) -> str:
    if tool is None:
        reason = f"{what} is not installed"
        if REQUIRED:
            pytest.fail(f"{reason}; the deployment tests are required here", pytrace=False)
        pytest.skip(f"{reason}; install Debian's nginx (apt-get install nginx) to run them")
    return tool


def site(app_port: int, https: int, http: int, folder: Path) -> str:
    """The shipped site with this run's ports, certificate and loopback addresses in place of the operator's."""
    text = (DEPLOY / "nginx" / "refund-bot.conf").read_text()
    swaps = [
        ("server 127.0.0.1:3000 ", f"server 127.0.0.1:{app_port} "),
        ("listen 443 ssl;", f"listen 127.0.0.1:{https} ssl;"),
        ("listen 80;", f"listen 127.0.0.1:{http};"),
        (f"/etc/letsencrypt/live/{HOST}/fullchain.pem", str(folder / "cert.pem")),
        (f"/etc/letsencrypt/live/{HOST}/privkey.pem", str(folder / "key.pem")),
    ]
    for shipped, here in swaps:
        assert shipped in text, f"the shipped site no longer says {shipped!r}: change this test with it"
        text = text.replace(shipped, here)
    # IPv6 may be off in a test machine; the IPv4 listeners stand for both.
    return re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", text)


@dataclass
class Deployed:
    standin: SlackStandIn
    app: Server
    https: str  # nginx's TLS port, as Slack reaches the app
    http: str  # nginx's plain port, which only redirects
    metrics: str  # the app's METRICS_PORT, which nginx does not publish
    certificate: Path  # made here, self-signed
    tls: ssl.SSLContext  # a client that trusts it

    def user(self, user_id: str = CLIENT) -> SlackUser:
        return SlackUser(self.standin, f"{self.https}/slack/events", SECRET, user_id)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> Iterator[Deployed]:
    nginx = needed(NGINX, "nginx")
    openssl = needed(shutil.which("openssl"), "openssl")
    folder = tmp_path_factory.mktemp("deployed")
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={HOST}"),
            *("-addext", f"subjectAltName=DNS:{HOST},DNS:localhost,IP:127.0.0.1"),
            *("-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")),
        ],
        check=True,
        capture_output=True,
    )
    standin = SlackStandIn().start()
    metrics = free_port()
    env = environment(standin, folder, METRICS_PORT=str(metrics))
    app = Server(env, folder)
    https, http = free_port(), free_port()
    (folder / "refund-bot.conf").write_text(site(int(env["PORT"]), https, http, folder))
    # Its workers as this user (ignored unless root), to write large bodies under the test's own folder.
    (folder / "nginx.conf").write_text(MAIN.format(folder=folder, user=getpass.getuser()))
    command = [nginx, "-p", str(folder), "-c", str(folder / "nginx.conf")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr  # `nginx -t` on the shipped site
    proxy = subprocess.Popen([*command, "-g", "daemon off;"], stderr=subprocess.PIPE, text=True)
    tls = ssl.create_default_context(cafile=str(folder / "cert.pem"))
    try:
        app.wait_until_up()
        urls = (f"https://127.0.0.1:{https}", f"http://127.0.0.1:{http}", f"http://127.0.0.1:{metrics}")
        yield Deployed(standin, app, *urls, folder / "cert.pem", tls)
    finally:
        proxy.terminate()
        proxy.wait(timeout=30)
        app.stop()
        standin.stop()
    assert standin.take_violations() == []
    assert "Traceback" not in app.output()


def fetch(url: str, tls: ssl.SSLContext | None = None, data: bytes | None = None) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=tls), NoRedirects)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as answered:
        return answered.code, answered.read().decode(errors="replace"), dict(answered.headers)


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_: object) -> None:
        return None


def test_slack_reaches_the_app_through_nginx_on_tls_and_nothing_else_is_published(deployed, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(deployed.certificate))  # Slack's side trusts the certificate
    client = deployed.user()
    answer = client.command("help")
    assert answer.status == 200
    assert "*/refund list*" in text_of(answer.json["blocks"])
    assert client.command("").status == 200  # the form opens (views.open), acknowledged through nginx
    assert deployed.standin.latest_view(CLIENT)["title"]["text"] == "Request a refund"
    assert client.post("command=%2Frefund&text=help", signature="v0=forged").status == 401
    # What the app answers operators stays inside: the scrape and readiness on METRICS_PORT, never through nginx.
    assert fetch(f"{deployed.https}/metrics", deployed.tls)[0] == 404
    assert fetch(f"{deployed.https}/readyz", deployed.tls)[0] == 404
    assert fetch(f"{deployed.https}/healthz", deployed.tls)[:2] == (200, '{"status": "alive"}')
    assert fetch(f"{deployed.metrics}/metrics")[0] == 200
    assert fetch(f"{deployed.metrics}/readyz")[0] == 200
    # Plain HTTP only redirects. nginx bounds bodies as the app does: one byte over is refused there, before the app
    # sees it; the largest the app takes reaches it (and, unsigned, is refused by the app).
    status, _, headers = fetch(f"{deployed.http}/slack/events")
    assert (status, headers["Location"]) == (301, "https://127.0.0.1/slack/events")
    status, said, _ = fetch(f"{deployed.https}/slack/events", deployed.tls, b"x" * (MAX_BODY + 1))
    assert (status, "413 Request Entity Too Large" in said) == (413, True)
    assert fetch(f"{deployed.https}/slack/events", deployed.tls, b"x" * MAX_BODY)[:2] == (401, "invalid request")


def test_300_connections_trickling_headers_never_hold_a_signed_click_past_3_s(deployed, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(deployed.certificate))
    https = int(deployed.https.rsplit(":", 1)[1])
    with Tricklers("127.0.0.1", https, count=300, every=2.0, tls=deployed.tls) as slow:
        waits = []
        for _ in range(3):
            asked = time.monotonic()
            answer = deployed.user().command("help")
            waits.append(time.monotonic() - asked)
            assert answer.status == 200
            time.sleep(1)
        assert max(waits) < 3, waits
        wait_for(lambda: len(slow.cut) == slow.count, seconds=20)
    # nginx cut each when its headers were overdue (client_header_timeout 5s), not before, by closing it.
    assert slow.open_after(5 + 3) == 0
    assert slow.open_after(4.5) == slow.count


@pytest.mark.parametrize("unit", ["refund-bot.service", "refund-bot-worker.service"])
def test_the_systemd_units_pass_systemds_own_check(unit, tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here (the units are checked where it is)")
    text = (DEPLOY / "systemd" / unit).read_text()
    assert "/opt/refund-bot/venv/bin/refundbot" in text
    (tmp_path / unit).write_text(text.replace("/opt/refund-bot/venv/bin/refundbot", str(REFUNDBOT)))
    checked = subprocess.run([analyze, "verify", str(tmp_path / unit)], capture_output=True, text=True)
    assert (checked.returncode, checked.stderr) == (0, "")
