"""The scheduler on both databases: reminders before the deadline, each once; the lapse when it passes, once."""

import copy
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.request
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.app.workers import Workers
from bot.services import scheduler
from storage.tables import AuditRow, DeadlineRow
from tests.conftest import REFUNDBOT
from tests.e2e.conftest import CLIENT, FREELANCER, NOW, Bot
from tests.e2e.served import healthz
from tests.e2e.test_escalation import ask_for_refund, click, decline, dm, submit
from tests.e2e.test_refund_request import client_dm, request, thread_texts
from tests.integration.test_cli import run
from tests.ports import free_port
from tests.slack_standin import Message, button_labels, text_of

DUE = NOW + timedelta(days=3)


def reminders(bot: Bot) -> list[str]:
    return [text_of(m.blocks) for m in bot.standin.dms(FREELANCER) if "*Reminder:*" in text_of(m.blocks)]


def at(bot: Bot, when) -> None:
    bot.clock.now = when
    bot.instance.workers.tick()
    bot.drain()


def test_the_freelancer_is_reminded_48_24_and_2_hours_before_each_once(bot):
    case_id = request(bot)
    at(bot, DUE - timedelta(hours=49))
    assert reminders(bot) == []
    at(bot, DUE - timedelta(hours=48))
    at(bot, DUE - timedelta(hours=47))  # a tick later: nothing new
    assert len(reminders(bot)) == 1
    assert f"<@U0CLIENT01>'s refund request {case_id} for $100.00" in reminders(bot)[0]
    assert "(about 48 hours left). If you do not answer, the request lapses" in reminders(bot)[0]
    at(bot, DUE - timedelta(hours=24))
    at(bot, DUE - timedelta(hours=2))
    at(bot, DUE - timedelta(minutes=1))
    assert len(reminders(bot)) == 3
    assert "(about 2 hours left)" in reminders(bot)[-1]


def test_after_a_pause_only_the_latest_reminder_goes_out(bot):
    request(bot)
    at(bot, DUE - timedelta(minutes=90))  # no instance ticked for the 48 h, 24 h and 2 h marks
    assert len(reminders(bot)) == 1
    assert "(less than two hours left)" in reminders(bot)[0]


def test_the_request_lapses_when_the_deadline_passes_and_both_are_told(bot):
    case_id = request(bot)
    request_message = copy.deepcopy(bot.standin.dms(FREELANCER)[0])
    at(bot, DUE)
    assert bot.case(case_id).state == "lapsed"
    shown = text_of(bot.standin.dms(FREELANCER)[0].blocks)
    assert ":hourglass: *Lapsed* <!date^" in shown
    assert button_labels(bot.standin.dms(FREELANCER)[0].blocks) == ["Add evidence"]  # no answer buttons left
    assert "*Request again* will take this to the *escrow refund process*" in text_of(client_dm(bot).blocks)
    bot.user(FREELANCER).click(request_message, "Approve")  # too late, from the old message
    bot.drain()
    assert "already lapsed when its deadline passed" in bot.standin.responses[-1]["text"]
    assert bot.count(AuditRow, case_id=case_id, to_state="lapsed") == 1


def test_two_instances_ticking_at_once_act_once(bot):
    case_id = request(bot)
    other = Workers.build(bot.instance.runtime)
    assert other.owner != bot.instance.workers.owner
    bot.clock.now = DUE
    ticks = [threading.Thread(target=instance.tick) for instance in (bot.instance.workers, other)]
    for thread in ticks:
        thread.start()
    for thread in ticks:
        thread.join(timeout=30)
    bot.drain()
    assert bot.count(AuditRow, case_id=case_id, to_state="lapsed") == 1
    channel = bot.standin.dm_channel(CLIENT, FREELANCER)
    [root] = bot.standin.channel_messages(channel)
    assert len(bot.standin.replies(channel, root.ts)) == 2  # requested, lapsed: once each


def test_a_decision_just_before_the_deadline_stands(bot):
    case_id = request(bot)
    bot.clock.now = DUE - timedelta(seconds=1)
    bot.user(FREELANCER).click(bot.standin.dms(FREELANCER)[0], "Approve")
    at(bot, DUE + timedelta(minutes=1))
    assert bot.case(case_id).state == "approved"
    assert bot.count(AuditRow, case_id=case_id) == 2


