"""The case's `[[stages]]`: when the works happen, what they take out, what they leave changed."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from planner.core.refs import ElementRef
from planner.inputs import schema
from planner.inputs.case import Stage
from planner.inputs.case_after import check_after, read_after
from planner.inputs.clock import in_zone
from planner.inputs.schema import join_key
from planner.inputs.windows_daily import DailyWindow, fits_once, read_daily

if TYPE_CHECKING:
    from planner.inputs.case_builder import CaseBuilder

__all__ = ["MAX_STAGE", "MAX_STAGES", "read_stages"]

# the longest stage: works are planned hour by hour (or finer), a stage beyond a year is a typo
MAX_STAGE = timedelta(days=366)
MAX_STAGES = 100  # stages in one case

_STAGE = {"name", "start", "end", "out_of_service", "after", "daily"}


def read_stages(b: CaseBuilder, data: dict[str, Any]) -> tuple[Stage, ...]:
    r = b.r
    raw = data.get("stages", schema.MISSING)
    if raw is schema.MISSING:
        r.error("stages", "required: at least one [[stages]] table")
        return ()
    if not isinstance(raw, list) or not raw:
        r.error("stages", "expected at least one [[stages]] table")
        return ()
    if len(raw) > MAX_STAGES:
        r.error(
            "stages",
            f"{len(raw):,} stages, more than the {MAX_STAGES} a case may have; split the works "
            "into several cases",
        )
        return ()
    stages: list[tuple[int, Stage]] = []
    names: dict[str, int] = {}
    for i, item in enumerate(raw):
        key = join_key("stages", i)
        if not isinstance(item, dict):
            r.error(key, "expected a table")
            continue
        stage = _stage(b, item, key)
        if stage is None:
            continue
        if stage.name in names:
            r.error(
                join_key(key, "name"),
                f"stage name {stage.name!r} is already used by stages[{names[stage.name]}]",
            )
        names.setdefault(stage.name, i)
        stages.append((i, stage))
    ordered = sorted(stages, key=lambda item: item[1].start)
    for (i, first), (j, second) in itertools.pairwise(ordered):
        if second.start < first.end:
            r.error(
                join_key(join_key("stages", j), "start"),
                f"stage {second.name!r} starts at {second.start.isoformat()}, before stage "
                f"{first.name!r} (stages[{i}]) ends at {first.end.isoformat()}: stages may not "
                "overlap",
            )
    if b.network_ok:
        check_after(b, stages)
    return tuple(stage for _, stage in stages)


def _stage(b: CaseBuilder, item: dict[str, Any], key: str) -> Stage | None:
    r = b.r
    r.unknown_keys(item, key, _STAGE)
    count = len(r.problems)
    name = r.value(item, "name", key, str)
    start = r.value(item, "start", key, datetime)
    end = r.value(item, "end", key, datetime)
    if start is not None and end is not None and end <= start:
        r.error(
            join_key(key, "end"),
            f"end {end.isoformat()} must be after start {start.isoformat()}",
        )
    elif start is not None and end is not None and end - start > MAX_STAGE:
        r.error(
            join_key(key, "end"),
            f"the stage lasts {(end - start).total_seconds() / 86400:,.1f} days, more than the "
            f"{MAX_STAGE.days} a stage may last; split the works into stages",
        )
    if b.zone is not None:
        start = _zoned(b, start, join_key(key, "start"))
        end = _zoned(b, end, join_key(key, "end"))
    daily = _daily(b, item, key, start, end)
    oos_raw = item.get("out_of_service", schema.MISSING)
    oos: list[ElementRef] = []
    oos_key = join_key(key, "out_of_service")
    if oos_raw is schema.MISSING:
        r.error(oos_key, "required key is missing (the elements the works take out)")
    elif not isinstance(oos_raw, list):
        r.error(oos_key, f"expected a list of element references, got {oos_raw!r}")
    else:
        for j, text in enumerate(oos_raw):
            ref = b.ref(text, join_key(oos_key, j))
            if ref is not None:
                if ref in oos:
                    r.error(join_key(oos_key, j), f"{text!r} is listed twice")
                oos.append(ref)
    after = read_after(b, item.get("after", {}), join_key(key, "after"))
    if len(r.problems) > count:
        return None
    return Stage(name, start, end, tuple(oos), after, daily)


def _zoned(b: CaseBuilder, when: datetime | None, key: str) -> datetime | None:
    """`when` carrying the case's zone; an offset that is not the zone's then is an error (a time
    written for another zone, or the other side of a daylight-saving change)."""
    if when is None or b.zone is None:
        return when
    zoned = in_zone(when, b.zone)
    if zoned.utcoffset() != when.utcoffset():
        b.r.error(
            key,
            f"{when.isoformat()} is not a local time of {b.zone.key}: the offset there at that "
            f"instant is {zoned.isoformat()[-6:]} ({zoned.isoformat()})",
        )
        return None
    return zoned


def _daily(
    b: CaseBuilder, item: dict[str, Any], key: str, start: datetime | None, end: datetime | None
) -> DailyWindow | None:
    """The stage's `daily` window (local time of its start), which must fit in it at least once."""
    if "daily" not in item:
        return None
    raw = item["daily"]
    daily_key = join_key(key, "daily")
    window = read_daily(raw)
    if isinstance(window, str):
        b.r.error(daily_key, window)
        return None
    if start is None or end is None or not start < end <= start + MAX_STAGE:
        return window  # the times' own problems are reported
    if not fits_once(window, start, end):
        b.r.error(
            daily_key,
            f"the daily window {raw!r} does not fit in the stage ({start.isoformat()} to "
            f"{end.isoformat()}) even once: the works need one whole window; make the stage "
            "longer, or leave `daily` out to take the elements out for the whole stage",
        )
        return None
    return window
