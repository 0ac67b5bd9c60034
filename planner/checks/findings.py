"""What a stage's checks found, beyond the load flows' limits: fleet and bay rules, unserved load,
and the stage result (islands, trucks, verification) assembled from the findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from planner.checks.islands import Island, StageSetup
from planner.core.plan import IslandPlan, Supply, TruckPlan, Verification, Violation
from planner.core.refs import ref_for
from planner.grid.context import StageContext
from planner.grid.limits import TOL, Findings
from planner.grid.powerflow import TruckAt
from planner.inputs.case import Fleet
from planner.inputs.demand import StepGroup

__all__ = [
    "HourResult",
    "StageCheck",
    "check_fleet",
    "check_unserved",
    "check_works",
    "stage_result",
]


@dataclass(frozen=True)
class HourResult:
    """One hour of a stage: trucks online and their output, island loads, voltage range, and
    each battery truck's energy left at its end."""

    time: datetime
    online: tuple[str, ...]
    truck_kw: dict[str, float]
    truck_kvar: dict[str, float]
    island_load_kw: dict[str, float]
    island_losses_kw: dict[str, float]
    min_vm_pu: float
    max_vm_pu: float
    battery_kwh: dict[str, float] = field(default_factory=dict)  # battery trucks' energy left


@dataclass
class StageCheck:
    """A stage set-up verified: its islands and trucks, the verdict, and every hour solved."""

    islands: list[IslandPlan]
    trucks: list[TruckPlan]
    verification: Verification
    hours: list[HourResult] = field(default_factory=list)
    setup: StageSetup = field(default_factory=StageSetup)


def check_fleet(ctx: StageContext, setup: StageSetup, f: Findings) -> None:
    """Fleet rules of a set-up: no more trucks than the fleet, unique ids, the fleet's rating,
    MV trucks only at connection points and within their bays (LV trucks: `check_lv_trucks`)."""
    case = ctx.case
    fleet = case.fleet
    if len(setup.trucks) > fleet.trucks:
        message = f"{len(setup.trucks)} trucks placed, the fleet has {fleet.trucks}"
        f.add(Violation("fleet", message, value=len(setup.trucks), limit=fleet.trucks))
    per_bus: dict[int, int] = {}
    seen_ids: set[str] = set()
    for truck in setup.trucks:
        if truck.id in seen_ids:
            f.add(Violation("truck_id", f"truck id {truck.id} is used twice", truck.id))
        seen_ids.add(truck.id)
        if fleet.machine(truck.id, truck.kind).connects != "lv":  # LV: `checks.lv_trucks`
            per_bus[truck.bus] = per_bus.get(truck.bus, 0) + 1
        if fleet.types:
            _check_type(fleet, truck, f)
        elif abs(truck.rating_kw - fleet.rating_kw) > TOL:
            message = (
                f"truck {truck.id} is rated {truck.rating_kw:g} kW, "
                f"the fleet's trucks {fleet.rating_kw:g} kW"
            )
            f.add(Violation("truck_rating", message, truck.id, truck.rating_kw, fleet.rating_kw))
    for bus, count in sorted(per_bus.items()):
        bays = case.bays_at(bus)
        ref = ref_for(ctx.base_net, "bus", bus).text
        if bays == 0:
            message = f"{ref} is not a connection point: no bay for {count} truck(s)"
            f.add(Violation("no_bay", message, ref, count, 0))
        elif count > bays:
            message = f"{ref} has {bays} bay(s), {count} trucks placed"
            f.add(Violation("bays", message, ref, count, bays))


def _check_type(fleet: Fleet, truck: TruckAt, f: Findings) -> None:
    """A truck of a mixed fleet: one of its trucks, with its type's ratings."""
    kind = fleet.type_of(truck.id)
    if kind is None:
        known = ", ".join(
            f"{k.name}-1" + (f"..{k.name}-{k.trucks}" if k.trucks > 1 else "")
            for k in fleet.types
            if k.trucks
        )
        message = f"truck {truck.id} is not a truck of the fleet (its trucks: {known or 'none'})"
        f.add(Violation("truck_id", message, truck.id))
        return
    if abs(truck.rating_kw - kind.rating_kw) > TOL or abs(truck.rating_kva - kind.rating_kva) > TOL:
        message = (
            f"truck {truck.id} is rated {truck.rating_kw:g} kW / {truck.rating_kva:g} kVA, "
            f"its type {kind.name} {kind.rating_kw:g} kW / {kind.rating_kva:g} kVA"
        )
        f.add(Violation("truck_rating", message, truck.id, truck.rating_kw, kind.rating_kw))


