"""How amounts, instants and people's text are shown: Babel for money, Slack date tokens for time."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import NumberPattern, format_decimal

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
    return _money(amount, locale)


# Babel's formatting was most of a message's render, and a case's messages show the same few amounts again
# and again (its DMs, its thread, its card): each is formatted once.
@lru_cache(maxsize=4096)
def _money(amount: Money, locale: str) -> str:
    where, pattern = _pattern(locale, amount.currency)
    shown = pattern.apply(amount.amount, where, currency=amount.currency, currency_digits=False)
    # CLDR puts a space between a letter code and the digits (KWD 120.500); Babel leaves that to us.
    return _CODE_BEFORE_DIGIT.sub("\\1\u00a0", shown)


@lru_cache(maxsize=256)
def _pattern(locale: str, currency: str) -> tuple[Locale, NumberPattern]:
    where = Locale.parse(locale)
    pattern = copy.copy(where.currency_formats["standard"])
    places = exponent(currency)
    pattern.frac_prec = (places, places)
    return where, pattern


def when(instant: datetime, style: str = "{date_short_pretty} at {time}") -> str:
    """A Slack date token: each viewer sees it in their own time zone; the fallback is UTC."""
    return f"<!date^{int(instant.timestamp())}^{style}|{utc_text(instant)}>"


def dated(instant: datetime) -> str:
    """A moment in a sentence with no preposition before it ("declined by Ana {dated}"): Slack shows "today at
    5:02 AM", "yesterday at …" or "Nov 25 at …" in the reader's time zone, none of which takes "on"; the fallback,
    where no token renders, is "on Wed 25 Nov 2026 05:02 UTC"."""
    return f"<!date^{int(instant.timestamp())}^{{date_short_pretty}} at {{time}}|on {utc_text(instant)}>"


def utc_text(instant: datetime) -> str:
    """An instant where no Slack date token renders (plain text under a form field): in UTC, said so."""
    return instant.astimezone(UTC).strftime("%a %d %b %Y %H:%M UTC")


def window_end(closes_at: datetime) -> datetime:
    """A window is half-open [opens, closes): people are told its last second ("Friday 23:59"), never the
    first instant outside it ("Saturday 00:00")."""
    return closes_at - timedelta(seconds=1)


def duration(span: timedelta) -> str:
    """A policy duration as people say it: "3 days", "36 h", "7 days 12 h", "90 min"."""
    if span < timedelta(minutes=1):
        return f"{round(span.total_seconds())} s"
    minutes = round(span.total_seconds() / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if minutes:
        return f"{days * 24 * 60 + hours * 60 + minutes} min"
    if days and hours:
        return f"{days} day{'s' if days > 1 else ''} {hours} h"
    return f"{days} day{'s' if days > 1 else ''}" if days else f"{hours} h"


def counted(count: int, one: str, other: str, locale: str = DEFAULT_LOCALE) -> str:
    """ "1 piece", "0 pieces", "2 pieces": the number with the noun its plural rule takes (Babel's CLDR rules;
    the words are English, so the rule is English's unless the words are given in the reader's language)."""
    form = Locale.parse(locale).plural_form(count)
    return f"{number(count, locale)} {one if form == 'one' else other}"


def number(value: int, locale: str = DEFAULT_LOCALE) -> str:
    """A count as the reader writes it: "2,000" in en_US, "2.000" in de_DE."""
    return format_decimal(value, locale=locale)


def size(count: int, locale: str = DEFAULT_LOCALE) -> str:
    """A file's size as people read it: "812 KB", "9,5 MB" in de_DE (1 MB is 1,048,576 bytes, as Slack counts)."""
    if count < 1024 * 1024:
        return f"{format_decimal(max(1, round(count / 1024)), locale=locale)} KB"
    return f"{format_decimal(round(count / (1024 * 1024), 1), locale=locale)} MB"


def escape(text: str) -> str:
    """People's text is shown, never interpreted: no <!channel> pings, no disguised links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Where a party's message cuts someone's words, it says where they are whole: the case thread carries them.
IN_THE_THREAD = "… _(the whole of it is in the case thread)_"


def quote(text: str, limit: int | None = 1500, pointer: str = "…") -> str:
    """A person's words in a message, escaped and quoted, in at most ``limit`` characters (so it leaves room in a
    3,000-character section), the cut marked with ``pointer``; ``None``: whole (``pieces`` spreads it over
    sections)."""
    quoted = "\n".join("> " + line for line in escape(text).splitlines() or [""])
    return quoted if limit is None else trim(quoted, limit, pointer)


def pieces(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Text too long for one section, in sections' worth: cut between lines where it can be, inside a long line
    where it must (never inside a mention, a date token, a link or an entity), a quote staying a quote."""
    found: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            head = _safe_cut(line[:limit]) or line[:limit]
            if (space := head.rfind(" ")) > len(head) - 200:  # between words, where there is a space near the end
                head = head[: space + 1]
            if current:
                found.append(current)
                current = ""
            found.append(head)
            line = ("> " if line.startswith("> ") else "") + line[len(head) :]
        if current and len(current) + 1 + len(line) > limit:
            found.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    return [*found, current]


def _safe_cut(text: str) -> str:
    for opens, closes in (("<", ">"), ("&", ";")):
        if text.rfind(opens) > text.rfind(closes):
            text = text[: text.rfind(opens)]
    return text


def trim(text: str, limit: int = SECTION_LIMIT, pointer: str = "… (the rest is in the case thread)") -> str:
    """At most ``limit`` characters, the cut marked; never inside a mention, a date token, a link or an entity,
    which would show as broken markup."""
    if len(text) <= limit:
        return text
    return _safe_cut(text[: max(limit - len(pointer), 0)]).rstrip() + pointer


def person(user_id: str) -> str:
    return f"<@{user_id}>"
