"""When a message may reach a person: their morning, never in their quiet hours.

Everything is computed in the recipient's IANA time zone (from Slack's users.info), so
daylight-saving changes, half-hour offsets (Asia/Kolkata) and zones far from UTC
(Pacific/Auckland) come out right. Instants in and out are aware UTC datetimes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import InvalidInput
from core.i18n import _
from core.tables import Workspace

SATURDAY = 5


@dataclass(frozen=True)
class SendWindow:
    """A workspace's sending rules: the morning time, quiet hours, quiet weekends."""

    send_time: time = time(9, 0)
    quiet_start: time = time(20, 0)
    quiet_end: time = time(8, 0)
    quiet_weekends: bool = True
    # A user's own working days (Monday = 0), when they chose them: they replace quiet weekends.
    work_days: frozenset[int] | None = None

    @classmethod
    def of(cls, ws: Workspace) -> SendWindow:
        """The window configured for a workspace (`/salesbot setup`)."""
        return cls(
            send_time=parse_hhmm(ws.nudge_time or "09:00"),
            quiet_start=parse_hhmm(ws.quiet_start or "20:00"),
            quiet_end=parse_hhmm(ws.quiet_end or "08:00"),
            quiet_weekends=bool(ws.quiet_weekends),
        )


def parse_hhmm(text: str) -> time:
    """'09:00' -> time(9, 0); anything else is InvalidInput."""
    try:
        hours, minutes = text.strip().split(":")
        return time(int(hours), int(minutes))
    except (ValueError, AttributeError) as exc:
        raise InvalidInput(_("{text} is not a time of day: write it as HH:MM, e.g. 09:00.").format(
            text=repr(text))) from exc


def zone(tz: str | None) -> ZoneInfo:
    """The ZoneInfo for a Slack tz name; an unknown or empty name falls back to UTC."""
    try:
        return ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_at(day: date, at: time, tz: str | None) -> datetime:
    """The UTC instant when the wall clock in `tz` shows `at` on `day`.

    A wall time skipped by a spring-forward change (02:30 on a DST night) maps to the first
    instant after the gap; a repeated one (autumn) to its first occurrence.
    """
    # PEP 495: fold=0 takes the offset in force before a change, which puts a skipped wall
    # time after the gap and a repeated one at its first occurrence.
    return datetime.combine(day, at).replace(tzinfo=zone(tz), fold=0).astimezone(UTC)


def local_date(instant: datetime, tz: str | None) -> date:
    """The calendar date at `instant` in `tz`."""
    return instant.astimezone(zone(tz)).date()


def _in_quiet_hours(wall: time, window: SendWindow) -> bool:
    start, end = window.quiet_start, window.quiet_end
    if start == end:
        return False
    if start < end:  # e.g. 12:00-13:00 inside one day
        return start <= wall < end
    return wall >= start or wall < end  # e.g. 20:00-08:00 across midnight


def is_working_day(day: date, window: SendWindow) -> bool:
    """False on Saturday and Sunday when weekends are quiet (or off the user's own working days)."""
    if window.work_days is not None:
        return day.weekday() in window.work_days
    return not (window.quiet_weekends and day.weekday() >= SATURDAY)


def is_quiet(instant: datetime, tz: str | None, window: SendWindow) -> bool:
    """True when `instant` falls in the person's quiet hours or quiet weekend."""
    local = instant.astimezone(zone(tz))
    return not is_working_day(local.date(), window) or _in_quiet_hours(local.time(), window)


def next_working_morning(instant: datetime, tz: str | None, window: SendWindow) -> datetime:
    """The first working-day morning (send time, local) at or after `instant`."""
    day = local_date(instant, tz)
    for __ in range(15):
        if is_working_day(day, window):
            candidate = local_at(day, window.send_time, tz)
            if candidate >= instant and not is_quiet(candidate, tz, window):
                return candidate
        day += timedelta(days=1)
    # Only a window that is quiet all the time gets here: send rather than never.
    return instant


def next_allowed_send(instant: datetime, tz: str | None, window: SendWindow) -> datetime:
    """`instant` itself when it is outside quiet hours, else the next working morning."""
    if not is_quiet(instant, tz, window):
        return instant
    return next_working_morning(instant, tz, window)


def morning_due(instant: datetime, tz: str | None, window: SendWindow) -> date | None:
    """The local date whose morning message is due at `instant`, or None.

    Due from the send time until quiet hours begin on a working day; a sweep that runs late
    (the bot was down at 09:00) still sends that day's message, never a night one.
    """
    local = instant.astimezone(zone(tz))
    day = local.date()
    if not is_working_day(day, window) or is_quiet(instant, tz, window):
        return None
    if instant < local_at(day, window.send_time, tz):
        return None
    return day
