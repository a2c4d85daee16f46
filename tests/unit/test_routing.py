from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.contract import ContractKind
from bot.domain.routing import RouteKind, route_after_request
from tests.unit.factories import POLICY, milestone, timesheet

SHEET = timesheet()  # week of Mon 16 Nov 2026, paid Mon 23 Nov 06:00 UTC


def at(*parts):
    return datetime(*parts, tzinfo=UTC)


def test_fixed_price_goes_to_the_escrow_refund_process():
    route = route_after_request(ContractKind.FIXED_PRICE, milestone(), at(2026, 11, 25, 10), POLICY)
    assert (route.kind, route.until) == (RouteKind.ESCROW_REFUND, None)


@pytest.mark.parametrize(
    ("now", "kind"),
    [
        (at(2026, 11, 23, 11, 59, 59), RouteKind.MEDIATION),  # before the window opens: paid, not yet reviewable
        (at(2026, 11, 23, 12, 0, 0), RouteKind.HOURLY_DISPUTE),
        (at(2026, 11, 27, 23, 59, 59), RouteKind.HOURLY_DISPUTE),
        (at(2026, 11, 28, 0, 0, 0), RouteKind.MEDIATION),
        (at(2026, 12, 23, 5, 59, 59), RouteKind.MEDIATION),
        (at(2026, 12, 23, 6, 0, 0), RouteKind.CLOSED),
    ],
)
def test_hourly_routes_follow_the_review_window_then_the_30_days(now, kind):
    assert route_after_request(ContractKind.HOURLY, SHEET, now, POLICY).kind is kind


def test_a_closed_route_says_when_each_window_closed():
    route = route_after_request(ContractKind.HOURLY, SHEET, at(2027, 1, 10), POLICY)
    assert route.review is not None
    assert route.mediation is not None
    assert route.review.closes_at == at(2026, 11, 28)
    assert route.mediation.closes_at == SHEET.paid_at + timedelta(days=30)


def test_a_dispute_route_says_until_when():
    route = route_after_request(ContractKind.HOURLY, SHEET, at(2026, 11, 25, 10), POLICY)
    assert route.until == at(2026, 11, 28)
