"""Reading an import file: every bad row is named by line, contract id and field, before anything is written."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.blocks import refusals
from bot.services.importing import DEMO, ImportRejected, demo_for, read_import_file

EXAMPLE = """\
team_id: T0001
contracts:
  - id: C-100
    title: Logo redesign
    kind: fixed_price          # or hourly
    currency: USD
    client: U0CLIENT           # Slack user ids
    freelancer: U0FREELANCER
    milestones:
      - {id: M-1, title: Concepts, amount: "250.00", status: released, released_at: 2026-11-02T10:00:00Z}
  - id: C-200
    title: Backend work
    kind: hourly
    currency: USD
    hourly_rate: "40.00"
    client: U0CLIENT
    freelancer: U0FREELANCER
    timesheets:
      - {week: 2026-11-09, minutes: 600, amount: "400.00", paid_at: 2026-11-20T12:00:00Z}
"""


def write(tmp_path: Path, text: str, name: str = "contracts.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str, name: str = "contracts.yaml") -> list[str]:
    with pytest.raises(ImportRejected) as rejected:
        read_import_file(write(tmp_path, text, name))
    return rejected.value.problems(refusals.plain)


def test_the_documented_example_is_accepted(tmp_path):
    parsed = read_import_file(write(tmp_path, EXAMPLE))
    assert parsed.team_id == "T0001"
    assert [c.id for c in parsed.contracts] == ["C-100", "C-200"]
    assert parsed.contracts[0].milestones[0].amount == "250.00"
    assert parsed.contracts[1].timesheets[0].minutes == 600


def test_unquoted_yaml_amounts_stay_exact(tmp_path):
    parsed = read_import_file(write(tmp_path, EXAMPLE.replace('"250.00"', "19.99")))
    assert parsed.contracts[0].milestones[0].amount == "19.99"


def test_json_files_are_accepted_with_exact_numbers(tmp_path):
    data = {
        "team_id": "T0001",
        "contracts": [
            {
                "id": "C-1",
                "title": "Translation",
                "kind": "fixed_price",
                "currency": "JPY",
                "client": "U0CLIENT",
                "freelancer": "U0FREELANCER",
                "milestones": [{"id": "M-1", "title": "All", "amount": 1200, "status": "funded"}],
            }
        ],
    }
    parsed = read_import_file(write(tmp_path, json.dumps(data), "contracts.json"))
    assert parsed.contracts[0].milestones[0].amount == "1200"
    assert Decimal(parsed.contracts[0].milestones[0].amount) == 1200


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        (
            'amount: "250.00"',
            'amount: "250.005"',
            "contracts.yaml line 10: contract C-100, milestones[0].amount: USD amounts take at most 2 decimals",
        ),
        ('amount: "400.00"', 'amount: "-4"', "line 19: contract C-200, timesheets[0].amount: cannot be negative"),
        (
            'amount: "400.00"',
            'amount: "lots"',
            "line 19: contract C-200, timesheets[0].amount: “lots” is not an amount",
        ),
        (
            "freelancer: U0FREELANCER\n    milestones",
            "freelancer: bob\n    milestones",
            "line 8: contract C-100, freelancer: 'bob' is not a Slack user id",
        ),
        ("week: 2026-11-09", "week: 2026-11-10", "line 19: contract C-200, timesheets[0]: week must be the Monday"),
        ("minutes: 600", "minutes: 99999", "contract C-200, timesheets[0].minutes: Input should be less than or equal"),
        (
            "released_at: 2026-11-02T10:00:00Z",
            "released_at: 2026-11-02T10:00:00",
            "contract C-100, milestones[0].released_at: needs a time zone",
        ),
        (
            "status: released, released_at: 2026-11-02T10:00:00Z",
            "status: released",
            "contract C-100, milestones[0]: a released milestone needs released_at",
        ),
        ("kind: hourly", "kind: weekly", "line 13: contract C-200, kind: Input should be 'hourly' or 'fixed_price'"),
        ('    hourly_rate: "40.00"\n', "", "contract C-200: an hourly contract has an hourly_rate"),
        (
            "currency: USD\n    client: U0CLIENT           #",
            "currency: XXX\n    client: U0CLIENT           #",
            "contract C-100, currency: “XXX” is not an ISO 4217 currency",
        ),
        ("title: Concepts,", "title: Concepts, colour: blue,", "milestones[0].colour: Extra inputs are not permitted"),
        ("team_id: T0001", "team_id: acme", "contracts.yaml line 1: team_id: String should match pattern"),
        ("id: C-200", "id: C-100", "contract C-100, id: contract C-100 appears twice in this file"),
    ],
)
def test_a_bad_row_names_line_contract_and_field(tmp_path, old, new, says):
    assert old in EXAMPLE
    found = problems(tmp_path, EXAMPLE.replace(old, new, 1))
    assert any(says in problem for problem in found), found


def test_every_problem_is_listed_not_just_the_first(tmp_path):
    text = EXAMPLE.replace("freelancer: U0FREELANCER\n    milestones", "freelancer: bob\n    milestones").replace(
        "week: 2026-11-09", "week: 2026-11-11"
    )
    assert len(problems(tmp_path, text)) == 2


def test_mistakes_of_every_kind_are_listed_in_one_round_in_the_files_order(tmp_path):
    bad = """team_id: T0DEMO01
