"""Load profiles: built-in hourly shapes, CSV profiles and SimBench profiles, as factors over time.

The built-in shapes are hourly factors (local time of the stage's offset) for weekdays and
weekends. Their maximum over the week is exactly 1.0, so the design peak of a load equals its
`p_mw` times the scalings and the margin. The residential shape follows the evening-peak form of
the BDEW H0 household standard load profile and of published northern-Chinese residential feeder
curves (night trough near 1/3 of the peak, peak at 19-20 h); the commercial shape follows the
BDEW G0 business profile (daytime plateau, low nights, quieter weekends). They are shapes for
planning, not measurements.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

__all__ = [
    "BUILTIN",
    "CsvProfile",
    "hours_of",
    "load_csv_profile",
    "shape_factor",
    "simbench_rows",
    "step_hours",
    "steps_of",
]

SIMBENCH_STEP = timedelta(minutes=15)

_RESIDENTIAL_WEEKDAY = (
    0.46, 0.39, 0.35, 0.33, 0.33, 0.37, 0.50, 0.63, 0.61, 0.55, 0.54, 0.58,
    0.62, 0.56, 0.52, 0.52, 0.58, 0.72, 0.90, 1.00, 0.98, 0.88, 0.72, 0.57,
)  # fmt: skip
_RESIDENTIAL_WEEKEND = (
    0.50, 0.42, 0.37, 0.34, 0.33, 0.34, 0.40, 0.52, 0.64, 0.70, 0.72, 0.76,
    0.78, 0.70, 0.62, 0.60, 0.64, 0.76, 0.92, 0.99, 0.97, 0.88, 0.74, 0.60,
)  # fmt: skip
_COMMERCIAL_WEEKDAY = (
    0.30, 0.28, 0.28, 0.28, 0.28, 0.30, 0.38, 0.55, 0.80, 0.95, 1.00, 1.00,
    0.92, 0.95, 1.00, 0.98, 0.92, 0.85, 0.70, 0.55, 0.45, 0.40, 0.35, 0.32,
)  # fmt: skip
_COMMERCIAL_WEEKEND = (
    0.30, 0.28, 0.28, 0.28, 0.28, 0.29, 0.32, 0.40, 0.52, 0.62, 0.68, 0.70,
    0.68, 0.66, 0.66, 0.64, 0.60, 0.55, 0.48, 0.42, 0.38, 0.35, 0.32, 0.31,
)  # fmt: skip

BUILTIN: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "residential": (_RESIDENTIAL_WEEKDAY, _RESIDENTIAL_WEEKEND),
    "commercial": (_COMMERCIAL_WEEKDAY, _COMMERCIAL_WEEKEND),
}


def shape_factor(name: str, when: datetime) -> float:
    """Factor of built-in shape `name` ('flat' included) at local time `when`."""
    if name == "flat":
        return 1.0
    weekday, weekend = BUILTIN[name]
    return (weekend if when.weekday() >= 5 else weekday)[when.hour]


def hours_of(start: datetime, end: datetime) -> list[datetime]:
    """The hourly time steps of a window: start, start+1h, … before end (at least one)."""
    steps = [start]
    t = start + timedelta(hours=1)
    while t < end:
        steps.append(t)
        t += timedelta(hours=1)
    return steps


def steps_of(
    start: datetime, end: datetime, rows: Sequence[datetime] = (), every: timedelta | None = None
) -> list[datetime]:
    """The check times of a window: every hour, every profile row inside it (a CSV row holds until
    the next), and every `every` (SimBench's quarter hours) from the start."""
    steps = set(hours_of(start, end))
    steps.update(t for t in rows if start < t < end)
    if every is not None:
        t = start + every
        while t < end:
            steps.add(t)
            t += every
    return sorted(steps)


def step_hours(times: Sequence[datetime], end: datetime) -> list[float]:
    """How long each check time's state holds: until the next time, the last until `end`."""
    bounds = [*times[1:], end]
    return [(b - t).total_seconds() / 3600.0 for t, b in zip(times, bounds, strict=True)]


def simbench_rows(times: Sequence[datetime], steps_per_year: int) -> list[int]:
    """Rows of a SimBench profile (quarter hours of 2016) for local times `times`.

    Read at the local date and time as written; another year is read at the 2016 date with the
    same ISO week (week 53 reads week 52) and weekday, at the same time of day."""
    rows = []
    for t in times:
        _, week, weekday = t.isocalendar()
        if t.year == 2016:
            day = datetime(2016, t.month, t.day)
        else:
            day = datetime.fromisocalendar(2016, min(week, 52), weekday)
            if day.year > 2016:  # Sunday of week 52 is 1 Jan 2017: the Sunday a week earlier
                day -= timedelta(days=7)
        minutes = (day - datetime(2016, 1, 1)).days * 1440 + t.hour * 60 + t.minute
        rows.append(int(minutes // 15) % steps_per_year)
    return rows


@dataclass(frozen=True)
class CsvProfile:
    """A `time,factor` profile; the factor at t is that of the last row at or before t."""

    path: Path
    times: tuple[datetime, ...]
    factors: tuple[float, ...]

    def factors_at(self, times: Sequence[datetime]) -> np.ndarray:
        """Factors at `times`, each that of the last row at or before it (or the first row)."""
        stamps = np.array([t.timestamp() for t in self.times])
        wanted = np.array([t.timestamp() for t in times])
        rows = np.maximum(np.searchsorted(stamps, wanted, side="right") - 1, 0)
        return np.asarray(self.factors, dtype=float)[rows]

    def covers(self, start: datetime, end: datetime) -> bool:
        return self.times[0] <= start and self.times[-1] >= end - timedelta(hours=1)


def load_csv_profile(path: Path) -> CsvProfile | str:
    """Read a profile CSV; returns the profile or a message naming the row that is wrong."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows: Sequence[dict[str, str]] = list(csv.DictReader(handle))
            header = rows[0].keys() if rows else []
    except OSError as exc:
        return f"cannot read profile {path}: {exc.strerror}"
    except (UnicodeDecodeError, csv.Error) as exc:
        return f"profile {path} is not a CSV text file: {exc}"
    if set(header) != {"time", "factor"}:
        return f"profile {path}: expected columns 'time,factor', got {','.join(header) or 'none'}"
    times: list[datetime] = []
    factors: list[float] = []
    for line, row in enumerate(rows, start=2):
        try:
            when = datetime.fromisoformat(row["time"])
            value = float(row["factor"])
        except (TypeError, ValueError):
            return f"profile {path}, line {line}: cannot read time {row['time']!r} / factor"
        if when.tzinfo is None:
            return f"profile {path}, line {line}: time {row['time']!r} has no offset"
        if not np.isfinite(value) or value < 0:
            return f"profile {path}, line {line}: factor {row['factor']!r} must be >= 0"
        if times and when <= times[-1]:
            return f"profile {path}, line {line}: times must increase"
        times.append(when)
        factors.append(value)
    return CsvProfile(path, tuple(times), tuple(factors))
