"""Property tests of the Turkish amounts and dates a user types (issue 13), and their refusals.

The forms: `12.000 TL`, `₺12.000`, `12 bin`, `1,5 milyon`; `yarın`, `cuma`, `gelecek cuma`,
`haftaya`, `3 gün sonra`, `ay sonu`, `çeyrek sonu`, `15 Aralık`, `15.12` — in any case, with or
without diacritics, as people type them. tests/bot/test_turkish_commands.py runs each through /deal.
"""
from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.dates import parse_date
from core.dates_tr import fold as fold_tr
from core.errors import InvalidInput
from core.money import Money, parse_amount

TZ = "Europe/Istanbul"
WEEKDAYS_TR = ("pazartesi", "salı", "çarşamba", "perşembe", "cuma", "cumartesi", "pazar")
MONTHS_TR = ("ocak", "şubat", "mart", "nisan", "mayıs", "haziran", "temmuz", "ağustos", "eylül", "ekim", "kasım",
             "aralık")

moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC))


def local_today(now: datetime) -> date:
    return now.astimezone(ZoneInfo(TZ)).date()


def grouped(n: int) -> str:
    """`12000` written the Turkish way: `12.000`."""
    return f"{n:,}".replace(",", ".")


def typed(word: str, how: str) -> str:
    """`word` as someone might type it: as is, in Turkish capitals, capitalised, or without diacritics."""
    if how == "upper":
        return word.replace("i", "İ").replace("ı", "I").upper()
    if how == "title":
        return (word[0].replace("i", "İ").upper() + word[1:]) if word else word
    if how == "plain":
        return fold_tr(word, turkish=True)
    return word


casings = st.sampled_from(["as is", "upper", "title", "plain"])


# -- amounts ------------------------------------------------------------------------------------------


@settings(deadline=None)  # the first call loads Babel's locale data
@given(st.integers(min_value=1, max_value=999_999_999), st.sampled_from(["{} TL", "₺{}", "{}₺", "{} tl", "{}TL"]))
def test_lira_amounts_with_turkish_grouping(n: int, shape: str) -> None:
    assert parse_amount(shape.format(grouped(n)), "tr-TR", "USD") == Money(Decimal(n), "TRY")


@settings(deadline=None)  # the first call loads Babel's locale data
@given(st.integers(min_value=0, max_value=9_999_999), st.integers(min_value=1, max_value=99))
def test_lira_amounts_with_kurus(n: int, kurus: int) -> None:
    text = f"{grouped(n)},{kurus:02d} TL"
    assert parse_amount(text, "tr-TR", "USD") == Money(Decimal(n) + Decimal(kurus) / 100, "TRY")


@settings(deadline=None)  # the first call loads Babel's locale data
@given(st.integers(min_value=1, max_value=999), casings, st.sampled_from(["", " TL"]))
def test_bin_is_a_thousand(k: int, how: str, lira: str) -> None:
    found = parse_amount(f"{k} {typed('bin', how)}{lira}", "tr-TR", "USD")
    assert found == Money(Decimal(k * 1000), "TRY" if lira else "USD")


@settings(deadline=None)  # the first call loads Babel's locale data
@given(st.integers(min_value=1, max_value=999), st.integers(min_value=0, max_value=9), casings,
       st.sampled_from([("milyon", 10**6), ("milyar", 10**9)]))
def test_milyon_and_milyar_with_a_decimal_comma(whole: int, tenth: int, how: str, word: tuple[str, int]) -> None:
    name, size = word
    if whole * size > 10**12:
        return  # above the largest amount, refused (tested below)
    text = f"{whole},{tenth} {typed(name, how)}" if tenth else f"{whole} {typed(name, how)}"
    assert parse_amount(text, "tr-TR", "EUR") == Money(Decimal(whole) * size + Decimal(tenth) * size / 10, "EUR")


