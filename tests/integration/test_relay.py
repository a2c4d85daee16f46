"""The relay against the local Slack stand-in, on both databases: delivered once, in order, whatever Slack does."""

import itertools
import logging
import time
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from bot.blocks.render import Rendered
from bot.clients import relay_client
from bot.limits import Distribution, SlackLimits
from bot.relay import ALARM_AFTER, MAX_BACKOFF, Relay
from bot.services.messages import (
    Nudge,
    OutboxMessage,
    Place,
    Target,
    channel,
    dm,
    group,
    nudges,
    response_url,
    thread,
)
from storage.outbox import OutboxRepository
from storage.people import PeopleRepository
from storage.tables import OutboxRow
from tests.integration.conftest import NOW
from tests.slack_standin import Limits, Message
from tests.slack_standin import standin as standin  # the fixture


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):
        return self.now


def render(surface, view, permalink, locale):
    text = f"{surface}: {view.get('text', '')}" + (f" (thread: {permalink})" if permalink else "")
    blocks = view.get("blocks") or [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    return Rendered(text, blocks)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def relay(sessions, standin, clock):
    standin.clock = lambda: clock.now.timestamp()  # Slack's clock and the relay's agree, as they do in life

    def make(owner="relay-a", pace=timedelta(0), limits=None):
        client = relay_client("xoxb-test", standin.api_url, timeout=3)
        return Relay(sessions, client, render, owner=owner, clock=clock, pace=pace, limits=limits)

    return make


def queue(sessions, *messages, now=NOW):
    with sessions.begin() as session:
        for message in messages:
            OutboxRepository(session).add("T0DEMO01", message, now)


def rows(sessions):
    with sessions() as session:
        return {row.dedupe_key: (row.status, row.attempts, row.last_error) for row in session.query(OutboxRow)}


def note(key, text="hello", *, user="U0FREELA01", stream="R-1", message_key=None, blocks=None):
    view = {"text": text} | ({"blocks": blocks} if blocks else {})
    return OutboxMessage(stream, key, dm(user), "note", view, message_key)


def test_a_message_is_posted_once_and_later_changes_update_it_in_place(sessions, standin, relay):
    queue(
        sessions, note("k1", "first", message_key="R-1:freelancer"), note("k2", "second", message_key="R-1:freelancer")
    )
    assert relay().run_once() == 1  # one per case stream at a time: the update waits for the post
    assert relay().run_once() == 1
    [message] = standin.dms("U0FREELA01")
    assert message.text == "note: second"
    assert message.updates == 1
    assert len(standin.calls_to("chat.postMessage")) == 1
    assert [s for s, _, _ in rows(sessions).values()] == ["sent", "sent"]


def test_the_same_dedupe_key_is_queued_once(sessions, standin, relay):
    queue(sessions, note("same"), note("same", "again"))
    queue(sessions, note("same", "from another instance"))
    relay().run_once()
    assert [m.text for m in standin.dms("U0FREELA01")] == ["note: hello"]


def test_different_cases_go_out_in_parallel_and_each_in_order(sessions, standin, relay):
    root = OutboxMessage("R-1", "root", group("U0CLIENT01", "U0FREELA01"), "note", {"text": "case R-1"}, "R-1:thread")
    reply = OutboxMessage("R-1", "reply", thread("R-1:thread"), "note", {"text": "requested"})
    other = note("other", "case R-2", stream="R-2")
    queue(sessions, root, reply, other)
    assert relay().run_once() == 2  # R-1's root and R-2's note; R-1's reply waits for its root
    assert relay().run_once() == 1
    channel = standin.dm_channel("U0CLIENT01", "U0FREELA01")
    [top] = standin.channel_messages(channel)
    [answer] = standin.replies(channel, top.ts)
    assert answer.text.startswith("note: requested (thread: https://demo.slack.com/archives/")


def test_rate_limited_waits_for_retry_after_then_is_delivered_once(sessions, standin, relay, clock):
    standin.fail("chat.postMessage", 429, retry_after=30)
    queue(sessions, note("k"))
    relay().run_once()
    assert rows(sessions)["k"][:3] == ("pending", 1, "ratelimited")
    clock.now += timedelta(seconds=29)
    assert relay().run_once() == 0  # Retry-After has not passed on the relay's clock
    clock.now += timedelta(seconds=1)
    relay().run_once()
    assert rows(sessions)["k"][0] == "sent"
    assert len(standin.dms("U0FREELA01")) == 1


def test_server_errors_for_a_while_are_retried_with_back_off_and_delivered_once(sessions, standin, relay, clock):
    standin.fail("chat.postMessage", 500, times=2)
    queue(sessions, note("k"))
    relay().run_once()
    assert rows(sessions)["k"] == ("pending", 1, "internal_error")  # no blind retry: a 5xx may have posted
    clock.now += timedelta(seconds=2)
    relay().run_once()
    assert rows(sessions)["k"][:2] == ("pending", 2)
    assert relay().run_once() == 0  # backing off: 4 s after the second failure
    clock.now += timedelta(seconds=4)
    relay().run_once()
    assert rows(sessions)["k"][0] == "sent"
    assert len(standin.dms("U0FREELA01")) == 1
    assert len(standin.calls_to("conversations.history")) == 2  # in doubt after a 5xx: looked before each retry


def test_blocks_slack_refuses_are_parked_as_dead_with_the_error(sessions, standin, relay):
    broken = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    queue(sessions, note("bad", blocks=broken), note("next", stream="R-2"))
    relay().run_once()
    status = rows(sessions)
    assert status["bad"] == ("dead", 1, "invalid_blocks")
    assert status["next"][0] == "sent"
    with sessions() as session:
        assert OutboxRepository(session).dead_rows()[0][3] == "invalid_blocks"
    assert standin.take_violations() == [
        "chat.postMessage: blocks[0].text.text: text is 3001 characters long; the maximum is 3000"
    ]


def test_a_relay_killed_between_lease_and_send_is_replaced_after_its_lease(sessions, standin, relay, clock):
    queue(sessions, note("k"))
    crashed = relay("relay-a")
    assert len(crashed.lease_batch()) == 1  # ... and the process dies here, before sending
    survivor = relay("relay-b")
    assert survivor.run_once() == 0  # the lease still protects the row
    clock.now += crashed.lease + timedelta(seconds=1)
    assert survivor.run_once() == 1
    assert len(standin.dms("U0FREELA01")) == 1
    assert survivor.run_once() == 0
    with sessions.begin() as session:  # the dead relay's late settle must not undo the survivor's
        assert not OutboxRepository(session).retry(1, "relay-a", clock.now, "late", in_doubt=False)
    assert rows(sessions)["k"][0] == "sent"


def test_ephemeral_answers_go_to_the_response_url(sessions, standin, relay):
    url = standin.issue_response_url()
    queue(sessions, OutboxMessage("U0STRANGER", "n", response_url(url, "U0STRANGER"), "note", {"text": "no"}))
    relay().run_once()
    assert standin.responses[-1]["text"] == "note: no"
    assert standin.responses[-1]["response_type"] == "ephemeral"


def test_a_response_url_used_up_parks_the_answer_as_dead_with_slacks_reason(sessions, standin, relay):
    """Slack takes five posts per response_url within 30 minutes; a sixth cannot succeed later either."""
    url = standin.issue_response_url()
    notes = [
        OutboxMessage(f"S-{n}", f"n{n}", response_url(url, "U0STRANGER"), "note", {"text": "no"}) for n in range(6)
    ]
    queue(sessions, *notes)
    relay().run_once()
    assert len(standin.responses) == 5
    outcomes = sorted(rows(sessions).values(), key=lambda row: row[0])  # sent in parallel: any one is the sixth
    assert outcomes == [("dead", 1, "response_url answered 404: used_url")] + [("sent", 1, None)] * 5
    assert standin.take_violations() == ["response_url /response/1: url: post 6; a response_url takes at most 5"]


def test_a_failure_that_goes_on_for_hours_never_makes_a_message_dead(sessions, standin, relay, clock):
    queue(sessions, note("k"))
    with sessions.begin() as session:  # as if forty attempts had already failed over the last hours
        session.execute(update(OutboxRow).values(attempts=40, last_error="internal_error"))
    standin.fail("chat.postMessage", 503)
    relay().run_once()
    status, attempts, error = rows(sessions)["k"]
    assert (status, attempts, error) == ("pending", 41, "internal_error")
    with sessions() as session:
        [row] = session.query(OutboxRow).all()
        assert row.next_attempt_at - clock.now == MAX_BACKOFF  # capped, minutes not hours


def test_slack_answering_too_slowly_is_looked_for_and_not_posted_twice(sessions, standin, relay, clock):
    """A reply that never comes in time may still have been posted: the relay looks before posting again."""
    standin.slow("chat.postMessage", 4)  # the relay's client gives up after 3 s; Slack posts at 4 s
    queue(sessions, note("k"), note("other", "another case", stream="R-2"))
    relay().run_once()  # the two cases go out in parallel: whichever met the slow call is still pending
    assert sorted(status for status, _, _ in rows(sessions).values()) == ["pending", "sent"]
    time.sleep(1.5)  # ... and Slack carries the slow call out
    clock.now += timedelta(seconds=2)
    relay().run_once()
    assert [status for status, _, _ in rows(sessions).values()] == ["sent", "sent"]
    assert sorted(m.text for m in standin.dms("U0FREELA01")) == ["note: another case", "note: hello"]


def test_a_message_that_cannot_be_rendered_is_dead_at_once_and_the_rest_go_out(sessions, standin, clock):
    def picky(surface, view, permalink, locale):
        if surface == "broken":
            raise KeyError("hours_left")
        return render(surface, view, permalink, locale)

    client = relay_client("xoxb-test", standin.api_url, timeout=3)
    relay = Relay(sessions, client, picky, owner="a", clock=clock, pace=timedelta(0))
    queue(sessions, OutboxMessage("R-1", "bad", dm("U0FREELA01"), "broken", {}), note("fine", stream="R-2"))
    relay.run_once()
    status = rows(sessions)
    assert status["bad"] == ("dead", 1, "cannot render broken: KeyError: 'hours_left'")
    assert status["fine"][0] == "sent"


# --- a fault at each point of a send: each message appears once, and later changes reach that one ----------


class FlakySessions:
    """The relay's sessions, with the database failing at the listed ``begin()`` calls (1 is the lease, 2 the
    record of what its batch did)."""

    def __init__(self, sessions, *failing: int) -> None:
        self.sessions, self.failing, self.calls = sessions, set(failing), 0

    def __call__(self):
        return self.sessions()

    def begin(self):
        self.calls += 1
        if self.calls in self.failing:
            raise OperationalError("begin", {}, ConnectionRefusedError("the database is down"))
        return self.sessions.begin()


def flaky_relay(sessions, standin, clock, *failing):
    client = relay_client("xoxb-test", standin.api_url, timeout=3)
    return Relay(FlakySessions(sessions, *failing), client, render, owner="flaky", clock=clock, pace=timedelta(0))


def root_and_reply():
    root = OutboxMessage("R-1", "root", group("U0CLIENT01", "U0FREELA01"), "note", {"text": "case R-1"}, "R-1:thread")
    reply = OutboxMessage("R-1", "reply", thread("R-1:thread"), "note", {"text": "requested"})
    return root, reply


def send_root_then_retry(sessions, relay, clock):
    """The root's first attempt fails; after its back-off, the root and then its reply go out."""
    relay().run_once()
    assert rows(sessions)["root"][0] == "pending"
    clock.now += timedelta(seconds=2)
    relay().run_once()
    relay().run_once()


def thread_once(standin):
    channel = standin.dm_channel("U0CLIENT01", "U0FREELA01")
    [top] = standin.channel_messages(channel)  # the root, once
    [answer] = standin.replies(channel, top.ts)
    assert answer.text.startswith("note: requested (thread: https://demo.slack.com/archives/")
    return top


def test_the_database_failing_after_slack_answered_leaves_one_thread_root(sessions, standin, relay, clock):
    queue(sessions, *root_and_reply())
    broken = flaky_relay(sessions, standin, clock, 2)
    with pytest.raises(OperationalError):
        broken.run_once()
    clock.now += broken.lease + timedelta(seconds=1)  # that relay's lease runs out; another takes the row over
    relay("relay-b").run_once()
    relay("relay-b").run_once()
    thread_once(standin)
    assert [s for s, _, _ in rows(sessions).values()] == ["sent", "sent"]


def test_a_relay_dying_before_its_batch_is_recorded_leaves_one_message_and_updates_reach_it(
    sessions, standin, relay, clock
):
    queue(sessions, note("k1", "Approve or decline", message_key="R-1:freelancer"))
    broken = flaky_relay(sessions, standin, clock, 2)  # lease, post … and the record of it fails
    with pytest.raises(OperationalError):
        broken.run_once()
    queue(sessions, note("k2", "Approved", message_key="R-1:freelancer"))
    clock.now += broken.lease + timedelta(seconds=1)
    while relay("relay-b").run_once():
        pass
    [message] = standin.dms("U0FREELA01")
    assert message.text == "note: Approved"  # no orphan left with the old buttons


def test_an_answer_lost_after_slack_posted_is_found_by_its_metadata_and_adopted(sessions, standin, relay, clock):
    standin.drop("chat.postMessage")  # Slack posts the root; its answer never arrives
    queue(sessions, *root_and_reply())
    send_root_then_retry(sessions, relay, clock)
    top = thread_once(standin)
    assert top.metadata == {"event_type": "refundbot_message", "event_payload": {"row": "root"}}
    assert len(standin.calls_to("chat.postMessage")) == 2  # the root once (its answer lost), then the reply


def test_a_relay_killed_after_posting_a_line_without_a_key_leaves_one_line(sessions, standin, relay, clock):
    root, reply = root_and_reply()
    queue(sessions, root)
    relay().run_once()
    queue(sessions, reply)
    broken = flaky_relay(sessions, standin, clock, 2)  # lease, (post) … the settle fails
    with pytest.raises(OperationalError):
        broken.run_once()
    clock.now += broken.lease + timedelta(seconds=1)
    relay("relay-b").run_once()
    thread_once(standin)
    assert len(standin.calls_to("conversations.replies")) == 1  # in doubt: looked in the thread, adopted


@pytest.mark.parametrize("method", ["chat.getPermalink", "conversations.open"])
def test_a_second_call_failing_never_posts_the_root_again(sessions, standin, relay, clock, method):
    standin.fail(method, 500)
    queue(sessions, *root_and_reply())
    send_root_then_retry(sessions, relay, clock)
    thread_once(standin)
    assert [s for s, _, _ in rows(sessions).values()] == ["sent", "sent"]


def test_a_two_hour_outage_then_every_message_once_and_in_order(sessions, standin, relay, clock, caplog):
    root, reply = root_and_reply()
    later = OutboxMessage("R-1", "later", thread("R-1:thread"), "note", {"text": "approved"})
    queue(sessions, root, reply, later, note("dm", "your case", stream="R-2"))
    standin.down = True
    outage_ends = clock.now + timedelta(hours=2)
    sender = relay()
    with caplog.at_level(logging.ERROR, "refundbot.relay"):
        while clock.now < outage_ends:
            sender.run_once()
            clock.now += timedelta(minutes=1)
        waited = sender.check_backlog()
    assert waited > ALARM_AFTER
    assert "ALARM the oldest pending Slack message (case R-1) has waited 2:00:00" in caplog.text
    assert [s for s, _, _ in rows(sessions).values()] == ["pending"] * 4  # nothing dead
    standin.down = False
    clock.now += MAX_BACKOFF
    while sender.run_once():
        pass
    channel = standin.dm_channel("U0CLIENT01", "U0FREELA01")
    [top] = standin.channel_messages(channel)
    assert [m.text.split(" (")[0] for m in standin.replies(channel, top.ts)] == ["note: requested", "note: approved"]
    assert [m.text for m in standin.dms("U0FREELA01")] == ["note: your case"]
    assert [s for s, _, _ in rows(sessions).values()] == ["sent"] * 4


# --- pacing: about one message per second per channel, different channels at once -------------------------------


def test_a_burst_to_one_channel_is_paced_while_other_channels_go_out_at_once(sessions, standin, relay, clock):
    cards = [
        OutboxMessage(f"R-{n}", f"card{n}", channel("C0MEDIATORS"), "note", {"text": f"card {n}"}) for n in range(4)
    ]
    dms = [note(f"dm{n}", f"to {n}", user=f"U0P{n}", stream=f"S-{n}") for n in range(4)]
    queue(sessions, *cards, *dms)
    paced = relay(pace=timedelta(seconds=1))
    assert paced.run_once() == 5  # one card and the four DMs
    assert paced.run_once() == 0  # the other cards wait for their slots
    for second in range(1, 4):
        clock.now += timedelta(seconds=1)
        assert paced.run_once() == 1, second
    with sessions() as session:
        sent = {row.dedupe_key: row.sent_at for row in session.query(OutboxRow)}
        attempts = {row.dedupe_key: row.attempts for row in session.query(OutboxRow)}
    card_times = sorted(sent[f"card{n}"] for n in range(4))
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(card_times)] == [1.0, 1.0, 1.0]
    assert {sent[f"dm{n}"] for n in range(4)} == {card_times[0]}  # the DMs did not wait for the channel
    assert set(attempts.values()) == {1}  # waiting for a slot is not a failed attempt
    assert [m.text for m in standin.channel_messages("C0MEDIATORS")] == [f"note: card {n}" for n in range(4)]


