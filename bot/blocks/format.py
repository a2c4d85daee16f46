"""How amounts, instants and people's text are shown: Babel for money, Slack date tokens for time."""

from __future__ import annotations

import copy
import re
from datetime import datetime

from babel import Locale, UnknownLocaleError

from bot.domain.errors import utc_text
from bot.domain.money import Money, exponent

SECTION_LIMIT = 3000
_CODE_BEFORE_DIGIT = re.compile(r"([A-Z]{3})(?=[-\d])")


DEFAULT_LOCALE = "en_US"


def babel_locale(slack_locale: str | None) -> str:
    """Slack's "de-DE" as Babel's "de_DE"; anything Babel does not know falls back to en_US."""
    try:
        return str(Locale.parse((slack_locale or "").replace("-", "_")))
    except (ValueError, TypeError, UnknownLocaleError):
        return DEFAULT_LOCALE


def money(amount: Money, locale: str = DEFAULT_LOCALE) -> str:
    """In the viewer's locale ("$1,234.50", "1.234,50 $"), with the ISO exponent: JPY none, KWD three."""
    where = Locale.parse(locale)
    pattern = copy.copy(where.currency_formats["standard"])
    places = exponent(amount.currency)
    pattern.frac_prec = (places, places)
    shown = pattern.apply(amount.amount, where, currency=amount.currency, currency_digits=False)
    # CLDR puts a space between a letter code and the digits (KWD 120.500); Babel leaves that to us.
    return _CODE_BEFORE_DIGIT.sub("\\1\u00a0", shown)


def when(instant: datetime, style: str = "{date_short_pretty} at {time}") -> str:
    """A Slack date token: each viewer sees it in their own time zone; the fallback is UTC."""
    return f"<!date^{int(instant.timestamp())}^{style}|{utc_text(instant)}>"


def escape(text: str) -> str:
    """People's text is shown, never interpreted: no <!channel> pings, no disguised links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quote(text: str, limit: int = 1500) -> str:
    """A person's words in a message, escaped, quoted, and trimmed to leave room in a 3000-character section."""
    shown = escape(text)
    if len(shown) > limit:
        shown = shown[: limit - 1].rstrip() + "…"
    return "\n".join("> " + line for line in shown.splitlines() or [""])


def trim(text: str, limit: int = SECTION_LIMIT, pointer: str = "… (the rest is in the case thread)") -> str:
    return text if len(text) <= limit else text[: limit - len(pointer)] + pointer


def person(user_id: str) -> str:
    return f"<@{user_id}>"