@pytest.mark.parametrize("text", ["12..000 TL", "-5 bin", "₺", "12 bin bin", "1,5 milyon dolar lira", "12.000 XYZ",
                                  "5000 milyar", "bin"])
def test_bad_turkish_amounts_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_amount(text, "tr-TR", "TRY")
    assert refused.value.message  # a message that says what was expected, never a crash


# -- dates --------------------------------------------------------------------------------------------


@settings(deadline=None)  # the first call loads Babel's locale data
@given(moments, st.integers(min_value=1, max_value=365), casings)
def test_n_days_later(now: datetime, n: int, how: str) -> None:
    text = f"{n} {typed('gün', how)} {typed('sonra', how)}"
    assert parse_date(text, now, TZ, "tr-TR") == local_today(now) + timedelta(days=n)


@settings(deadline=None)  # the first call loads Babel's locale data
@given(moments, casings)
def test_tomorrow_and_next_week(now: datetime, how: str) -> None:
    today = local_today(now)
    assert parse_date(typed("yarın", how), now, TZ, "tr-TR") == today + timedelta(days=1)
    assert parse_date(typed("haftaya", how), now, TZ, "tr-TR") == today + timedelta(days=7)


@settings(deadline=None)  # the first call loads Babel's locale data
@given(moments, st.integers(min_value=0, max_value=6), casings)
def test_weekdays_and_next_weekdays(now: datetime, weekday: int, how: str) -> None:
    today = local_today(now)
    name = typed(WEEKDAYS_TR[weekday], how)
    coming = parse_date(name, now, TZ, "tr-TR")
    assert coming.weekday() == weekday and 1 <= (coming - today).days <= 7  # the next one, never today
    following = parse_date(f"{typed('gelecek', how)} {name}", now, TZ, "tr-TR")
    next_monday = today + timedelta(days=7 - today.weekday())
    assert following == next_monday + timedelta(days=weekday)  # in next week


@settings(deadline=None)  # the first call loads Babel's locale data
@given(moments, casings)
def test_end_of_month_and_quarter(now: datetime, how: str) -> None:
    today = local_today(now)
    month_end = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    assert parse_date(f"{typed('ay', how)} {typed('sonu', how)}", now, TZ, "tr-TR") == month_end
    last_month = (today.month - 1) // 3 * 3 + 3
    quarter_end = date(today.year, last_month, calendar.monthrange(today.year, last_month)[1])
    assert parse_date(f"{typed('çeyrek', how)} {typed('sonu', how)}", now, TZ, "tr-TR") == quarter_end


@settings(deadline=None)  # the first call loads Babel's locale data
@given(moments, st.integers(min_value=1, max_value=12), st.integers(min_value=1, max_value=31), casings,
       st.booleans())
def test_day_and_month(now: datetime, month: int, day: int, how: str, dotted: bool) -> None:
    today = local_today(now)
    text = f"{day}.{month}" if dotted else f"{day} {typed(MONTHS_TR[month - 1], how)}"
    if day > calendar.monthrange(2028, month)[1]:  # more days than the month ever has (2028 is a leap year)
        with pytest.raises(InvalidInput):  # 31 Şubat, 31.04: refused, never rolled over
            parse_date(text, now, TZ, "tr-TR")
        return
    if (month, day) == (2, 29):
        return  # the next 29 February may be years away; core.dates has its own tests for it
    this_year = date(today.year, month, day)
    # the next such day: this year's, unless it has passed
    expected = this_year if this_year >= today else this_year.replace(year=today.year + 1)
    assert parse_date(text, now, TZ, "tr-TR") == expected


@pytest.mark.parametrize("text", ["32 Aralık", "31 Şubat", "31.04", "gelecek cumaa", "ayy sonu", "15.13",
                                  "yarın yarın yarın", ""])
def test_bad_turkish_dates_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_date(text, datetime(2026, 11, 23, 14, 0, tzinfo=UTC), TZ, "tr-TR")
    assert refused.value.message