def test_sent_messages_past_retention_are_purged_and_later_updates_still_edit_the_message(sessions, standin, relay):
    queue(sessions, note("old", message_key="dm:R-1"), note("recent", stream="R-2"))
    while relay().run_once():
        pass
    queue(sessions, note("dead", stream="R-3"), note("waiting", stream="R-4"))
    with sessions.begin() as session:
        aged = update(OutboxRow).where(OutboxRow.dedupe_key.in_(["old", "dead", "waiting"]))
        session.execute(aged.values(sent_at=NOW - timedelta(days=20), created_at=NOW - timedelta(days=20)))
        session.execute(update(OutboxRow).where(OutboxRow.dedupe_key == "dead").values(status="dead"))
        session.execute(
            update(OutboxRow).where(OutboxRow.dedupe_key == "waiting").values(next_attempt_at=NOW + timedelta(days=1))
        )
    with sessions.begin() as session:
        assert OutboxRepository(session).purge_sent(NOW - timedelta(days=14), limit=100) == 1
    assert sorted(rows(sessions)) == ["dead", "recent", "waiting"]  # only the old sent one is gone
    queue(sessions, note("later", text="changed", message_key="dm:R-1"))
    relay().run_once()
    [edit] = standin.calls_to("chat.update")
    assert edit.args["text"] == "note: changed"  # the message's ref outlives its outbox row


