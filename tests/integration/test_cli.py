"""The operator's commands, run as real processes: readable lines, right exit codes, never a traceback."""

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from bot.services.importing import DEMO
from bot.services.messages import OutboxMessage, dm
from storage.db import MIGRATIONS, make_engine, migrate, pending_migrations, prepare, session_factory
from storage.outbox import OutboxRepository
from tests.conftest import REFUNDBOT

ROOT = Path(__file__).resolve().parents[2]
NOW_FOR_OUTBOX = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "POLICY_", "MEDIATOR_", "DATABASE_"))}
    return subprocess.run(args, cwd=cwd, env=clean | env, capture_output=True, text=True, timeout=120, check=False)


def test_import_of_the_demo_twice_gives_the_same_result(database_url, tmp_path):
    first = run([str(REFUNDBOT), "import", str(DEMO)], tmp_path, DATABASE_URL=database_url)
    assert first.returncode == 0, first.stderr
    assert "created 5 contracts, 12 items" in first.stdout
    second = run([str(REFUNDBOT), "import", str(DEMO)], tmp_path, DATABASE_URL=database_url)
    assert second.returncode == 0, second.stderr
    assert (
        "created 0 contracts, 0 items; updated 0 contracts, 0 items; unchanged 5 contracts, 12 items" in second.stdout
    )


def test_a_bad_file_is_refused_with_every_problem_and_nothing_imported(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(DEMO.read_text().replace('"250.00"', '"250.001"').replace("client: U0CLIENT02", "client: carol"))
    result = run([str(REFUNDBOT), "import", str(bad)], tmp_path)
    assert result.returncode == 1
    assert "contract C-300, client: 'carol' is not a Slack user id" in result.stderr
    assert f"nothing was imported from {bad}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "refundbot.db").exists()  # the file is checked before the database is touched


def test_a_missing_file_is_named(tmp_path):
    result = run([str(REFUNDBOT), "import", "nowhere.yaml"], tmp_path)
    assert result.returncode == 2
    assert "'nowhere.yaml' does not exist" in result.stderr


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"PORT": "eighty"}, "configuration: PORT: Input should be a valid integer"),
        ({"DATABASE_URL": "mysql://root@localhost/x"}, "DATABASE_URL: names 'mysql'"),
        ({"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"}, "cannot reach the database"),
        ({"POLICY_FILE": "nowhere.yaml"}, "POLICY_FILE: nowhere.yaml: cannot be read"),
        ({"POLICY_RESPONSE_WINDOW": "P5D"}, "POLICY_RESPONSE_WINDOW: the policy's numbers are no longer settings"),
    ],
)
@pytest.mark.parametrize("command", [["refundbot", "migrate"], ["app.py"]])
def test_bad_configuration_stops_start_up_with_one_line(tmp_path, env, says, command):
    args = [str(REFUNDBOT), *command[1:]] if command[0] == "refundbot" else [sys.executable, str(ROOT / "app.py")]
    slack = {"SLACK_BOT_TOKEN": "xoxb-unused", "SLACK_SIGNING_SECRET": "unused"}  # so the database is reached
    result = run(args, tmp_path, **slack, **env)
    assert result.returncode == 2
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_app_without_slack_credentials_says_what_to_set_and_how(tmp_path):
    result = run([str(REFUNDBOT), "serve"], tmp_path)
    assert result.returncode == 2
    assert "Slack credentials are missing (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET)" in result.stderr
    assert "create the Slack app from its manifest (`refundbot manifest`" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "refundbot.db").exists()  # it stopped at once, before touching anything


def test_socket_mode_needs_the_app_token_not_the_signing_secret(tmp_path):
    result = run([str(REFUNDBOT), "serve"], tmp_path, SLACK_APP_TOKEN="xapp-1")
    assert result.returncode == 2
    assert "Slack credentials are missing (SLACK_BOT_TOKEN)" in result.stderr


