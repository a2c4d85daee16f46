"""Importing contracts on real databases: idempotent, all-or-nothing, and careful with money already spoken for."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select

from bot.blocks import refusals
from bot.domain.case import Case
from bot.domain.contract import ContractKind, ItemKind, ItemRef, Milestone, Timesheet
from bot.domain.money import Money
from bot.domain.policy import Policy
from bot.services.importing import DEMO, ImportRejected, import_contracts, read_import_file
from tests.integration.conftest import NOW
from tests.unit.factories import CLIENT, FREELANCER


def snapshot(engine) -> dict[str, list[tuple]]:
    """Every row of every table, to compare whole databases."""
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as connection:
        return {
            name: sorted(tuple(map(str, row)) for row in connection.execute(select(table)))
            for name, table in meta.tables.items()
            if name != "alembic_version"
        }


def load(uow, path: Path, policy, now=NOW):
    return import_contracts(read_import_file(path), uow(), now, policy)


@contextmanager
def refused_with(pattern: str) -> Iterator[None]:
    """Nothing is imported, and one of the problems, as the operator reads it, says this."""
    with pytest.raises(ImportRejected) as rejected:
        yield
    problems = rejected.value.problems(refusals.plain)
    assert any(re.search(pattern, problem) or pattern in problem for problem in problems), problems


def test_demo_set_loads_and_a_second_import_changes_nothing(uow, engine, policy):
    first = load(uow, DEMO, policy)
    assert first.created == {"contracts": 5, "items": 12}
    before = snapshot(engine)
    second = load(uow, DEMO, policy, now=NOW + timedelta(hours=1))
    assert second.unchanged == {"contracts": 5, "items": 12}
    assert second.created == second.updated == {"contracts": 0, "items": 0}
    assert snapshot(engine) == before  # not even updated_at moved


def test_changed_rows_are_updated_in_place(uow, policy, tmp_path):
    load(uow, DEMO, policy)
    changed = tmp_path / "demo.yaml"
    m2 = '{id: M-2, title: Final files, amount: "500.00", status: submitted,'
    released = '{id: M-2, title: Final files, amount: "500.00", status: released, released_at: 2026-11-24T09:00:00Z,'
    assert m2 in DEMO.read_text()
    changed.write_text(
        DEMO.read_text().replace("title: Logo redesign", "title: Logo redesign (v2)").replace(m2, released)
    )
    report = load(uow, changed, policy)
    assert report.updated == {"contracts": 1, "items": 1}
    with uow() as work:
        assert work.contracts.get("T0DEMO01", "C-100").title == "Logo redesign (v2)"
        assert work.contracts.item("T0DEMO01", "C-100", ItemRef(ItemKind.MILESTONE, "M-2")).paid_at == datetime(
            2026, 11, 24, 9, 0, tzinfo=UTC
        )


def test_a_bad_row_leaves_the_database_untouched(uow, engine, policy, tmp_path):
    load(uow, DEMO, policy)
    before = snapshot(engine)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        DEMO.read_text().replace("title: Logo redesign", "title: Renamed").replace('"120.500"', '"120.5001"')
    )
    with refused_with("contract C-400, milestones[0].amount: KWD amounts take at most 3"):
        load(uow, bad, policy)
    assert snapshot(engine) == before


def test_kind_and_currency_cannot_change_and_nothing_of_the_file_applies(uow, engine, policy, tmp_path):
    load(uow, DEMO, policy)
    before = snapshot(engine)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        DEMO.read_text()
        .replace("title: Logo redesign", "title: Renamed")
        .replace("currency: KWD", "currency: USD")
        .replace('"120.500"', '"120.50"')
    )
    # Only the database knows it: still named by file and line, as the file's own problems are.
    with refused_with(r"bad.yaml line \d+: contract C-400: kind and currency cannot change"):
        load(uow, bad, policy)
    assert snapshot(engine) == before


def test_an_item_cannot_drop_below_what_is_refunded_or_held(uow, engine, policy, tmp_path):
    load(uow, DEMO, policy)
    with uow() as work:
        deal = work.contracts.get("T0DEMO01", "C-100")
        item = work.contracts.item("T0DEMO01", "C-100", ItemRef(ItemKind.MILESTONE, "M-1"))
        case = Case.open_request(
            case_id="R-1",
            contract=deal,
            item=item,
            amount=Money.parse("200.00", "USD"),
            reason="r",
            refunded=Money.zero("USD"),
            held=Money.zero("USD"),
            by="U0CLIENT01",
            now=NOW,
            policy=policy,
        )
        work.cases.add(case)
        work.commit()
    before = snapshot(engine)
    lower = tmp_path / "lower.yaml"
    lower.write_text(DEMO.read_text().replace('amount: "250.00"', 'amount: "150.00"'))
    with refused_with("paid would become USD 150.00, less than the USD 200.00 already refunded"):
        load(uow, lower, policy)
    assert snapshot(engine) == before
    fine = tmp_path / "fine.yaml"
    fine.write_text(DEMO.read_text().replace('amount: "250.00"', 'amount: "200.00"'))
    assert load(uow, fine, policy).updated["items"] == 1


def test_contracts_keep_the_policy_version_they_started_under(uow, policy):
    load(uow, DEMO, policy)
    load(uow, DEMO, Policy(version="v2"))
    with uow() as work:
        assert work.contracts.get("T0DEMO01", "C-100").policy_version == "v1"


def test_demo_items_fall_in_and_out_of_every_window_as_documented(uow, policy):
    """The comments at the top of bot/demo.yaml, checked on Wednesday 2026-11-25 10:00 UTC."""
    load(uow, DEMO, policy)
    with uow() as work:
        items = {
            (c, i.ref.id): i
            for c in ("C-100", "C-110", "C-200", "C-300", "C-400")
            for i in work.contracts.items("T0DEMO01", c)
        }
        kinds = {work.contracts.get("T0DEMO01", c).kind for c in ("C-100", "C-200")}
        currencies = {work.contracts.get("T0DEMO01", c).currency for c in ("C-100", "C-110", "C-300", "C-400")}
    assert kinds == {ContractKind.FIXED_PRICE, ContractKind.HOURLY}
    assert currencies == {"USD", "EUR", "JPY", "KWD"}

    def refundable(key):
        item = items[key]
        return item.paid_at is not None and policy.request_window(item.paid_at).contains(NOW)

    def in_review(key):
        item = items[key]
        assert isinstance(item, Timesheet)
        return policy.calendar.review_window(item.week).contains(NOW)

    def mediation_only(key):
        item = items[key]
        return not in_review(key) and policy.non_binding_mediation_window(item.paid_at).contains(NOW)

    assert isinstance(items["C-100", "M-1"], Milestone)
    assert refundable(("C-100", "M-1"))
    assert not refundable(("C-100", "M-2"))
    assert not refundable(("C-100", "M-3"))
    assert not refundable(("C-110", "M-1"))
    assert refundable(("C-110", "M-2"))
    assert in_review(("C-200", "2026-11-16"))
    assert refundable(("C-200", "2026-11-16"))
    assert mediation_only(("C-200", "2026-11-09"))
    assert not in_review(("C-200", "2026-10-12"))
    assert not mediation_only(("C-200", "2026-10-12"))
    assert refundable(("C-200", "2026-10-12"))
    assert not refundable(("C-200", "2026-11-23"))
    assert in_review(("C-300", "2026-11-16"))
    assert not refundable(("C-300", "2026-05-18"))
    assert refundable(("C-400", "M-1"))
    assert items["C-400", "M-1"].amount.minor == 120500
    assert {CLIENT, FREELANCER}  # the factories' users are not the demo's: the demo stands alone
