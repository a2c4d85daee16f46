"""Browser tests of the sandbox page: the real page in headless Chromium (Debian's, driven by Playwright for Python;
no browser is ever downloaded), against the sandbox served on loopback.

Without Chromium (or Playwright) they are skipped with the reason; where REFUNDBOT_TEST_BROWSER=required (as in
.ci/run) or CI=true, they fail instead. Each story keeps a screenshot per step under
``test-output/browser/<test>/`` (REFUNDBOT_TEST_OUTPUT moves ``test-output``), and ends with no error on the page and
every payload the app sent held to Slack's rules (``tests/slack_rules.py``), as in the e2e tests.
"""

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.sandbox.web import running
from bot.sandbox.world import Sandbox
from tests.slack_rules import SLACK_RULES

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = Path(os.environ.get("REFUNDBOT_TEST_OUTPUT") or ROOT / "test-output") / "browser"
REQUIRED = os.environ.get("REFUNDBOT_TEST_BROWSER") == "required" or os.environ.get("CI", "").lower() == "true"
# Headless as root in a container: no sandboxing of its own, no GPU, and nothing fetched from Google's hosts.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason}; the browser tests are required here", pytrace=False)
    pytest.skip(f"{reason}; install Debian's chromium (apt-get install chromium) to run them")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    executable = os.environ.get("REFUNDBOT_CHROMIUM") or shutil.which("chromium")
    if executable is None:
        _unavailable("Chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=ARGS)
        yield launched
        launched.close()


@dataclass
class Story:
    """A page on a fresh sandbox, and the screenshots of each step."""

    page: object
    sandbox: Sandbox
    folder: Path
    steps: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the page's own errors: every story ends with none

    def shot(self, name: str) -> Path:
        path = self.folder / f"{len(self.steps) + 1:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.steps.append(path.name)
        return path


@pytest.fixture
def story(browser, request) -> Iterator[Story]:
    folder = OUTPUT / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with running(rules=SLACK_RULES) as (sandbox, url):
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        told = Story(page, sandbox, folder)
        page.on("pageerror", lambda error: told.problems.append(f"page error: {error}"))
        page.on("console", lambda m: told.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.goto(url)
        page.wait_for_selector(".person.client")
        yield told
        context.close()
        violations = sandbox.standin.take_violations()
    assert told.problems == []
    assert violations == []  # every payload the app sent, and every answer it gave, as Slack's rules allow