# --- Slack's limits: what Slack limits waits alone -----------------------------------------------------------------


@pytest.fixture
def limited(standin, clock):
    """The stand-in keeps Slack's rate limits (on the relay's clock)."""
    standin.limits = Limits()
    return standin.limits


def test_a_channel_slack_holds_for_ten_minutes_waits_alone_while_the_others_flow(
    sessions, standin, relay, clock, limited, caplog
):
    held, others = "U0HELD", ["U0OTHER1", "U0OTHER2"]
    limited.hold(standin.dm_channel(held), 600, clock.now.timestamp())
    queue(
        sessions,
        *(note(f"{user}-{n}", f"{n}", user=user, stream=f"{user}-{n}") for user in [held, *others] for n in range(3)),
    )
    paced = relay(pace=timedelta(seconds=1))
    with caplog.at_level(logging.INFO, logger="refundbot.relay"):
        for _ in range(5):
            paced.run_once()
            clock.now += timedelta(seconds=1)
    for user in others:
        assert [m.text for m in standin.dms(user)] == ["note: 0", "note: 1", "note: 2"], user
    assert standin.dms(held) == []
    assert limited.refused == [("chat.postMessage", standin.dm_channel(held))]  # asked once; then it waited
    with sessions() as session:
        waiting = session.query(OutboxRow).filter(OutboxRow.dedupe_key.like(f"{held}-%")).all()
    assert {row.status for row in waiting} == {"pending"}
    assert min(row.next_attempt_at for row in waiting) >= NOW + timedelta(seconds=600)
    assert [row.attempts for row in sorted(waiting, key=lambda r: r.id)] == [1, 0, 0]
    [warned] = [r for r in caplog.records if r.levelno == logging.WARNING and "rate-limits" in r.getMessage()]
    assert standin.dm_channel(held) in warned.getMessage()
    clock.now = NOW + timedelta(seconds=601)
    for _ in range(4):
        paced.run_once()
        clock.now += timedelta(seconds=1)
    assert [m.text for m in standin.dms(held)] == ["note: 0", "note: 1", "note: 2"]
    assert len(limited.refused) == 1