def test_a_crashed_instances_lease_is_taken_over_after_its_lease(bot):
    case_id = request(bot)
    bot.clock.now = DUE
    with bot.instance.runtime.uow() as uow:
        assert len(uow.deadlines.lease_due("crashed-instance", DUE, timedelta(minutes=2), 10)) == 1
        uow.commit()
    at(bot, DUE)
    assert bot.case(case_id).state == "awaiting_freelancer"  # the lease still holds
    at(bot, DUE + timedelta(minutes=2, seconds=1))
    assert bot.case(case_id).state == "lapsed"


def cli_env(bot: Bot) -> dict[str, str]:
    settings = bot.instance.runtime.settings
    return {
        "DATABASE_URL": settings.database_url,
        "SLACK_BOT_TOKEN": "xoxb-e2e",
        "SLACK_API_URL": bot.standin.api_url,
    }


def test_refundbot_tick_once_acts_on_what_is_due_and_sends_it(bot, tmp_path):
    case_id = request(bot)  # opened on the test clock's day, so its deadline is long past on the real clock
    result = run([str(REFUNDBOT), "tick", "--once"], tmp_path, **cli_env(bot))
    assert result.returncode == 0, result.stderr
    # the thread line, both DMs, and the parties' earlier reminders brought up to date (none were sent here)
    assert result.stdout == "acted on 1 deadline(s); 4 Slack message(s) delivered, 0 pending\n"
    assert bot.case(case_id).state == "lapsed"
    assert ":hourglass: *Lapsed*" in text_of(client_dm(bot).blocks)  # sent by the command, not by the test's relay
    again = run([str(REFUNDBOT), "tick", "--once"], tmp_path, **cli_env(bot))
    assert again.stdout == "acted on 0 deadline(s); 0 Slack message(s) delivered, 0 pending\n"


