"""Load profiles: built-in hourly shapes, CSV profiles and SimBench profiles, as factors over time.

The built-in shapes are hourly factors for weekdays and weekends, by the local time of day (the
case's `timezone` when it names one, else each time's own offset: see `clock`). Their maximum
over the week is exactly 1.0, so the design peak of a load equals its `p_mw` times the scalings
and the margin. The residential shape follows the evening-peak form of
the BDEW H0 household standard load profile and of published northern-Chinese residential feeder
curves (night trough near 1/3 of the peak, peak at 19-20 h); the commercial shape follows the
BDEW G0 business profile (daytime plateau, low nights, quieter weekends). They are shapes for
planning, not measurements.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

from planner.inputs.clock import hours_of, local, microseconds, step_hours, steps_of
from planner.inputs.schema import YEARS, shown

__all__ = [
    "BUILTIN",
    "CsvProfile",
    "hours_of",
    "load_csv_profile",
    "profile_max_bytes",
    "shape_factor",
    "shape_factors",
    "simbench_day",
    "simbench_rows",
    "step_hours",
    "steps_of",
]

SIMBENCH_STEP = timedelta(minutes=15)
SIMBENCH_START = date(2016, 1, 1)  # the first row of a SimBench profile, a Friday

# A CSV profile file may be this large whatever its stages (a year of quarter hours is ~1.2 MB),
# or PROFILE_BYTES_PER_MINUTE for every minute from the first stage's start to the last one's
# end when that is more: a file beyond it is refused without reading it.
PROFILE_MIN_BYTES = 16_000_000
PROFILE_BYTES_PER_MINUTE = 64
MIN_PROFILE_STEP = timedelta(minutes=1)  # every row is a check time: none finer than this
MAX_FACTOR = 100.0  # a profile factor multiplies p_mw: the built-in shapes peak at 1.0

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]+(?:Z|[+-][0-9:]+)?")

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
    """Factor of built-in shape `name` ('flat' included) at the local time of `when`."""
    return float(shape_factors(name, [when])[0])


def shape_factors(name: str, times: Sequence[datetime]) -> np.ndarray:
    """Factors of built-in shape `name` ('flat' included) at the local times of `times`: the hour
    of day and weekday on the wall clock of the case's zone (see `clock.local`)."""
    if name == "flat":
        return np.ones(len(times))
    weekday, weekend = BUILTIN[name]
    walls = [local(t) for t in times]
    hours = np.array([t.hour for t in walls], dtype=np.int64)
    ends = np.array([t.weekday() >= 5 for t in walls], dtype=bool)
    return np.where(ends, np.array(weekend)[hours], np.array(weekday)[hours])


