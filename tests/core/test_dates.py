"""Reading dates, reminder times and periods the way reps type them."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.dates import (
    local_now,
    parse_date,
    parse_datetime,
    parse_period,
    quarter_bounds,
    quarter_of,
    to_utc,
)
from core.errors import InvalidInput

# Wednesday 18 November 2026, 18:00 in Istanbul (UTC+3 all year).
NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
IST = "Europe/Istanbul"


def d(iso: str) -> date:
    return date.fromisoformat(iso)


DATES = [
    # text, locale, expected (today is Wed 2026-11-18)
    ("2026-12-15", "en", "2026-12-15"),
    ("2027-1-5", "en", "2027-01-05"),
    ("today", "en", "2026-11-18"),
    ("Tomorrow", "en", "2026-11-19"),
    ("tmrw", "en", "2026-11-19"),
    ("yesterday", "en", "2026-11-17"),
    ("day after tomorrow", "en", "2026-11-20"),
    ("fri", "en", "2026-11-20"),
    ("Friday", "en", "2026-11-20"),
    ("fri.", "en", "2026-11-20"),
    ("this fri", "en", "2026-11-20"),
    ("next friday", "en", "2026-11-27"),
    ("last fri", "en", "2026-11-13"),
    ("wed", "en", "2026-11-25"),  # today is Wednesday: the next one
    ("thurs", "en", "2026-11-19"),
    ("in 3 days", "en", "2026-11-21"),
    ("3 days", "en", "2026-11-21"),
    ("3d", "en", "2026-11-21"),
    ("in a day", "en", "2026-11-19"),
    ("in 2 weeks", "en", "2026-12-02"),
    ("in 1 month", "en", "2026-12-18"),
    ("in two months", "en", "2027-01-18"),
    ("in 1 year", "en", "2027-11-18"),
    ("eow", "en", "2026-11-20"),
    ("eom", "en", "2026-11-30"),
    ("end of the month", "en", "2026-11-30"),
    ("eoq", "en", "2026-12-31"),
    ("eoy", "en", "2026-12-31"),
    ("Q4", "en", "2026-12-31"),
    ("Q3", "en", "2027-09-30"),  # this year's Q3 has ended
    ("Q1", "en", "2027-03-31"),
    ("Q3 2027", "en", "2027-09-30"),
    ("2027-Q3", "en", "2027-09-30"),
    ("q2/2026", "en", "2026-06-30"),
    ("Dec 15", "en", "2026-12-15"),
    ("15 Dec", "en", "2026-12-15"),
    ("december 15", "en", "2026-12-15"),
    ("Dec 15th, 2027", "en", "2027-12-15"),
    ("15th of December", "en", "2026-12-15"),
    ("Nov 18", "en", "2026-11-18"),  # today counts as not passed
    ("Nov 17", "en", "2027-11-17"),
    ("sept 3", "en", "2027-09-03"),
    ("feb 29", "en", "2028-02-29"),  # the next one that exists
    ("12/15/2026", "en", "2026-12-15"),
    ("12/15/26", "en", "2026-12-15"),
    ("12/15", "en", "2026-12-15"),
    ("15/12/2026", "en_GB", "2026-12-15"),
    ("15.12.2026", "de", "2026-12-15"),
    ("  TODAY  ", "en", "2026-11-18"),
    # Turkish
    ("bugün", "tr", "2026-11-18"),
    ("yarın", "tr", "2026-11-19"),
    ("YARIN", "tr", "2026-11-19"),
    ("yarin", "tr", "2026-11-19"),
    ("dün", "tr", "2026-11-17"),
    ("öbür gün", "tr", "2026-11-20"),
    ("cuma", "tr", "2026-11-20"),
    ("Cuma günü", "tr", "2026-11-20"),
    ("pazartesi", "tr", "2026-11-23"),
    ("PAZARTESİ", "tr", "2026-11-23"),
    ("salı", "tr", "2026-11-24"),
    ("sali", "tr", "2026-11-24"),
    ("çarşamba", "tr", "2026-11-25"),
    ("carsamba", "tr", "2026-11-25"),
    ("perşembe", "tr", "2026-11-19"),
    ("cumartesi", "tr", "2026-11-21"),
    ("pazar", "tr", "2026-11-22"),
    ("gelecek cuma", "tr", "2026-11-27"),
    ("haftaya cuma", "tr", "2026-11-27"),
    ("3 gün sonra", "tr", "2026-11-21"),
    ("2 hafta sonra", "tr", "2026-12-02"),
    ("1 ay sonra", "tr", "2026-12-18"),
    ("bir hafta sonra", "tr", "2026-11-25"),
    ("ay sonu", "tr", "2026-11-30"),
    ("çeyrek sonu", "tr", "2026-12-31"),
    ("yıl sonu", "tr", "2026-12-31"),
    ("3. çeyrek", "tr", "2027-09-30"),
    ("15 aralık", "tr", "2026-12-15"),
    ("15 ARALIK 2027", "tr", "2027-12-15"),
    ("15 Şubat", "tr", "2027-02-15"),
    ("15.12.", "tr", "2026-12-15"),
    ("15.12.2026", "tr", "2026-12-15"),
    ("tomorrow", "tr", "2026-11-19"),  # English works in every locale
]


@pytest.mark.parametrize(("text", "locale", "expected"), DATES)
def test_reads_dates(text: str, locale: str, expected: str) -> None:
    assert parse_date(text, NOW, IST, locale) == d(expected)


BAD_DATES = [
    # text, locale, what the message must say
    ("", "en", "Enter a date"),
    ("garbage", "en", "Try a date like 2026-12-15, tomorrow, fri, in 3 days, eom or Q3."),
    ("çöp", "tr", "Try a date like 2026-12-15, yarın, cuma, 3 gün sonra, eom or Q3."),
    ("2026-02-30", "en", "does not exist"),
    ("Feb 30", "en", "does not exist: February has 28 days (29 in a leap year)"),
    ("31 april", "en", "does not exist"),
    ("2027-02-29", "en", "does not exist"),
    ("2026-13-01", "en", "no month 13"),
    ("13/15/2026", "en", "there is no month 15"),
    ("31/02", "tr", '"31/02" does not exist: February has 28 days (29 in a leap year).'),
    ("31/02", "en-GB", "February has 28 days (29 in a leap year)"),
    ("31/02", "en-US", "February has 28 days (29 in a leap year)"),  # not "there is no month 31"
    ("31.04", "tr", "April has 30 days"),
    ("29/02/2027", "tr", "February 2027 has 28 days"),
    ("05/06", "en", '"05/06" can be 5 June 2027 or 6 May 2027: write 2027-06-05 or 2027-05-06'),
    ("3/4/2027", "en", "can be 3 April 2027 or 4 March 2027"),
    ("0001-01-01", "en", "between 1900 and 2999"),
    ("in 99999 years", "en", "between 1900 and 2999"),
    ("15-12", "en-GB", "Couldn't read"),  # `-` is no day/month mark in en-GB
    ("cuma", "en", "Couldn't read"),  # Turkish only under tr
    ("any", "en", "Couldn't read"),  # not "an y(ear)"
    ("ay", "en", "Couldn't read"),
    ("next week", "en", "Couldn't read"),  # a period, not a date
    ("Q5", "en", "Couldn't read"),
    ("x" * 200, "en", "too long"),
]


@pytest.mark.parametrize(("text", "locale", "message"), BAD_DATES)
def test_bad_dates_say_what_was_expected(text: str, locale: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_date(text, NOW, IST, locale)
    assert message in caught.value.message


def test_unknown_time_zone_is_invalid_input() -> None:
    for zone in ("Nope/Zone", "", "GMT+3", "europe/istanbul"):
        with pytest.raises(InvalidInput, match="Unknown time zone"):
            parse_date("today", NOW, zone)


# The weekday rules, for every day of one week (Mon 2026-11-16 .. Sun 2026-11-22).
WEEK = [
    # today, fri, next fri, eow, next mon
    ("2026-11-16", "2026-11-20", "2026-11-27", "2026-11-20", "2026-11-23"),
    ("2026-11-18", "2026-11-20", "2026-11-27", "2026-11-20", "2026-11-23"),
    ("2026-11-19", "2026-11-20", "2026-11-27", "2026-11-20", "2026-11-23"),
    ("2026-11-20", "2026-11-27", "2026-11-27", "2026-11-20", "2026-11-23"),  # a Friday
    ("2026-11-21", "2026-11-27", "2026-11-27", "2026-11-27", "2026-11-23"),  # a Saturday
    ("2026-11-22", "2026-11-27", "2026-11-27", "2026-11-27", "2026-11-23"),  # a Sunday
]


@pytest.mark.parametrize(("today", "fri", "next_fri", "eow", "next_mon"), WEEK)
def test_weekday_rules(today: str, fri: str, next_fri: str, eow: str, next_mon: str) -> None:
    now = datetime.combine(d(today), time(12), tzinfo=UTC)
    assert parse_date("fri", now, "UTC") == d(fri)
    assert parse_date("next fri", now, "UTC") == d(next_fri)
    assert parse_date("eow", now, "UTC") == d(eow)
    assert parse_date("next monday", now, "UTC") == d(next_mon)


@pytest.mark.parametrize(
    ("now", "text", "expected"),
    [
        (datetime(2026, 12, 10, 12, tzinfo=UTC), "eoq", "2026-12-31"),
        (datetime(2026, 12, 31, 12, tzinfo=UTC), "eoq", "2026-12-31"),
        (datetime(2026, 11, 20, 12, tzinfo=UTC), "Q1", "2027-03-31"),
        (datetime(2026, 12, 31, 12, tzinfo=UTC), "tomorrow", "2027-01-01"),
        (datetime(2026, 12, 16, 12, tzinfo=UTC), "Dec 15", "2027-12-15"),
        (datetime(2026, 12, 30, 12, tzinfo=UTC), "fri", "2027-01-01"),
        (datetime(2027, 1, 31, 12, tzinfo=UTC), "in 1 month", "2027-02-28"),
        (datetime(2026, 12, 28, 12, tzinfo=UTC), "next mon", "2027-01-04"),
    ],
)
def test_year_boundaries(now: datetime, text: str, expected: str) -> None:
    assert parse_date(text, now, "UTC") == d(expected)


@pytest.mark.parametrize(
    ("tz", "today"),
    [
        # 2026-06-30 20:00 UTC is already 1 July in Kolkata and Auckland, not in New York
        ("Asia/Kolkata", "2026-07-01"),
        ("Pacific/Auckland", "2026-07-01"),
        ("Europe/Istanbul", "2026-06-30"),
        ("America/New_York", "2026-06-30"),
        ("UTC", "2026-06-30"),
    ],
)
def test_today_is_the_users_today(tz: str, today: str) -> None:
    now = datetime(2026, 6, 30, 20, 0, tzinfo=UTC)
    assert parse_date("today", now, tz) == d(today)
    eom = "2026-07-31" if today.endswith("07-01") else "2026-06-30"
    assert parse_date("eom", now, tz) == d(eom)


def test_new_year_arrives_first_in_auckland() -> None:
    now = datetime(2026, 12, 31, 12, 0, tzinfo=UTC)  # 01:00 on 1 Jan 2027 in Auckland
    assert parse_date("eoy", now, "Pacific/Auckland") == d("2027-12-31")
    assert parse_date("eoy", now, "America/New_York") == d("2026-12-31")


# --- reminders: dates with a time of day ---------------------------------------------

DATETIMES = [
    # text, locale, expected UTC (Istanbul is UTC+3; now is 18:00 local on Wed 18 Nov)
    ("tomorrow", "en", "2026-11-19T06:00"),  # default 09:00 local
    ("tomorrow 3pm", "en", "2026-11-19T12:00"),
    ("tomorrow at 3pm", "en", "2026-11-19T12:00"),
    ("tomorrow @ 3:30 pm", "en", "2026-11-19T12:30"),
    ("at 3pm tomorrow", "en", "2026-11-19T12:00"),
    ("fri 14:30", "en", "2026-11-20T11:30"),
    ("2026-12-15 09:30", "en", "2026-12-15T06:30"),
    ("2026-12-15T09:30", "en", "2026-12-15T06:30"),
    ("dec 15 noon", "en", "2026-12-15T09:00"),
    ("tomorrow midnight", "en", "2026-11-18T21:00"),
    ("12am tomorrow", "en", "2026-11-18T21:00"),
    ("in 2 hours", "en", "2026-11-18T17:00"),
    ("in 30 minutes", "en", "2026-11-18T15:30"),
    ("in an hour", "en", "2026-11-18T16:00"),
    ("90m", "en", "2026-11-18T16:30"),
    ("20:00", "en", "2026-11-18T17:00"),  # still ahead today
    ("3pm", "en", "2026-11-19T12:00"),  # passed today: tomorrow
    ("in 3 days", "en", "2026-11-21T06:00"),
    ("yarın 15:00", "tr", "2026-11-19T12:00"),
    ("yarın saat 15", "tr", "2026-11-19T12:00"),
    ("cuma 09:15", "tr", "2026-11-20T06:15"),
    ("2 saat sonra", "tr", "2026-11-18T17:00"),
    ("30 dakika sonra", "tr", "2026-11-18T15:30"),
]


@pytest.mark.parametrize(("text", "locale", "expected"), DATETIMES)
def test_reads_reminder_times(text: str, locale: str, expected: str) -> None:
    got = parse_datetime(text, NOW, IST, locale)
    assert got == datetime.fromisoformat(expected).replace(tzinfo=UTC)
    assert got.utcoffset() == timedelta(0)


def test_default_time_is_used_for_dates() -> None:
    got = parse_datetime("fri", NOW, IST, default_time=time(8, 15))
    assert got == datetime(2026, 11, 20, 5, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter a date and time"),
        ("whenever", "Try tomorrow 3pm, fri 14:30, in 2 hours or 2026-12-15 09:00."),
        ("tomorrow 25:00", "is not a time of day"),
        ("13pm", "is not a time of day"),
        ("fri 9:75", "is not a time of day"),
        ("2026-02-30 10:00", "does not exist"),
    ],
)
def test_bad_reminder_times(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_datetime(text, NOW, IST)
    assert message in caught.value.message


DST = [
    # zone, local text, now, expected UTC
    # New York springs forward 2026-03-08 02:00 -> 03:00: 02:30 does not exist, moves to 03:30
    ("America/New_York", "2026-03-08 2:30am", "2026-03-01T12:00", "2026-03-08T07:30"),
    ("America/New_York", "2026-03-08 1:30am", "2026-03-01T12:00", "2026-03-08T06:30"),
    ("America/New_York", "2026-03-08 3:30am", "2026-03-01T12:00", "2026-03-08T07:30"),
    # ...and falls back 2026-11-01 02:00 -> 01:00: 01:30 happens twice, take the first (EDT)
    ("America/New_York", "2026-11-01 1:30am", "2026-10-01T12:00", "2026-11-01T05:30"),
    ("America/New_York", "2026-11-01 9am", "2026-10-01T12:00", "2026-11-01T14:00"),
    # "tomorrow" (09:00) across the change: EST the day before, EDT on the day
    ("America/New_York", "tomorrow", "2026-03-07T20:00", "2026-03-08T13:00"),
    # a delay is real elapsed time: 01:30 EST + 2h is 04:30 EDT
    ("America/New_York", "in 2 hours", "2026-03-08T06:30", "2026-03-08T08:30"),
    # Berlin: 2026-03-29 02:00 -> 03:00, and 2026-10-25 03:00 -> 02:00
    ("Europe/Berlin", "2026-03-29 02:30", "2026-03-01T12:00", "2026-03-29T01:30"),
    ("Europe/Berlin", "2026-10-25 02:30", "2026-10-01T12:00", "2026-10-25T00:30"),
    ("Europe/Berlin", "2026-10-25 03:30", "2026-10-01T12:00", "2026-10-25T02:30"),
]


@pytest.mark.parametrize(("tz", "text", "now", "expected"), DST)
def test_dst_gaps_move_forward_and_repeats_take_the_first(tz: str, text: str, now: str, expected: str) -> None:
    at = datetime.fromisoformat(now).replace(tzinfo=UTC)
    assert parse_datetime(text, at, tz) == datetime.fromisoformat(expected).replace(tzinfo=UTC)


# --- periods ---------------------------------------------------------------------------

PERIODS = [
    # text, locale, start, end (today is Wed 2026-11-18)
    ("this week", "en", "2026-11-16", "2026-11-22"),
    ("next week", "en", "2026-11-23", "2026-11-29"),
    ("last week", "en", "2026-11-09", "2026-11-15"),
    ("this month", "en", "2026-11-01", "2026-11-30"),
    ("next month", "en", "2026-12-01", "2026-12-31"),
    ("last month", "en", "2026-10-01", "2026-10-31"),
    ("this quarter", "en", "2026-10-01", "2026-12-31"),
    ("next quarter", "en", "2027-01-01", "2027-03-31"),
    ("last quarter", "en", "2026-07-01", "2026-09-30"),
    ("this year", "en", "2026-01-01", "2026-12-31"),
    ("Q3", "en", "2027-07-01", "2027-09-30"),
    ("Q4", "en", "2026-10-01", "2026-12-31"),
    ("Q3 2027", "en", "2027-07-01", "2027-09-30"),
    ("2027-Q3", "en", "2027-07-01", "2027-09-30"),
    ("2017-03", "en", "2017-03-01", "2017-03-31"),
    ("2024-02", "en", "2024-02-01", "2024-02-29"),
    ("2017", "en", "2017-01-01", "2017-12-31"),
    ("december", "en", "2026-12-01", "2026-12-31"),
    ("march", "en", "2027-03-01", "2027-03-31"),  # the next March that has not ended
    ("dec 2027", "en", "2027-12-01", "2027-12-31"),
    ("eom", "en", "2026-11-18", "2026-11-30"),
    ("eoq", "en", "2026-11-18", "2026-12-31"),
    ("tomorrow", "en", "2026-11-19", "2026-11-19"),
    ("dec 1 to dec 15", "en", "2026-12-01", "2026-12-15"),
    ("2026-12-01..2027-01-15", "en", "2026-12-01", "2027-01-15"),
    ("bu hafta", "tr", "2026-11-16", "2026-11-22"),
    ("gelecek hafta", "tr", "2026-11-23", "2026-11-29"),
    ("bu ay", "tr", "2026-11-01", "2026-11-30"),
    ("geçen ay", "tr", "2026-10-01", "2026-10-31"),
    ("bu çeyrek", "tr", "2026-10-01", "2026-12-31"),
    ("gelecek çeyrek", "tr", "2027-01-01", "2027-03-31"),
    ("bu yıl", "tr", "2026-01-01", "2026-12-31"),
    ("aralık", "tr", "2026-12-01", "2026-12-31"),
    ("ay sonu", "tr", "2026-11-18", "2026-11-30"),
]


@pytest.mark.parametrize(("text", "locale", "start", "end"), PERIODS)
def test_reads_periods(text: str, locale: str, start: str, end: str) -> None:
    assert parse_period(text, NOW, IST, locale) == (d(start), d(end))


def test_next_periods_cross_the_year_in_december() -> None:
    december = datetime(2026, 12, 30, 12, tzinfo=UTC)  # a Wednesday
    assert parse_period("next month", december, "UTC") == (d("2027-01-01"), d("2027-01-31"))
    assert parse_period("next quarter", december, "UTC") == (d("2027-01-01"), d("2027-03-31"))
    assert parse_period("this week", december, "UTC") == (d("2026-12-28"), d("2027-01-03"))
    assert parse_period("next week", december, "UTC") == (d("2027-01-04"), d("2027-01-10"))
    assert parse_period("last quarter", datetime(2027, 2, 1, tzinfo=UTC), "UTC") == (
        d("2026-10-01"), d("2026-12-31"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter a period"),
        ("soonish", "Try this month, next quarter, Q3, Q3 2027, 2027-03, december or eoq."),
        ("2017-13", "no month 13"),
        ("1850", "between 1900 and 2999"),
        ("2026-12-15..2026-12-01", "ends before it starts"),
        ("dec 1 to whenever", "Couldn't read"),
    ],
)
def test_bad_periods(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_period(text, NOW, IST)
    assert message in caught.value.message


# --- helpers ---------------------------------------------------------------------------

def test_quarter_helpers() -> None:
    assert quarter_of(d("2026-11-23")) == (2026, 4)
    assert quarter_of(d("2026-01-01")) == (2026, 1)
    assert quarter_of(d("2026-06-30")) == (2026, 2)
    assert quarter_bounds(2026, 1) == (d("2026-01-01"), d("2026-03-31"))
    assert quarter_bounds(2024, 4) == (d("2024-10-01"), d("2024-12-31"))
    with pytest.raises(InvalidInput):
        quarter_bounds(2026, 5)


def test_local_now_and_to_utc() -> None:
    assert local_now(NOW, IST).hour == 18
    assert local_now(NOW, "Asia/Kolkata").minute == 30
    assert to_utc(datetime(2026, 3, 8, 2, 30), "America/New_York") == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert to_utc(datetime(2026, 11, 1, 1, 30), "America/New_York") == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert to_utc(NOW, IST) == NOW  # an aware datetime is only converted
    with pytest.raises(ValueError):
        local_now(datetime(2026, 1, 1), IST)  # a naive `now` is a bug, not user input


# --- properties ------------------------------------------------------------------------

ZONES = st.sampled_from(
    ["UTC", "Europe/Istanbul", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Pacific/Auckland"])
NOWS = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2990, 1, 1), timezones=st.just(UTC))
WORDS = ["today", "tomorrow", "fri", "next", "in", "3", "days", "weeks", "q3", "2027", "eom", "dec", "15",
         "yarın", "cuma", "gün", "sonra", "ay", "sonu", "bu", "3pm", "14:30", "at", "-", "..", "to",
         "12/15", "15.12.", "2026-02-30", "this", "week", "a", "hours", "çeyrek", "99999", "0"]
ANY_TEXT = st.one_of(st.text(max_size=30), st.lists(st.sampled_from(WORDS), max_size=4).map(" ".join))
LOCALES = st.sampled_from(["en", "tr", "de", "en_GB", "fr"])


@settings(max_examples=300, deadline=None)
@given(text=ANY_TEXT, now=NOWS, tz=ZONES, locale=LOCALES)
def test_any_text_is_a_value_or_invalid_input(text: str, now: datetime, tz: str, locale: str) -> None:
    for parse in (parse_date, parse_datetime, parse_period):
        try:
            parse(text, now, tz, locale)
        except InvalidInput as err:
            assert err.message


@settings(max_examples=200, deadline=None)
@given(day=st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31)), now=NOWS, tz=ZONES,
       locale=LOCALES)
def test_iso_dates_read_back(day: date, now: datetime, tz: str, locale: str) -> None:
    assert parse_date(day.isoformat(), now, tz, locale) == day


@settings(max_examples=200, deadline=None)
@given(now=NOWS, tz=ZONES)
def test_weekday_rules_hold_every_day(now: datetime, tz: str) -> None:
    today = local_now(now, tz).date()
    fri, next_fri = parse_date("fri", now, tz), parse_date("next fri", now, tz)
    assert fri.weekday() == 4 and 1 <= (fri - today).days <= 7
    assert next_fri.weekday() == 4
    assert next_fri.isocalendar()[:2] == (today + timedelta(weeks=1)).isocalendar()[:2]
    eow = parse_date("eow", now, tz)
    assert eow.weekday() == 4 and 0 <= (eow - today).days <= 6


@settings(max_examples=200, deadline=None)
@given(now=NOWS, tz=ZONES, text=st.sampled_from(
    ["this week", "next month", "last quarter", "Q1", "Q3 2027", "eom", "eoq", "december", "fri"]))
def test_periods_start_before_they_end(now: datetime, tz: str, text: str) -> None:
    start, end = parse_period(text, now, tz)
    assert start <= end


@settings(max_examples=200, deadline=None)
@given(now=NOWS, tz=ZONES, hour=st.integers(0, 23), minute=st.integers(0, 59))
def test_reminder_times_are_utc_and_ahead(now: datetime, tz: str, hour: int, minute: int) -> None:
    got = parse_datetime(f"tomorrow {hour}:{minute:02d}", now, tz)
    assert got.utcoffset() == timedelta(0)
    assert got > now
    only_time = parse_datetime(f"{hour}:{minute:02d}", now, tz)
    assert now < only_time <= now + timedelta(hours=26)  # 25h on a fall-back day, + slack


# --- issue 11 point 4: dates as the user writes them ------------------------------------------

WRITTEN = [
    # text, locale, expected (today is Wed 2026-11-18)
    ("15/12", "en-GB", "2026-12-15"),
    ("15/12", "en_GB", "2026-12-15"),
    ("15/12", "tr", "2026-12-15"),
    ("15.12", "tr", "2026-12-15"),
    ("15.12.", "tr", "2026-12-15"),
    ("15/12/2026", "tr", "2026-12-15"),
    ("15.12.26", "tr", "2026-12-15"),
    ("05/06", "en-GB", "2027-06-05"),
    ("05/06", "tr", "2027-06-05"),
    ("05/06", "en-US", "2027-05-06"),
    ("12/15", "en-US", "2026-12-15"),
    ("15/12", "en-US", "2026-12-15"),  # month first cannot be a date: the only reading
    ("15/12", "en", "2026-12-15"),  # plain en: only one order is a date
    ("12/15", "en", "2026-12-15"),
    ("05/05", "en", "2027-05-05"),  # both orders read the same
    ("15.12.2026", "en", "2026-12-15"),
    ("12/15/2026", "tr", "2026-12-15"),
    # Turkish words
    ("yarın", "tr", "2026-11-19"),
    ("Yarın", "tr", "2026-11-19"),
    ("cuma", "tr", "2026-11-20"),
    ("gelecek cuma", "tr", "2026-11-27"),
    ("haftaya", "tr", "2026-11-25"),
    ("haftaya cuma", "tr", "2026-11-27"),
    ("3 gün sonra", "tr", "2026-11-21"),
    ("ay sonu", "tr", "2026-11-30"),
    ("çeyrek sonu", "tr", "2026-12-31"),
    ("15 Aralık", "tr", "2026-12-15"),
    ("15 aralik", "tr", "2026-12-15"),
]


@pytest.mark.parametrize(("text", "locale", "expected"), WRITTEN)
def test_reads_dates_as_the_user_writes_them(text: str, locale: str, expected: str) -> None:
    assert parse_date(text, NOW, IST, locale) == d(expected)


def test_close_option_day_first_from_istanbul() -> None:
    """The issue's example: `close:15/12` from Istanbul (tr) or en-GB is 15 December."""
    assert parse_date("15/12", NOW, IST, "tr") == parse_date("15/12", NOW, "Europe/London", "en-GB") == d("2026-12-15")


