"""Variants of a case file: the same works shifted in time, in a daily window, or at another load.

`windows` and `programme` plan variants of a user's case. Each variant is written out as a case
file of its own (beside its plan set) and planned from that file, so a variant goes through the
same checks as any case and its plan validates against the file written beside it. Paths in the
case (the network, a CSV profile) are rewritten to stay valid from the variant's directory.
"""

from __future__ import annotations

import copy
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import tomli_w

from planner.core.errors import CaseError, Problem
from planner.inputs.clock import read_zone
from planner.inputs.windows_daily import read_daily

__all__ = [
    "AS_GIVEN",
    "MAX_SHIFT_DAYS",
    "Variant",
    "daily_window",
    "narrowed_variants",
    "variant_data",
    "variant_text",
    "window_variants",
]

_SHORTCUTS = ("pandapower:", "simbench:")
_BUILT_IN_PROFILES = ("flat", "residential", "commercial", "simbench")

AS_GIVEN = "as-given"
MAX_SHIFT_DAYS = 30  # each shift is a whole plan: a month of them is already a long run


class Variant:
    """What a variant changes: `offset_hours` moves every stage; `offset_days` moves every stage
    by whole days of the case's local time (its `timezone`'s wall clock, so a shift across a
    daylight-saving change keeps the works' hours of the day); `daily` sets (a string) or
    clears (None) the window of the stages named in it; `scaling` multiplies the case's
    `[loads] scaling`; `name` suffixes the case name."""

    def __init__(
        self,
        name: str,
        *,
        offset_hours: float = 0.0,
        daily: dict[str, str | None] | None = None,
        scaling: float = 1.0,
        offset_days: int = 0,
    ) -> None:
        self.name = name
        self.offset_hours = offset_hours
        self.daily = dict(daily or {})
        self.scaling = scaling
        self.offset_days = offset_days

    def __repr__(self) -> str:
        return (
            f"Variant({self.name!r}, offset_hours={self.offset_hours!r}, daily={self.daily!r}, "
            f"scaling={self.scaling!r}, offset_days={self.offset_days!r})"
        )


def daily_window(text: str) -> str:
    """`text` checked as a daily window `HH:MM-HH:MM` as a stage's `daily` takes it (24-hour
    clock; an end before the start runs past midnight); raises ValueError saying what is wrong."""
    window = read_daily(text)
    if isinstance(window, str):
        raise ValueError(window)
    return window.text


def window_variants(stage: str, dailies: list[str], shift_days: int) -> list[Variant]:
    """The variants `windows` plans: the case as given, the stage named `stage` in each daily
    window (`daily-0800-1800`), and the whole works started 1 to `shift_days` days later
    (`shift-1d`). Names are only letters, digits and '-': each is a directory name as well."""
    if not 0 <= shift_days <= MAX_SHIFT_DAYS:
        raise ValueError(f"shift days must be 0 to {MAX_SHIFT_DAYS}, got {shift_days!r}")
    variants = [Variant(AS_GIVEN)]
    for window in dict.fromkeys(daily_window(w) for w in dailies):  # each once, in order
        slug = window.replace(":", "")
        variants.append(Variant(f"daily-{slug}", daily={stage: window}))
    for days in range(1, shift_days + 1):
        variants.append(Variant(f"shift-{days}d", offset_days=days))
    return variants


NARROW_HOURS = 1  # a daily window that did not plan outage-free is tried this much shorter
MIN_WINDOW_HOURS = 4.0  # ... but never shorter than this


def narrowed_variants(variant: Variant, stage: str) -> list[Variant]:
    """A daily variant of `stage` whose plan was not outage-free (or not feasible), one hour
    shorter: started an hour later (its start steps meet a lighter load) and ended an hour
    earlier (its return steps do: the evening peak is what breaks a daytime window's way
    back); none where that would leave less than `MIN_WINDOW_HOURS`."""
    text = variant.daily.get(stage)
    window = read_daily(text) if text is not None else None
    if window is None or isinstance(window, str) or window.hours - NARROW_HOURS < MIN_WINDOW_HOURS:
        return []
    out = []
    for start, end in ((NARROW_HOURS, 0), (0, -NARROW_HOURS)):
        opens = (window.start.hour + start) % 24
        closes = (window.end.hour + end) % 24
        shorter = f"{opens:02d}:{window.start.minute:02d}-{closes:02d}:{window.end.minute:02d}"
        name = f"daily-{shorter.replace(':', '')}"
        out.append(Variant(name, daily={**variant.daily, stage: shorter}))
    return out