_SWITCH_ELEMENT_TABLE = {"l": "line", "t": "trafo", "t3": "trafo3w", "b": "bus"}


def check_works(ctx: StageContext, setup: StageSetup, f: Findings) -> None:
    """The works stay dead: the switching may not close or put back in service an element the
    stage takes out, nor close a switch onto one (its isolating point)."""
    works = {(r.table, r.index): r for r in ctx.stage.out_of_service}
    switch = ctx.base_net.switch
    for ref in (*setup.switching.close, *setup.switching.in_service):
        hit = works.get((ref.table, ref.index))
        if hit is None and ref.table == "switch" and ref.index in switch.index:
            row = switch.loc[ref.index]
            table = _SWITCH_ELEMENT_TABLE.get(str(row["et"]), "")
            hit = works.get((table, int(row["element"]))) or works.get(("bus", int(row["bus"])))
        if hit is None:
            continue
        if (hit.table, hit.index) == (ref.table, ref.index):
            message = f"the switching re-energises {ref.text}, which the works take out"
        else:
            message = f"the switching closes {ref.text} onto {hit.text}, which the works take out"
        f.add(Violation("works_energised", message, ref.text))


def check_unserved(ctx: StageContext, island: Island, group: StepGroup, findings: Findings) -> None:
    """Protected load of an island nobody supplies, at one load state."""
    p_kw, _ = ctx.load_kw(island.served, group)
    findings.unserved_kw = max(findings.unserved_kw, p_kw)
    if p_kw > TOL:
        message = (
            f"island {island.id} ({len(island.buses)} buses): "
            f"{p_kw:,.0f} kW of protected load has no supply"
        )
        when = group.times[0].isoformat()
        findings.add(
            Violation(
                "unserved", message, island=island.id, value=round(p_kw, 1), limit=0.0, time=when
            )
        )


def stage_result(
    ctx, setup, islands: list[Island], findings: Findings, hours, assessed=None
) -> StageCheck:
    """The stage's islands, trucks and verification, assembled from what the checks found;
    `assessed`: island id -> (protection, dynamic) of its truck islands."""
    assessed = assessed or {}
    plans = []
    for island in islands:
        loads = ctx.loads_on(island.buses)
        protected = [i for i in loads if i in ctx.protected]
        supplied = island.kind is not Supply.NONE
        p_kw, q_kvar = ctx.peak_kw(island.served)
        all_kw, _ = ctx.peak_kw(loads)
        plans.append(
            IslandPlan(
                id=island.id,
                buses=tuple(sorted(island.buses)),
                supply=island.kind,
                design_peak_kw=p_kw,
                trucks=tuple(t.id for t in island.trucks),
                households=ctx.households(island.served if supplied else []),
                design_peak_kvar=q_kvar,
                protected_kw=ctx.peak_kw(protected)[0],
                shed_kw=max(all_kw - p_kw, 0.0) if supplied else all_kw,
                loads=tuple(loads),
                curtailed_sgen_kw=island.curtailed_kw,
                protection=assessed.get(island.id, (None, None))[0],
                dynamic=assessed.get(island.id, (None, None))[1],
            )
        )
    truck_island = {t.id: isl.id for isl in islands for t in isl.trucks}
    trucks = [
        TruckPlan(
            t.id,
            t.bus,
            ref_for(ctx.base_net, "bus", t.bus).text,
            truck_island.get(t.id, ""),
            t.rating_kw,
            ctx.case.fleet.machine(t.id, t.kind).name if ctx.case.fleet.types else None,
        )
        for t in setup.trucks
    ]
    violations = findings.sorted_violations()
    f = findings
    verification = Verification(
        passed=not violations,
        time_steps=len(ctx.demand.times),
        min_vm_pu=f.min_vm.value if f.min_vm else None,
        max_vm_pu=f.max_vm.value if f.max_vm else None,
        max_line_loading_percent=f.max_line.value if f.max_line else 0.0,
        max_trafo_loading_percent=f.max_trafo.value if f.max_trafo else 0.0,
        max_truck_loading_percent=f.max_truck.value if f.max_truck else 0.0,
        unserved_protected_kw=f.unserved_kw,
        violations=violations,
        load_flows=f.load_flows,
        worst=f.worst_json(),
        min_loading_not_kept=tuple(sorted(set(f.min_loading_hours))),
        preexisting=tuple(sorted(f.preexisting.values(), key=lambda v: (v.kind, v.element))),
    )
    return StageCheck(
        islands=plans,
        trucks=trucks,
        verification=verification,
        hours=hours,
        setup=setup,
    )
