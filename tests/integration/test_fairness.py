"""`refundbot report fairness` (issue 38), run as the real command on both databases over a seeded history whose
expected figures this test computes on its own: counts, medians and 90th percentiles, shares refunded, outcomes,
appeals, each mediator under a pseudonym, and a group under 5 cases shown by its count alone."""

import csv
import io
import json
import math
import statistics
from datetime import timedelta

from sqlalchemy import update

from storage.tables import CaseRow
from tests.bulk import copy_case, demo_request
from tests.conftest import REFUNDBOT
from tests.integration.conftest import NOW
from tests.integration.test_cli import run

MEDIATOR_A, MEDIATOR_B = "U0MEDIATA1", "U0MEDIATB1"
# (contract, route, state, hours to the outcome, refunded of the $10.00 asked (cents), mediator, appeal)
FIXED_REQUESTS = [
    ("C-100", "request", "approved", 2, 1000, None, None),
    ("C-100", "request", "approved", 5, 1000, None, None),
    ("C-100", "request", "approved", 10, 1000, None, None),
    ("C-100", "request", "adjusted", 24, 400, None, None),
    ("C-100", "request", "adjusted", 30, 600, None, None),
    ("C-100", "request", "lapsed", 72, 0, None, None),
    ("C-100", "request", "withdrawn", 3, 0, None, None),
]
APPEALED_CHANGED = {"first_mediator": MEDIATOR_B, "amount_minor": 0, "outcome": "decided", "stage": "hourly_dispute"}
APPEALED_KEPT = {"first_mediator": MEDIATOR_B, "amount_minor": 500, "outcome": "decided", "stage": "hourly_dispute"}
HOURLY_MEDIATED = [
    ("C-200", "hourly_dispute", "decided", 50, 1000, MEDIATOR_A, None),
    ("C-200", "hourly_dispute", "decided", 60, 0, MEDIATOR_A, None),
    ("C-200", "hourly_dispute", "decided", 70, 500, MEDIATOR_A, None),
    ("C-200", "appeal", "reviewed", 120, 800, MEDIATOR_A, APPEALED_CHANGED),
    ("C-200", "appeal", "reviewed", 130, 500, MEDIATOR_A, APPEALED_KEPT),
    ("C-200", "hourly_dispute", "decided", 80, 1000, MEDIATOR_B, None),
]
FIXED_ESCROW = [  # three cases: a group too small to show
    ("C-100", "escrow_refund", "refunded", 100, 1000, None, None),
    ("C-100", "escrow_refund", "released", 150, 0, None, None),
    ("C-100", "escrow_refund", "refunded", 170, 1000, None, None),
]
HISTORY = FIXED_REQUESTS + HOURLY_MEDIATED + FIXED_ESCROW


def seeded(uow, sessions, policy) -> None:
    template = demo_request(uow, policy, NOW)
    with sessions.begin() as session:
        copy_case(session, template.id, len(HISTORY), due=0, next_at=NOW, prefix="F")
        for n, (contract, route, state, hours, refunded, mediator, appeal) in enumerate(HISTORY, 1):
            session.execute(
                update(CaseRow)
                .where(CaseRow.id == f"F{n}")
                .values(
                    contract_id=contract,
                    stage=route,
                    state=state,
                    opened_at=NOW,
                    closed_at=NOW + timedelta(hours=hours),
                    refunded_minor=refunded,
                    mediator_id=mediator,
                    appeal=appeal,
                )
            )


def nearest_rank(values, share):
    ordered = sorted(values)
    return ordered[math.ceil(share * len(ordered)) - 1]


def expected(rows):
    hours = [row[3] for row in rows]
    shares = [row[4] / 1000 for row in rows]
    appealed = [row for row in rows if row[6]]
    outcomes = {"full": 0, "part": 0, "none": 0, "withdrawn": 0}
    for row in rows:
        state, refunded = row[2], row[4]
        key = (
            "withdrawn" if state == "withdrawn" else "none" if refunded == 0 else "full" if refunded >= 1000 else "part"
        )
        outcomes[key] += 1
    return {
        "cases": len(rows),
        "suppressed": False,
        "hours_median": round(statistics.median(hours), 1),
        "hours_p90": round(nearest_rank(hours, 0.9), 1),
        "refunded_share_median": round(statistics.median(shares), 3),
        "refunded_share_p25": round(nearest_rank(shares, 0.25), 3),
        "refunded_share_p75": round(nearest_rank(shares, 0.75), 3),
        "outcomes": outcomes,
        "appealed": len(appealed),
        "appeals_changed": sum(1 for row in appealed if row[4] != row[6]["amount_minor"]),
    }


def report(database_url, tmp_path, *args):
    return run(
        [str(REFUNDBOT), "report", "fairness", "--since", "2026-11-01", "--until", "2026-12-31", *args],
        tmp_path,
        DATABASE_URL=database_url,
        SLACK_SIGNING_SECRET="fairness-secret",
    )


def test_the_fairness_report_shows_what_the_history_says_and_hides_groups_under_five(
    database_url, tmp_path, uow, sessions, policy
):
    seeded(uow, sessions, policy)
    result = report(database_url, tmp_path, "--format", "json", "--name-mediators")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["cases"] == len(HISTORY)  # the template request is still open: not counted
    groups = {(g["kind"], g["route"]): g for g in found["groups"]}
    assert groups[("fixed_price", "request")] == {"kind": "fixed_price", "route": "request"} | expected(FIXED_REQUESTS)
    assert groups[("fixed_price", "escrow_refund")] == {
        "kind": "fixed_price",
        "route": "escrow_refund",
        "cases": 3,
        "suppressed": True,
    }
    assert groups[("hourly", "hourly_dispute")]["suppressed"]  # 4 cases
    mediators = {row["mediator"]: row for row in found["mediators"]}
    a_rows = [row for row in HOURLY_MEDIATED if row[5] == MEDIATOR_A]
    assert mediators[MEDIATOR_A] == {"mediator": MEDIATOR_A} | expected(a_rows) | {
        "outcomes_appealed": 0,
        "changed_on_appeal": 0,
    }
    assert mediators[MEDIATOR_B] == {"mediator": MEDIATOR_B, "cases": 1, "suppressed": True}
    assert "reported on 16 case(s) closed" in result.stderr


def test_mediators_are_pseudonyms_unless_named_and_every_format_says_the_same(
    database_url, tmp_path, uow, sessions, policy
):
    seeded(uow, sessions, policy)
    table = report(database_url, tmp_path).stdout
    assert MEDIATOR_A not in table
    assert "| fixed_price, escrow_refund | 3 | fewer than 5 cases: not shown |" in table
    assert "| fixed_price, request | 7 | 10 h (72 h) |" in table
    pseudonyms = [line.split(" | ")[0].removeprefix("| ") for line in table.splitlines() if "| Mediator " in line]
    assert len(pseudonyms) == 2
    assert pseudonyms == [p for p in pseudonyms if p.startswith("Mediator ") and len(p) == len("Mediator 3F9A1C")]
    assert table == report(database_url, tmp_path).stdout  # stable from one run to the next
    rows = list(csv.DictReader(io.StringIO(report(database_url, tmp_path, "--format", "csv").stdout)))
    request_row = next(r for r in rows if r["route"] == "request")
    assert (request_row["cases"], request_row["outcome_full"], request_row["outcome_withdrawn"]) == ("7", "3", "1")