def run_for(relay, clock, seconds: int) -> None:
    """The relay's loop over ``seconds`` of its clock, a round a second."""
    for _ in range(seconds):
        while relay.run_once():
            pass
        clock.now += timedelta(seconds=1)


def test_each_method_keeps_to_its_tier_per_workspace_and_the_rest_wait_unattempted(
    sessions, standin, relay, clock, limited
):
    streams = [f"R-{n}" for n in range(60)]
    queue(sessions, *(note(f"post-{s}", "first", stream=s, user=f"U0P{s}", message_key=f"{s}:dm") for s in streams))
    paced = relay(pace=timedelta(seconds=1))
    run_for(paced, clock, 1)
    assert len(standin.calls_to("conversations.open")) == 50  # Tier 3: 50 a minute in one workspace
    assert rows(sessions)["post-R-59"][:2] == ("pending", 0)  # waiting its turn is no failed attempt
    run_for(paced, clock, 60)
    assert len(standin.calls_to("chat.postMessage")) == 60
    queue(sessions, *(note(f"edit-{s}", "second", stream=s, user=f"U0P{s}", message_key=f"{s}:dm") for s in streams))
    run_for(paced, clock, 1)
    assert len(standin.calls_to("chat.update")) == 50
    run_for(paced, clock, 60)
    assert len(standin.calls_to("chat.update")) == 60
    assert limited.refused == []  # the relay kept to the tiers: Slack never had to refuse
    assert {status for status, _, _ in rows(sessions).values()} == {"sent"}
    assert {attempts for _, attempts, _ in rows(sessions).values()} == {1}


