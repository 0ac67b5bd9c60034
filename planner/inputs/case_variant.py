"""Variants of a case file: the same works shifted in time, in a daily window, or at another load.

`windows` and `programme` plan variants of a user's case. Each variant is written out as a case
file of its own (beside its plan set) and planned from that file, so a variant goes through the
same checks as any case and its plan validates against the file written beside it. Paths in the
case (the network, a CSV profile) are rewritten to stay valid from the variant's directory.
"""

from __future__ import annotations

import copy
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import tomli_w

from planner.core.errors import CaseError, Problem

__all__ = ["Variant", "variant_data", "variant_text"]

_SHORTCUTS = ("pandapower:", "simbench:")
_BUILT_IN_PROFILES = ("flat", "residential", "commercial", "simbench")


class Variant:
    """What a variant changes: `offset_hours` moves every stage; `daily` sets (a string) or
    clears (None) the window of the stages named in it; `scaling` multiplies the case's
    `[loads] scaling`; `name` suffixes the case name."""

    def __init__(
        self,
        name: str,
        *,
        offset_hours: float = 0.0,
        daily: dict[str, str | None] | None = None,
        scaling: float = 1.0,
    ) -> None:
        self.name = name
        self.offset_hours = offset_hours
        self.daily = dict(daily or {})
        self.scaling = scaling


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
    for i, stage in enumerate(stages):
        if not isinstance(stage, dict):
            raise fail(f"stages[{i}]", "must be a table")
        for key in ("start", "end"):
            if shift and isinstance(stage.get(key), datetime):
                stage[key] = stage[key] + shift
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


def _moved(value: str, base_dir: Path, dest_dir: Path) -> str:
    """A path written relative to `base_dir`, as seen from `dest_dir` (shortcuts unchanged)."""
    if value.startswith(_SHORTCUTS):
        return value
    target = (base_dir / value).resolve()
    try:
        return os.path.relpath(target, dest_dir.resolve()).replace(os.sep, "/")
    except ValueError:  # another drive
        return str(target)