def test_refundbot_tick_once_while_slack_is_down_says_so_and_fails_for_cron(bot, tmp_path):
    case_id = request(bot)
    bot.standin.down = True
    result = run([str(REFUNDBOT), "tick", "--once"], tmp_path, **cli_env(bot))
    assert result.returncode == 1
    assert bot.case(case_id).state == "lapsed"  # the deadline is applied; only its messages wait
    assert result.stdout == "acted on 1 deadline(s); 0 Slack message(s) delivered, 4 pending\n"
    # The case's first message failed; its others wait behind it, in order.
    assert (
        "Slack did not take 1 message(s) (last error: service_unavailable); the 4 pending stay queued and are retried"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
    # The relay's line has its time, and names the workspace and the case; as JSON too, when asked.
    assert re.search(
        rf"^\d{{4}}-\d\d-\d\dT[\d:.]+Z WARNING refundbot.relay team=T0DEMO01 case={case_id}: relay: message \d+ "
        r"\(timeline\) failed \(service_unavailable\)",
        result.stderr,
        re.MULTILINE,
    ), result.stderr
    assert run([str(REFUNDBOT), "outbox", "retry"], tmp_path, **cli_env(bot)).returncode == 0  # due again now
    as_json = run([str(REFUNDBOT), "tick", "--once"], tmp_path, **cli_env(bot), LOG_FORMAT="json")
    [failed] = [json.loads(line) for line in as_json.stderr.splitlines() if line.startswith("{")]
    assert failed | {"time": "", "message": ""} == {
        "time": "",
        "level": "WARNING",
        "logger": "refundbot.relay",
        "message": "",
        "team": "T0DEMO01",
        "case": case_id,
    }


def test_refundbot_tick_without_once_or_a_token_says_what_to_do(bot, tmp_path):
    plain = run([str(REFUNDBOT), "tick"], tmp_path, **cli_env(bot))
    assert plain.returncode == 2
    assert "use `worker`" in plain.stderr
    env = cli_env(bot)
    del env["SLACK_BOT_TOKEN"]
    tokenless = run([str(REFUNDBOT), "tick", "--once"], tmp_path, **env)
    assert tokenless.returncode == 2
    assert "neither SLACK_BOT_TOKEN nor SLACK_CLIENT_ID is set" in tokenless.stderr


def test_refundbot_worker_ticks_and_relays_without_http_until_stopped_and_can_be_watched(bot, tmp_path):
    case_id = request(bot)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MEDIATOR_", "DATABASE_", "LOG_"))}
    probe = free_port()
    worker = subprocess.Popen(
        [str(REFUNDBOT), "worker", "--every", "0.5"],
        cwd=tmp_path,
        env=clean | cli_env(bot) | {"HEALTH_PORT": str(probe), "LOG_FORMAT": "json"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while bot.case(case_id).state != "lapsed" and time.monotonic() < deadline:
            time.sleep(0.2)
        while ":hourglass: *Lapsed*" not in text_of(client_dm(bot).blocks) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert healthz(f"http://127.0.0.1:{probe}")[0] == 200
        status, ready = healthz(f"http://127.0.0.1:{probe}", "/readyz")
        assert (status, json.loads(ready)["status"]) == (200, "ready")
        with urllib.request.urlopen(f"http://127.0.0.1:{probe}/metrics", timeout=5) as response:
            watched = response.read().decode()
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    assert bot.case(case_id).state == "lapsed", err
    assert ":hourglass: *Lapsed*" in text_of(client_dm(bot).blocks)
    assert worker.returncode == 0, err
    assert "refundbot_expiries_applied_total 1.0" in watched  # the ticker's, in the worker's own metrics
    assert re.search(
        r'refundbot_slack_calls_total\{method="chat\.(update|postMessage)"\} [1-9]', watched
    )  # the relay's
    logged = [json.loads(line) for line in err.splitlines() if line.strip()]  # every line in LOG_FORMAT
    messages = [entry["message"] for entry in logged]
    assert any("ticking every 0.5 s" in m and f"on 127.0.0.1:{probe}" in m for m in messages)
    assert "refundbot worker stopped" in messages
    assert out == ""


def test_an_extension_moves_the_deadline_and_its_reminders_and_the_client_is_told(bot):
    case_id = request(bot)
    request_message = copy.deepcopy(bot.standin.dms(FREELANCER)[0])
    bot.clock.now = NOW + timedelta(hours=1)
    bot.user(FREELANCER).click(request_message, "I'm away: 2 days more")
    bot.drain()
    new_due = DUE + timedelta(hours=48)
    shown = bot.standin.dms(FREELANCER)[0].blocks
    assert f"*Please answer by <!date^{int(new_due.timestamp())}^" in text_of(shown)
    assert button_labels(shown) == ["Approve", "Adjust", "Decline"]  # once per case
    [told] = [m for m in bot.standin.dms(CLIENT) if "is away" in text_of(m.blocks)]
    assert f"<@{FREELANCER}> is away and asked for 2 days more on case {case_id}" in text_of(told.blocks)
    assert f"The deadline is now <!date^{int(new_due.timestamp())}^" in text_of(told.blocks)
    assert any("is away" in line for line in thread_texts(bot))
    with bot.instance.runtime.sessions() as session:
        moved = session.execute(select(DeadlineRow.due_at, DeadlineRow.done_at).order_by(DeadlineRow.id)).all()
    assert [(due.replace(tzinfo=UTC), done and done.replace(tzinfo=UTC)) for due, done in moved] == [
        (DUE, NOW + timedelta(hours=1)),  # retired when the extension was asked for
        (new_due, None),
    ]

    at(bot, DUE - timedelta(hours=48))  # the old 48 h mark: nothing
    at(bot, DUE)  # the old deadline: no lapse, and it is the new 48 h mark
    assert bot.case(case_id).state == "awaiting_freelancer"
    assert len(reminders(bot)) == 1
    at(bot, new_due - timedelta(hours=24))
    at(bot, new_due - timedelta(hours=2))
    assert len(reminders(bot)) == 3
    at(bot, new_due)
    assert bot.case(case_id).state == "lapsed"

    bot.user(FREELANCER).click(request_message, "I'm away: 2 days more")  # again, from the old message
    bot.drain()
    assert "already lapsed when its deadline passed" in bot.standin.responses[-1]["text"]


def test_a_second_extension_is_refused_and_the_client_cannot_extend_the_freelancers_time(bot):
    case_id = request(bot)
    request_message = copy.deepcopy(bot.standin.dms(FREELANCER)[0])
    bot.user(FREELANCER).click(request_message, "I'm away: 2 days more")
    bot.user(FREELANCER).click(request_message, "I'm away: 2 days more")
    bot.drain()
    assert "You already had your extension on case" in bot.standin.responses[-1]["text"]
    assert bot.count(AuditRow, case_id=case_id) == 2
    forged = copy.deepcopy(request_message)
    bot.user(CLIENT).click(forged, "I'm away: 2 days more")
    bot.drain()
    assert "not waiting for your answer" in bot.standin.responses[-1]["text"]
    assert bot.count(AuditRow, case_id=case_id) == 2


def test_approve_racing_the_lapse_at_the_same_instant_gives_one_outcome(bot):
    """The click was read a millisecond before the deadline, the tick at it: one of them wins, the other is told."""
    case_id = request(bot)
    bot.clock.now = DUE - timedelta(milliseconds=1)
    ticker = replace(bot.instance.workers.deps, clock=lambda: DUE)
    click = threading.Thread(target=bot.user(FREELANCER).click, args=(bot.standin.dms(FREELANCER)[0], "Approve"))
    tick = threading.Thread(target=scheduler.tick, args=(ticker, "racing-ticker"))
    for thread in (click, tick):
        thread.start()
    for thread in (click, tick):
        thread.join(timeout=30)
    bot.clock.now = DUE
    bot.drain()
    outcome = bot.case(case_id).state
    assert outcome in ("approved", "lapsed")
    assert bot.count(AuditRow, case_id=case_id) == 2  # requested, then exactly one outcome
    shown = text_of(bot.standin.dms(CLIENT)[0].blocks)
    assert (":white_check_mark: *Approved*" in shown) == (outcome == "approved")
    if outcome == "lapsed":  # the click lost: its sender is told what happened instead
        assert "already lapsed when its deadline passed" in bot.standin.responses[-1]["text"]


THURSDAY, FRIDAY, WINDOW_CLOSES = (datetime(2026, 11, d, tzinfo=UTC) for d in (26, 27, 28))


def window_reminders(bot: Bot) -> list[Message]:
    return [m for m in bot.standin.dms(CLIENT) if "*The dispute window for Week of 16 Nov 2026" in text_of(m.blocks)]


def test_the_client_of_a_disputable_week_is_reminded_before_its_review_window_closes(bot):
    case_id = ask_for_refund(bot, "Backend work", "Week of 16 Nov 2026", "100.00")
    at(bot, THURSDAY - timedelta(minutes=1))
    assert window_reminders(bot) == []
    at(bot, THURSDAY)  # 48 h before Saturday 00:00 UTC
    [first] = window_reminders(bot)
    assert "closes <!date^1795823999^{date_short_pretty} at {time}|Fri 27 Nov 2026 23:59 UTC>.*" in text_of(
        first.blocks
    )
    assert f"refund request {case_id} for $100.00 is still waiting for <@{FREELANCER}>'s answer" in text_of(
        first.blocks
    )
    assert button_labels(first.blocks) == []  # nothing to do yet but wait

    bot.clock.now = THURSDAY + timedelta(hours=10)
    decline(bot, case_id)
    at(bot, FRIDAY)
    at(bot, FRIDAY + timedelta(hours=1))  # a tick later: nothing new
    second = window_reminders(bot)[-1]
    assert len(window_reminders(bot)) == 2
    assert "was declined. Press *Request again* before then to open a dispute" in text_of(second.blocks)
    assert button_labels(second.blocks)[:2] == ["Request again", "Close the case"]
    at(bot, WINDOW_CLOSES - timedelta(hours=2))
    assert len(window_reminders(bot)) == 3
    at(bot, WINDOW_CLOSES)
    at(bot, WINDOW_CLOSES + timedelta(days=1))
    assert len(window_reminders(bot)) == 3
    assert bot.case(case_id).state == "declined"  # the window closing changes nothing but the route
    with bot.instance.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(DeadlineRow).where(DeadlineRow.done_at.is_(None))) == 0


def test_once_the_week_is_disputed_or_approved_the_window_reminders_stop(bot):
    disputed = ask_for_refund(bot, "Backend work", "Week of 16 Nov 2026", "100.00")
    decline(bot, disputed)
    click(bot, CLIENT, dm(bot, CLIENT, disputed), "Request again")
    submit(bot, CLIENT, {"Disputed hours": "1", "Reasons": "No standup.", "Certification": "I certify"})
    assert bot.case(disputed).stage == "hourly_dispute"
    at(bot, THURSDAY)
    at(bot, WINDOW_CLOSES - timedelta(hours=2))
    assert window_reminders(bot) == []


def test_the_freelancer_can_answer_straight_from_a_reminder(bot):
    case_id = request(bot)
    at(bot, DUE - timedelta(hours=24))
    [reminder] = [m for m in bot.standin.dms(FREELANCER) if "*Reminder:*" in text_of(m.blocks)]
    assert button_labels(reminder.blocks) == ["Approve", "Adjust", "Decline", "I'm away: 2 days more"]
    bot.user(FREELANCER).click(reminder, "Approve")
    bot.drain()
    assert bot.case(case_id).state == "approved"
    assert ":white_check_mark: *Approved*" in text_of(client_dm(bot).blocks)
