"""Dates and times as reps type them: `tomorrow`, `fri`, `in 3 days`, `eoq`, `Q3`, `yarın`.

Pure: `now` (aware) is passed in; "today" is its date in the user's IANA zone. English
forms are read in every locale, Turkish ones under `tr`. Forms that could mean two
things (weeks start on Monday):
- `fri`, `this fri`: the coming Friday strictly after today (on a Friday: in 7 days).
  `next fri`: the Friday of next week (9 days away on a Wednesday, the same day as
  `fri` on a weekend). `last fri`: the latest Friday before today.
- `eow`: the first Friday on or after today. `eom`/`eoq`/`eoy`: the last day of this
  month/quarter/year (may be today). `Q3`: the end of Q3, next year's once this one ended.
- `Dec 15`, `12/15` (en-US), `15/12` (en-GB, tr), `15.12` (tr) without a year: the next one
  on or after today. Numeric dates follow the order of the user's locale (Babel; `/` and
  `.` both work); the other order only when the locale's reading is no date (`15/12` from
  en-US). A locale that does not settle the order (plain `en`, no region) gets a question
  with both readings when both are dates (`05/06`). ISO `2026-12-15` always works.
- `yesterday` is read too: whether a past date is allowed is the caller's rule.
"""
from __future__ import annotations

import calendar
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache, partial
from typing import TypeVar

from babel import Locale, UnknownLocaleError, localedata
from babel.dates import get_date_format, get_day_names, get_month_names
from dateutil import tz as dateutil_tz
from dateutil.relativedelta import relativedelta

from core.dates_tr import fold as _fold
from core.dates_tr import to_english
from core.errors import InvalidInput
from core.i18n import N_, _, current_locale

_T = TypeVar("_T")
MIN_YEAR, MAX_YEAR = 1900, 2999  # outside this a date is a typo, not a plan
_MAX_TEXT = 100
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10}
# a digit may touch its unit (`3d`), a word may not: `ay` is not "a year", `any` not "an y"
_N = rf"(\d{{1,5}} ?|(?:{'|'.join(_NUMBERS)}) )"
_DAY_WORDS = {"today": 0, "tomorrow": 1, "tmrw": 1, "tmr": 1, "yesterday": -1,
              "day after tomorrow": 2}
_WEEKDAY_EXTRAS = {"tues": 1, "weds": 2, "thur": 3, "thurs": 3}
_MONTH_EXTRAS = {"sept": 9}

_RELATIVE = re.compile(
    rf"(?:in )?{_N}(days?|d|weeks?|wks?|w|months?|mos?|years?|yrs?|y)(?: from (?:now|today))?")
_RELATIVE_TIME = re.compile(rf"(?:in )?{_N}(hours?|hrs?|h|minutes?|mins?|m)(?: from now)?")
_END_OF = re.compile(r"eo([wmqy])|end of (?:the )?(w)eek|end of (?:the )?(m)onth"
                     r"|end of (?:the )?(q)uarter|end of (?:the )?(y)ear")
_WEEKDAY = re.compile(r"(?:(this|coming|next|last) )?([^\W\d_]+)\.?")
_QUARTER = re.compile(r"q([1-4])(?:[ /'-]?(\d{4}))?|(\d{4})[ -]?q([1-4])")
_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_DAY_MONTH = re.compile(r"(\d{1,2})(?:st|nd|rd|th|\.)? (?:of )?([^\W\d_]+)\.?(?: (\d{4}))?")
_MONTH_DAY = re.compile(r"([^\W\d_]+)\.? (\d{1,2})(?:st|nd|rd|th)?(?: (\d{4}))?")
_TIME = (r"(?:(?P<h12>\d{1,2})(?::(?P<m12>\d{2}))? ?(?P<ampm>am|pm|a\.m\.|p\.m\.)"
         r"|(?P<h24>\d{1,2}):(?P<m24>\d{2})(?::\d{2})?|(?P<word>noon|midnight))")
