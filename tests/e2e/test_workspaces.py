"""Installed in many workspaces (OAuth), against the Slack stand-in: Bolt's install page and Slack's redirect back,
the oauth.v2.access exchange, token rotation, uninstalls; and two workspaces that see and act on nothing of each
other's, in Slack or through the CLI, each reached with its own token."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message

import pytest
from sqlalchemy import select

from storage.tables import INSTALLATIONS, CaseRow, ContractRow, OutboxRow
from tests.conftest import REFUNDBOT
from tests.e2e.conftest import CLIENT, DEMO, FREELANCER, SECRET, Bot, running_bot
from tests.e2e.served import wait_for
from tests.e2e.test_escalation import escalated
from tests.e2e.test_refund_request import freelancer_dm, request
from tests.slack_standin import SlackStandIn, SlackUser, button_labels, text_of

WENT_WRONG = "Something went wrong"
CLIENT_ID, CLIENT_SECRET = "1111.2222", "oauth-client-secret"
A, B = "T0DEMO01", "T0OTHER01"  # the demo's workspace, and another holding a copy of the same contracts


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_: object, **__: object) -> None:
        return None


def get(url: str, cookie: str | None = None) -> tuple[int, str, Message]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.build_opener(NoRedirects()).open(request, timeout=10) as response:
            return response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), exc.headers


def begin_install(bot: Bot) -> tuple[str, str, str]:
    """Someone opens /slack/install: Bolt's page, its link to Slack's consent screen, and the state cookie."""
    status, page, headers = get(f"{bot.url}/slack/install")
    assert status == 200
    link = re.search(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', page)
    assert link is not None, page
    query = urllib.parse.parse_qs(urllib.parse.urlparse(link.group(1).replace("&amp;", "&")).query)
    cookie = str(headers["Set-Cookie"]).split(";")[0]
    return query["state"][0], cookie, query["client_id"][0] + " " + query["scope"][0]


def install(bot: Bot, team: str, installer: str) -> tuple[int, str]:
    """The whole install: the page, Allow on Slack's screen, Slack's redirect back with a code."""
    state, cookie, _ = begin_install(bot)
    code = bot.standin.grant(team, installer)
    status, page, _ = get(f"{bot.url}/slack/oauth_redirect?code={code}&state={state}", cookie)
    return status, page


def installations(bot: Bot) -> list[tuple[str, str]]:
    with bot.instance.runtime.engine.connect() as connection:
        rows = connection.execute(select(INSTALLATIONS.c.team_id, INSTALLATIONS.c.bot_token).order_by("id"))
        return [tuple(row) for row in rows]


@pytest.fixture
def distributed(standin) -> SlackStandIn:
    standin.distribute(CLIENT_ID, CLIENT_SECRET, expires_in=12 * 3600)
    return standin


@pytest.fixture
def bot(database_url, distributed) -> Iterator[Bot]:
    oauth = {"slack_bot_token": None, "slack_client_id": CLIENT_ID, "slack_client_secret": CLIENT_SECRET}
    with running_bot(database_url, distributed, **oauth) as running:
        yield running


def refundbot(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_", "MEDIATOR_"))}
    return subprocess.run(
        [str(REFUNDBOT), *args],
        env=env | {"DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_install_exchanges_the_code_with_the_apps_credentials_and_keeps_the_installation(bot, distributed):
    _, _, asked = begin_install(bot)
    assert asked.startswith(f"{CLIENT_ID} commands,chat:write,im:write,mpim:write,users:read")
    status, page = install(bot, A, "U0ADMIN01")
    assert status == 200, page
    [exchange] = distributed.oauth.exchanges
    assert (exchange["client_id"], exchange["client_secret"]) == (CLIENT_ID, CLIENT_SECRET)
    assert installations(bot) == [(A, distributed.token_of(A))]

    # A redirect whose state this app never issued (a forged link, a replay) installs nothing.
    code = distributed.grant(B, "U0ADMIN02")
    status, _, _ = get(f"{bot.url}/slack/oauth_redirect?code={code}&state=forged", "slack-app-oauth-state=forged")
    assert status >= 400
    assert [team for team, _ in installations(bot)] == [A]


def test_a_token_about_to_expire_is_rotated_before_use_and_the_new_one_carries_on(database_url, standin):
    standin.distribute(CLIENT_ID, CLIENT_SECRET, expires_in=3600)  # within Bolt's 2 hours: due for rotation
    oauth = {"slack_bot_token": None, "slack_client_id": CLIENT_ID, "slack_client_secret": CLIENT_SECRET}
    with running_bot(database_url, standin, **oauth) as bot:
        assert install(bot, A, "U0ADMIN01")[0] == 200
        first = standin.token_of(A)
        case_id = request(bot)  # the form (Bolt's authorize), then the DMs (the relay's own look-up)
        refreshed = [e for e in standin.oauth.exchanges if e.get("grant_type") == "refresh_token"]
        assert refreshed, "the expiring token was never rotated"
        assert standin.token_of(A) != first
        assert installations(bot)[-1] == (A, standin.token_of(A))  # kept, for the next instance to use
        assert f"Refund request {case_id}" in text_of(freelancer_dm(bot).blocks)
        refused = [c for c in standin.calls if c.method != "auth.test" and c.team != A]
        assert refused == []


def test_two_workspaces_see_and_act_on_nothing_of_each_others(bot, distributed, database_url, tmp_path):
    assert install(bot, A, "U0ADMIN01")[0] == 200
    assert install(bot, B, "U0ADMIN02")[0] == 200
    # B's marketplace imports the same contract ids and people, through the CLI: A's stay as they were.
    other = tmp_path / "other.yaml"
    other.write_text(DEMO.read_text().replace(A, B).replace("Logo redesign", "Another logo"))
    assert refundbot(database_url, "import", str(other)).returncode == 0
    with bot.instance.runtime.sessions() as session:
        found = session.execute(select(ContractRow.team_id, ContractRow.title).where(ContractRow.id == "C-100"))
        titles = {team: title for team, title in found}
    assert titles == {A: "Logo redesign", B: "Another logo"}
    for team, channel, mediator in ((A, "C0MEDA", "U0MEDA01"), (B, "C0MEDB", "U0MEDB01")):
        done = refundbot(database_url, "workspace", "set", team, "--channel", channel, "--mediators", mediator)
        assert done.returncode == 0, done.stderr
    listed = refundbot(database_url, "workspace", "list").stdout
    assert f"{A}: installed" in listed
    assert f"{B}: installed" in listed
    assert "mediators: U0MEDB01; cards in C0MEDB" in listed
    bot.instance.workers.deps.roster.refresh()

    case_id = request(bot)  # in A
    posted = [c for c in distributed.calls if c.method in ("chat.postMessage", "chat.update", "conversations.open")]
    assert posted
    assert {c.team for c in posted} == {A}  # every message of A's case went with A's token

    # The same people in B: nothing of A's case shows, and nothing of it can be done from there.
    client_in_b = SlackUser(distributed, f"{bot.url}/slack/events", SECRET, CLIENT, team=B)
    freelancer_in_b = SlackUser(distributed, f"{bot.url}/slack/events", SECRET, FREELANCER, team=B)
    assert case_id not in client_in_b.command("list").body
    assert "no case" in client_in_b.command(f"status {case_id}").body.lower()
    assert freelancer_in_b.click(freelancer_dm(bot), "Approve").status == 200
    bot.drain()
    assert bot.case(case_id).state == "awaiting_freelancer"
    mediators = bot.instance.workers.deps
    assert mediators.card_channel(A) == "C0MEDA"
    assert mediators.roster.is_mediator(A, "U0MEDA01")
    assert not mediators.roster.is_mediator(A, "U0MEDB01")


def event(team: str, body: dict, distributed: SlackStandIn) -> str:
    now = time.time()
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": team,
            "api_app_id": "A0REFUND",
            "event": body | {"event_ts": f"{now:.6f}"},
            "event_id": distributed.next_event_id(),
            "event_time": int(now),
            "authorizations": [{"team_id": team, "user_id": "U0BOT", "is_bot": True}],
        }
    )


def test_clicks_never_wait_on_auth_test_in_oauth_mode(bot, distributed, database_url):
    assert install(bot, A, "U0ADMIN01")[0] == 200
    assert install(bot, B, "U0ADMIN02")[0] == 200
    request(bot)  # in A: the freelancer's DM, with its buttons
    distributed.slow("auth.test", 2.5, times=1000)  # Slack answering auth.test slowly, as in an incident
    installing = len(distributed.calls_to("auth.test"))  # Bolt's install flow asks once per install
    slowest = 0.0
    for n in range(50):
        started = time.monotonic()
        if n % 2:  # a stranger presses Approve: acknowledged, and told privately it is not theirs
            answer = SlackUser(distributed, f"{bot.url}/slack/events", SECRET, "U0STRANGER", team=A).click(
                freelancer_dm(bot), "Approve"
            )
            assert (answer.status, answer.body) == (200, "")
        else:
            answer = SlackUser(distributed, f"{bot.url}/slack/events", SECRET, CLIENT, team=B).command("help")
            assert "/refund" in answer.json["text"]  # the help, not "Something went wrong"
        slowest = max(slowest, time.monotonic() - started)
    assert slowest < 3.0
    assert len(distributed.calls_to("auth.test")) == installing  # no request asked Slack to authorize
    assert WENT_WRONG not in json.dumps(distributed.responses)


def test_revoked_bot_tokens_uninstall_the_workspace_everywhere_the_readme_says(bot, distributed, database_url):
    assert install(bot, A, "U0ADMIN01")[0] == 200
    assert install(bot, B, "U0ADMIN02")[0] == 200
    assert bot.instance.workers.installed.client(B)  # in this instance's cache
    admin = SlackUser(distributed, f"{bot.url}/slack/events", SECRET, "U0ADMIN02", team=B)
    revoked = {"type": "tokens_revoked", "tokens": {"oauth": ["U0ADMIN02"], "bot": ["U0BOT"]}}
    assert admin.post(event(B, revoked, distributed), "application/json").status == 200
    assert [team for team, _ in installations(bot)] == [A]
    listed = refundbot(database_url, "workspace", "list").stdout
    assert f"{A}: installed" in listed
    assert f"{B}: installed" not in listed
    answer = SlackUser(distributed, f"{bot.url}/slack/events", SECRET, CLIENT, team=B).command("help")
    assert answer.status != 200 or "/refund" not in (answer.body or "")  # no longer served there


def test_an_uninstalled_workspace_loses_its_installation_and_its_messages_wait_for_the_operator(bot, distributed):
    assert install(bot, A, "U0ADMIN01")[0] == 200
    assert install(bot, B, "U0ADMIN02")[0] == 200
    admin = SlackUser(distributed, f"{bot.url}/slack/events", SECRET, "U0ADMIN02", team=B)
    assert admin.post(event(B, {"type": "app_uninstalled"}, distributed), "application/json").status == 200
    assert [team for team, _ in installations(bot)] == [A]

    with bot.instance.runtime.sessions.begin() as session:  # something B's cases had queued before
        session.add(
            OutboxRow(
                team_id=B,
                stream="R-ZZZZZZ",
                dedupe_key="late",
                target={"kind": "dm", "users": [CLIENT]},
                message_key=None,
                surface="refusal",
                view={"error": "case_not_found", "case_id": "R-ZZZZZZ"},
                status="pending",
                attempts=0,
                next_attempt_at=bot.clock(),
                created_at=bot.clock(),
            )
        )
    bot.drain()
    with bot.instance.runtime.sessions() as session:
        row = session.scalars(select(OutboxRow).where(OutboxRow.dedupe_key == "late")).one()
        assert session.scalars(select(CaseRow)).all() == []
    assert (row.status, row.last_error) == (
        "dead",
        f"refund-bot is not installed in workspace {B} (uninstalled, or tokens revoked)",
    )


def test_workspace_set_reaches_a_running_instance_within_seconds_without_a_restart(bot, distributed, database_url):
    assert install(bot, A, "U0ADMIN01")[0] == 200
    watcher = bot.instance.workers.watch_roster()  # what a web process runs beside the requests
    try:
        new_mediator = "U0NEWMED1"
        bot.user(new_mediator).open_home()
        bot.drain()
        assert "Mediation desk" not in text_of(bot.standin.homes[new_mediator]["blocks"])
        done = refundbot(database_url, "workspace", "set", A, "--channel", "C0NEWDESK", "--mediators", new_mediator)
        assert done.returncode == 0, done.stderr
        deps = bot.instance.workers.deps
        wait_for(lambda: deps.roster.is_mediator(A, new_mediator), seconds=10)
        assert deps.card_channel(A) == "C0NEWDESK"
        bot.user(new_mediator).open_home()
        bot.drain()
        assert "Mediation desk" in text_of(bot.standin.homes[new_mediator]["blocks"])
    finally:
        watcher.shutdown(wait=False)


def test_a_case_that_reached_the_mediators_before_the_workspace_had_a_channel_gets_its_card_when_it_gets_one(
    database_url, distributed
):
    oauth = {"slack_bot_token": None, "slack_client_id": CLIENT_ID, "slack_client_secret": CLIENT_SECRET}
    with running_bot(database_url, distributed, mediator_channel_id=None, **oauth) as bot:
        assert install(bot, A, "U0ADMIN01")[0] == 200
        case_id = escalated(bot)  # no channel anywhere: the card has nowhere to go
        assert bot.case(case_id).state == "unassigned"  # waiting for a mediator to claim it
        assert distributed.calls_to("chat.postMessage")  # the parties heard, the mediators could not
        done = refundbot(database_url, "workspace", "set", A, "--channel", "C0LATEDESK", "--mediators", "U0MEDA01")
        assert done.returncode == 0, done.stderr
        assert "the card(s) of 1 case(s) waiting with the mediators will be shown there" in done.stdout
        bot.clock.now = datetime.now(UTC) + timedelta(seconds=1)  # the command queued it on the real clock
        bot.drain()
        [shown] = distributed.channel_messages("C0LATEDESK")
        assert case_id in shown.text
        assert "Claim" in button_labels(shown.blocks)


def test_slack_rate_limiting_a_token_rotation_keeps_the_current_token_and_holds_no_click(database_url, standin, caplog):
    standin.distribute(CLIENT_ID, CLIENT_SECRET, expires_in=3600)  # due for rotation, still good for an hour
    oauth = {"slack_bot_token": None, "slack_client_id": CLIENT_ID, "slack_client_secret": CLIENT_SECRET}
    with running_bot(database_url, standin, **oauth) as bot:
        assert install(bot, A, "U0ADMIN01")[0] == 200
        current = standin.token_of(A)
        standin.fail("oauth.v2.access", 429, times=100, retry_after=600)
        started = time.monotonic()
        answer = SlackUser(standin, f"{bot.url}/slack/events", SECRET, CLIENT, team=A).command("help")
        assert time.monotonic() - started < 3.0
        assert "/refund" in answer.json["text"]
        assert standin.token_of(A) == current
        assert "rotating its token failed" in caplog.text
