"""How numbers, money, percentages, dates and relative dates read: one place, through Babel.

Every surface formats through these functions, in the language the text is being built in
(core.i18n.current_locale(), set at the edge with `use_locale`), so a figure reads the same
in a command's answer, the App Home, a digest sent by the scheduler and its chart. A caller
may pass `locale` (a tag such as `tr-TR`); only its language counts, for the same reason.

English keeps the forms salesbot always printed (`$12,000.00`, `Fri 27 Nov 2026`,
`Mon 23 Nov 14:05`, `66.7 %`, `$12K`); Turkish uses what a Turkish reader expects
(`₺12.000,00`, `27 Kasım 2026 Cuma`, `23 Kasım Pzt 14:05`, `%66,7`, `₺12 bin`).
Pure functions: the clock is never read (`today` and `now` are passed in).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Literal

from babel import Locale
from babel.dates import format_date, format_datetime, format_timedelta, get_day_names, get_month_names
from babel.numbers import (
    format_compact_currency,
    format_compact_decimal,
    format_currency,
    format_decimal,
    format_percent,
    get_currency_symbol,
)

from core.i18n import SOURCE_LOCALE, current_locale, language_of

DASH = "—"
Number = Decimal | int | float

# Date and time patterns (CLDR syntax) per language; a language not listed uses English's.
_DATE_PATTERNS: dict[str, dict[str, str]] = {
    "en": {
        "date": "EEE d MMM y",  # Fri 27 Nov 2026
        "date_long": "d MMMM y",  # 27 November 2026
        "day_month": "d MMM",  # 27 Nov
        "weekday_day": "EEE d MMM",  # Fri 27 Nov
        "moment": "EEE d MMM HH:mm",  # Mon 23 Nov 14:05
        "span": "d MMM y",  # 1 Oct 2026 (ends of a period)
        "time": "HH:mm",
    },
    "tr": {
        "date": "d MMMM y EEEE",  # 27 Kasım 2026 Cuma
        "date_long": "d MMMM y",  # 27 Kasım 2026
        "day_month": "d MMMM",  # 27 Kasım
        "weekday_day": "d MMMM EEE",  # 27 Kasım Cum
        "moment": "d MMMM EEE HH:mm",  # 23 Kasım Pzt 14:05
        "span": "d MMMM y",  # 1 Ekim 2026
        "time": "HH:mm",
    },
}
# Percentages: English writes `66.7 %` (salesbot's form) and `50%` for a stage's probability;
# Turkish puts the sign first, `%66,7`, `%50`.
_PERCENT_PATTERNS: dict[str, tuple[str, str]] = {
    "en": ("#,##0{digits} %", "#,##0%"),
    "tr": ("%#,##0{digits}", "%#,##0"),
}
# Compact amounts: Babel's short Turkish form (`₺75 B`) reads as nothing to a Turkish
# reader (B would be "bin", but also looks like billion): the long words (`₺75 bin`,
# `₺1,2 milyon`, `₺3 milyar`) are what one writes. English keeps `$75K`, `$1.2M`.
_COMPACT_WIDTH: dict[str, Literal["short", "long"]] = {"en": "short", "tr": "long"}


def language(locale: str | None = None) -> str:
    """The language figures are written in: `locale`'s when given (and supported), else the current one."""
    return language_of(locale) or (current_locale() if locale is None else SOURCE_LOCALE)


@lru_cache(maxsize=8)
def babel_locale(lang: str) -> Locale:
    return Locale.parse(lang)


def _pattern(kind: str, locale: str | None) -> tuple[str, Locale]:
    lang = language(locale)
    patterns = _DATE_PATTERNS.get(lang, _DATE_PATTERNS[SOURCE_LOCALE])
    return patterns[kind], babel_locale(lang)


# -- numbers --------------------------------------------------------------------------------


def number(value: Number, digits: int | None = None, locale: str | None = None) -> str:
    """`12,000` / `12.000`; with `digits`, exactly that many decimals (`1.5` / `1,5`)."""
    loc = babel_locale(language(locale))
    if digits is None:
        return str(format_decimal(value, locale=loc, decimal_quantization=False))
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return str(format_decimal(value, format=pattern, locale=loc))


def compact_number(value: Number, locale: str | None = None) -> str:
    """`75K` / `75 bin`, `1.2M` / `1,2 milyon` (chart axes)."""
    lang = language(locale)
    width = _COMPACT_WIDTH.get(lang, "short")
    return str(format_compact_decimal(value, format_type=width, locale=babel_locale(lang), fraction_digits=1))


def times(value: Number, digits: int = 1, locale: str | None = None) -> str:
    """A multiple: `1.5×` / `1,5×`."""
    return number(value, digits, locale) + "×"


def percent(fraction: Decimal | float | None, digits: int = 1, locale: str | None = None) -> str:
    """A fraction as a percentage: `66.7 %` / `%66,7` (`—` for none)."""
    if fraction is None:
        return DASH
    lang = language(locale)
    pattern = _PERCENT_PATTERNS.get(lang, _PERCENT_PATTERNS[SOURCE_LOCALE])[0]
    pattern = pattern.format(digits="." + "0" * digits if digits > 0 else "")
    return str(format_percent(fraction, format=pattern, locale=babel_locale(lang)))


