"""Daily work windows: a stage's `daily = "HH:MM-HH:MM"`, the local-time window its works are in.

A stage with a daily window takes its elements out only inside the window on each day between its
start and end (local time of the stage's `start`, or of the case's `timezone` when it has one);
outside it the network is in its normal state. A window may run over midnight ("22:00-06:00").
The works windows of a stage are the day's windows cut to the stage (a stage without `daily` has
one: the stage itself). Every check time of the works is inside a works window, and holds until
the next check time or the end of its window, whichever comes first.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from planner.inputs.clock import ZonedOffset, in_zone, local

__all__ = [
    "DailyWindow",
    "daily_notes",
    "fits_once",
    "in_windows",
    "read_daily",
    "window_step_hours",
    "works_windows",
]

_FORMAT = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])")
_DAY = timedelta(days=1)
Window = tuple[datetime, datetime]


@dataclass(frozen=True)
class DailyWindow:
    """The local time of day a stage's works start and end each day."""

    start: time
    end: time

    @property
    def text(self) -> str:
        """As the case writes it: "08:00-18:00"."""
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def over_midnight(self) -> bool:
        return self.end < self.start

    @property
    def hours(self) -> float:
        """How long one whole window lasts (on a day without a daylight-saving change)."""
        span = (self.end.hour - self.start.hour) * 60 + self.end.minute - self.start.minute
        return (span % 1440) / 60.0

    def days(self, start: datetime, end: datetime) -> list[Window]:
        """Each day's whole window, as instants, from the day before `start` to `end`'s day."""
        zone = start.tzinfo
        wall: tzinfo | None = zone.zone if isinstance(zone, ZonedOffset) else zone
        day = local(start).date() - _DAY
        last = local(end).date()
        out = []
        while day <= last:
            opens = datetime.combine(day, self.start, tzinfo=wall)
            closes = datetime.combine(day + _DAY if self.over_midnight else day, self.end, wall)
            if isinstance(zone, ZonedOffset):  # wall-clock times as the case's fixed offsets
                opens, closes = in_zone(opens, zone.zone), in_zone(closes, zone.zone)
            out.append((opens, closes))
            day += _DAY
        return out

    def windows(self, start: datetime, end: datetime) -> list[Window]:
        """The works windows between `start` and `end`: each day's window cut to them."""
        out = []
        for opens, closes in self.days(start, end):
            first, last = max(opens, start), min(closes, end)
            if first < last:
                out.append((first, last))
        return out


def read_daily(value: object) -> DailyWindow | str:
    """A `daily` value ("08:00-18:00"), or what is wrong with it."""
    if not isinstance(value, str):
        return f"expected a window such as '08:00-18:00' (local time, HH:MM-HH:MM), got {value!r}"
    found = _FORMAT.fullmatch(value)
    if found is None:
        return (
            f"expected a window such as '08:00-18:00' (local time, HH:MM-HH:MM, 00:00 to 23:59), "
            f"got {value!r}"
        )
    hours = [int(part) for part in found.groups()]
    window = DailyWindow(time(hours[0], hours[1]), time(hours[2], hours[3]))
    if window.start == window.end:
        return (
            f"{value!r} starts and ends at the same time; a window round the clock is a stage "
            "without `daily`"
        )
    return window


def fits_once(window: DailyWindow, start: datetime, end: datetime) -> bool:
    """Whether one whole window lies between `start` and `end`."""
    return any(start <= opens and closes <= end for opens, closes in window.days(start, end))


def works_windows(start: datetime, end: datetime, daily: DailyWindow | None) -> list[Window]:
    """When a stage's works are out: its daily windows, or the whole stage without one."""
    return [(start, end)] if daily is None else daily.windows(start, end)


def in_windows(when: datetime, windows: Sequence[Window]) -> bool:
    """Is `when` inside one of `windows` (start included, end not)? `windows` in time order."""
    k = bisect.bisect_right([w[0] for w in windows], when) - 1
    return k >= 0 and when < windows[k][1]


def window_step_hours(times: Sequence[datetime], windows: Sequence[Window]) -> list[float]:
    """How long each check time's state holds: until the next time, or the end of its window
    when that comes first (`times` in time order, each inside a window)."""
    ends = [w[1] for w in windows]
    out = []
    for k, t in enumerate(times):
        closes = ends[min(bisect.bisect_right(ends, t), len(ends) - 1)]
        bound = min(times[k + 1], closes) if k + 1 < len(times) else closes
        out.append((bound - t).total_seconds() / 3600.0)
    return out


def daily_notes(daily: DailyWindow | None, windows: Sequence[Window]) -> tuple[str, ...]:
    """The plan's note on a stage's daily windows: when the works are out, and what happens
    outside them (nothing without `daily`)."""
    if daily is None or not windows:
        return ()
    first, last = windows[0][0], windows[-1][1]
    return (
        f"daily works window {daily.text} (local time): the works' elements are out only inside "
        f"it, {len(windows)} window(s) from {first.isoformat()} to {last.isoformat()}; outside "
        "it the network is in its normal state and the trucks are disconnected, standing idle "
        "at their bays and burning no fuel (schedule.csv status 'idle' with the stage's name). "
        "The switching sequence is carried out at the start and end of every window; its times "
        "are the first day's",
    )
