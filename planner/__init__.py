"""planner: outage-free relocation of power lines with mobile generator trucks."""

from planner.checks.validation import Report, validate
from planner.core.errors import CaseError, InputError, NetworkError, PlanFileError, PlannerError
from planner.core.plan import Plan
from planner.core.version import __version__
from planner.dispatch.pipeline import plan_case
from planner.inputs.case import Case
from planner.inputs.case_file import load_case

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