def test_outside_the_marketplace_lookups_keep_to_one_a_minute_of_15_messages_and_nothing_is_posted_twice(
    sessions, standin, relay, clock, limited
):
    limited.distributed = True
    users = ["U0A", "U0B", "U0C"]
    queue(sessions, *(note(f"k-{u}", f"for {u}", user=u, stream=f"S-{u}") for u in users))
    standin.drop("chat.postMessage", times=3)
    limits = SlackLimits(Distribution.DISTRIBUTED)
    distributed = relay(pace=timedelta(seconds=1), limits=limits)
    distributed.run_once()
    # Slack posted all three, but their answers were lost: each row is in doubt and must be looked for.
    for _ in range(3):
        clock.now += timedelta(seconds=61)
        distributed.run_once()
        clock.now += timedelta(seconds=5)
        distributed.run_once()  # the next row's lookup must wait for the minute
    lookups = standin.calls_to("conversations.history")
    assert len(lookups) == 3
    assert all(int(call.args["limit"]) <= 15 and call.args.get("latest") for call in lookups)
    assert [len(standin.dms(u)) for u in users] == [1, 1, 1]  # found and adopted, never posted again
    assert {status for status, _, _ in rows(sessions).values()} == {"sent"}
    assert limited.refused == []
    assert standin.take_violations() == []


