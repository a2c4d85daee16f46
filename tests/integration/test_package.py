"""refund-bot as a wheel, installed into a fresh virtual environment from requirements.lock alone, as an operator
installs it (README, "Deploying"): every command works from an empty folder, with nothing of the source tree in
reach, the demo data, the migrations, the sandbox page and the Slack manifest included."""

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.e2e.served import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
# What a build never needs: the development venv, caches, databases and build output.
NOT_BUILT = shutil.ignore_patterns(
    ".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis", "*.db*"
)


def run(args: list[str | Path], cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """(the fresh environment's bin folder, a clean environment to run its commands in)."""
    folder = tmp_path_factory.mktemp("package")
    source = folder / "source"
    shutil.copytree(ROOT, source, ignore=NOT_BUILT, symlinks=True)  # a build writes beside the source
    # The same build as ./dev's: setuptools from the locked development tools, no build isolation.
    run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", folder, source],
        folder,
        dict(os.environ),
    )
    [wheel] = folder.glob("refundbot-*.whl")
    venv = folder / "venv"
    run([sys.executable, "-m", "venv", venv], folder, dict(os.environ))
    pip = [venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check", "-q"]
    run([*pip, "install", "--require-hashes", "--no-deps", "-r", ROOT / "requirements.lock"], folder, dict(os.environ))
    run([*pip, "install", "--no-deps", wheel], folder, dict(os.environ))
    run([*pip, "check"], folder, dict(os.environ))  # every dependency the wheel declares is in the lock
    keep = ("PATH", "HOME", "LANG", "TMPDIR", "PIP_", "SSL_CERT")
    env = {name: value for name, value in os.environ.items() if name.startswith(keep)}
    return venv / "bin", env


def test_the_wheel_brings_refund_bot_whole_and_nothing_of_the_source_tree(installed, tmp_path):
    bin_, env = installed
    found = run(
        [bin_ / "python", "-c", "import bot, storage; print(bot.__file__); print(storage.__file__)"], tmp_path, env
    )
    assert all("/venv/lib/" in line for line in found.splitlines()), found
    with pytest.raises(AssertionError, match="No module named 'app'"):  # the start-up is in the package now
        run([bin_ / "python", "-c", "import app"], tmp_path, env)


def test_every_command_works_from_an_empty_folder(installed, tmp_path):
    bin_, env = installed
    refundbot = bin_ / "refundbot"
    assert re.search(r"is up to date, at \d{4}\n", run([refundbot, "migrate"], tmp_path, env))
    loaded = run(
        [refundbot, "demo", "--team", "T0123ABCD", "--client", "U0123CLIENT", "--freelancer", "U0456FREELA"],
        tmp_path,
        env,
    )
    assert "demo loaded into T0123ABCD" in loaded
    assert "created 5 contracts, 12 items" in loaded
    assert "policy version refundbot-1" in run([refundbot, "policy", "show"], tmp_path, env)
    assert run([refundbot, "outbox"], tmp_path, env).startswith("0 pending, 0 sent, 0 dead")
    assert run([refundbot, "export", "cases", "--since", "2026-01-01"], tmp_path, env).startswith("case_id,team_id")
    development = yaml.safe_load(run([refundbot, "manifest"], tmp_path, env))
    assert development["settings"]["socket_mode_enabled"] is True
    distributed = yaml.safe_load(
        run([refundbot, "manifest", "--distributed", "--url", "https://rb.example.com"], tmp_path, env)
    )
    assert distributed["oauth_config"]["redirect_urls"] == ["https://rb.example.com/slack/oauth_redirect"]
    for command in ("serve", "worker", "tick", "import", "sandbox", "workspace"):
        assert run([refundbot, command, "--help"], tmp_path, env).startswith(f"Usage: refundbot {command}")


def test_the_sandbox_serves_its_page_and_assets(installed, tmp_path):
    bin_, env = installed
    port = free_port()
    sandbox = subprocess.Popen(
        [bin_ / "refundbot", "sandbox", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"

    def get(path: str) -> tuple[int, bytes] | None:
        try:
            with urllib.request.urlopen(f"{url}{path}", timeout=5) as answer:
                return answer.status, answer.read()
        except OSError:
            return None

    try:
        status, page = wait_for(lambda: sandbox.poll() is None and get("/sandbox"), seconds=60)
        assert status == 200
        assert b"<title>" in page
        for asset in ("blockkit.js", "sandbox.js", "sandbox.css"):
            assert get(f"/sandbox/static/{asset}")[0] == 200
        state = json.loads(get("/sandbox/api/state")[1])
        assert {person["name"] for person in state["people"]} >= {"Ada Client", "Bruno Freelancer"}
    finally:
        sandbox.terminate()
        said = sandbox.communicate(timeout=30)[0]
    assert "Traceback" not in said, said
