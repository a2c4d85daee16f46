"""Policies as data: the presets shipped, an operator's own file, and the rules said in plain words."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from bot.blocks.policy import describe
from bot.domain.money import Money
from bot.domain.policy import Appeals, ArbitrationFee, Policy
from bot.policies import PolicyFileError, preset_path, presets, read_policy_file

V1_FILE = preset_path("upwork-like").read_text()


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


def test_four_presets_ship_and_the_seeds_marketplace_is_v1_unchanged():
    assert presets() == ["fiverr-like", "freelancer-like", "refundbot", "upwork-like"]
    # Cases are stored with "v1": its numbers may never move, or start-up would refuse the stored version.
    assert read_policy_file(preset_path("upwork-like")).policy() == Policy()
    versions = [read_policy_file(preset_path(name)).version for name in presets()]
    assert len(set(versions)) == 4


def test_only_refund_bots_own_preset_offers_an_appeal_and_otherwise_it_is_v1():
    ours = read_policy_file(preset_path("refundbot")).policy()
    assert ours.appeals == Appeals(timedelta(hours=48), ("hourly_decision", "rejected_proposal"))
    assert replace(ours, version="v1", appeals=None) == Policy()
    assert [name for name in presets() if read_policy_file(preset_path(name)).policy().appeals] == ["refundbot"]


def test_the_other_presets_state_their_marketplaces_rules():
    fiverr = read_policy_file(preset_path("fiverr-like")).policy()
    assert fiverr.response_window == timedelta(hours=48)
    assert fiverr.adjust_ceiling(usd("250.00")) == usd("150.00")
    assert fiverr.reminder_offsets == (timedelta(hours=24), timedelta(hours=2))
    freelancer = read_policy_file(preset_path("freelancer-like")).policy()
    assert (freelancer.response_window, freelancer.escrow_response_window) == (timedelta(days=4), timedelta(days=4))
    assert freelancer.escrow_client_response_window == timedelta(days=14)
    assert freelancer.adjust_ceiling(usd("250.00")) is None


@pytest.mark.parametrize("name", ["fiverr-like", "freelancer-like", "refundbot", "upwork-like"])
def test_every_number_of_a_preset_has_a_comment_giving_its_source(name):
    lines = preset_path(name).read_text().splitlines()
    rules = [i for i, line in enumerate(lines) if line and not line.startswith(("#", " ")) and ":" in line]
    unsourced = [
        lines[i] for i in rules if not lines[i].startswith(("title:", "version:")) and not lines[i - 1].startswith("#")
    ]
    assert unsourced == []
    assert set(yaml.safe_load("\n".join(lines))) == {lines[i].split(":")[0] for i in rules}


@pytest.mark.parametrize(
    ("at_stake", "fee"),
    [("50.00", "5.00"), ("100.00", "5.00"), ("1000.00", "50.00"), ("12345.67", "617.28"), ("0.10", "5.00")],
)
def test_a_fee_that_depends_on_the_amount_is_the_greater_of_its_minimum_and_its_share(at_stake, fee):
    freelancer = read_policy_file(preset_path("freelancer-like")).policy()
    assert freelancer.arbitration_fee(usd(at_stake)) == usd(fee)
    assert Policy().arbitration_fee(usd(at_stake)) == usd("291.00")
    assert Policy().arbitration_fee(Money.parse("1000", "JPY")) is None  # no fee set for that currency


def test_a_share_rounds_to_the_nearest_minor_unit_half_up():
    assert ArbitrationFee(Decimal(0), Decimal("0.05")).for_amount(usd("0.30")) == usd("0.02")  # 1.5 cents
    assert ArbitrationFee(Decimal(0), Decimal("0.05")).for_amount(Money.parse("10", "JPY")) == Money.parse("1", "JPY")


def test_a_version_stored_by_an_older_release_reads_as_it_was():
    older = Policy().numbers()
    older["arbitration_fees"] = {"USD": "291.00"}  # a flat fee, as stored before fees could scale
    for added in ("adjust_max_share", "history_recent", "history_min_items", "history_client_request_share"):
        del older[added]  # rules that came later: such a version has their defaults
    del older["history_freelancer_dispute_share"]
    del older["grounds"]
    assert Policy.from_numbers(older) == Policy()
    assert Policy.from_numbers(Policy().numbers()) == Policy()


def edited(tmp_path: Path, old: str, new: str) -> Path:
    assert old in V1_FILE
    path = tmp_path / "ours.yaml"
    path.write_text(V1_FILE.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ("response_window: P3D", "response_window: three days", "response_window: must be an ISO 8601 duration"),
        ("response_window: P3D", "response_window: '12:00'", "response_window: must be an ISO 8601"),  # not 12 min
        ("response_window: P3D", "response_window: 1e5", "response_window: must be an ISO 8601"),
        ("response_window: P3D", "response_window: -P1D", "response_window: must be a positive duration"),
        ("response_window: P3D", "response_window: true", "response_window: must be an ISO 8601"),
        ("[PT48H, PT24H, PT2H]", "[PT48H, soon]", "reminder_offsets.1: must be an ISO 8601"),
        ('USD: {minimum: "291.00"}', 'JPY: {minimum: "10.5"}', "arbitration_fees: Value error, JPY: JPY amounts"),
        ('USD: {minimum: "291.00"}', 'USD: {minimum: "-1"}', "arbitration_fees.USD.minimum: Input should be greater"),
        ('USD: {minimum: "291.00"}', 'USD: {minimum: "5", share: "1.5"}', "arbitration_fees.USD.share"),
        ('USD: {minimum: "291.00"}', 'USD: {minimum: "5", rate: "1"}', "arbitration_fees.USD.rate: Extra inputs"),
        ("closes_after: P12D", "closes_after: P7D", "review_window: Value error, closes_after must be later"),
        ("reason_max_length: 2000", "reason_max_length: 0", "reason_max_length: Input should be greater than"),
        ("reason_max_length: 2000", "reason_max_length: 5000", "reason_max_length: Input should be less than"),
        ("adjust_max_share: null", "adjust_max_share: '1.2'", "adjust_max_share: Input should be less than 1"),
        ("extension: PT48H", "extensoin: PT48H", "extension: Field required; extensoin: Extra inputs"),
        ("version: v1", "version: 'my policy!'", "version: String should match pattern"),
        ("version: v1", "version: " + "v" * 40, "version: String should have at most 32 characters"),
        ("applies_to: [hourly]}", "applies_to: [daily]}", "grounds.hours_not_shown.applies_to.0: Input should be"),
        ('{title: "The work was not delivered."', '{title: "' + "x" * 76 + '"', "at most 75 characters"),
        ("  not_delivered:", "  Not Delivered:", "grounds.Not Delivered.[key]: String should match pattern"),
        (
            "extension: PT48H",
            "extension: PT48H\nevidence_files: {types: [pdf, exe, sh]}",
            "exe, sh: programs and scripts",
        ),
        (
            "extension: PT48H",
            "extension: PT48H\nevidence_files: {types: [pdf], max_bytes: 20971520}",
            "less than or equal",
        ),
        ("extension: PT48H", "extension: PT48H\nevidence_files: {types: [pdf], max_files: 11}", "less than or equal"),
        ("extension: PT48H", "extension: PT48H\nevidence_files: {types: [.PDF]}", "evidence_files.types.0: String"),
    ],
)
def test_a_bad_file_is_refused_naming_the_field(tmp_path, old, new, says):
    with pytest.raises(PolicyFileError) as refused:
        read_policy_file(edited(tmp_path, old, new))
    assert str(refused.value).startswith(f"{tmp_path / 'ours.yaml'}: ")
    assert says.replace("Value error, ", "") in str(refused.value)
    assert "\n" not in str(refused.value)


def test_every_kind_of_contract_needs_a_rule_a_mediator_can_name_and_a_file_without_rules_takes_v1s(tmp_path):
    hourly_only = V1_FILE.split("grounds:")[0] + 'grounds:\n  ours: {title: "Ours.", applies_to: [hourly]}\n'
    path = tmp_path / "ours.yaml"
    path.write_text(hourly_only)
    with pytest.raises(PolicyFileError, match="grounds: no rule applies to fixed_price contracts"):
        read_policy_file(path)
    path.write_text(V1_FILE.split("# Not published as a list")[0])
    assert read_policy_file(path).policy() == Policy()


@pytest.mark.parametrize(
    ("text", "says"),
    [("version: [", "is not YAML"), ("- a list", "must be a mapping"), ("", "must be a mapping"), (b"\xff", "YAML")],
)
def test_what_is_not_a_policy_file_at_all_says_so(tmp_path, text, says):
    path = tmp_path / "ours.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(PolicyFileError, match=says):
        read_policy_file(path)


def test_the_rules_in_plain_words_state_each_presets_own_numbers():
    v1 = "\n".join(describe(read_policy_file(preset_path("upwork-like"))))
    assert "policy version v1" in v1
    assert "from Monday 12:00 UTC to Friday 23:59 UTC of the week after it" in v1
    assert "The freelancer has 3 days to approve, refund part of it (any amount below what was asked)" in v1
    assert "reminders 2 days, 1 day and 2 h before it" in v1
    assert "USD: $291.00 per party" in v1
    assert "client asked for refunds on more than 50% of their paid items" in v1
    fiverr = "\n".join(describe(read_policy_file(preset_path("fiverr-like"))))
    assert "The freelancer has 2 days to approve, refund part of it (at most 60% of the item's price)" in fiverr
    freelancer = "\n".join(describe(read_policy_file(preset_path("freelancer-like"))))
    assert "the client has 14 days to accept it or ask a mediator" in freelancer
    assert "USD: 5% of the amount at stake per party, at least $5.00" in freelancer
    assert "names one of these rules:\n  - The work was not delivered. (any contract)" in v1
    assert "  - The hours billed are not shown by the work or the work diary. (hourly contracts)" in v1


def test_a_file_may_narrow_the_files_taken_as_evidence_and_a_stored_version_without_them_takes_refund_bots(tmp_path):
    narrowed_to = "extension: PT48H\nevidence_files: {types: [pdf, png], max_bytes: 1048576, max_files: 3}"
    narrowed = read_policy_file(edited(tmp_path, "extension: PT48H", narrowed_to)).policy()
    assert (narrowed.evidence_files.types, narrowed.evidence_files.max_bytes, narrowed.evidence_files.max_files) == (
        ("pdf", "png"),
        1048576,
        3,
    )
    stored = {k: v for k, v in Policy().numbers().items() if k != "evidence_files"}  # stored before files were
    assert Policy.from_numbers(stored).evidence_files == Policy().evidence_files
    assert "exe" not in Policy().evidence_files.types
