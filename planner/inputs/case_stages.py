"""The case's `[[stages]]`: when the works happen, what they take out, what they leave changed."""

from __future__ import annotations

import itertools
import numbers
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from planner.core.refs import ElementRef
from planner.inputs import schema
from planner.inputs.case import Stage
from planner.inputs.schema import join_key

if TYPE_CHECKING:
    from planner.inputs.case_builder import CaseBuilder

__all__ = ["read_stages"]

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
    if "daily" in item:
        r.error(
            join_key(key, "daily"),
            "daily windows are not supported by this version of the planner; give each "
            "window as its own stage",
        )
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
    after = _after(b, item.get("after", {}), join_key(key, "after"))
    if len(r.problems) > count:
        return None
    return Stage(name, start, end, tuple(oos), after)


def _after(
    b: CaseBuilder, raw: Any, key: str
) -> tuple[tuple[ElementRef, tuple[tuple[str, Any], ...]], ...]:
    r = b.r
    if not isinstance(raw, dict):
        r.error(key, f"expected a table of element = {{ field = value }}, got {raw!r}")
        return ()
    changes = []
    for text, values in raw.items():
        item_key = f'{key}."{text}"'
        ref = b.ref(text, item_key)
        if not isinstance(values, dict) or not values:
            r.error(item_key, f"expected a table of field = value, got {values!r}")
            continue
        if ref is None:
            continue
        df = b.network.net[ref.table] if b.network else None
        fields = []
        for column, value in values.items():
            ckey = f"{item_key}.{column}"
            if df is None:
                continue
            if column in ("bus", "from_bus", "to_bus", "hv_bus", "lv_bus", "element"):
                r.error(ckey, "topology columns cannot be changed by [stages.after]")
                continue
            if column not in df.columns:
                r.error(ckey, f"{ref.table} has no column {column!r}")
                continue
            current = df.at[ref.index, column]
            numeric = isinstance(current, numbers.Number) and not isinstance(
                current, bool | np.bool_
            )
            if numeric and (not isinstance(value, int | float) or isinstance(value, bool)):
                r.error(ckey, f"expected a number for {ref.table}.{column}, got {value!r}")
                continue
            if numeric and column.endswith(("_km", "_ohm_per_km", "_ka", "_mva")) and value <= 0:
                r.error(ckey, f"{ref.table}.{column} must be greater than 0, got {value!r}")
                continue
            fields.append((column, value))
        changes.append((ref, tuple(fields)))
    return tuple(changes)
