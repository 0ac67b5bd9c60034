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
        ProgrammeError,
        VariantJob,
        case_from_net,
        dask_client,
        fleet_schedule,
        islands,
        load_case,
        load_programme,
        plan_case,
        plan_dispatch,
        plan_files,
        plan_variants,
        planned_net,
        programme_data,
        run_programme,
        schedule,
        sequence,
        validate,
        window_variants,
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
    "ProgrammeError": "planner.api",
    "Report": "planner.checks.validation",
    "VariantJob": "planner.api",
    "case_from_net": "planner.api",
    "dask_client": "planner.api",
    "fleet_schedule": "planner.api",
    "islands": "planner.api",
    "load_case": "planner.api",
    "load_programme": "planner.api",
    "plan_case": "planner.api",
    "plan_dispatch": "planner.api",
    "plan_files": "planner.api",
    "plan_variants": "planner.api",
    "planned_net": "planner.api",
    "programme_data": "planner.api",
    "run_programme": "planner.api",
    "schedule": "planner.api",
    "sequence": "planner.api",
    "validate": "planner.api",
    "window_variants": "planner.api",
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
    "ProgrammeError",
    "Report",
    "VariantJob",
    "__version__",
    "case_from_net",
    "dask_client",
    "fleet_schedule",
    "islands",
    "load_case",
    "load_programme",
    "plan_case",
    "plan_dispatch",
    "plan_files",
    "plan_variants",
    "planned_net",
    "programme_data",
    "run_programme",
    "schedule",
    "sequence",
    "validate",
    "window_variants",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'planner' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
