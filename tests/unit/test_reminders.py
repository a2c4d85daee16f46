from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.reminders import plan_reminders

DUE = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
OFFSETS = (48 * 3600.0, 24 * 3600.0, 2 * 3600.0)
H48, H24, H2 = OFFSETS


def test_nothing_before_the_first_reminder():
    plan = plan_reminders(DUE, OFFSETS, (), DUE - timedelta(hours=49))
    assert (plan.send, plan.sent, plan.next_at) == (None, (), DUE - timedelta(hours=48))


def test_each_reminder_in_turn():
    first = plan_reminders(DUE, OFFSETS, (), DUE - timedelta(hours=48))
    assert (first.send, first.sent, first.next_at) == (H48, (H48,), DUE - timedelta(hours=24))
    second = plan_reminders(DUE, OFFSETS, first.sent, DUE - timedelta(hours=23))
    assert (second.send, second.sent, second.next_at) == (H24, (H48, H24), DUE - timedelta(hours=2))
    third = plan_reminders(DUE, OFFSETS, second.sent, DUE - timedelta(hours=1))
    assert (third.send, third.next_at) == (H2, DUE)


def test_after_a_gap_only_the_latest_due_reminder_is_sent():
    plan = plan_reminders(DUE, OFFSETS, (), DUE - timedelta(hours=3))
    assert (plan.send, plan.sent, plan.next_at) == (H24, (H48, H24), DUE - timedelta(hours=2))


def test_a_reminder_already_sent_is_not_sent_again():
    plan = plan_reminders(DUE, OFFSETS, (H48,), DUE - timedelta(hours=47))
    assert plan.send is None


@given(
    ticks=st.lists(st.integers(min_value=0, max_value=80 * 3600), min_size=1, max_size=30),
)
def test_whatever_the_ticks_each_offset_is_reminded_at_most_once(ticks):
    sent: tuple[float, ...] = ()
    reminded: list[float] = []
    for seconds_before_due in sorted(ticks, reverse=True):
        plan = plan_reminders(DUE, OFFSETS, sent, DUE - timedelta(seconds=seconds_before_due))
        if plan.send is not None:
            reminded.append(plan.send)
        sent = plan.sent
    assert len(reminded) == len(set(reminded))
