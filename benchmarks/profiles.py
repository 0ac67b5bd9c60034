"""Benchmark: a year of quarter-hour CSV profile read, stepped and looked up for a year-long stage.

Writes a `time,factor` profile of 35,040 quarter hours (2025, written at +01:00 through the year)
into a temporary folder, then times, best of `--repeat` runs:

- `load_csv_profile`: reading it with every strict check of a row;
- `steps_of`: the check times of a stage of the whole year (every hour and every row);
- `factors_at`: the as-of look-up of every check time (one binary search over the rows);
- the same two with the stage in a zone (`timezone = "Europe/Berlin"`: each time carries the
  zone's offset, across both daylight-saving changes);
- `shape_factors`: the built-in residential shape at the same times (local hour and weekday).

The budget (issue #17) is one second for reading and looking up the year. Run:
`.venv/bin/python benchmarks/profiles.py [--repeat 3]`; exit 1 when over the budget.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from planner.inputs.clock import in_zone, steps_of
from planner.inputs.profiles import CsvProfile, load_csv_profile, shape_factors

ROWS = 35_040  # 365 days of quarter hours
BUDGET_S = 1.0
START = datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=1)))


def write_year(path: Path) -> None:
    """A year of quarter hours, factors from 0.5 to 1.0 in a fixed pseudo-random order."""
    lines = ["time,factor"]
    for k in range(ROWS):
        when = START + timedelta(minutes=15 * k)
        lines.append(f"{when.isoformat()},{0.5 + 0.5 * ((k * 7919) % 1000) / 1000:.3f}")
    path.write_text("\n".join(lines) + "\n")


def best(repeat: int, work: Callable[[], Any]) -> tuple[float, Any]:
    """The shortest wall time of `repeat` runs of `work`, and its last result."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    end = START + timedelta(days=365)
    zone = ZoneInfo("Europe/Berlin")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "year.csv"
        write_year(path)
        size = path.stat().st_size
        load_s, profile = best(args.repeat, lambda: load_csv_profile(path))
    if not isinstance(profile, CsvProfile):
        print(f"the profile was refused: {profile}")
        return 1

    def fresh() -> CsvProfile:  # the row index is built on the first look-up: time it too
        return CsvProfile(profile.path, profile.times, profile.factors, profile.sha256)

    steps_s, times = best(args.repeat, lambda: steps_of(START, end, profile.times))
    lookup_s, factors = best(args.repeat, lambda: fresh().factors_at(times))
    zoned_start, zoned_end = in_zone(START, zone), in_zone(end, zone)
    zsteps_s, ztimes = best(args.repeat, lambda: steps_of(zoned_start, zoned_end, profile.times))
    zlookup_s, zfactors = best(args.repeat, lambda: fresh().factors_at(ztimes))
    shape_s, _ = best(args.repeat, lambda: shape_factors("residential", ztimes))
    assert len(times) == len(ztimes) == ROWS and (factors == zfactors).all()
    total = load_s + steps_s + lookup_s
    print(f"CSV profile: {ROWS:,} rows, {size / 1e6:.1f} MB; year-long stage, {len(times):,} steps")
    for label, seconds in (
        ("load_csv_profile", load_s),
        ("steps_of", steps_s),
        ("factors_at", lookup_s),
        ("steps_of, Europe/Berlin", zsteps_s),
        ("factors_at, Europe/Berlin", zlookup_s),
        ("shape_factors, Europe/Berlin", shape_s),
    ):
        print(f"  {label:<30} {seconds * 1000:8.1f} ms")
    verdict = "within" if total <= BUDGET_S else "OVER"
    print(f"read + steps + look-up: {total:.3f} s, {verdict} the {BUDGET_S:g} s budget")
    return 0 if total <= BUDGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
