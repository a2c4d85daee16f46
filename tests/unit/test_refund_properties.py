"""Design §6 invariant: whatever sequence of partial refunds people attempt, refunded never exceeds paid."""

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.case import Case
from bot.domain.contract import refundable_balance
from bot.domain.errors import Refused
from bot.domain.events import LedgerEntry
from bot.domain.money import Money
from tests.unit.factories import CLIENT, FREELANCER, NOW, POLICY, contract, milestone

attempt = st.tuples(
    st.integers(min_value=-1000, max_value=40_000),  # requested, in cents (negative and over-balance included)
    st.sampled_from(["approve", "adjust", "decline", "withdraw", "lapse"]),
    st.integers(min_value=-1000, max_value=40_000),  # the adjusted amount, when adjusting
)


@given(paid=st.integers(min_value=1, max_value=30_000), attempts=st.lists(attempt, max_size=25))
def test_refunded_never_exceeds_paid(paid, attempts):
    item = milestone(f"{paid / 100:.2f}")
    refunded = Money.zero("USD")
    now = NOW
    for number, (requested, answer, adjusted) in enumerate(attempts):
        now += timedelta(hours=1)
        try:
            case = Case.open_request(
                case_id=f"R-{number}",
                contract=contract(),
                item=item,
                amount=Money(requested, "USD"),
                reason="reason",
                refunded=refunded,
                held=Money.zero("USD"),
                by=CLIENT,
                now=now,
                policy=POLICY,
            )
            if answer == "approve":
                case.approve(by=FREELANCER, now=now)
            elif answer == "adjust":
                case.adjust(Money(adjusted, "USD"), note=None, by=FREELANCER, now=now, policy=POLICY)
            elif answer == "decline":
                case.decline(reason="no", by=FREELANCER, now=now, policy=POLICY)
            elif answer == "withdraw":
                case.withdraw(by=CLIENT, now=now)
            else:
                case.expire(now=now + POLICY.response_window, policy=POLICY)
        except Refused:
            continue
        refunded += sum((e.amount for e in case.events if isinstance(e, LedgerEntry)), Money.zero("USD"))
        assert Money.zero("USD") <= refunded <= item.paid
        assert refundable_balance(item.paid, refunded, Money.zero("USD")) == item.paid - refunded


@given(
    minor=st.integers(min_value=-(10**12), max_value=10**12),
    ratios=st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12).filter(any),
)
def test_allocation_always_adds_up_and_parts_differ_from_exact_shares_by_less_than_one_unit(minor, ratios):
    parts = Money(minor, "USD").allocate(ratios)
    assert sum(p.minor for p in parts) == minor
    total = sum(ratios)
    for part, ratio in zip(parts, ratios, strict=True):
        assert abs(part.minor - minor * ratio / total) < 1 + 1e-6


@given(st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-(10**9), max_value=10**9))
def test_parse_is_exact_or_refuses_for_three_decimal_currencies(value):
    assert Money.parse(str(value), "KWD").amount == value
