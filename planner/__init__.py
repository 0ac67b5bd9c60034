"""planner: outage-free relocation of power lines with mobile generator trucks.

The library is `planner.api` (a case from a file or an in-memory pandapower net, planning,
validation, the planned network of a stage, the plan's tables as DataFrames). The names below
are imported when first used, so `planner --help` (and a Ctrl-C during start-up)
does not wait for pandapower, scipy and pandas to load.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from planner.core.version import __version__

if TYPE_CHECKING:
    from planner.api import (
        Dispatch,
        case_from_net,
        fleet_schedule,
        islands,
        load_case,
        plan_case,
        plan_dispatch,
        planned_net,
        schedule,
        sequence,
        validate,
    )
    from planner.checks.validation import Report
    from planner.core.errors import (
        CaseError,
        InputError,
        NetworkError,
        PlanFileError,
        PlannerError,
    )
    from planner.core.plan import Plan
    from planner.inputs.case import Case

_WHERE = {
    "Case": "planner.inputs.case",
    "Dispatch": "planner.api",
    "CaseError": "planner.core.errors",
    "InputError": "planner.core.errors",
    "NetworkError": "planner.core.errors",
    "Plan": "planner.core.plan",
    "PlanFileError": "planner.core.errors",
    "PlannerError": "planner.core.errors",
    "Report": "planner.checks.validation",
    "case_from_net": "planner.api",
    "fleet_schedule": "planner.api",
    "islands": "planner.api",
    "load_case": "planner.api",
    "plan_case": "planner.api",
    "plan_dispatch": "planner.api",
    "planned_net": "planner.api",
    "schedule": "planner.api",
    "sequence": "planner.api",
    "validate": "planner.api",
}

__all__ = [
    "Case",
    "CaseError",
    "Dispatch",
    "InputError",
    "NetworkError",
    "Plan",
    "PlanFileError",
    "PlannerError",
    "Report",
    "__version__",
    "case_from_net",
    "fleet_schedule",
    "islands",
    "load_case",
    "plan_case",
    "plan_dispatch",
    "planned_net",
    "schedule",
    "sequence",
    "validate",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'planner' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
