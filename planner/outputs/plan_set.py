"""The files of one plan set, by name: what `plan` writes to `--out` (and the library returns)."""

from __future__ import annotations

from typing import Any

from planner.dispatch.schedule import to_csv
from planner.outputs.reports import crew_orders, html_report
from planner.outputs.switching_sheet import switching_csv

__all__ = ["OUTPUTS", "plan_files"]

OUTPUTS = ("plan.json", "schedule.csv", "plan.md", "report.html", "switching.csv")


def plan_files(case: Any, dispatch: Any) -> dict[str, str]:
    """Every output of a planned case, named as in `OUTPUTS`, in that order."""
    return {
        "plan.json": dispatch.plan.to_json(),
        "schedule.csv": to_csv(list(dispatch.fleet_hours)),
        "plan.md": crew_orders(case, dispatch),
        "report.html": html_report(case, dispatch),
        "switching.csv": switching_csv(dispatch),
    }
