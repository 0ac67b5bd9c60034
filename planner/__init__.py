"""planner: outage-free relocation of power lines with mobile generator trucks.

The names below are imported when first used, so `planner --help` (and a Ctrl-C during start-up)
does not wait for pandapower, scipy and pandas to load.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from planner.core.version import __version__

if TYPE_CHECKING:
    from planner.checks.validation import Report, validate
    from planner.core.errors import (
        CaseError,
        InputError,
        NetworkError,
        PlanFileError,
        PlannerError,
    )
    from planner.core.plan import Plan
    from planner.dispatch.pipeline import plan_case
    from planner.inputs.case import Case
    from planner.inputs.case_file import load_case

_WHERE = {
    "Case": "planner.inputs.case",
    "CaseError": "planner.core.errors",
    "InputError": "planner.core.errors",
    "NetworkError": "planner.core.errors",
    "Plan": "planner.core.plan",
    "PlanFileError": "planner.core.errors",
    "PlannerError": "planner.core.errors",
    "Report": "planner.checks.validation",
    "load_case": "planner.inputs.case_file",
    "plan_case": "planner.dispatch.pipeline",
    "validate": "planner.checks.validation",
}

__all__ = [
    "Case",
    "CaseError",
    "InputError",
    "NetworkError",
    "Plan",
    "PlanFileError",
    "PlannerError",
    "Report",
    "__version__",
    "load_case",
    "plan_case",
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
