from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.calendar import ReviewCalendar
from bot.domain.policy import Policy

CAL = ReviewCalendar()
WEEK = date(2026, 11, 9)  # a Monday


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("instant", "week"),
    [
        (at(2026, 11, 9, 0, 0, 0), date(2026, 11, 9)),
        (at(2026, 11, 15, 23, 59, 59), date(2026, 11, 9)),
        (at(2026, 11, 16, 0, 0, 0), date(2026, 11, 16)),
        # Sunday evening in California is already Monday in UTC.
        (at(2026, 11, 16, 1, 0, 0).astimezone(ZoneInfo("America/Los_Angeles")), date(2026, 11, 16)),
    ],
)
def test_billing_week_runs_monday_to_sunday_utc(instant, week):
    assert CAL.billing_week(instant) == week


def test_review_window_opens_monday_noon_and_closes_end_of_friday():
    window = CAL.review_window(WEEK)
    assert window.opens_at == at(2026, 11, 16, 12, 0, 0)
    assert window.last_second == at(2026, 11, 20, 23, 59, 59)


@pytest.mark.parametrize(
    ("instant", "inside"),
    [
        (at(2026, 11, 16, 11, 59, 59), False),
        (at(2026, 11, 16, 12, 0, 0), True),
        (at(2026, 11, 20, 23, 59, 59), True),
        (at(2026, 11, 21, 0, 0, 0), False),
        (at(2026, 11, 13, 12, 0, 0), False),  # during the billing week itself
    ],
)
def test_review_window_boundary_instants(instant, inside):
    assert CAL.review_window(WEEK).contains(instant) is inside


def test_review_window_needs_a_monday():
    with pytest.raises(ValueError, match="Tuesday"):
        CAL.review_window(date(2026, 11, 10))


def test_naive_instants_are_refused_rather_than_guessed():
    with pytest.raises(ValueError, match="no time zone"):
        CAL.billing_week(datetime(2026, 11, 9, 12, 0))


def test_refund_requests_open_for_180_days_after_payment():
    paid = at(2026, 5, 1, 10, 0, 0)
    window = Policy().request_window(paid)
    assert window.contains(paid + timedelta(days=180) - timedelta(seconds=1))
    assert not window.contains(paid + timedelta(days=180))


def test_non_binding_mediation_open_for_30_days_after_payment():
    paid = at(2026, 11, 1, 10, 0, 0)
    window = Policy().non_binding_mediation_window(paid)
    assert window.contains(at(2026, 12, 1, 9, 59, 59))
    assert not window.contains(at(2026, 12, 1, 10, 0, 0))


def test_policy_numbers_round_trip_through_json_values():
    policy = Policy(version="v2", response_window=timedelta(days=5), reminder_offsets=(timedelta(hours=6),))
    assert Policy.from_numbers(policy.numbers()) == policy