def simbench_rows(times: Sequence[datetime], steps_per_year: int) -> list[int]:
    """Rows of a SimBench profile (quarter hours of 2016, from Friday 1 Jan) for `times`.

    Read at the local time of day (the case's zone, see `clock.local`) of the 2016 day that
    `simbench_day` gives: the contract's rule (case-format.md, Demand)."""
    rows = []
    for t in times:
        wall = local(t)
        day = simbench_day(wall.date())
        minutes = (day - SIMBENCH_START).days * 1440 + wall.hour * 60 + wall.minute
        rows.append(int(minutes // 15) % steps_per_year)
    return rows


def simbench_day(day: date) -> date:
    """The day of 2016 a SimBench profile is read at: 2016 reads its own dates; another year
    the 2016 date with the same ISO week (week 53 reads week 52) and weekday, so weekdays
    align (a Sunday of week 52 that falls in 2017 reads the Sunday a week earlier)."""
    if day.year == 2016:
        return day
    _, week, weekday = day.isocalendar()
    same = date.fromisocalendar(2016, min(week, 52), weekday)
    if same.year > 2016:
        same -= timedelta(days=7)
    return same


@dataclass(frozen=True)
class CsvProfile:
    """A `time,factor` profile; the factor at t is that of the last row at or before t."""

    path: Path
    times: tuple[datetime, ...]
    factors: tuple[float, ...]
    sha256: str = ""  # of the bytes read: what a plan made from this profile is tied to

    @functools.cached_property
    def _index(self) -> tuple[np.ndarray, np.ndarray]:
        """The rows' instants (microseconds, increasing) and factors, for as-of look-ups."""
        return microseconds(self.times), np.asarray(self.factors, dtype=float)

    def factors_at(self, times: Sequence[datetime]) -> np.ndarray:
        """Factors at `times`, each that of the last row at or before it (or the first row):
        one binary search over the rows' instants for all of them."""
        stamps, factors = self._index
        rows = np.searchsorted(stamps, microseconds(times), side="right") - 1
        return factors[np.maximum(rows, 0)]

    def covers(self, start: datetime, end: datetime) -> bool:
        return self.times[0] <= start and self.times[-1] >= end - timedelta(hours=1)


def load_csv_profile(
    path: Path, *, max_bytes: int = PROFILE_MIN_BYTES, name: str | None = None
) -> CsvProfile | str:
    """Read a `time,factor` profile strictly; returns it or a message naming the row and column.

    Messages never quote the file: it may be any file a path names. A file larger than
    `max_bytes` (what the stages' window can need, see `profile_max_bytes`) is refused unread.
    """
    where = f"profile {shown(name if name is not None else str(path), 300)}"
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return (
                f"{where} is {_megabytes(size)}, more than the {_megabytes(max_bytes)} a profile "
                "of these stages may have; cut it to the stages' window"
            )
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        return f"cannot read {where}: {exc.strerror}"
    if len(raw) > max_bytes:
        return f"{where} is larger than the {_megabytes(max_bytes)} a profile may have"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return f"{where}, row {_row_at(raw, exc.start)}: not UTF-8 text"
    if "\x00" in text:
        return f"{where}, row {_row_at(text.encode(), text.encode().index(0))}: holds a NUL byte"
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    times: list[datetime] = []
    factors: list[float] = []
    rows: list[int] = []
    columns: tuple[int, int] | None = None
    try:
        for cells in reader:
            row = reader.line_num
            if not cells or cells == [""]:
                continue  # a blank line
            if columns is None:
                header = _header(cells)
                if isinstance(header, str):
                    return f"{where}, row {row}: {header}"
                columns = header
                continue
            if len(cells) != 2:
                return f"{where}, row {row}: {len(cells)} cells, expected 2 (time and factor)"
            when = _time(cells[columns[0]])
            if isinstance(when, str):
                return f"{where}, row {row}, column {columns[0] + 1} (time): {when}"
            value = _factor(cells[columns[1]])
            if isinstance(value, str):
                return f"{where}, row {row}, column {columns[1] + 1} (factor): {value}"
            if times and when <= times[-1]:
                same = "the same time as" if when == times[-1] else "earlier than"
                return (
                    f"{where}, row {row}, column {columns[0] + 1} (time): {same} row {rows[-1]}; "
                    "times must increase"
                )
            if times and when - times[-1] < MIN_PROFILE_STEP:
                return (
                    f"{where}, row {row}, column {columns[0] + 1} (time): less than a minute "
                    f"after row {rows[-1]}; rows must be at least a minute apart"
                )
            times.append(when)
            factors.append(value)
            rows.append(row)
    except csv.Error:
        return f"{where}, row {reader.line_num}: not CSV text (a stray quote or a field too long)"
    if columns is None:
        return f"{where} is empty: expected the header 'time,factor'"
    if not times:
        return f"{where} has a header but no rows"
    return CsvProfile(path, tuple(times), tuple(factors), hashlib.sha256(raw).hexdigest())


def profile_max_bytes(first: datetime, last: datetime) -> int:
    """The largest profile file the stages from `first` to `last` can need: PROFILE_MIN_BYTES,
    or PROFILE_BYTES_PER_MINUTE for each minute of that span when that is more."""
    minutes = max((last - first).total_seconds() / 60.0, 0.0)
    return max(PROFILE_MIN_BYTES, int(minutes * PROFILE_BYTES_PER_MINUTE))


def _row_at(raw: bytes, offset: int) -> int:
    return raw[:offset].count(b"\n") + 1


def _megabytes(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


def _header(cells: list[str]) -> tuple[int, int] | str:
    """Positions of the `time` and `factor` columns, or what is wrong with the header."""
    names = [cell.strip(" \t") for cell in cells]
    for j, text in enumerate(names):
        if not text:
            return f"column {j + 1} has an empty header; expected the header 'time,factor'"
        if text not in ("time", "factor"):
            return f"column {j + 1} is not 'time' or 'factor'; expected the header 'time,factor'"
        if text in names[:j]:
            return f"column {j + 1} repeats the header {text!r} of column {names.index(text) + 1}"
    if len(names) != 2:
        return "expected the header 'time,factor'"
    return names.index("time"), names.index("factor")


def _time(cell: str) -> datetime | str:
    text = cell.strip(" \t")
    if not _TIME.fullmatch(text):
        return "not an ISO date-time such as 2025-05-12T06:00:00+08:00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return "not a valid date-time"
    if when.tzinfo is None:
        return "has no UTC offset (write it as 2025-05-12T06:00:00+08:00)"
    if not YEARS[0] <= when.year <= YEARS[1]:
        return f"must be in the years {YEARS[0]} to {YEARS[1]}"
    return when


def _factor(cell: str) -> float | str:
    text = cell.strip(" \t")
    if not _NUMBER.fullmatch(text):
        return "not a number (digits with an optional '.', sign and exponent)"
    value = float(text)
    if not math.isfinite(value) or value > MAX_FACTOR:
        return f"must be at most {MAX_FACTOR:g}"
    if value < 0:
        return "must be 0 or more"
    return value
