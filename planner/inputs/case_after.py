"""A stage's `[stages.after]`: the network's changes once the stage ends (the new route).

Each value must be of its column's kind (true/false for on/off columns, a finite number of sane
size for numbers, a string for text), and the network as the stages leave it, changes made in
time order, passes the same sanity checks as the network itself.
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from planner.core.refs import ElementRef, ref_for
from planner.inputs.case import Stage
from planner.inputs.sanity import check_network
from planner.inputs.schema import shown

if TYPE_CHECKING:
    from planner.inputs.case_builder import CaseBuilder

__all__ = ["MAX_AFTER_NUMBER", "check_after", "read_after"]

MAX_AFTER_NUMBER = 1e6  # no column of an element table holds a larger number in a real network
_MAX_TEXT = 200
_TOPOLOGY = ("bus", "from_bus", "to_bus", "hv_bus", "mv_bus", "lv_bus", "element", "et")
_POSITIVE = ("_km", "_ohm_per_km", "_ka", "_mva")

Changes = tuple[tuple[ElementRef, tuple[tuple[str, Any], ...]], ...]


def read_after(b: CaseBuilder, raw: Any, key: str) -> Changes:
    """The changes of one stage, each value checked against its column's kind."""
    r = b.r
    if not isinstance(raw, dict):
        r.error(key, f"expected a table of element = {{ field = value }}, got {shown(raw)}")
        return ()
    changes = []
    for text, values in raw.items():
        item_key = f"{key}.{_quoted(text)}"
        ref = b.ref(text, item_key)
        if not isinstance(values, dict) or not values:
            r.error(item_key, f"expected a table of field = value, got {shown(values)}")
            continue
        if ref is None or b.network is None:
            continue
        df = b.network.net[ref.table]
        fields = []
        for column, value in values.items():
            ckey = f"{item_key}.{column}"
            if column in _TOPOLOGY:
                r.error(ckey, "topology columns cannot be changed by [stages.after]")
                continue
            if column not in df.columns:
                r.error(ckey, f"{ref.table} has no column {shown(column)}")
                continue
            typed = _typed(df[column], value, f"{ref.table}.{column}")
            if isinstance(typed, _Refused):
                r.error(ckey, typed.message)
                continue
            fields.append((column, typed))
        changes.append((ref, tuple(fields)))
    return tuple(changes)


def check_after(b: CaseBuilder, stages: list[tuple[int, Stage]]) -> None:
    """The network as each stage leaves it (earlier stages' changes made) must pass the network
    sanity checks; a problem it did not have before names the stage's key that caused it."""
    if b.network is None or not any(stage.after for _, stage in stages):
        return
    net = copy.deepcopy(b.network.net)
    source = b.network.source
    before = {(p.key, p.message) for p in check_network(copy.deepcopy(net), source)[0]}
    for i, stage in sorted(stages, key=lambda item: item[1].start):
        if not stage.after:
            continue
        keys = {}
        for ref, fields in stage.after:
            for column, value in fields:
                net[ref.table].at[ref.index, column] = value
                where = f"{ref_for(net, ref.table, ref.index).text}.{column}"
                keys[where] = f"stages[{i}].after.{_quoted(ref.text)}.{column}"
        errors, _ = check_network(copy.deepcopy(net), source)
        for problem in errors:
            if (problem.key, problem.message) in before:
                continue
            before.add((problem.key, problem.message))
            if problem.key in keys:
                message = f"{problem.message} (in the network as the stage leaves it)"
                b.r.error(keys[problem.key], message)
            else:
                b.r.error(
                    f"stages[{i}].after",
                    f"the network as the stage leaves it: {problem.key}: {problem.message}",
                )


class _Refused:
    def __init__(self, message: str) -> None:
        self.message = message


def _typed(column: pd.Series, value: Any, name: str) -> Any:
    """`value` as the column holds it, or why it cannot go there."""
    kind = _kind(column)
    if isinstance(value, dict | list) or not isinstance(value, bool | int | float | str):
        return _Refused(f"expected a single value for {name}, got {_described(value)}")
    if kind == "bool":
        if not isinstance(value, bool):
            return _Refused(f"expected true or false for {name}, got {shown(value)}")
        return value
    if kind in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return _Refused(f"expected a number for {name}, got {shown(value)}")
        if kind == "int" and not isinstance(value, int):
            return _Refused(f"expected a whole number for {name}, got {shown(value)}")
        if _too_big(value):
            return _Refused(f"{name} must be a finite number of at most 1e6, got {shown(value)}")
        if name.endswith(_POSITIVE) and value <= 0:
            return _Refused(f"{name} must be greater than 0, got {value!r}")
        return value if kind == "int" else float(value)
    if kind == "str":
        if not isinstance(value, str):
            return _Refused(f"expected a string for {name}, got {shown(value)}")
        if len(value) > _MAX_TEXT:
            return _Refused(f"{name} must be at most {_MAX_TEXT} characters, got {len(value)}")
        return value
    if isinstance(value, str) and len(value) > _MAX_TEXT:
        return _Refused(f"{name} must be at most {_MAX_TEXT} characters, got {len(value)}")
    if _too_big(value):
        return _Refused(f"{name} must be a finite number of at most 1e6, got {shown(value)}")
    return value


def _too_big(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return not (abs(value) <= MAX_AFTER_NUMBER and math.isfinite(value))


def _kind(column: pd.Series) -> str:
    """'bool', 'int', 'float', 'str' or 'any': what the column holds."""
    if pd.api.types.is_bool_dtype(column.dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(column.dtype):
        return "int"
    if pd.api.types.is_float_dtype(column.dtype):
        return "float"
    values = [v for v in column.tolist() if not _missing(v)]
    if values and all(isinstance(v, bool | np.bool_) for v in values):
        return "bool"
    if values and all(isinstance(v, str) for v in values):
        return "str"
    return "any"


def _quoted(text: str) -> str:
    """A TOML key as it appears in a key path: in double quotes, control characters escaped."""
    inner = repr(text)[1:-1]
    return f'"{inner if len(inner) <= 80 else inner[:75] + "..."}"'


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _described(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {shown(value)}"
