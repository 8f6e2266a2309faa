"""One formatter (core/formatting.py) and locale-aware case (core/text.py): what a figure, a date
or a name reads like in English and in Turkish (issue 13)."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from core import formatting, text
from core.i18n import use_locale
from core.money import format_money, parse_amount

D = Decimal


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", ["TRY75,000.00", "$300,000.00", "TRY75K", "$1.2M", "$0.00", "—"]),
    ("tr", ["₺75.000,00", "$300.000,00", "₺75 bin", "$1,2 milyon", "$0,00", "—"]),
])
def test_money_in_each_language_through_the_current_locale(lang: str, expected: list[str]) -> None:
    with use_locale(lang):
        shown = [formatting.money(D("75000"), "TRY"), formatting.money(D("300000"), "USD"),
                 formatting.money(D("75000"), "TRY", compact=True), formatting.money(D("1250000"), "USD", compact=True),
                 formatting.money(D("0"), "USD"), formatting.money(None, "USD")]
    assert shown == expected


def test_an_explicit_locale_counts_by_its_language_and_format_money_is_the_same_formatter() -> None:
    assert formatting.money(D("75000"), "TRY", "tr-TR") == "₺75.000,00"
    assert formatting.money(D("75000"), "TRY", "en-GB") == formatting.money(D("75000"), "TRY", "en")
    assert formatting.money(D("75000"), "TRY", "de-DE") == "TRY75,000.00"  # unsupported: the source language
    with use_locale("tr"):
        assert format_money(D("75000"), "TRY") == "₺75.000,00"  # core.money without a locale: the current one


def test_turkish_compact_amounts_use_the_words_and_read_back() -> None:
    with use_locale("tr"):
        shown = [formatting.money(D(v), "TRY", compact=True) for v in ("950", "75000", "1500000", "3000000000")]
        negative = formatting.money(D("-75000"), "TRY", compact=True)
    assert shown == ["₺950", "₺75 bin", "₺1,5 milyon", "₺3 milyar"]
    assert negative == "-₺75 bin"
    # what the Home shows can be typed back as the same amount
    assert parse_amount("₺75 bin", "tr", "TRY").amount == D("75000")
    assert parse_amount("₺1,5 milyon", "tr", "TRY").amount == D("1500000")


def test_numbers_percentages_and_multiples() -> None:
    with use_locale("en"):
        assert [formatting.number(12000), formatting.number(D("1.5"), 1), formatting.percent(D("0.667")),
                formatting.percent(D("0.08"), 0), formatting.probability(50), formatting.times(D("0.25"))] == \
            ["12,000", "1.5", "66.7 %", "8 %", "50%", "0.2×"]
    with use_locale("tr"):
        assert [formatting.number(12000), formatting.number(D("1.5"), 1), formatting.percent(D("0.667")),
                formatting.percent(D("0.08"), 0), formatting.probability(50), formatting.times(D("0.25"))] == \
            ["12.000", "1,5", "%66,7", "%8", "%50", "0,2×"]
    assert formatting.percent(None) == "—"


def test_dates_weekdays_and_months() -> None:
    d = date(2026, 12, 15)  # a Tuesday
    at = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)
    with use_locale("en"):
        assert [formatting.day(d), formatting.weekday_day(d), formatting.day_month(d), formatting.long_date(d),
                formatting.moment(at), formatting.weekday_name(0), formatting.month_name(12)] == \
            ["Tue 15 Dec 2026", "Tue 15 Dec", "15 Dec", "15 December 2026", "Mon 23 Nov 14:05", "Monday", "December"]
    with use_locale("tr"):
        assert [formatting.day(d), formatting.weekday_day(d), formatting.day_month(d), formatting.long_date(d),
                formatting.moment(at), formatting.weekday_name(0), formatting.month_name(12)] == \
            ["15 Aralık 2026 Salı", "15 Aralık Sal", "15 Aralık", "15 Aralık 2026", "23 Kasım Pzt 14:05",
             "Pazartesi", "Aralık"]


def test_relative_days_through_babel() -> None:
    today = date(2026, 12, 15)
    cases = [today, today + timedelta(days=1), today - timedelta(days=1), today + timedelta(days=3),
             today - timedelta(days=45)]
    with use_locale("en"):
        assert [formatting.relative_day(d, today) for d in cases] == \
            ["today", "tomorrow", "yesterday", "in 3 days", "45 days ago"]
        assert (formatting.days_ago(1), formatting.duration_days(45)) == ("1 day ago", "45 days")
    with use_locale("tr"):
        assert [formatting.relative_day(d, today) for d in cases] == \
            ["bugün", "yarın", "dün", "3 gün sonra", "45 gün önce"]
        assert (formatting.days_ago(1), formatting.duration_days(45)) == ("1 gün önce", "45 gün")


@pytest.mark.parametrize(("word", "lang", "up", "down"), [
    ("Karadeniz", "tr", "KARADENİZ", "karadeniz"),
    ("Karadeniz", "en", "KARADENIZ", "karadeniz"),
    ("IŞIK", "tr", "IŞIK", "ışık"),
    ("İSTANBUL", "tr", "İSTANBUL", "istanbul"),
    ("Istanbul", "en", "ISTANBUL", "istanbul"),
])
def test_case_follows_the_language(word: str, lang: str, up: str, down: str) -> None:
    assert text.upper(word, lang) == up and text.lower(word, lang) == down
    with use_locale(lang):  # the current language when none is given
        assert text.upper(word) == up and text.lower(word) == down


def test_title_and_matching_in_turkish() -> None:
    with use_locale("tr"):
        assert text.title("izmir ılıca") == "İzmir Ilıca"
        assert text.casefold_for_match("İZMİR") == text.casefold_for_match("izmir") != text.casefold_for_match("IZMIR")
    assert text.title("istanbul", "en") == "Istanbul"
