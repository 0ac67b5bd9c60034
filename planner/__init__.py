"""planner: outage-free relocation of power lines with mobile generator trucks."""

from planner.case import Case, load_case
from planner.dispatch import plan_case
from planner.errors import CaseError, InputError, NetworkError, PlanFileError, PlannerError
from planner.plan import Plan
from planner.validation import Report, validate

__version__ = "0.1.0"

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