def test_outside_the_marketplace_a_lookup_pages_a_busy_channel_one_minute_at_a_time(
    sessions, standin, relay, clock, limited
):
    limited.distributed = True
    queue(sessions, note("mine", "mine", user="U0BUSY", stream="S-mine"))
    standin.drop("chat.postMessage")
    distributed = relay(pace=timedelta(0), limits=SlackLimits(Distribution.DISTRIBUTED))
    distributed.run_once()
    channel = standin.dm_channel("U0BUSY")
    for n in range(20):  # others' messages land after it in the same conversation
        ts = f"{clock.now.timestamp() + n + 1:.6f}"
        standin.messages[channel, ts] = Message(channel, ts, f"other {n}", [])
    for _ in range(3):
        clock.now += timedelta(seconds=61)
        distributed.run_once()
    assert [call.args.get("cursor") for call in standin.calls_to("conversations.history")] == [None, "15"]
    assert len(standin.dms("U0BUSY")) == 21
    assert rows(sessions)["mine"][0] == "sent"
    assert limited.refused == []


def locale_render(surface, view, permalink, locale):
    return Rendered(locale, [{"type": "section", "text": {"type": "mrkdwn", "text": locale}}])


def test_a_readers_locale_is_stored_for_every_relay_and_asked_again_after_a_day(sessions, standin, clock):
    standin.locales["U0FREELA01"] = "de-DE"
    client = relay_client("xoxb-test", standin.api_url, timeout=3)
    queue(sessions, note("k1"))
    Relay(sessions, client, locale_render, owner="relay-a", clock=clock).run_once()
    with sessions() as session:
        assert PeopleRepository(session).known("T0DEMO01", "U0FREELA01") == ("de_DE", NOW)
    # Another relay (a restart, a second instance) reads what was stored: Slack is not asked again within the day.
    queue(sessions, note("k2", stream="R-2"))
    Relay(sessions, client, locale_render, owner="relay-b", clock=clock).run_once()
    assert len(standin.calls_to("users.info")) == 1
    assert [m.text for m in standin.dms("U0FREELA01")] == ["de_DE", "de_DE"]
    # A day on, she has switched Slack to French: the next message asks, reads it and stores it.
    standin.locales["U0FREELA01"] = "fr-FR"
    clock.now += timedelta(days=1, minutes=1)
    queue(sessions, note("k3", stream="R-3"), now=clock.now)
    Relay(sessions, client, locale_render, owner="relay-c", clock=clock).run_once()
    assert len(standin.calls_to("users.info")) == 2
    assert standin.dms("U0FREELA01")[-1].text == "fr_FR"
    # Slack failing to say keeps the last locale it gave, rather than falling back to en_US.
    standin.fail("users.info", 500, times=10)
    clock.now += timedelta(days=2)
    queue(sessions, note("k4", stream="R-4"), now=clock.now)
    Relay(sessions, client, locale_render, owner="relay-d", clock=clock).run_once()
    assert standin.dms("U0FREELA01")[-1].text == "fr_FR"


