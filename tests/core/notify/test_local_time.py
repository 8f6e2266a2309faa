"""Local sending times: 09:00 in the recipient's zone, never at night or on weekends, DST-proof."""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from core.errors import InvalidInput
from core.notify.local_time import (
    SendWindow,
    is_quiet,
    local_at,
    morning_due,
    next_allowed_send,
    next_working_morning,
    parse_hhmm,
)

W = SendWindow()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def wall(instant: datetime, tz: str) -> tuple[int, int, int, int]:
    local = instant.astimezone(ZoneInfo(tz))
    return (local.month, local.day, local.hour, local.minute)


@pytest.mark.parametrize(
    ("tz", "day", "expected_utc"),
    [
        # New York: EST (-5) before 8 Mar 2026, EDT (-4) after; back on 1 Nov 2026.
        ("America/New_York", date(2026, 3, 6), utc(2026, 3, 6, 14)),
        ("America/New_York", date(2026, 3, 9), utc(2026, 3, 9, 13)),
        ("America/New_York", date(2026, 10, 30), utc(2026, 10, 30, 13)),
        ("America/New_York", date(2026, 11, 2), utc(2026, 11, 2, 14)),
        # Berlin: CET (+1) / CEST (+2), changes 29 Mar and 25 Oct 2026.
        ("Europe/Berlin", date(2026, 3, 27), utc(2026, 3, 27, 8)),
        ("Europe/Berlin", date(2026, 3, 30), utc(2026, 3, 30, 7)),
        ("Europe/Berlin", date(2026, 10, 26), utc(2026, 10, 26, 8)),
        ("Europe/Istanbul", date(2026, 11, 23), utc(2026, 11, 23, 6)),  # +3 all year
        ("Asia/Kolkata", date(2026, 11, 23), utc(2026, 11, 23, 3, 30)),  # +5:30
        ("Pacific/Auckland", date(2026, 11, 23), utc(2026, 11, 22, 20)),  # NZDT +13: the day before in UTC
        ("Pacific/Auckland", date(2026, 6, 15), utc(2026, 6, 14, 21)),  # NZST +12
    ],
)
def test_nine_oclock_is_nine_oclock_local_across_dst(tz: str, day: date, expected_utc: datetime) -> None:
    assert local_at(day, time(9, 0), tz) == expected_utc


def test_a_wall_time_skipped_by_spring_forward_lands_after_the_gap() -> None:
    # 02:30 does not exist in New York on 8 Mar 2026: it becomes 03:30 EDT.
    assert wall(local_at(date(2026, 3, 8), time(2, 30), "America/New_York"), "America/New_York") == (3, 8, 3, 30)


def test_a_reminder_due_at_night_waits_for_the_next_working_morning_in_new_york() -> None:
    # Friday 6 Mar 2026 23:00 EST; the weekend is quiet; the clocks change on Sunday.
    due = utc(2026, 3, 7, 4)
    sent = next_allowed_send(due, "America/New_York", W)
    assert sent == utc(2026, 3, 9, 13)  # Monday 09:00 EDT, not 14:00 UTC as it was on Friday
    assert wall(sent, "America/New_York") == (3, 9, 9, 0)


def test_berlin_autumn_change_weekend_then_monday_morning() -> None:
    due = utc(2026, 10, 24, 10)  # Saturday 12:00 CEST
    assert next_allowed_send(due, "Europe/Berlin", W) == utc(2026, 10, 26, 8)  # Monday 09:00 CET


def test_daytime_reminders_go_at_once() -> None:
    due = utc(2026, 11, 23, 14)  # Monday: 17:00 Istanbul, 19:30 Kolkata
    assert next_allowed_send(due, "Europe/Istanbul", W) == due
    assert next_allowed_send(due, "Asia/Kolkata", W) == due


def test_kolkata_evening_waits_for_the_half_hour_offset_morning() -> None:
    due = utc(2026, 11, 23, 15)  # 20:30 IST, quiet
    assert next_allowed_send(due, "Asia/Kolkata", W) == utc(2026, 11, 24, 3, 30)


def test_auckland_monday_morning_is_sunday_in_utc() -> None:
    # Sunday 22 Nov 2026 18:00 UTC is Monday 07:00 in Auckland, still quiet -> 09:00 Monday local.
    assert next_allowed_send(utc(2026, 11, 22, 18), "Pacific/Auckland", W) == utc(2026, 11, 22, 20)
    # 08:30 local is past the quiet hours: a reminder due then goes at once.
    assert next_allowed_send(utc(2026, 11, 22, 19, 30), "Pacific/Auckland", W) == utc(2026, 11, 22, 19, 30)
    # Friday 21:00 local (08:00 UTC) -> Monday 09:00 local.
    assert next_allowed_send(utc(2026, 11, 27, 8), "Pacific/Auckland", W) == utc(2026, 11, 29, 20)


def test_quiet_hours_within_a_day_and_without_weekends() -> None:
    lunch = SendWindow(quiet_start=time(12, 0), quiet_end=time(13, 0), quiet_weekends=False)
    assert is_quiet(utc(2026, 11, 23, 12, 30), "UTC", lunch)
    assert not is_quiet(utc(2026, 11, 23, 22), "UTC", lunch)
    assert not is_quiet(utc(2026, 11, 28, 10), "UTC", lunch)  # Saturday, weekends allowed
    assert next_allowed_send(utc(2026, 11, 23, 12, 30), "UTC", lunch) == utc(2026, 11, 24, 9)


def test_morning_message_due_between_send_time_and_quiet_hours_on_working_days() -> None:
    tz = "America/New_York"
    assert morning_due(utc(2026, 11, 23, 13, 59), tz, W) is None  # 08:59 local
    assert morning_due(utc(2026, 11, 23, 14, 0), tz, W) == date(2026, 11, 23)
    assert morning_due(utc(2026, 11, 23, 22), tz, W) == date(2026, 11, 23)  # 17:00, a late sweep
    assert morning_due(utc(2026, 11, 24, 2), tz, W) is None  # 21:00 quiet
    assert morning_due(utc(2026, 11, 28, 15), tz, W) is None  # Saturday


def test_an_unknown_zone_is_treated_as_utc() -> None:
    assert next_working_morning(utc(2026, 11, 23, 22), "Mars/Olympus", W) == utc(2026, 11, 24, 9)


def test_bad_clock_times_are_refused() -> None:
    with pytest.raises(InvalidInput, match="HH:MM"):
        parse_hhmm("nine")
    with pytest.raises(InvalidInput):
        parse_hhmm("25:00")
