"""The console's clock: `--now` and `:tick` times as the user writes them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.dates import parse_datetime


@dataclass(frozen=True)
class ReadTime:
    """A `--now` as read: the instant (aware UTC), the wall time as written (aware, in its zone),
    that zone's name (`Europe/Istanbul`, `UTC+03:00`, `UTC`), and whether the text named a zone
    (an offset or a zone name) or UTC was assumed."""

    at: datetime
    local: datetime
    zone: str
    zone_given: bool

    def note(self) -> str:
        """How the time was read, for the console's first screen."""
        if not self.zone_given:
            return ("--now named no zone, so it was read as UTC (give an offset, 2017-09-25T13:00+03:00, "
                    'or a zone name, "2017-09-25 13:00 Europe/Istanbul")')
        if self.zone == "UTC":
            return "--now was given in UTC"
        return f"--now was given in {self.zone} ({self.local:%H:%M} there)"


def read_now(text: str) -> ReadTime:
    """`--now`: ISO 8601 with `Z` or an offset (`2017-09-25T13:00+03:00`), or followed by an IANA
    zone name (`2017-09-25 13:00 Europe/Istanbul`); a time with neither is taken as UTC."""
    words = text.strip().split()
    zone: ZoneInfo | None = None
    if len(words) > 1 and not re.fullmatch(r"[+-]?\d[\d:.+-]*", words[-1]):
        try:
            zone = ZoneInfo(words[-1])
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{words[-1]!r} is not a time zone name (e.g. Europe/Istanbul, UTC)") from None
        words = words[:-1]
    value = datetime.fromisoformat(" ".join(words).replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is not None and zone is not None:
        raise ValueError("give an offset or a zone name, not both")
    if zone is not None:
        local = value.replace(tzinfo=zone)
        return ReadTime(local.astimezone(UTC), local, zone.key, True)
    if value.tzinfo is None:
        return ReadTime(value.replace(tzinfo=UTC), value.replace(tzinfo=UTC), "UTC", False)
    return ReadTime(value.astimezone(UTC), value, _offset_name(value.utcoffset() or timedelta(0)), True)


def _offset_name(offset: timedelta) -> str:
    """`UTC`, `UTC+03:00`, `UTC-05:30`."""
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds()) // 60
    sign, minutes = ("+" if minutes > 0 else "-"), abs(minutes)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def parse_now(text: str) -> datetime:
    """A `--now` time (see read_now) as aware UTC."""
    return read_now(text).at


_RELATIVE = re.compile(r"^\+(\d+)\s*([mhdw])$")


def parse_when(text: str, now: datetime, tz: str) -> datetime:
    """`:tick` times: ISO 8601, `+30m` / `+2h` / `+1d` / `+1w`, or a date phrase (core.dates)."""
    text = text.strip()
    m = _RELATIVE.match(text)
    if m:
        unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[m.group(2)]
        return now + timedelta(**{unit: int(m.group(1))})
    try:
        return parse_now(text)
    except ValueError:
        pass
    return parse_datetime(text, now, tz)
