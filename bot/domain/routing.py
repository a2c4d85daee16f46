"""Design §2.3: where a declined, lapsed or not-accepted refund request can go next, and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.calendar import Window, require_utc
from bot.domain.contract import ContractKind, Item, Timesheet
from bot.domain.policy import Policy


class RouteKind(StrEnum):
    HOURLY_DISPUTE = "hourly_dispute"
    MEDIATION = "mediation"  # non-binding: hourly work paid in the last 30 days, review window closed
    ESCROW_REFUND = "escrow_refund"
    CLOSED = "closed"


@dataclass(frozen=True)
class Route:
    kind: RouteKind
    until: datetime | None  # when this route closes (None: it does not close on its own)
    review: Window | None = None  # hourly: the week's review window, open or closed
    mediation: Window | None = None  # hourly: when non-binding mediation is possible


def route_after_request(kind: ContractKind, item: Item, now: datetime, policy: Policy) -> Route:
    """Hourly inside the week's review window → dispute; hourly outside it but paid ≤ 30 days ago →
    non-binding mediation; hourly otherwise → closed (saying which window closed when); fixed-price → escrow."""
    now = require_utc(now)
    if kind is ContractKind.FIXED_PRICE:
        return Route(RouteKind.ESCROW_REFUND, None)
    if not isinstance(item, Timesheet) or item.paid_at is None:
        raise ValueError("an hourly route needs a paid timesheet week")
    review = policy.calendar.review_window(item.week)
    mediation = policy.non_binding_mediation_window(item.paid_at)
    if review.contains(now):
        return Route(RouteKind.HOURLY_DISPUTE, review.closes_at, review, mediation)
    if mediation.contains(now):
        return Route(RouteKind.MEDIATION, mediation.closes_at, review, mediation)
    return Route(RouteKind.CLOSED, None, review, mediation)