_TIME_AFTER = re.compile(rf"(?P<date>.*?) ?(?:at |@ ?|t)?{_TIME}")
_TIME_BEFORE = re.compile(rf"(?:at |@ ?)?{_TIME} (?P<date>.+)")
_WHICH = {"this": 0, "current": 0, "next": 1, "last": -1, "previous": -1}
_PERIOD = re.compile(rf"({'|'.join(_WHICH)}) (week|month|quarter|year)")
_RANGE = re.compile(r" ?(?:\.\.|–|—) ?| to | until ")


@dataclass(frozen=True)
class _Reader:
    """What reading needs besides the text: today, and the locale's words."""

    today: date
    turkish: bool
    weekdays: dict[str, int]  # folded name -> 0 (Monday) .. 6
    months: dict[str, int]  # folded name -> 1 .. 12
    numeric: re.Pattern[str]  # `15/12`, `15.12`, `15/12/2026` (and the locale's own separator)
    month_first: bool | None  # None: the locale does not settle day/month order (plain `en`)


@lru_cache(maxsize=32)
def _locale(name: str) -> Locale:
    try:
        return Locale.parse(name.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse("en")  # a locale we don't know must not stop a date


@lru_cache(maxsize=1)
def _iana_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _zone(name: str) -> tzinfo:
    # gettz alone would also take "" (the server's zone) and POSIX strings like GMT+3
    zone = dateutil_tz.gettz(name) if name in _iana_names() else None
    if zone is None:
        raise InvalidInput(_('Unknown time zone "{name}". Use an IANA name like Europe/Istanbul.').format(name=name))
    return zone


@lru_cache(maxsize=32)
def _vocabulary(locale: Locale) -> tuple[dict[str, int], dict[str, int]]:
    """Weekday and month names (English, then the locale's), folded."""
    weekdays, months = dict(_WEEKDAY_EXTRAS), dict(_MONTH_EXTRAS)
    for loc in (Locale.parse("en"), locale):
        turkish = loc.language == "tr"
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for i, name in get_day_names(width, context, loc).items():
                    weekdays[_fold(name, turkish).rstrip(".")] = i
                for i, name in get_month_names(width, context, loc).items():
                    months[_fold(name, turkish).rstrip(".")] = i
    return weekdays, months


def _short_order(locale: Locale) -> tuple[str, str]:
    """("dMy" | "Mdy" | "yMd", separator) of the locale's short date format."""
    pattern = get_date_format("short", locale=locale).pattern
    order = "".join(c for c in pattern if c in "dMy")
    order = "".join(c for i, c in enumerate(order) if c not in order[:i])
    return order, next((c for c in pattern if c in "/.-"), "/")


@lru_cache(maxsize=32)
def _day_order(name: str) -> tuple[bool | None, str]:
    """(month_first, separator): True for en-US, False for en-GB and tr, None when the locale
    does not settle it: a language without a region whose countries disagree (plain `en`)."""
    locale = _locale(name)
    order, sep = _short_order(locale)
    if order not in ("dMy", "Mdy"):
        return None, sep  # year-first locales: numeric day/month forms are not theirs
    if locale.territory or "_" in name.replace("-", "_"):
        return order == "Mdy", sep
    orders = set()
    for ident in localedata.locale_identifiers():
        if ident.split("_")[0] == locale.language and "_" in ident:
            try:
                found = _short_order(Locale.parse(ident))[0]
            except (UnknownLocaleError, ValueError):
                continue
            if found in ("dMy", "Mdy"):
                orders.add(found)
    if len(orders) > 1:
        return None, sep
    return order == "Mdy", sep


@lru_cache(maxsize=8)
def _numeric(sep: str) -> re.Pattern[str]:
    seps = re.escape("".join(sorted({"/", ".", sep})))
    return re.compile(rf"(\d{{1,2}})([{seps}])(\d{{1,2}})(?:\2(\d{{4}}|\d{{2}}))?\.?")


def _reader(now: datetime, tz: str, locale: str) -> _Reader:
    loc = _locale(locale)
    weekdays, months = _vocabulary(loc)
    month_first, sep = _day_order(locale)
    return _Reader(local_now(now, tz).date(), loc.language == "tr", weekdays, months, _numeric(sep), month_first)


def _normalize(text: str, reader: _Reader, what: str) -> str:
    if len(text) > _MAX_TEXT:
        raise InvalidInput(_('"{text}…" is too long for {what}. {hint}').format(
            text=text.strip()[:30], what=_(what), hint=_hint(reader)))
    s = _fold(text, reader.turkish)
    return to_english(s) if reader.turkish else s


def _hint(reader: _Reader, with_time: bool = False) -> str:
    if with_time:
        examples = "yarın 15:00, cuma 14:30, 2 saat sonra" if reader.turkish else "tomorrow 3pm, fri 14:30"
        return _("Try {examples}, in 2 hours or 2026-12-15 09:00.").format(examples=examples)
    examples = "yarın, cuma, 3 gün sonra" if reader.turkish else "tomorrow, fri, in 3 days"
    return _("Try a date like 2026-12-15, {examples}, eom or Q3.").format(examples=examples)


def _month_name(month: int) -> str:
    """A month's name in the language of the message being built (errors only; dates are
    formatted elsewhere)."""
    return str(get_month_names("wide", locale=_locale(current_locale()))[month])


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _make_date(year: int, month: int, day: int, text: str) -> date:
    """date(), but every way it can fail is a message for the user."""
    if not 1 <= month <= 12:
        raise InvalidInput(_('"{text}" is not a date: there is no month {month}.').format(text=text, month=month))
    _check_year(year, text)
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        raise InvalidInput(_('"{text}" does not exist: {month} {year} has {days} days.').format(
            text=text, month=_month_name(month), year=year, days=days))
    return date(year, month, day)


def _check_year(year: int, text: str) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput(_('"{text}" is out of range: use a year between {first} and {last}.').format(
            text=text, first=MIN_YEAR, last=MAX_YEAR))


def _next_occurrence(month: int, day: int, today: date, text: str) -> date:
    """The first month/day on or after today (Feb 29 waits for a leap year)."""
    if not 1 <= month <= 12:
        _make_date(today.year, month, day, text)  # raises: there is no such month
    longest = calendar.monthrange(2024, month)[1]  # 2024: a leap year, so Feb has 29
    if not 1 <= day <= longest:
        if month == 2:
            message = _('"{text}" does not exist: {month} has 28 days (29 in a leap year).')
        else:
            message = _('"{text}" does not exist: {month} has {days} days.')
        raise InvalidInput(message.format(text=text, month=_month_name(month), days=longest))
    for year in range(today.year, today.year + 9):
        if day <= calendar.monthrange(year, month)[1] and date(year, month, day) >= today:
            return _make_date(year, month, day, text)
    raise InvalidInput(_('"{text}" is too far away.').format(text=text))  # unreachable: a leap year comes within 8


def _with_year(month: int, day: int, year: str | None, reader: _Reader, text: str) -> date:
    if year is None:
        return _next_occurrence(month, day, reader.today, text)
    full = int(year) + (2000 if len(year) == 2 else 0)
    return _make_date(full, month, day, text)


def _number(word: str) -> int:
    word = word.strip()
    return _NUMBERS[word] if word in _NUMBERS else int(word)


def _quarter(s: str, today: date) -> tuple[int, int] | None:
    """(year, quarter) for `q3`, `q3 2027`, `2027-q3`; no year means the one not yet ended."""
    m = _QUARTER.fullmatch(s)
    if not m:
        return None
    q = int(m[1] or m[4])
    year_text = m[2] or m[3]
    if year_text:
        _check_year(int(year_text), s)
        return int(year_text), q
    year = today.year if quarter_bounds(today.year, q)[1] >= today else today.year + 1
    return year, q


def _end_of(unit: str, today: date) -> date:
    if unit == "w":
        return today + timedelta(days=(4 - today.weekday()) % 7)
    return {"m": _month_end(today.year, today.month), "q": quarter_bounds(*quarter_of(today))[1],
            "y": date(today.year, 12, 31)}[unit]


def _weekday(which: str | None, weekday: int, today: date) -> date:
    if which == "next":
        return today - timedelta(days=today.weekday()) + timedelta(days=7 + weekday)
    if which == "last":
        return today - timedelta(days=(today.weekday() - weekday - 1) % 7 + 1)
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def _date_expr(s: str, r: _Reader, text: str) -> date | None:
    """The date `s` (normalized) names, None if it is no date form we know."""
    if s in _DAY_WORDS:
        return r.today + timedelta(days=_DAY_WORDS[s])
    if m := _END_OF.fullmatch(s):
        return _end_of(next(g for g in m.groups() if g), r.today)
    if (m := _WEEKDAY.fullmatch(s)) and m[2] in r.weekdays:
        return _weekday(m[1], r.weekdays[m[2]], r.today)
    if m := _RELATIVE.fullmatch(s):
        n, unit = _number(m[1]), m[2][0]
        # months and years through relativedelta: Jan 31 + 1 month is Feb 28, not Mar 3
        step = {"d": relativedelta(days=1), "w": relativedelta(weeks=1),
                "m": relativedelta(months=1), "y": relativedelta(years=1)}[unit]
        try:
            result = r.today + step * n
        except (OverflowError, ValueError):
            result = date.max  # past year 9999: reported as out of range just below
        _check_year(result.year, text)
        return result
    if quarter := _quarter(s, r.today):
        return quarter_bounds(*quarter)[1]
    if m := _ISO.fullmatch(s):
        return _make_date(int(m[1]), int(m[2]), int(m[3]), text)
    if m := r.numeric.fullmatch(s):
        return _numeric_date(int(m[1]), int(m[3]), m[4], r, text)
    if r.turkish and s == "next week":  # `haftaya` alone: a week from today
        return r.today + timedelta(weeks=1)
    if (m := _DAY_MONTH.fullmatch(s)) and m[2] in r.months:
        return _with_year(r.months[m[2]], int(m[1]), m[3], r, text)
    if (m := _MONTH_DAY.fullmatch(s)) and m[1] in r.months:
        return _with_year(r.months[m[1]], int(m[2]), m[3], r, text)
    return None


def _possible(month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(2024, month)[1]


def _numeric_date(first: int, second: int, year: str | None, r: _Reader, text: str) -> date:
    """`15/12`: the order the user's locale writes; the other order only when the locale's
    cannot be a date (`15/12` from en-US); both readings asked about when the locale does
    not settle the order (plain `en`) and both are dates (`05/06`)."""
    day_first, month_first = (second, first), (first, second)  # as (month, day)
    if r.month_first is None:
        readings = [md for md in (day_first, month_first) if _possible(*md)]
        if len(readings) == 2 and readings[0] != readings[1]:
            a, b = (_with_year(m, d, year, r, text) for m, d in readings)
            raise InvalidInput(
                _('"{text}" can be {first} or {second}: write {first_iso} or {second_iso} '
                  "(or set your Slack language to English (UK) or (US) to say which order you write).").format(
                    text=text, first=_spoken(a), second=_spoken(b), first_iso=a.isoformat(), second_iso=b.isoformat()))
        order = readings or [md for md in (day_first, month_first) if 1 <= md[0] <= 12] or [day_first]
    else:
        ours, other = (month_first, day_first) if r.month_first else (day_first, month_first)
        order = [other] if not 1 <= ours[0] <= 12 and 1 <= other[0] <= 12 else [ours]
    month, day = order[0]
    return _with_year(month, day, year, r, text)


def _spoken(d: date) -> str:
    return f"{d.day} {_month_name(d.month)} {d.year}"


def _guarded(read: Callable[[], _T | None]) -> _T | None:
    try:
        return read()
    except (OverflowError, ValueError):  # date arithmetic past year 9999: not a real date
        return None


def parse_date(text: str, now: datetime, tz: str, locale: str = "en") -> date:
    """The date `text` names, read in the user's zone `tz`; InvalidInput when it names none."""
    reader = _reader(now, tz, locale)
    s = _normalize(text, reader, N_("a date"))
    if not s:
        raise InvalidInput(_("Enter a date. {hint}").format(hint=_hint(reader)))
    found = _guarded(partial(_date_expr, s, reader, text.strip()))
    if found is None:
        raise InvalidInput(_('Couldn\'t read "{text}" as a date. {hint}').format(
            text=text.strip()[:_MAX_TEXT], hint=_hint(reader)))
    return found


def _time_of_day(m: re.Match[str], text: str) -> time:
    if m["word"]:
        return time(12) if m["word"] == "noon" else time(0)
    if m["ampm"]:
        hour, minute = int(m["h12"]), int(m["m12"] or 0)
        if not 1 <= hour <= 12 or minute > 59:
            raise InvalidInput(_('"{text}": {time} is not a time of day. Try 3pm or 15:00.').format(
                text=text, time=m[0]))
        return time(hour % 12 + (12 if m["ampm"].startswith("p") else 0), minute)
    hour, minute = int(m["h24"]), int(m["m24"])
    if hour > 23 or minute > 59:
        raise InvalidInput(_('"{text}": {time} is not a time of day. Try 15:00 or 3pm.').format(
            text=text, time=f"{hour}:{minute:02d}"))
    return time(hour, minute)


def parse_datetime(
    text: str, now: datetime, tz: str, locale: str = "en", default_time: time = time(9, 0)
) -> datetime:
    """When a reminder is due, as an aware UTC datetime.

    Everything parse_date reads (at `default_time` local), plus a time of day
    (`tomorrow 3pm`, `fri 14:30`, `yarın 15:00`) or a delay (`in 2 hours`, `30 dakika
    sonra`). A time alone (`3pm`) is today if still ahead, else tomorrow. A date-only
    form may land in the past (`today` after 9:00): callers decide if that is allowed.
    """
    reader = _reader(now, tz, locale)
    s = _normalize(text, reader, N_("a date and time"))
    shown = text.strip()[:_MAX_TEXT]
    if not s:
        raise InvalidInput(_("Enter a date and time. {hint}").format(hint=_hint(reader, with_time=True)))
    if m := _RELATIVE_TIME.fullmatch(s):
        n = _number(m[1])
        delta = timedelta(hours=n) if m[2].startswith("h") else timedelta(minutes=n)
        result = now.astimezone(UTC) + delta
        _check_year(result.year, shown)
        return result
    day = _guarded(partial(_date_expr, s, reader, shown))
    if day is not None:
        return to_utc(datetime.combine(day, default_time), tz)
    for pattern in (_TIME_AFTER, _TIME_BEFORE):
        m = pattern.fullmatch(s)
        if not m:
            continue
        at = _time_of_day(m, shown)
        if not m["date"]:
            result = to_utc(datetime.combine(reader.today, at), tz)
            if result <= now:
                result = to_utc(datetime.combine(reader.today + timedelta(days=1), at), tz)
            return result
        day = _guarded(partial(_date_expr, m["date"], reader, shown))
        if day is not None:
            return to_utc(datetime.combine(day, at), tz)
    raise InvalidInput(_('Couldn\'t read "{text}" as a date and time. {hint}').format(
        text=shown, hint=_hint(reader, with_time=True)))


def _shifted_period(which: int, unit: str, today: date) -> tuple[date, date]:
    if unit == "week":
        monday = today - timedelta(days=today.weekday()) + timedelta(weeks=which)
        return monday, monday + timedelta(days=6)
    if unit == "month":
        first = today.replace(day=1) + relativedelta(months=which)
        return first, _month_end(first.year, first.month)
    if unit == "quarter":
        year, q = quarter_of(today)
        index = year * 4 + q - 1 + which
        return quarter_bounds(index // 4, index % 4 + 1)
    return date(today.year + which, 1, 1), date(today.year + which, 12, 31)


def _period_expr(s: str, r: _Reader, text: str) -> tuple[date, date] | None:
    if m := _PERIOD.fullmatch(s):
        return _shifted_period(_WHICH[m[1]], m[2], r.today)
    if quarter := _quarter(s, r.today):
        return quarter_bounds(*quarter)
    if m := re.fullmatch(r"(\d{4})(?:-(\d{1,2}))?", s):
        year = int(m[1])
        if not m[2]:
            _check_year(year, text)
            return date(year, 1, 1), date(year, 12, 31)
        return _make_date(year, int(m[2]), 1, text), _month_end(year, int(m[2]))
    if (m := re.fullmatch(r"([^\W\d_]+)\.?(?: (\d{4}))?", s)) and m[1] in r.months:
        month = r.months[m[1]]
        year = int(m[2]) if m[2] else r.today.year
        if not m[2] and _month_end(year, month) < r.today:
            year += 1  # `december` is the next December that has not ended
        _check_year(year, text)
        return date(year, month, 1), _month_end(year, month)
    if m := _END_OF.fullmatch(s):
        return r.today, _end_of(next(g for g in m.groups() if g), r.today)
    parts = _RANGE.split(s)
    if len(parts) == 2:
        start, end = _date_expr(parts[0], r, text), _date_expr(parts[1], r, text)
        if start is None or end is None:
            return None
        if end < start:
            raise InvalidInput(_('"{text}" ends before it starts. Put the earlier date first.').format(text=text))
        return start, end
    day = _date_expr(s, r, text)
    return None if day is None else (day, day)


def parse_period(text: str, now: datetime, tz: str, locale: str = "en") -> tuple[date, date]:
    """The inclusive (start, end) that `text` names: `this month`, `Q3 2027`, `2027-03`, `bu ay`.

    `Q3` and `december` without a year are the next ones that have not ended; `eom`,
    `eoq`, `eoy` run from today; a single date (`fri`) is a one-day period.
    """
    reader = _reader(now, tz, locale)
    s = _normalize(text, reader, N_("a period"))
    shown = text.strip()[:_MAX_TEXT]
    examples = ("bu ay, gelecek çeyrek, Q3, Q3 2027, 2027-03, aralık, çeyrek sonu" if reader.turkish
                else "this month, next quarter, Q3, Q3 2027, 2027-03, december or eoq")
    hint = _("Try {examples}.").format(examples=examples)
    if not s:
        raise InvalidInput(_("Enter a period. {hint}").format(hint=hint))
    found = _guarded(partial(_period_expr, s, reader, shown))
    if found is None:
        raise InvalidInput(_('Couldn\'t read "{text}" as a period. {hint}').format(text=shown, hint=hint))
    return found


def quarter_of(d: date) -> tuple[int, int]:
    """(year, quarter) of a date: 2026-11-23 -> (2026, 4)."""
    return d.year, (d.month - 1) // 3 + 1


def quarter_bounds(year: int, q: int) -> tuple[date, date]:
    """First and last day of quarter `q` (1-4) of `year`."""
    if not 1 <= q <= 4:
        raise InvalidInput(_("There is no quarter Q{q}. Use Q1 to Q4.").format(q=q))
    _check_year(year, f"Q{q} {year}")
    return date(year, 3 * q - 2, 1), _month_end(year, 3 * q)


def local_now(now: datetime, tz: str) -> datetime:
    """`now` (aware) as wall-clock time in the IANA zone `tz`."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")  # a bug in the caller, not user input
    return now.astimezone(_zone(tz))


def to_utc(local_dt: datetime, tz: str) -> datetime:
    """A wall-clock time in `tz` (naive) as an aware UTC datetime.

    A time skipped by a DST jump moves forward by the gap (02:30 -> 03:30); a time that
    happens twice takes its first occurrence (fold=0, still summer time). An aware
    datetime is only converted.
    """
    if local_dt.tzinfo is None:
        local_dt = dateutil_tz.resolve_imaginary(local_dt.replace(tzinfo=_zone(tz), fold=0))
    return local_dt.astimezone(UTC)