def test_one_sweep_brings_each_partys_kept_reminders_up_to_date_in_their_own_locale(sessions, standin, clock):
    standin.locales |= {"U0FREELA01": "de-DE", "U0CLIENT01": "fr-FR"}
    client = relay_client("xoxb-test", standin.api_url, timeout=3)
    relay = Relay(sessions, client, locale_render, owner="relay-a", clock=clock, pace=timedelta(0))
    # Nothing kept under its prefixes yet: the sweep is done without a word to Slack, not even to learn a locale.
    queue(sessions, OutboxMessage("R-1", "early", nudges("R-1", [("U0FREELA01", Nudge.ANSWER)]), "note", {}))
    relay.run_once()
    assert rows(sessions)["early"][0] == "sent"
    assert standin.calls == []
    reminders = [
        OutboxMessage(f"R-1/{user}", f"r-{user}", dm(user), "note", {"text": "Reminder"}, f"R-1:nudge:{user}:answer:1")
        for user in ("U0FREELA01", "U0CLIENT01")
    ]
    queue(sessions, *reminders)
    while relay.run_once():
        pass
    stale = [("U0FREELA01", Nudge.ANSWER), ("U0CLIENT01", Nudge.ANSWER), ("U0CLIENT01", Nudge.QUESTION)]
    queue(sessions, OutboxMessage("R-1", "stale", nudges("R-1", stale), "note", {"text": "moved on"}))
    while relay.run_once():
        pass
    assert [(m.text, m.updates) for m in standin.dms("U0FREELA01")] == [("de_DE", 1)]
    assert [(m.text, m.updates) for m in standin.dms("U0CLIENT01")] == [("fr_FR", 1)]
    # A sweep queued by the release before (one party's prefix in parent_key) is still carried out.
    older = Target(Place.NUDGES, users=("U0CLIENT01",), parent_key="R-1:nudge:U0CLIENT01:answer:")
    queue(sessions, OutboxMessage("R-1", "stale-older", older, "note", {"text": "moved on"}))
    while relay.run_once():
        pass
    assert [m.updates for m in standin.dms("U0CLIENT01")] == [2]
