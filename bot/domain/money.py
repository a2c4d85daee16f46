"""Money: integer minor units plus an ISO 4217 currency code (design §2.1).

The exponent (JPY 0, USD 2, KWD 3) comes from ISO 4217 data, never a hard-coded 100; user input is parsed
with Decimal and extra precision is refused, never rounded away.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from iso4217 import Currency

from bot.domain.errors import AmountTooLarge, NotAnAmount, TooManyDecimals, UnknownCurrency

# Far below BIGINT's limit, far above any real item: anything larger is a typo, not a refund.
MAX_MINOR_UNITS = 10**15
_MAX_DIGITS = 15  # the most significant digit of an amount below MAX_MINOR_UNITS, whatever the exponent
# What a person types as an amount: ASCII digits with at most one decimal point. Decimal alone would also take
# "1_0", "1e3", "Infinity" and other scripts' digits, none of which a refund form should guess at.
_AMOUNT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)


def exponent(currency: str) -> int:
    """Decimal places of a currency's minor unit, from ISO 4217."""
    try:
        exp = Currency(currency).exponent
    except (ValueError, KeyError):
        raise UnknownCurrency(currency) from None
    if exp is None:  # precious metals and testing codes have no minor unit: not money we refund
        raise UnknownCurrency(currency)
    return exp


@dataclass(frozen=True, order=False)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        exponent(self.currency)
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise TypeError(f"Money.minor must be an int, got {self.minor!r}")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str | Decimal | int, currency: str) -> Money:
        """Read an amount a person typed ("12.50") exactly.

        A comma is refused rather than guessed at: "12,50" means 12.50 in much of the world and 1250 elsewhere;
        so are digit separators ("1_000"), exponents ("1e3") and digits of other scripts.
        """
        typed = str(text)
        if not isinstance(text, Decimal | int) and not _AMOUNT.fullmatch(typed.strip()):
            raise NotAnAmount(typed)
        try:
            value = Decimal(typed.strip())
        except (InvalidOperation, ValueError, TypeError):
            raise NotAnAmount(typed) from None
        if not value.is_finite():
            raise NotAnAmount(typed)
        exp = exponent(currency)
        # Decide on the magnitude before scaling: "1e999999999" would overflow the decimal context.
        if value and value.adjusted() > _MAX_DIGITS:
            raise AmountTooLarge(typed, currency)
        if value != value.quantize(Decimal(1).scaleb(-exp), ROUND_DOWN):
            raise TooManyDecimals(typed, currency, exp)
        minor = int(value.scaleb(exp))
        if abs(minor) > MAX_MINOR_UNITS:
            raise AmountTooLarge(typed, currency)
        return cls(minor, currency)

    @property
    def amount(self) -> Decimal:
        """The value in major units, exact."""
        return Decimal(self.minor).scaleb(-exponent(self.currency))

    def __str__(self) -> str:
        exp = exponent(self.currency)
        return f"{self.currency} {self.amount:,.{exp}f}"

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    @property
    def is_positive(self) -> bool:
        return self.minor > 0

    def allocate(self, ratios: list[int]) -> list[Money]:
        """Split into parts proportional to ``ratios``; the parts always add up to the whole.

        Leftover minor units go, one each, to the parts with the largest remainders (earliest first on ties),
        so no cent is created or lost whatever the ratios.
        """
        if not ratios or any(r < 0 for r in ratios) or sum(ratios) == 0:
            raise ValueError("ratios must be non-negative and not all zero")
        total = sum(ratios)
        sign = -1 if self.minor < 0 else 1
        whole = abs(self.minor)
        shares = [whole * r // total for r in ratios]
        remainders = [whole * r % total for r in ratios]
        leftover = whole - sum(shares)
        for index in sorted(range(len(ratios)), key=lambda i: (-remainders[i], i))[:leftover]:
            shares[index] += 1
        return [Money(sign * share, self.currency) for share in shares]