def test_changing_policy_numbers_needs_a_new_version(tmp_path):
    assert run([str(REFUNDBOT), "migrate"], tmp_path).returncode == 0
    shown = run([str(REFUNDBOT), "policy", "show", "--yaml"], tmp_path)
    assert shown.returncode == 0, shown.stderr
    ours = tmp_path / "policy.yaml"
    ours.write_text(shown.stdout.replace("\nresponse_window: P3D", "\nresponse_window: P5D"))
    changed = run([str(REFUNDBOT), "migrate"], tmp_path, POLICY_FILE=str(ours))
    assert changed.returncode == 2
    assert "policy version refundbot-1 is already stored with other numbers (response_window)" in changed.stderr
    ours.write_text(ours.read_text().replace("version: refundbot-1", "version: v2"))
    bumped = run([str(REFUNDBOT), "migrate"], tmp_path, POLICY_FILE=str(ours))
    assert bumped.returncode == 0, bumped.stderr
    words = run([str(REFUNDBOT), "policy", "show"], tmp_path, POLICY_FILE=str(ours))
    assert words.stdout.startswith("refund-bot (v1 with an appeal to a second mediator): policy version v2\n")
    assert "The freelancer has 5 days to approve" in words.stdout


def test_policy_show_prints_a_presets_rules_and_names_a_bad_file(tmp_path):
    shown = run([str(REFUNDBOT), "policy", "show", "--preset", "freelancer-like"], tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "policy version freelancer-like-1" in shown.stdout
    assert "5% of the amount at stake per party, at least $5.00" in shown.stdout
    unknown = run([str(REFUNDBOT), "policy", "show", "--preset", "upwork"], tmp_path)
    assert unknown.returncode == 2
    assert "'upwork' is not one of 'fiverr-like', 'freelancer-like', 'refundbot', 'upwork-like'" in unknown.stderr
    (tmp_path / "bad.yaml").write_text("title: x\n")
    bad = run([str(REFUNDBOT), "policy", "show"], tmp_path, POLICY_FILE="bad.yaml")
    assert bad.returncode == 2
    assert bad.stderr.startswith("refundbot: configuration: POLICY_FILE: bad.yaml: version: Field required;")
    assert "Traceback" not in bad.stderr


def test_outbox_shows_what_is_pending_and_why_dead_messages_failed(tmp_path):
    engine = prepare(f"sqlite:///{tmp_path / 'refundbot.db'}")
    with session_factory(engine).begin() as session:
        queue = OutboxRepository(session)
        for key in ("a", "b"):
            queue.add("T0DEMO01", OutboxMessage("R-1", key, dm("U0X"), "notice", {"text": key}), NOW_FOR_OUTBOX)
        [claimed] = queue.lease_due("relay", NOW_FOR_OUTBOX, timedelta(minutes=1), 10)
        queue.dead(claimed.id, "relay", "channel_not_found")
    engine.dispose()
    result = run([str(REFUNDBOT), "outbox"], tmp_path)
    assert result.returncode == 0, result.stderr
    counts, oldest, dead = result.stdout.splitlines()
    assert counts == "1 pending, 0 sent, 1 dead"
    assert re.fullmatch(r"oldest pending: waiting \d+ days?, \d+:\d\d:\d\d \(case R-1\); last error: none yet", oldest)
    assert dead == "dead #1 case R-1 notice: channel_not_found"

    # The cause fixed (the channel exists now), the operator sends the case's messages again, in order.
    assert run([str(REFUNDBOT), "outbox", "retry", "--case", "r-2"], tmp_path).stdout.startswith("0 pending")
    again = run([str(REFUNDBOT), "outbox", "retry", "--dead", "--case", "r-1"], tmp_path)
    assert again.stdout == "2 pending and dead message(s) of case R-1 will be sent at once, in order\n", again.stderr
    assert run([str(REFUNDBOT), "outbox"], tmp_path).stdout.splitlines()[0] == "2 pending, 0 sent, 0 dead"


def test_outbox_purge_forgets_sent_messages_past_retention_only(tmp_path):
    engine = prepare(f"sqlite:///{tmp_path / 'refundbot.db'}")
    long_ago = datetime.now(UTC) - timedelta(days=30)
    with session_factory(engine).begin() as session:
        queue = OutboxRepository(session)
        for key in ("old", "new", "waiting"):
            queue.add("T0DEMO01", OutboxMessage(f"R-{key}", key, dm("U0X"), "notice", {"text": key}), long_ago)
        for claimed in queue.lease_due("relay", long_ago, timedelta(minutes=1), 10):
            if claimed.dedupe_key != "waiting":
                sent_at = long_ago if claimed.dedupe_key == "old" else datetime.now(UTC)
                queue.sent_all([claimed.id], "relay", sent_at)
    engine.dispose()
    purged = run([str(REFUNDBOT), "outbox", "purge"], tmp_path, OUTBOX_RETENTION_DAYS="7")
    assert purged.stdout == "1 sent message(s) older than 7 days purged\n", purged.stderr
    assert run([str(REFUNDBOT), "outbox"], tmp_path).stdout.splitlines()[0] == "1 pending, 1 sent, 0 dead"


def test_outbox_commands_look_at_the_apps_database_and_never_make_or_migrate_one(tmp_path):
    for args in (["outbox"], ["outbox", "retry"], ["outbox", "purge"]):
        result = run([str(REFUNDBOT), *args], tmp_path)
        assert result.returncode == 2, args
        assert result.stderr == (
            f"refundbot: there is no database at {tmp_path / 'refundbot.db'}: set DATABASE_URL to the app's "
            "database (here or in .env)\n"
        )
    for args in (["--help"], ["outbox", "--help"], ["import", "--help"]):
        assert run([str(REFUNDBOT), *args], tmp_path).returncode == 0
    assert list(tmp_path.iterdir()) == []

    # A database a version behind is shown as such, and left as it is.
    engine = make_engine(f"sqlite:///{tmp_path / 'refundbot.db'}")
    _head, previous = [script.revision for script in ScriptDirectory(str(MIGRATIONS)).walk_revisions()][:2]
    migrate(engine, previous)
    behind = pending_migrations(engine)
    result = run([str(REFUNDBOT), "outbox"], tmp_path)
    assert result.returncode == 2
    assert "lacks 1 migration(s) of this version: run `refundbot migrate`" in result.stderr
    assert pending_migrations(engine) == behind
    engine.dispose()


def test_workspace_set_changes_only_what_it_is_given_and_mediators_marks_one_away(tmp_path):
    prepare(f"sqlite:///{tmp_path / 'refundbot.db'}").dispose()
    refundbot = lambda *args: run([str(REFUNDBOT), *args], tmp_path)  # noqa: E731
    first = refundbot("workspace", "set", "T0B", "--channel", "C0DESK", "--mediators", "U0M1,U0M2", "--leads", "U0L1")
    assert first.returncode == 0, first.stderr
    turned = refundbot("workspace", "set", "T0B", "--assignment", "least-loaded")
    assert turned.stdout == (
        "T0B: mediators: U0M1, U0M2; cards in C0DESK; leads: U0L1; cases handed out: least-loaded\n"
    ), turned.stderr
    cleared = refundbot("workspace", "set", "T0B", "--leads", "", "--lead-usergroup", "S0LEADS")
    assert "; leads: user group S0LEADS; cases handed out: least-loaded" in cleared.stdout
    bad = refundbot("workspace", "set", "T0B", "--assignment", "by-lottery")
    assert (bad.returncode, "'by-lottery' is not one of 'off', 'round-robin', 'least-loaded'" in bad.stderr) == (
        2,
        True,
    )

    away = refundbot("mediators", "away", "U0M2", "--until", "2099-01-31")
    assert away.stdout == "T0B: U0M2 is away until 2099-01-31 00:00 UTC\n", away.stderr  # the one workspace known
    listed = refundbot("mediators").stdout.splitlines()
    assert listed[:2] == [
        "T0B: cases handed out: least-loaded; leads: none listed",
        "(user group(s) S0LEADS not listed: no Slack token is set; their members who hold no case are not shown)",
    ]
    assert [line.split()[0] for line in listed[3:]] == ["U0M1", "U0M2"]
    assert listed[4].endswith("away until 2099-01-31 00:00 UTC")
    assert refundbot("mediators", "back", "U0M2").stdout == "T0B: U0M2 is available\n"
    for args, says in (
        (("mediators", "away", "U0M2", "--until", "2001-01-01"), "has passed"),
        (("mediators", "away", "nobody", "--until", "2099-01-01"), "user"),
        (("mediators", "--team", "T0OTHER", "away", "U0M2", "--until", "someday"), "is not a date"),
    ):
        refused = refundbot(*args)
        assert (refused.returncode, says in refused.stderr, "Traceback" in refused.stderr) == (2, True, False)
