"""refund-bot as an operator starts it: `refundbot serve` in a process of its own, on the Slack stand-in and a SQLite
file of the test's, and the probes that say it is up."""

import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import REFUNDBOT
from tests.ports import free_port

SECRET = "e2e-signing-secret"  # the app's SLACK_SIGNING_SECRET in the end-to-end tests


def wait_for(check, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def healthz(url: str, path: str = "/healthz"):
    try:
        with urllib.request.urlopen(f"{url}{path}", timeout=2) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()
    except OSError:
        return None


def environment(standin, tmp_path: Path, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "POLICY_", "DATABASE_"))}
    return (
        keep
        | {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'refundbot.db'}",
            "SLACK_BOT_TOKEN": "xoxb-e2e",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": standin.api_url,
            "PORT": str(free_port()),
            "WEB_CONCURRENCY": "2",
        }
        | extra
    )


def run_to_exit(env: dict[str, str], cwd: Path, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([str(REFUNDBOT), "serve"], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


class Server:
    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.url = f"http://127.0.0.1:{env['PORT']}"
        self.log = cwd / "server.log"
        self.process = subprocess.Popen(
            [str(REFUNDBOT), "serve"],
            cwd=cwd,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text()

    def wait_until_up(self) -> None:
        """Until gunicorn says it holds the port and the probes answer there: an answer alone could come from
        whatever holds the port while gunicorn retries binding it."""
        wait_for(lambda: self.process.poll() is not None or (self.url in self.bound() and healthz(self.url)))
        assert self.process.poll() is None, self.output()

    def bound(self) -> list[str]:
        """What gunicorn says it listens at ("Listening at: http://…,http://… (pid)")."""
        said = re.search(r"Listening at: (\S+)", self.output())
        return said.group(1).split(",") if said else []

    def workers(self) -> list[int]:
        found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True)
        return [int(pid) for pid in found.stdout.split()]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
