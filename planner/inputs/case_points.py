"""The case's `[[connection_points]]` (or the network's RMU columns): where trucks may connect."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from planner.core.errors import Problem
from planner.core.refs import ref_for
from planner.inputs import schema
from planner.inputs.case import ConnectionPoint
from planner.inputs.schema import join_key, shown

if TYPE_CHECKING:
    from planner.inputs.case_builder import CaseBuilder

__all__ = ["MAX_BAYS", "MAX_TOTAL_BAYS", "read_points"]

MAX_BAYS = 100  # bays at one connection point
MAX_TOTAL_BAYS = 1000  # bays of all connection points together: the allocation has a slot per bay

_POINT = {"bus", "bays"}
_BAYS = schema.all_of(schema.positive, schema.at_most(MAX_BAYS))
_RMU_BAYS = schema.all_of(schema.non_negative, schema.at_most(MAX_BAYS))  # 0: not a point


def read_points(b: CaseBuilder, data: dict[str, Any]) -> tuple[ConnectionPoint, ...]:
    r = b.r
    raw = data.get("connection_points", schema.MISSING)
    if raw is schema.MISSING:
        return _rmu_points(b)
    if not isinstance(raw, list):
        r.error("connection_points", "expected a list of tables ([[connection_points]])")
        return ()
    points: list[ConnectionPoint] = []
    seen: dict[int, str] = {}
    for i, item in enumerate(raw):
        key = join_key("connection_points", i)
        if not isinstance(item, dict):
            r.error(key, "expected a table with 'bus' and 'bays'")
            continue
        r.unknown_keys(item, key, _POINT)
        text = r.value(item, "bus", key, str)
        bays = r.value(item, "bays", key, int, 1, _BAYS)
        ref = b.ref(text, join_key(key, "bus"), ("bus",)) if text is not None else None
        if ref is None or bays is None:
            continue
        if ref.index in seen:
            r.error(
                join_key(key, "bus"),
                f"bus {ref.text!r} is already a connection point "
                f"({seen[ref.index]}); give its bays once",
            )
            continue
        seen[ref.index] = key
        points.append(ConnectionPoint(ref, bays))
    return _bounded(b, tuple(points), "connection_points")


def _rmu_points(b: CaseBuilder) -> tuple[ConnectionPoint, ...]:
    """Connection points from the network's `bus.rmu` / `bus.rmu_bays` columns, if any."""
    if b.network is None or "rmu" not in b.network.net.bus.columns:
        return ()
    net, source = b.network.net, b.network.source
    bus = net.bus
    points = []

    def problem(index: Any, field: str, message: str, value: Any) -> None:
        where = ref_for(net, "bus", int(index)).text
        b.r.problems.append(Problem(source, f"{where}.{field}", f"{message}, got {shown(value)}"))

    for index in bus.index:
        rmu = bus.at[index, "rmu"]
        if _is_missing(rmu):
            continue
        if not _is_flag(rmu):
            problem(index, "rmu", "must be true or false", _plain(rmu))
            continue
        if not rmu:
            continue
        bays = bus.at[index, "rmu_bays"] if "rmu_bays" in bus.columns else 1
        if _is_missing(bays):
            bays = 1
        message = _whole(bays) or _RMU_BAYS(int(bays))
        if message:
            problem(index, "rmu_bays", message, _plain(bays))
        elif int(bays) >= 1:
            points.append(ConnectionPoint(ref_for(net, "bus", int(index)), int(bays)))
    return _bounded(b, tuple(points), f"{source} (bus.rmu_bays)")


def _bounded(
    b: CaseBuilder, points: tuple[ConnectionPoint, ...], where: str
) -> tuple[ConnectionPoint, ...]:
    """Points whose bays together stay within MAX_TOTAL_BAYS (else a problem)."""
    total = sum(p.bays for p in points)
    if total > MAX_TOTAL_BAYS:
        b.r.error(
            "connection_points",
            f"{where} give {total} bays in all, more than the {MAX_TOTAL_BAYS} the planner "
            "places trucks on; list the connection points the works can use",
        )
        return ()
    return points


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float | np.floating) and np.isnan(value))


def _is_flag(value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return True
    return isinstance(value, int | float | np.integer | np.floating) and value in (0, 1)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _whole(value: Any) -> str | None:
    """None when `value` is a whole number (an int, or a float without fraction), else why not."""
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        return "must be a whole number"
    if not np.isfinite(value) or float(value) != int(value):
        return "must be a whole number"
    return None
