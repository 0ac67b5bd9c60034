"""The dispatch plan (`planner.plan/1`): dataclasses that serialise to the spec'd JSON."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from planner.core.refs import ElementRef
from planner.core.switching import Switching

__all__ = [
    "FORMAT",
    "IslandPlan",
    "Plan",
    "StagePlan",
    "Supply",
    "TruckPlan",
    "Verification",
    "Violation",
]

FORMAT = "planner.plan/1"


class Supply(StrEnum):
    """How an island cut off by the works is supplied."""

    GRID = "grid"
    TRANSFER = "transfer"
    TRUCKS = "trucks"
    NONE = "none"


@dataclass(frozen=True)
class Violation:
    """One limit broken, with the element and the numbers."""

    kind: str
    message: str
    element: str = ""
    value: float | None = None
    limit: float | None = None
    island: str = ""
    time: str = ""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "message": self.message}
        for key in ("element", "value", "limit", "island", "time"):
            value = getattr(self, key)
            if value not in ("", None):
                out[key] = value
        return out


@dataclass(frozen=True)
class TruckPlan:
    id: str
    bus: int
    connection_point: str
    island: str
    rating_kw: float
    type: str | None = None  # the [[fleet.types]] name; None for a single-type fleet

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "bus": self.bus,
            "connection_point": self.connection_point,
            "island": self.island,
            "rating_kw": self.rating_kw,
            "type": self.type,
        }


@dataclass(frozen=True)
class IslandPlan:
    id: str
    buses: tuple[int, ...]
    supply: Supply
    design_peak_kw: float
    trucks: tuple[str, ...]
    households: int
    design_peak_kvar: float = 0.0
    protected_kw: float = 0.0
    shed_kw: float = 0.0
    loads: tuple[int, ...] = ()
    tie: ElementRef | None = None
    curtailed_sgen_kw: float = 0.0
    protection: dict[str, Any] | None = None  # truck islands: fault currents against the relays
    dynamic: dict[str, Any] | None = None  # truck islands: the largest sudden load step

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "buses": list(self.buses),
            "supply": str(self.supply),
            "design_peak_kw": round(self.design_peak_kw, 1),
            "trucks": list(self.trucks),
            "households": self.households,
            "design_peak_kvar": round(self.design_peak_kvar, 1),
            "protected_kw": round(self.protected_kw, 1),
            "shed_kw": round(self.shed_kw, 1),
            "loads": list(self.loads),
        }
        if self.tie is not None:
            out["tie"] = self.tie.as_json()
        if self.curtailed_sgen_kw > 0:
            out["curtailed_sgen_kw"] = round(self.curtailed_sgen_kw, 1)
        if self.protection is not None:
            out["protection"] = self.protection
        if self.dynamic is not None:
            out["dynamic"] = self.dynamic
        return out


@dataclass(frozen=True)
class Verification:
    passed: bool
    time_steps: int
    min_vm_pu: float | None
    max_vm_pu: float | None
    max_line_loading_percent: float
    max_trafo_loading_percent: float
    max_truck_loading_percent: float
    unserved_protected_kw: float
    violations: tuple[Violation, ...] = ()
    load_flows: int = 0
    worst: dict[str, Any] = field(default_factory=dict)
    min_loading_not_kept: tuple[str, ...] = ()
    # limits broken only when, and as badly as, the network's normal state breaks them: not
    # counted against the plan, listed so nobody takes them for fine
    preexisting: tuple[Violation, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "time_steps": self.time_steps,
            "min_vm_pu": _round(self.min_vm_pu, 5),
            "max_vm_pu": _round(self.max_vm_pu, 5),
            "max_line_loading_percent": round(self.max_line_loading_percent, 2),
            "max_trafo_loading_percent": round(self.max_trafo_loading_percent, 2),
            "max_truck_loading_percent": round(self.max_truck_loading_percent, 2),
            "unserved_protected_kw": round(self.unserved_protected_kw, 1),
            "violations": [v.as_json() for v in self.violations],
            "load_flows": self.load_flows,
            "worst": self.worst,
            "min_loading_not_kept": list(self.min_loading_not_kept),
            "preexisting": [v.as_json() for v in self.preexisting],
        }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


@dataclass(frozen=True)
class StagePlan:
    name: str
    start: str
    end: str
    out_of_service: tuple[ElementRef, ...]
    switching: Switching
    trucks: tuple[TruckPlan, ...]
    islands: tuple[IslandPlan, ...]
    design_peak_kw: float
    peak_factor: float
    margin: float
    verification: Verification
    schedule: tuple[dict[str, Any], ...] = ()
    sequence: tuple[dict[str, Any], ...] = ()
    notes: tuple[str, ...] = ()
    interruptions: tuple[dict[str, Any], ...] = ()
    daily: str | None = None  # the stage's daily works window ("08:00-18:00"), or round the clock

    @property
    def outage_free(self) -> bool:
        """No protected customer loses supply, in the stage or while switching."""
        return self.verification.passed and not self.interruptions

    def as_json(self) -> dict[str, Any]:
        daily = {} if self.daily is None else {"daily": self.daily}  # an added field
        return {
            "name": self.name,
            "start": self.start,
            "end": self.end,
            **daily,
            "out_of_service": [r.as_json() for r in self.out_of_service],
            "switching": {
                "close": [r.as_json() for r in self.switching.close],
                "open": [r.as_json() for r in self.switching.open],
                "in_service": [r.as_json() for r in self.switching.in_service],
            },
            "trucks": [t.as_json() for t in self.trucks],
            "islands": [i.as_json() for i in self.islands],
            "demand": {
                "design_peak_kw": round(self.design_peak_kw, 1),
                "peak_factor": round(self.peak_factor, 4),
                "margin": self.margin,
            },
            "verification": self.verification.as_json(),
            "schedule": list(self.schedule),
            "sequence": list(self.sequence),
            "interruptions": list(self.interruptions),
            "outage_free": self.outage_free,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Plan:
    planner_version: str
    case_name: str
    case_file: str
    network: str
    feasible: bool
    trucks_available: int
    trucks_used: int
    rating_kw: float
    power_factor: float
    stages: tuple[StagePlan, ...]
    case_sha256: str = ""
    network_sha256: str = ""
    profile_sha256: str = ""  # the case's CSV profile file; "" without one (then not written)
    summary: dict[str, Any] = field(default_factory=dict)
    refuelling: tuple[dict[str, Any], ...] = ()
    warnings: tuple[str, ...] = ()
    # a mixed fleet's types (an added field, only with [[fleet.types]]): name, trucks, used, ...
    fleet_types: tuple[dict[str, Any], ...] = ()

    def as_json(self) -> dict[str, Any]:
        case: dict[str, Any] = {
            "name": self.case_name,
            "file": self.case_file,
            "network": self.network,
            "sha256": self.case_sha256,
            "network_sha256": self.network_sha256,
        }
        if self.profile_sha256:
            case["profile_sha256"] = self.profile_sha256
        return {
            "format": FORMAT,
            "planner_version": self.planner_version,
            "case": case,
            "feasible": self.feasible,
            "fleet": {
                "trucks_available": self.trucks_available,
                "trucks_used": self.trucks_used,
                "rating_kw": self.rating_kw,
                "power_factor": self.power_factor,
                **({"types": [dict(t) for t in self.fleet_types]} if self.fleet_types else {}),
            },
            "stages": [s.as_json() for s in self.stages],
            "summary": self.summary,
            "refuelling": list(self.refuelling),
            "warnings": list(self.warnings),
        }

    def to_json(self) -> str:
        """plan.json's text: strict JSON, so a number that is not finite (a load flow's NaN,
        an infinite loading) is written as null and named in `warnings`."""
        data = self.as_json()
        found: list[tuple[str, float]] = []
        data = _finite(data, "", found)
        data["warnings"] += [
            f"{key} was {value!r}, not a finite number: written as null" for key, value in found
        ]
        return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _finite(value: Any, key: str, found: list[tuple[str, float]]) -> Any:
    """`value` with every float that is not finite replaced by None; `found` gets its key."""
    if isinstance(value, float) and not math.isfinite(value):
        found.append((key, value))
        return None
    if isinstance(value, dict):
        return {k: _finite(v, f"{key}.{k}" if key else str(k), found) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v, f"{key}[{i}]", found) for i, v in enumerate(value)]
    return value
