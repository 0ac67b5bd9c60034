"""The rules and limits a plan was made and checked under, for plan.md and the report.

Everything comes from the checked case (and, for per-bus voltage limits, the network's own
`bus.min_vm_pu` / `bus.max_vm_pu` columns), with units on every number.
"""

from __future__ import annotations

import math

import pandas as pd

from planner.core.plan import Plan
from planner.core.text import for_html, for_markdown
from planner.grid.faults import INVERTER_K
from planner.inputs.case import Case, Fleet, Reserve

__all__ = ["facts", "facts_html", "facts_markdown"]


def _bus_limits(case: Case) -> str:
    """The network's own per-bus voltage limits, where it has them."""
    bus = case.network.net.bus
    found = []
    for column in ("min_vm_pu", "max_vm_pu"):
        if column not in bus.columns:
            continue
        values = pd.to_numeric(bus[column], errors="coerce").dropna()
        values = values[values.map(math.isfinite)]
        if len(values):
            span = (
                f"{values.min():g}"
                if values.min() == values.max()
                else (f"{values.min():g} to {values.max():g}")
            )
            found.append(f"{column} {span} pu on {len(values)} bus(es)")
    if not found:
        return "the network gives no per-bus voltage limits (no min_vm_pu / max_vm_pu)"
    return "the network's own " + ", ".join(found) + " (where tighter, they apply)"


def facts(case: Case) -> list[tuple[str, str]]:
    """(what, value) pairs: reserve rule, loading rules, limits, switching and fuel rules."""
    fleet, limits, rules = case.fleet, case.limits, case.switching
    reserve = (
        "n-1: every truck island keeps one more truck than its load needs, and holds with its "
        "largest truck tripped"
        if fleet.reserve is Reserve.N_1
        else "none: the trucks online carry each island's load, no spare"
    )
    protection = case.protection
    out = [
        ("reserve rule", reserve),
        (
            "min_loading",
            f"{fleet.min_loading * 100:g} % of a truck's rating: as many trucks run as stay "
            "above it (hours where even one is below are listed)",
        ),
        ("trucks", _trucks(fleet)),
        (
            "voltage band",
            f"{limits.vm_min_pu:g} to {limits.vm_max_pu:g} pu; {_bus_limits(case)}",
        ),
        (
            "loading limits",
            f"lines {limits.max_line_loading_percent:g} %, transformers "
            f"{limits.max_trafo_loading_percent:g} %, trucks 100 % of kW and kVA",
        ),
        (
            "design load",
            f"profile {case.loads.profile}, scaling {case.loads.scaling:g}, margin "
            f"{case.loads.margin * 100:g} %{_uncertainty(case)}",
        ),
        (
            "switching",
            f"{rules.step_minutes:g} min per step; closing within dV {rules.sync_max_dv_percent:g}"
            f" %, dθ {rules.sync_max_dtheta_deg:g}°, df {rules.sync_max_df_hz:g} Hz; a switch of "
            f"unknown type is a {rules.device}",
        ),
        (
            "protection",
            f"required: fault current at {protection.delay_s:g} s at least "
            f"{protection.sensitivity:g} x {protection.pickup_a:g} A"
            if protection
            else "not required by the case: fault currents are reported as warnings",
        ),
        (
            "fuel",
            f"{fleet.fuel_l_per_kwh:g} L/kWh, tank {fleet.tank_l:,.0f} L (refuelled before it "
            f"would drop below 10 %), tanker {fleet.tanker_l:,.0f} L",
        ),
    ]
    batteries = [kind for kind in fleet.types if kind.battery]
    if batteries:
        stores = ", ".join(f"{kind.name} {kind.storage_kwh:,.0f} kWh" for kind in batteries)
        out.append(
            (
                "battery trucks",
                f"{stores} each; full at each stage's start and not recharged within it (a "
                "battery is used only where it lasts the stage); no fuel; fault current "
                f"{INVERTER_K:g} x rated (an inverter's, without decay)",
            )
        )
    return out


def _uncertainty(case: Case) -> str:
    """The design load's uncertainty sizing, where the case gives one."""
    loads = case.loads
    if loads.uncertainty_percent <= 0:
        return ""
    return (
        f"; forecast error {loads.uncertainty_percent:g} % (one standard deviation), each "
        f"load sized to its own {loads.quantile:g} quantile where that is above the margin (so "
        "every island's total is at least at its quantile)"
    )


def facts_markdown(case: Case) -> list[str]:
    """plan.md's "Rules and limits" section."""
    out = ["## Rules and limits", ""]
    out += [f"- {what}: {for_markdown(value)}" for what, value in facts(case)]
    return [*out, ""]


def facts_html(case: Case) -> list[str]:
    """The report's "Rules and limits" list."""
    items = "".join(
        f"<li><b>{for_html(what)}</b>: {for_html(value)}</li>" for what, value in facts(case)
    )
    return [f"<h2>Rules and limits</h2><ul>{items}</ul>"]


def _trucks(fleet: Fleet) -> str:
    """The fleet's trucks: one rating, or each type of a mixed fleet (escaped by the caller)."""
    if not fleet.types:
        return (
            f"{fleet.rating_kw:,.0f} kW, power factor {fleet.power_factor:g} "
            f"({fleet.rating_kva:,.0f} kVA), voltage set-point {fleet.vm_setpoint_pu:g} pu, "
            f"set-up {fleet.setup_hours:g} h"
        )
    kinds = "; ".join(
        f"{k.trucks} x {k.name}: {k.rating_kw:,.0f} kW, power factor "
        f"{k.power_factor:g} ({k.rating_kva:,.0f} kVA), voltage set-point {k.vm_setpoint_pu:g} pu"
        for k in fleet.types
    )
    return f"mixed fleet: {kinds}; set-up {fleet.setup_hours:g} h"


def mix_used(plan: Plan) -> str | None:
    """The trucks of each type a mixed fleet's plan uses over the works ("4 x MV-2000,
    1 x LV-800"; escaped by the caller), or None for a single-type fleet."""
    used: dict[str, set[str]] = {}
    for stage in plan.stages:
        for truck in stage.trucks:
            if truck.type is not None:
                used.setdefault(truck.type, set()).add(truck.id)
    if not used:
        return None
    return ", ".join(f"{len(ids)} x {name}" for name, ids in used.items())


def trucks_of(plan: Plan) -> str:
    """What the plan's trucks are: "of 2000 kW (pf 0.8, 2500 kVA)", or a mixed fleet's types
    used (escaped by the caller)."""
    if (mix := mix_used(plan)) is not None:
        return f"of a mixed fleet: {mix}"
    kva = plan.rating_kw / plan.power_factor
    return f"of {plan.rating_kw:g} kW (pf {plan.power_factor:g}, {kva:g} kVA)"
