"""What the commands print to the terminal, as lines (the CLI escapes and prints them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from planner.outputs.benefit import benefit_text
from planner.outputs.costs import costs_text
from planner.outputs.facts import mix_used
from planner.outputs.optimality import optimality_text
from planner.outputs.risk import risk_text

__all__ = ["plan_lines", "verification_lines"]


def verification_lines(name: str, v: Any) -> list[str]:
    """A stage's verification: verdict, extremes, where the worst values are, violations."""
    out: list[str] = []
    status = "passed" if v.passed else "FAILED"
    vm = f"vm {v.min_vm_pu:.3f}-{v.max_vm_pu:.3f} pu" if v.min_vm_pu is not None else "vm n/a"
    out.append(
        f"  {name}: {status}; {v.time_steps} time steps; {vm}; "
        f"line {v.max_line_loading_percent:.0f} %; "
        f"trafo {v.max_trafo_loading_percent:.0f} %; trucks "
        f"{v.max_truck_loading_percent:.0f} %"
    )
    worst = v.worst
    parts = []
    for key, label, unit in (
        ("min_vm", "lowest voltage", "pu"),
        ("max_line", "line", "%"),
        ("max_truck", "truck", "%"),
    ):
        if key in worst and (key != "max_truck" or worst[key]["value"] > 0):
            w = worst[key]
            value = f"{w['value']:.3f} pu" if unit == "pu" else f"{w['value']:.1f} %"
            parts.append(f"{label} {value} at {w['element']} ({w['time'][:16]})")
    if parts:
        out.append(f"    worst: {'; '.join(parts)}")
    for violation in v.violations:
        out.append(f"    - {violation.message}")
    known = list(getattr(v, "preexisting", ()))
    for k in known[:5]:
        out.append(f"    - broken as in the normal state (not counted): {k.message}")
    if len(known) > 5:
        out.append(f"    - and {len(known) - 5} more broken as in the normal state (plan.md)")
    return out


def plan_lines(name: str, result: Any, written: list[Path]) -> list[str]:
    """What `planner plan` prints: per stage its islands, verification and interruptions; the
    totals, benefit, costs and how good the truck count is; the files written."""
    out: list[str] = []
    out.append(
        f"plan for {name!r}: {'feasible' if result.feasible else 'INFEASIBLE'}, "
        f"{result.trucks_used} of {result.trucks_available} trucks used"
        + ("" if (mix := mix_used(result)) is None else f" ({mix})")
    )
    for stage in result.stages:
        supplies = ", ".join(
            f"{i.id} {i.supply}"
            + (f" ({len(i.trucks)} truck{'s' if len(i.trucks) != 1 else ''})" if i.trucks else "")
            for i in stage.islands
        )
        out.append(f"  {stage.name}: {supplies or 'nothing cut off'}")
        out += verification_lines("verification", stage.verification)
        for island in stage.islands:
            found = (island.protection or {}).get("violations", [])
            if found and (island.protection or {}).get("passed") is None:
                for text in found:  # no [protection] in the case: figures given as warnings
                    out.append(f"    warning: island {island.id} protection: {text}")
        for cut in stage.interruptions:
            out.append(
                f"    NOT OUTAGE-FREE: switching step {cut['step']} interrupts "
                f"{cut['kw']:,.0f} kW of protected load for {cut['minutes']:g} min "
                "(break-before-make: no device can synchronise here, or make-before-break "
                "breaks a limit)"
            )
    s = result.summary
    out.append(
        f"  households kept supplied {s['households_kept_supplied']:,}, truck energy "
        f"{s['truck_energy_kwh']:,.0f} kWh, fuel {s['fuel_l']:,.0f} L"
    )
    out.append(f"  benefit: {benefit_text(s)}")
    if (cost := costs_text(s)) is not None:
        out.append(f"  costs: {cost}")
    if (risk := risk_text(s)) is not None:
        out.append(f"  risk: {risk}")
    out.append(f"  trucks: {optimality_text(s['optimality'], result.trucks_used)}")
    for warning in result.warnings:
        out.append(f"  warning: {warning}")
    for path in written:
        out.append(f"wrote {path}")
    if written and "map.geojson" not in {path.name for path in written}:
        out.append("no map.geojson: the network has no geodata for every bus")
    return out