DAY_MONTH = st.tuples(st.integers(1, 12), st.integers(1, 31)).filter(
    lambda md: md[1] <= [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][md[0] - 1])


@settings(max_examples=300, deadline=None)
@given(md=DAY_MONTH, sep=st.sampled_from(["/", "."]), locale=st.sampled_from(["en-GB", "tr", "de"]),
       now=NOWS, tz=ZONES)
def test_day_first_locales_read_day_first(md: tuple[int, int], sep: str, locale: str, now: datetime, tz: str) -> None:
    month, day = md
    found = parse_date(f"{day:02d}{sep}{month:02d}", now, tz, locale)
    assert (found.month, found.day) == (month, day)
    assert found >= local_now(now, tz).date()


@settings(max_examples=300, deadline=None)
@given(md=DAY_MONTH, now=NOWS, tz=ZONES)
def test_month_first_reads_month_first_in_en_us(md: tuple[int, int], now: datetime, tz: str) -> None:
    month, day = md
    found = parse_date(f"{month}/{day}", now, tz, "en-US")
    assert (found.month, found.day) == (month, day)


@settings(max_examples=300, deadline=None)
@given(md=DAY_MONTH, now=NOWS, tz=ZONES, year=st.integers(2000, 2099))
def test_plain_en_never_guesses_the_order(md: tuple[int, int], now: datetime, tz: str, year: int) -> None:
    """A date that reads two ways in a locale that does not settle the order is a question."""
    month, day = md
    text = f"{month:02d}/{day:02d}/{year}"
    other_is_a_date = day <= 12 and month != day
    try:
        found = parse_date(text, now, tz, "en")
    except InvalidInput as err:
        # only a question with both readings, or a date that does not exist (Feb 29 of a common year)
        assert ("can be" in err.message and other_is_a_date) or "does not exist" in err.message, err.message
    else:
        assert not other_is_a_date
        assert found == date(year, month, day)


@settings(max_examples=200, deadline=None)
@given(month=st.integers(1, 12), day=st.integers(29, 35), locale=st.sampled_from(["tr", "en-GB", "en-US", "en"]))
def test_days_past_a_months_end_name_the_month(month: int, day: int, locale: str) -> None:
    import calendar

    longest = calendar.monthrange(2024, month)[1]
    if day <= longest:
        return
    text = f"{day}/{month:02d}" if locale != "en-US" else f"{month:02d}/{day}"
    with pytest.raises(InvalidInput) as caught:
        parse_date(text, NOW, IST, locale)
    assert calendar.month_name[month] in caught.value.message and "days" in caught.value.message
