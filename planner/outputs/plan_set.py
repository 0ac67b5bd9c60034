"""The files of one plan set, by name: what `plan` writes to `--out` (and the library returns)."""

from __future__ import annotations

import json
from typing import Any

from planner.dispatch.schedule import to_csv
from planner.outputs.geojson import MAP_NAME, map_geojson
from planner.outputs.reports import crew_orders, html_report
from planner.outputs.switching_sheet import switching_csv
from planner.outputs.workbook import WORKBOOK_NAME, plan_workbook

__all__ = ["OPTIONAL", "OUTPUTS", "plan_files"]

# every name a plan set may have; all are claimed before the case is read
OUTPUTS = (
    "plan.json",
    "schedule.csv",
    "plan.md",
    "report.html",
    "switching.csv",
    WORKBOOK_NAME,
    MAP_NAME,
)
# the names a plan set has only sometimes: the map needs geodata for every bus
OPTIONAL = (MAP_NAME,)


def plan_files(case: Any, dispatch: Any) -> dict[str, str | bytes]:
    """Every output of a planned case, named as in `OUTPUTS`, in that order; text as str,
    the workbook as bytes. `map.geojson` is left out when the network has no geodata."""
    plan_json = dispatch.plan.to_json()
    data = json.loads(plan_json)  # the plan as written: non-finite numbers already null
    schedule = to_csv(list(dispatch.fleet_hours))
    switching = switching_csv(dispatch)
    files: dict[str, str | bytes] = {
        "plan.json": plan_json,
        "schedule.csv": schedule,
        "plan.md": crew_orders(case, dispatch),
        "report.html": html_report(case, dispatch),
        "switching.csv": switching,
        WORKBOOK_NAME: plan_workbook(schedule, switching, data),
    }
    geojson = map_geojson(case.network.net, data)
    if geojson is not None:
        files[MAP_NAME] = geojson
    return files
