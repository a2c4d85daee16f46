"""refund-bot as a wheel, installed into a fresh virtual environment from requirements.lock alone, as an operator
installs it (README, "Deploying"): every command works from an empty folder, with nothing of the source tree in
reach, the demo data, the migrations, the sandbox page and the Slack manifest included.

One story, so that one process builds and installs it once."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.e2e.served import healthz, wait_for
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
# What a build never needs: the development venv, caches, databases and build output.
NOT_BUILT = shutil.ignore_patterns(
    ".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis", "*.db*"
)


def run(args: list[str | Path], cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def install(folder: Path) -> Path:
    """The wheel, built as ./dev builds the project (the locked setuptools, no build isolation) from a copy of the
    source (a build writes beside it), installed with requirements.lock into a fresh venv: its bin folder."""
    source = folder / "source"
    shutil.copytree(ROOT, source, ignore=NOT_BUILT, symlinks=True)
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", folder, source], folder)
    [wheel] = folder.glob("refundbot-*.whl")
    run([sys.executable, "-m", "venv", folder / "venv"], folder)
    pip = [folder / "venv" / "bin" / "python", "-m", "pip", "--disable-pip-version-check", "-q"]
    run([*pip, "install", "--require-hashes", "--no-deps", "-r", ROOT / "requirements.lock"], folder)
    run([*pip, "install", "--no-deps", wheel], folder)
    run([*pip, "check"], folder)  # every dependency the wheel declares is in the lock
    return folder / "venv" / "bin"


def test_the_wheel_installs_whole_and_every_command_works_from_an_empty_folder(tmp_path):
    bin_ = install(tmp_path / "package")
    here = tmp_path / "empty"
    here.mkdir()
    env = {name: value for name, value in os.environ.items() if name.startswith(("PATH", "HOME", "LANG", "TMPDIR"))}
    refundbot = bin_ / "refundbot"

    # Nothing of the source tree is in reach: the package is the venv's, and the start-up is inside it.
    found = run([bin_ / "python", "-c", "import bot, storage; print(bot.__file__, storage.__file__)"], here, env)
    assert found.count(f"{bin_.parent}/lib/") == 2, found
    assert subprocess.run([bin_ / "python", "-c", "import app"], cwd=here, env=env).returncode == 1

    # The operator's commands: the migrations, the demo data, the policy, the outbox, a report, the mediators, the
    # manifests.
    assert re.search(r"is up to date, at \d{4}\n", run([refundbot, "migrate"], here, env))
    team = ["--team", "T0123ABCD", "--client", "U0123CLIENT", "--freelancer", "U0456FREELA"]
    loaded = run([refundbot, "demo", *team], here, env)
    assert "demo loaded into T0123ABCD for client U0123CLIENT" in loaded
    assert "created 5 contracts, 12 items" in loaded
    assert "policy version refundbot-1" in run([refundbot, "policy", "show"], here, env)
    assert run([refundbot, "outbox"], here, env).startswith("0 pending, 0 sent, 0 dead")
    assert run([refundbot, "export", "cases", "--since", "2026-01-01"], here, env).startswith("case_id,team_id")
    assert run([refundbot, "mediators", "--team", "T0123ABCD"], here, env).startswith("T0123ABCD: cases handed out")
    assert yaml.safe_load(run([refundbot, "manifest"], here, env))["settings"]["socket_mode_enabled"] is True
    distributed = yaml.safe_load(
        run([refundbot, "manifest", "--distributed", "--url", "https://rb.example.com"], here, env)
    )
    assert distributed["oauth_config"]["redirect_urls"] == ["https://rb.example.com/slack/oauth_redirect"]
    listed = run([refundbot, "--help"], here, env)
    assert all(f"  {command} " in listed for command in ("serve", "worker", "tick", "import", "sandbox", "workspace"))

    # The sandbox: its page, the page's assets, and the demo people in its state.
    port = free_port()
    sandbox = subprocess.Popen(
        [refundbot, "sandbox", "--port", str(port)], cwd=here, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        status, page = wait_for(lambda: sandbox.poll() is None and healthz(url, "/sandbox"), seconds=60)
        assert (status, "<title>" in page) == (200, True)
        for asset in ("blockkit.js", "sandbox.js", "sandbox.css"):
            assert healthz(url, f"/sandbox/static/{asset}")[0] == 200
        state = json.loads(healthz(url, "/sandbox/api/state")[1])
        assert {person["name"] for person in state["people"]} >= {"Ada Client", "Bruno Freelancer"}
    finally:
        sandbox.terminate()
        said = sandbox.communicate(timeout=30)[0].decode()
    assert "Traceback" not in said, said
