"""The fairness report (`refundbot report fairness`): how the process ends for each kind of contract and each
route, who it ends for, how long it takes, how often an appeal changes an outcome, and how each mediator decides,
from the cases closed in a period. A group of fewer than ``MIN_GROUP`` cases shows its count alone: figures over a
handful of cases would say more about the people in them than about the process.

Each closed case is one of three outcomes for the client who asked: refunded in full (what they asked, or all that
was disputed), in part, or not at all; a case the client withdrew is counted apart. The route is the stage the
case ended in. Times are from the request to the outcome, in hours; the share refunded is of what was asked.
Percentiles are nearest-rank: the 90th of n values is the ⌈0.9·n⌉-th smallest.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import statistics
from collections.abc import Callable, Iterable
from typing import Any

from bot.services.models import ClosedCase

MIN_GROUP = 5
OUTCOMES = ("full", "part", "none", "withdrawn")


def nearest_rank(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


def _figures(cases: list[ClosedCase]) -> dict[str, Any]:
    """What a group of cases shows, or its count alone when it is under ``MIN_GROUP``."""
    if len(cases) < MIN_GROUP:
        return {"cases": len(cases), "suppressed": True}
    hours, shares = [c.hours for c in cases], [c.share for c in cases]
    appealed = [c for c in cases if c.appeal is not None]
    return {
        "cases": len(cases),
        "suppressed": False,
        "hours_median": round(statistics.median(hours), 1),
        "hours_p90": round(nearest_rank(hours, 0.9), 1),
        "refunded_share_median": round(statistics.median(shares), 3),
        "refunded_share_p25": round(nearest_rank(shares, 0.25), 3),
        "refunded_share_p75": round(nearest_rank(shares, 0.75), 3),
        "outcomes": {outcome: sum(1 for c in cases if c.outcome == outcome) for outcome in OUTCOMES},
        "appealed": len(appealed),
        "appeals_changed": sum(1 for c in appealed if c.appeal_changed),
    }


def fairness(cases: Iterable[ClosedCase], mediator_name: Callable[[str, str], str]) -> dict[str, Any]:
    """The report: by kind of contract and route, then by mediator (named by ``mediator_name(team, user)``: a
    stable pseudonym unless the operator asked for names). A mediator is credited with the outcomes of the cases
    they closed, and with the appeals of outcomes they gave (the first mediator of an appealed case)."""
    closed = list(cases)
    groups: dict[tuple[str, str], list[ClosedCase]] = {}
    for case in closed:
        groups.setdefault((case.kind, case.route), []).append(case)
    mediators: dict[tuple[str, str], list[ClosedCase]] = {}
    appealed_of: dict[tuple[str, str], list[ClosedCase]] = {}
    for case in closed:
        if case.mediator_id:
            mediators.setdefault((case.team_id, case.mediator_id), []).append(case)
        if case.appeal and (first := case.appeal.get("first_mediator")):
            appealed_of.setdefault((case.team_id, first), []).append(case)
    by_mediator = []
    for key in sorted(set(mediators) | set(appealed_of)):
        shown = _figures(mediators.get(key, []))
        theirs = appealed_of.get(key, [])
        if not shown["suppressed"]:
            shown |= {"outcomes_appealed": len(theirs), "changed_on_appeal": sum(1 for c in theirs if c.appeal_changed)}
        by_mediator.append({"mediator": mediator_name(*key)} | shown)
    return {
        "cases": len(closed),
        "groups": [{"kind": kind, "route": route} | _figures(cases) for (kind, route), cases in sorted(groups.items())],
        "mediators": sorted(by_mediator, key=lambda row: row["mediator"]),
    }


def pseudonyms(key: bytes, *, named: bool = False) -> Callable[[str, str], str]:
    """How the report names a mediator: a stable pseudonym ("Mediator 3F9A1C", an HMAC of their workspace and user
    id under ``key``, the app's secret, so that nobody can tell who it is by trying user ids), or with ``named``
    their user id."""

    def name(team_id: str, user_id: str) -> str:
        if named:
            return user_id
        return "Mediator " + hmac.new(key, f"{team_id}:{user_id}".encode(), hashlib.sha256).hexdigest()[:6].upper()

    return name
