"""The case's clock: times are instants; the local time of day follows the case's time zone.

A case's times are written with a UTC offset (`2025-05-12T08:00:00+08:00`): each is an instant.
What depends on the time of day (the built-in shapes' hour, the SimBench row) reads the local
wall-clock time. Without a `timezone` that is the time as written (its own offset). With one, the
stage times carry a `ZonedOffset`: a fixed offset (so adding hours and subtracting times stay
exact instants, which Python's arithmetic on `ZoneInfo` times is not across a daylight-saving
change) that also names the zone, and `local` gives the zone's wall-clock time for any instant.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

__all__ = [
    "ZonedOffset",
    "hours_of",
    "in_zone",
    "local",
    "microseconds",
    "read_zone",
    "step_hours",
    "steps_of",
]

_ZONE_NAME = re.compile(r"[A-Za-z0-9_+-]{1,40}(?:/[A-Za-z0-9_+-]{1,40}){0,3}")
_MICROSECOND = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ZonedOffset(tzinfo):
    """A fixed UTC offset that also names the time zone it was taken from."""

    def __init__(self, zone: ZoneInfo, offset: timedelta) -> None:
        self.zone = zone
        self.offset = offset

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return self.offset

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str:
        return str(self.zone.key)

    def fromutc(self, dt: datetime) -> datetime:
        return dt + self.offset

    def __reduce__(self) -> tuple[object, tuple[str, timedelta]]:
        return _zoned_offset, (str(self.zone.key), self.offset)

    def __repr__(self) -> str:
        return f"ZonedOffset({self.zone.key!r}, {self.offset!r})"


@functools.lru_cache(maxsize=64)
def _zoned_offset(key: str, offset: timedelta) -> ZonedOffset:
    """One object per zone and offset: times sharing it subtract and compare as plain times."""
    return ZonedOffset(ZoneInfo(key), offset)


def read_zone(name: str) -> ZoneInfo | str:
    """The IANA time zone `name` ('Europe/Berlin'), or what is wrong with it."""
    if not _ZONE_NAME.fullmatch(name) or ".." in name:
        return "not a time zone name such as 'Europe/Berlin' (IANA tz database)"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return "not a time zone this machine knows (IANA tz database, e.g. 'Europe/Berlin')"


def in_zone(when: datetime, zone: ZoneInfo) -> datetime:
    """The instant `when` with the zone's offset at that instant, the zone kept with it."""
    offset = when.astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always gives one
    return when.astimezone(_zoned_offset(str(zone.key), offset))


def local(when: datetime) -> datetime:
    """Wall-clock time of `when`: in its zone when it carries one, else as written."""
    zone = when.tzinfo
    return when.astimezone(zone.zone) if isinstance(zone, ZonedOffset) else when


def hours_of(start: datetime, end: datetime) -> list[datetime]:
    """The hourly time steps of a window: start, start+1h, … before end (at least one)."""
    return steps_of(start, end)


def steps_of(
    start: datetime, end: datetime, rows: Sequence[datetime] = (), every: timedelta | None = None
) -> list[datetime]:
    """The check times of a window: every hour, every profile row inside it (a CSV row holds until
    the next, `rows` in time order), and every `every` (SimBench's quarter hours) from the start.

    Counted in whole microseconds from `start` (exact instants whatever the offsets); with a zone,
    each time carries the zone's offset at that instant."""
    span = (end - start) // _MICROSECOND
    parts = [np.arange(0, max(span, 1), 3_600_000_000, dtype=np.int64)]
    if every is not None:
        step = every // _MICROSECOND
        parts.append(np.arange(step, span, step, dtype=np.int64))
    inside = rows[bisect.bisect_right(rows, start) : bisect.bisect_left(rows, end)]
    if len(inside):
        parts.append(np.array([(t - start) // _MICROSECOND for t in inside], dtype=np.int64))
    offsets = np.unique(np.concatenate(parts)).tolist()
    times = [start + timedelta(microseconds=us) for us in offsets]
    zone = start.tzinfo
    if isinstance(zone, ZonedOffset):
        return [in_zone(t, zone.zone) for t in times]
    return times


def step_hours(times: Sequence[datetime], end: datetime) -> list[float]:
    """How long each check time's state holds: until the next time, the last until `end`."""
    bounds = [*times[1:], end]
    return [(b - t).total_seconds() / 3600.0 for t, b in zip(times, bounds, strict=True)]


def microseconds(times: Sequence[datetime]) -> np.ndarray:
    """Instants as whole microseconds since 1970 (UTC), for indexed look-ups."""
    return np.array([(t - _EPOCH) // _MICROSECOND for t in times], dtype=np.int64)