def probability(points: int, locale: str | None = None) -> str:
    """A stage's probability, given in whole percent: `50%` / `%50`."""
    lang = language(locale)
    pattern = _PERCENT_PATTERNS.get(lang, _PERCENT_PATTERNS[SOURCE_LOCALE])[1]
    return str(format_percent(Decimal(points) / 100, format=pattern, locale=babel_locale(lang)))


# -- money ----------------------------------------------------------------------------------


def money(amount: Decimal | None, currency: str, locale: str | None = None, compact: bool = False) -> str:
    """`$12,000.00` / `₺12.000,00`; compact `$12K` / `₺12 bin`; `—` when there is no amount."""
    if amount is None:
        return DASH
    lang = language(locale)
    loc = babel_locale(lang)
    if compact:
        width = _COMPACT_WIDTH.get(lang, "short")
        try:
            if width == "short":
                return str(format_compact_currency(amount, currency, locale=loc, fraction_digits=1))
            shown = str(format_compact_decimal(abs(amount), format_type=width, locale=loc, fraction_digits=1))
            sign = "-" if amount < 0 else ""
            symbol = str(get_currency_symbol(currency, loc))
            pattern = loc.currency_formats["standard"].pattern
            return sign + (f"{symbol}{shown}" if pattern.startswith("¤") else f"{shown} {symbol}")
        except Exception:  # no compact pattern for this currency here: the full form is still right
            pass
    return str(format_currency(amount, currency, locale=loc))


# -- dates ----------------------------------------------------------------------------------


def day(d: date, locale: str | None = None) -> str:
    """`Fri 27 Nov 2026` / `27 Kasım 2026 Cuma`."""
    pattern, loc = _pattern("date", locale)
    return str(format_date(d, pattern, locale=loc))


def long_date(d: date, locale: str | None = None) -> str:
    """`27 November 2026` / `27 Kasım 2026`."""
    pattern, loc = _pattern("date_long", locale)
    return str(format_date(d, pattern, locale=loc))


def day_month(d: date, locale: str | None = None) -> str:
    """`27 Nov` / `27 Kasım`."""
    pattern, loc = _pattern("day_month", locale)
    return str(format_date(d, pattern, locale=loc))


def weekday_day(d: date, locale: str | None = None) -> str:
    """`Fri 27 Nov` / `27 Kasım Cum`."""
    pattern, loc = _pattern("weekday_day", locale)
    return str(format_date(d, pattern, locale=loc))


def span_date(d: date, locale: str | None = None) -> str:
    """`1 Oct 2026` / `1 Ekim 2026`: an end of a period."""
    pattern, loc = _pattern("span", locale)
    return str(format_date(d, pattern, locale=loc))


def moment(at: datetime, locale: str | None = None) -> str:
    """A local date and time: `Mon 23 Nov 14:05` / `23 Kasım Pzt 14:05` (`at` already in the reader's zone)."""
    pattern, loc = _pattern("moment", locale)
    return str(format_datetime(at, pattern, tzinfo=at.tzinfo, locale=loc))


def clock_time(at: datetime, locale: str | None = None) -> str:
    """`14:05`."""
    pattern, loc = _pattern("time", locale)
    return str(format_datetime(at, pattern, tzinfo=at.tzinfo, locale=loc))


def weekday_name(weekday: int, locale: str | None = None,
                 width: Literal["abbreviated", "narrow", "short", "wide"] = "wide") -> str:
    """Monday is 0: `Monday` / `Pazartesi` (`abbreviated`: `Mon` / `Pzt`)."""
    return str(get_day_names(width, locale=babel_locale(language(locale)))[weekday])


def month_name(month: int, locale: str | None = None,
               width: Literal["abbreviated", "narrow", "wide"] = "wide") -> str:
    """January is 1: `January` / `Ocak`."""
    return str(get_month_names(width, locale=babel_locale(language(locale)))[month])


def relative_day(d: date, today: date, locale: str | None = None) -> str:
    """`today`, `tomorrow`, `yesterday` / `bugün`, `yarın`, `dün`; further: `in 3 days` / `3 gün sonra`."""
    lang = language(locale)
    loc = babel_locale(lang)
    days = (d - today).days
    words = _relative_day_words(lang)
    if days in words:
        return words[days]
    return str(format_timedelta(timedelta(days=days), granularity="day", threshold=1000,
                                add_direction=True, locale=loc))


def days_ago(days: int, locale: str | None = None) -> str:
    """A past span in days, never rounded to months: `3 days ago` / `3 gün önce`."""
    return str(format_timedelta(timedelta(days=-days), granularity="day", threshold=1000,
                                add_direction=True, locale=babel_locale(language(locale))))


def duration_days(days: int, locale: str | None = None) -> str:
    """A span in days, never rounded to months: `12 days` / `12 gün`."""
    return str(format_timedelta(timedelta(days=days), granularity="day", threshold=1000,
                                locale=babel_locale(language(locale))))


@lru_cache(maxsize=8)
def _relative_day_words(lang: str) -> dict[int, str]:
    """CLDR's words for yesterday, today and tomorrow (only -1..1: `evvelsi gün` is not everyday Turkish)."""
    fields = babel_locale(lang)._data["date_fields"]
    try:
        relative = fields["day"]["relative"]
        return {int(k): str(v) for k, v in relative.items() if int(k) in (-1, 0, 1)}
    except KeyError:
        return {}
