"""A party's record (bot.domain.history): what counts as won or lost for each side, and when the policy flags a
pattern."""

from dataclasses import replace
from decimal import Decimal

import pytest

from bot.blocks.records import card_summary, history_modal, tally_text
from bot.domain.history import Flag, PartyRecord, Tally, flags
from bot.domain.policy import Policy
from tests.slack_rules import blocks_problems, view_problems
from tests.slack_standin import text_of

POLICY = Policy()  # flags above 50% (client requests) and 30% (freelancer disputes), from 5 paid items


@pytest.mark.parametrize(
    ("role", "tally", "flagged"),
    [
        ("client", Tally(cases=3, paid_items=5), (Flag.ASKS_OFTEN,)),  # 60% of paid items
        ("client", Tally(cases=2, paid_items=4), ()),  # 50%, and too few items to say
        ("client", Tally(cases=3, paid_items=6), ()),  # exactly half is not "most"
        ("freelancer", Tally(disputes_client_won=1, disputes_split=1, paid_items=6), (Flag.OFTEN_DISPUTED,)),
        ("freelancer", Tally(disputes_freelancer_won=1, paid_items=6), ()),
        ("freelancer", Tally(cases=6, paid_items=6), ()),  # asked often, but a freelancer is flagged for disputes only
    ],
)
def test_patterns_are_flagged_above_the_policys_shares_and_only_with_enough_items(role, tally, flagged):
    assert flags(role, tally, POLICY) == flagged


def test_the_thresholds_are_the_policys():
    strict = replace(POLICY, history_min_items=2, history_client_request_share=Decimal("0.25"))
    assert flags("client", Tally(cases=1, paid_items=2), strict) == (Flag.ASKS_OFTEN,)


def test_a_dispute_won_by_one_side_is_lost_by_the_other():
    tally = Tally(disputes_client_won=2, disputes_freelancer_won=1, disputes_split=4)
    assert (tally.won("client"), tally.lost("client")) == (2, 1)
    assert (tally.won("freelancer"), tally.lost("freelancer")) == (1, 2)
    assert tally.disputes == 7


def records() -> dict:
    asks = Tally(cases=4, closed=3, refunded=2, refunded_share=0.2, disputes_freelancer_won=1, paid_items=5)
    client = PartyRecord("client", "U0CLIENT01", recent=asks, all_time=asks)
    quiet = PartyRecord("freelancer", "U0FREELA01", recent=Tally(), all_time=Tally(cases=1, paid_items=1))
    shown: dict = {"recent_seconds": 90 * 86400}
    for role, record in (("client", client), ("freelancer", quiet)):
        found = record.flags(POLICY)
        shown[role] = {
            "user": record.user_id,
            "recent": vars(record.recent),
            "all_time": vars(record.all_time),
            "flags": {period: [flag.value for flag in flagged] for period, flagged in found.items()},
        }
    return shown


def test_the_card_says_each_partys_recent_record_and_its_flags():
    blocks = card_summary(records())
    assert blocks_problems(blocks, "message") == []
    text = text_of(blocks)
    assert "*Client's record* (last 90 days, other cases): 4 requests made on 5 paid items" in text
    assert "2 of 3 ended refunded (20% on average) · disputes: won 0, lost 1, split 0" in text
    assert ":triangular_flag_on_post: *asked for refunds on most of their paid items*" in text
    assert "*Freelancer's record* (last 90 days, other cases): 0 requests received on 0 paid items" in text


def test_the_history_form_has_both_periods_of_both_parties():
    view = history_modal("R-7K3Q9A", records())
    assert view_problems(view, "modal") == []
    text = text_of(view["blocks"])
    assert text.count("*Last 90 days*") == 2
    assert text.count("*All time*") == 2
    assert "1 request received on 1 paid item" in text
    assert tally_text("client", Tally()) == "0 requests made on 0 paid items"
