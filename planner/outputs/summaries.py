"""What `--json` prints: each command's result as one JSON object (schemas in README).

Names are kept as given; the JSON is printed ASCII-only, so no control character or bidi mark
reaches a terminal raw.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from planner.checks.normal_state import NormalFinding
from planner.checks.validation import Report
from planner.core.errors import InputError, PlannerError
from planner.core.plan import Plan
from planner.inputs.case import Case, Fleet

__all__ = ["check_summary", "dumps", "error_summary", "plan_summary", "validate_summary"]


def dumps(data: dict[str, Any] | list[Any]) -> str:
    """Strict JSON: a number that is not finite is null, as in plan.json."""
    return json.dumps(_finite(data), indent=2, ensure_ascii=True, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def check_summary(case: Case, normal: list[NormalFinding] | None = None) -> dict[str, Any]:
    """`check --json`; `normal`: limits broken in the normal state (also among `warnings`)."""
    net, fleet = case.network.net, case.fleet
    return {
        "case": case.name,
        "file": case.file,
        "valid": True,
        "network": {
            "source": case.network.source,
            "buses": len(net.bus),
            "lines": len(net.line),
            "transformers": len(net.trafo),
            "switches": len(net.switch),
            "loads": len(net.load),
        },
        "fleet": {
            "trucks": fleet.trucks,
            "rating_kw": fleet.rating_kw,
            "rating_kva": fleet.rating_kva,
            "reserve": str(fleet.reserve),
            **_types(fleet),
        },
        "connection_points": [{"bus": p.bus.text, "bays": p.bays} for p in case.connection_points],
        "loads": {
            "protected": len(case.loads.protected),
            "total": len(net.load),
            "profile": case.loads.profile,
            "margin": case.loads.margin,
        },
        "stages": [
            {
                "name": s.name,
                "start": s.start.isoformat(),
                "end": s.end.isoformat(),
                "hours": s.hours,
                "out_of_service": [r.text for r in s.out_of_service],
            }
            for s in case.stages
        ],
        "normal_state": [f.as_json() for f in normal or []],
        "warnings": list(case.network_warnings),
    }


def plan_summary(plan: Plan, written: list[Path]) -> dict[str, Any]:
    strict = json.loads(plan.to_json())  # non-finite numbers as plan.json has them: null
    return {
        "case": plan.case_name,
        "feasible": plan.feasible,
        "trucks_used": plan.trucks_used,
        "trucks_available": plan.trucks_available,
        "stages": [
            {
                "name": s.name,
                "passed": s.verification.passed,
                "outage_free": s.outage_free,
                "islands": [
                    {"id": i.id, "supply": str(i.supply), "trucks": list(i.trucks)}
                    for i in s.islands
                ],
                "violations": said["verification"]["violations"],
            }
            for s, said in zip(plan.stages, strict["stages"], strict=True)
        ],
        "summary": strict["summary"],
        "warnings": strict["warnings"],
        "written": [str(p) for p in written],
    }


def validate_summary(report: Report, plan_file: str) -> dict[str, Any]:
    return {
        "plan": plan_file,
        "holds": report.passed,
        "stages": [
            {
                "name": name,
                "passed": v.passed,
                "violations": [x.as_json() for x in v.violations],
            }
            for name, v in report.verifications()
        ],
        "plan_violations": [v.as_json() for v in report.plan_violations],
    }


def error_summary(exc: PlannerError) -> dict[str, Any]:
    """An error as JSON: what kind, the head line, and each problem with its place."""
    if isinstance(exc, InputError):
        return {
            "error": {
                "kind": exc.kind,
                "message": str(exc).partition("\n")[0],
                "problems": [
                    {"file": p.file, "key": p.key, "message": p.message} for p in exc.problems
                ],
            }
        }
    return {"error": {"kind": type(exc).__name__, "message": str(exc), "problems": []}}


def _types(fleet: Fleet) -> dict[str, Any]:
    """An added field for a mixed fleet: its types (nothing for a fleet of one type)."""
    if not fleet.types:
        return {}
    return {
        "types": [
            {
                "name": k.name,
                "trucks": k.trucks,
                "rating_kw": k.rating_kw,
                "rating_kva": k.rating_kva,
            }
            for k in fleet.types
        ]
    }
