"""A plan's tables as pandas DataFrames, for engineers who script their studies (`planner.api`
names them `schedule`, `sequence`, `islands` and `fleet_schedule`).

Each is plan.json's own content, one row per item, with the stage's name as the first column
and times as tz-aware Timestamps; nothing is recomputed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pandas as pd

from planner.core.plan import Plan
from planner.dispatch.schedule import FleetHour

__all__ = ["fleet_frame", "islands_frame", "schedule_frame", "sequence_frame"]

SCHEDULE_COLUMNS = ("stage", "time", "truck", "bus", "island", "online", "p_kw", "q_kvar", "fuel_l")


def schedule_frame(plan: Plan) -> pd.DataFrame:
    """`stages[].schedule`, one row per check time and placed truck: whether it is online and
    its kW, kvar and fuel (0 while off)."""
    rows = []
    for stage in plan.stages:
        for entry in stage.schedule:
            time = pd.Timestamp(entry["time"])
            for truck in stage.trucks:
                rows.append(
                    (
                        stage.name,
                        time,
                        truck.id,
                        truck.bus,
                        truck.island,
                        truck.id in entry["online"],
                        entry["truck_kw"].get(truck.id, 0.0),
                        entry["truck_kvar"].get(truck.id, 0.0),
                        entry.get("fuel_l", {}).get(truck.id, 0.0),
                    )
                )
    return pd.DataFrame(rows, columns=list(SCHEDULE_COLUMNS))


def sequence_frame(plan: Plan) -> pd.DataFrame:
    """`stages[].sequence`, one row per switching step: the step's fields, its `sync` and
    `solved` objects spread into `sync_*` and `solved_*` columns."""
    rows = []
    for stage in plan.stages:
        for step in stage.sequence:
            row: dict[str, Any] = {"stage": stage.name}
            for key, value in step.items():
                if key in ("sync", "solved") and isinstance(value, dict):
                    row.update({f"{key}_{k}": v for k, v in value.items()})
                else:
                    row[key] = pd.Timestamp(value) if key == "time" else value
            rows.append(row)
    return pd.DataFrame(rows)


def islands_frame(plan: Plan) -> pd.DataFrame:
    """`stages[].islands`, one row per island: its figures, and whether its protection and
    dynamic checks passed (None where they are reported, not required)."""
    rows = []
    for stage in plan.stages:
        for island in stage.islands:
            data = island.as_json()
            row: dict[str, Any] = {"stage": stage.name, "island": data.pop("id")}
            protection, dynamic = data.pop("protection", None), data.pop("dynamic", None)
            row.update(data)
            row["protection_passed"] = protection.get("passed") if protection else None
            row["dynamic_passed"] = dynamic.get("passed") if dynamic else None
            rows.append(row)
    return pd.DataFrame(rows)


def fleet_frame(rows: Sequence[FleetHour]) -> pd.DataFrame:
    """schedule.csv's rows (one per truck per check time from its first set-up to the end of
    the works: depot, setup, online, standby or idle), at full precision."""
    columns = [field.name for field in dataclasses.fields(FleetHour)]
    return pd.DataFrame([dataclasses.astuple(r) for r in rows], columns=columns)
