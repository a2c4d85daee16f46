from decimal import Decimal

import pytest

from bot.domain.errors import AmountTooLarge, InvalidAmount, NotAnAmount, TooManyDecimals, UnknownCurrency
from bot.domain.money import Money, exponent


@pytest.mark.parametrize(("currency", "places"), [("USD", 2), ("EUR", 2), ("JPY", 0), ("KWD", 3), ("IQD", 3)])
def test_exponent_comes_from_iso_4217(currency, places):
    assert exponent(currency) == places


@pytest.mark.parametrize("currency", ["XXX", "ABC", "XAU", "usd"])
def test_currencies_without_a_minor_unit_or_unknown_are_refused(currency):
    with pytest.raises(UnknownCurrency):
        Money(1, currency)


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.50", "USD", 1250),
        ("0.01", "USD", 1),
        ("  7 ", "USD", 700),
        ("1200", "JPY", 1200),
        ("1.000", "KWD", 1000),
        ("0.001", "KWD", 1),
        ("12.5000", "USD", 1250),  # trailing zeros add no precision
        ("-3.10", "EUR", -310),
    ],
)
def test_parse_reads_amounts_exactly(text, currency, minor):
    assert Money.parse(text, currency) == Money(minor, currency)


@pytest.mark.parametrize(
    ("text", "currency", "refusal"),
    [
        ("12.505", "USD", TooManyDecimals),
        ("1.5", "JPY", TooManyDecimals),
        ("0.0001", "KWD", TooManyDecimals),
        ("1e-999999999", "USD", NotAnAmount),
        ("twelve", "USD", NotAnAmount),
        ("", "USD", NotAnAmount),
        ("12,50", "EUR", NotAnAmount),
        ("NaN", "USD", NotAnAmount),
        ("Infinity", "USD", NotAnAmount),
        ("1e30", "USD", NotAnAmount),  # exponents are not how people type amounts
        ("1e999999999", "USD", NotAnAmount),  # and this one is beyond the decimal context
        ("1_0", "USD", NotAnAmount),  # Decimal takes digit separators; a form refuses them, like "1,000"
        ("１２", "USD", NotAnAmount),  # digits of another script
        ("249.999999999999999999999999999", "USD", TooManyDecimals),  # never rounded to 250.00
        ("9" * 3000, "USD", AmountTooLarge),
    ],
)
def test_parse_refuses_what_it_cannot_read_exactly(text, currency, refusal):
    with pytest.raises(refusal) as refused:
        Money.parse(text, currency)
    assert isinstance(refused.value, InvalidAmount)
    assert refused.value.text == text


def test_amount_and_text_follow_the_currency_exponent():
    assert Money(123456, "USD").amount == Decimal("1234.56")
    assert str(Money(123456, "USD")) == "USD 1,234.56"
    assert str(Money(1200, "JPY")) == "JPY 1,200"
    assert str(Money(120500, "KWD")) == "KWD 120.500"


def test_arithmetic_refuses_mixed_currencies():
    with pytest.raises(ValueError, match="USD with EUR"):
        Money(1, "USD") + Money(1, "EUR")
    with pytest.raises(ValueError, match="USD with EUR"):
        assert Money(1, "USD") < Money(1, "EUR")


def test_minor_units_must_be_integers():
    with pytest.raises(TypeError):
        Money(1.5, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("minor", "ratios", "parts"),
    [
        (100, [1, 1, 1], [34, 33, 33]),
        (5, [1, 1], [3, 2]),
        (-5, [1, 1], [-3, -2]),
        (1000, [70, 30], [700, 300]),
        (1, [1, 1, 1], [1, 0, 0]),
        (10, [0, 1], [0, 10]),
    ],
)
def test_allocate_loses_no_minor_unit(minor, ratios, parts):
    assert [m.minor for m in Money(minor, "USD").allocate(ratios)] == parts


def test_allocate_refuses_meaningless_ratios():
    with pytest.raises(ValueError, match="ratios"):
        Money(10, "USD").allocate([0, 0])