def variant_data(
    data: dict[str, Any], file: str, base_dir: Path, dest_dir: Path, variant: Variant
) -> dict[str, Any]:
    """The parsed case `data` (read from `file` in `base_dir`) changed as `variant` says, its
    paths made valid from `dest_dir`. The original is not modified."""
    out = copy.deepcopy(data)

    def fail(key: str, message: str) -> CaseError:
        return CaseError([Problem(file, key, message)])

    meta = out.get("case")
    if isinstance(meta, dict) and isinstance(meta.get("network"), str):
        meta["network"] = _moved(meta["network"], base_dir, dest_dir)
        if variant.name:
            meta["name"] = f"{meta.get('name', '')} ({variant.name})"
    loads = out.get("loads")
    if isinstance(loads, dict):
        profile = loads.get("profile")
        if isinstance(profile, str) and profile not in _BUILT_IN_PROFILES:
            loads["profile"] = _moved(profile, base_dir, dest_dir)
        if variant.scaling != 1.0:
            scaling = loads.get("scaling", 1.0)
            if not isinstance(scaling, int | float) or isinstance(scaling, bool):
                raise fail("loads.scaling", "must be a number to scale a variant")
            loads["scaling"] = float(scaling) * variant.scaling
    elif variant.scaling != 1.0:
        out["loads"] = {"scaling": variant.scaling}
    stages = out.get("stages")
    if not isinstance(stages, list):
        raise fail("stages", "a variant needs the case's [[stages]]")
    named = set()
    shift = timedelta(hours=variant.offset_hours)
    zone = _zone(out.get("timezone"))
    for i, stage in enumerate(stages):
        if not isinstance(stage, dict):
            raise fail(f"stages[{i}]", "must be a table")
        for key in ("start", "end"):
            if shift and isinstance(stage.get(key), datetime):
                stage[key] = stage[key] + shift
            if variant.offset_days and isinstance(stage.get(key), datetime):
                stage[key] = _later_days(stage[key], variant.offset_days, zone)
        name = stage.get("name")
        if name in variant.daily:
            named.add(name)
            window = variant.daily[name]
            if window is None:
                stage.pop("daily", None)
            else:
                stage["daily"] = window
    missing = sorted(set(variant.daily) - named)
    if missing:
        raise fail("stages", f"no stage is named {missing[0]!r}")
    return out


def variant_text(
    data: dict[str, Any], file: str, base_dir: Path, dest_dir: Path, variant: Variant
) -> str:
    """`variant_data` as TOML text, with a comment saying what it is a variant of."""
    body = tomli_w.dumps(variant_data(data, file, base_dir, dest_dir, variant))
    head = f"# variant {variant.name!r} of {Path(file).name!r}, written by planner\n"
    return head + body  # repr escapes every control character: the comment stays one line


def _zone(name: Any) -> ZoneInfo | None:
    """The case's `timezone` when it names one (the builder reports it when it does not)."""
    zone = read_zone(name) if isinstance(name, str) else None
    return zone if isinstance(zone, ZoneInfo) else None


def _later_days(when: datetime, days: int, zone: ZoneInfo | None) -> datetime:
    """`when` moved by `days` calendar days: same wall-clock time of `zone` (or of `when`'s
    own offset), written with the offset in force then."""
    if when.tzinfo is None or zone is None:
        return when + timedelta(days=days)
    moved = when.astimezone(zone) + timedelta(days=days)  # wall-clock arithmetic in the zone
    offset = moved.utcoffset()
    return moved.replace(tzinfo=timezone(offset)) if offset is not None else moved


def _moved(value: str, base_dir: Path, dest_dir: Path) -> str:
    """A path written relative to `base_dir`, as seen from `dest_dir` (shortcuts unchanged)."""
    if value.startswith(_SHORTCUTS):
        return value
    target = (base_dir / value).resolve()
    dest = dest_dir.resolve()
    try:
        shared = Path(os.path.commonpath([target, dest]))
    except ValueError:  # another drive
        return str(target)
    if shared == Path(shared.anchor):  # nothing in common below the root: say it plainly
        return str(target)
    return os.path.relpath(target, dest).replace(os.sep, "/")