contracts:
  - {id: C-1, title: One, kind: fixed_price, currency: USD, client: U0CLIENT01, freelancer: U0FREELA01,
     milestones: [{id: M-1, title: A, amount: "10.001", status: released, released_at: 2026-11-20T10:00:00Z}]}
  - id: C-2
    title: Two
    kind: fixed_price
    currency: XXX
    client: bob
    freelancer: U0FREELA01
  - {id: C-1, title: Again, kind: fixed_price, currency: USD, client: U0CLIENT01, freelancer: U0FREELA01}
"""
    assert problems(tmp_path, bad) == [
        "contracts.yaml line 4: contract C-1, milestones[0].amount: USD amounts take at most 2 decimals; “10.001” has "
        "more.",
        "contracts.yaml line 8: contract C-2, currency: “XXX” is not an ISO 4217 currency with a minor unit.",
        "contracts.yaml line 9: contract C-2, client: 'bob' is not a Slack user id (they look like U0123ABCD)",
        "contracts.yaml line 11: contract C-1, id: contract C-1 appears twice in this file",
    ]


def test_duplicate_items_in_one_contract_are_refused(tmp_path):
    row = '      - {id: M-1, title: Concepts, amount: "250.00", status: released, released_at: 2026-11-02T10:00:00Z}\n'
    text = EXAMPLE.replace(row, row + row.replace("Concepts", "Again"))
    assert any("milestones[1]: M-1 appears twice in this contract" in p for p in problems(tmp_path, text))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("team_id: [unclosed", "not valid YAML"),
        ("", "file: Input should be a valid dictionary"),
        ("- just\n- a list\n", "Input should be a valid dictionary"),
    ],
)
def test_unreadable_files_are_refused_plainly(tmp_path, text, says):
    assert any(says in p for p in problems(tmp_path, text))


def test_broken_json_is_refused_plainly(tmp_path):
    assert any("not valid JSON" in p for p in problems(tmp_path, '{"team_id": ', "contracts.json"))


def test_the_demo_set_moves_to_this_week_and_to_real_people():
    demo = DEMO
    wednesday_two_weeks_later = date(2026, 12, 9)
    parsed = read_import_file(demo, demo_for("T9REAL", "U1ALICE", "U2BOB", wednesday_two_weeks_later))
    assert parsed.team_id == "T9REAL"
    assert {(c.client, c.freelancer) for c in parsed.contracts} == {("U1ALICE", "U2BOB")}
    concepts = parsed.contracts[0].milestones[0]
    assert concepts.released_at == datetime(2026, 11, 16, 10, 0, tzinfo=UTC)  # 2026-11-02 + 2 weeks
    weeks = [t.week for t in parsed.contracts[2].timesheets]
    assert weeks == [date(2026, 10, 26), date(2026, 11, 23), date(2026, 11, 30), date(2026, 12, 7)]
    assert all(week.weekday() == 0 for week in weeks)
