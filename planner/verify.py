"""AC verification of one stage set-up (switching + truck positions) at the design load.

Used by the planner inside its plan-verify loop and by `planner validate` on plans from anywhere:
the islands, their supply and every limit are derived here from the network state alone, never
taken from what a plan claims. Every hour of the stage is checked (hours with the same load state
are solved once), with the trucks the hourly commitment runs.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import pandapower as pp

from planner.case import Reserve, SgenMode
from planner.commitment import online_count
from planner.context import StageContext, set_design_loads
from planner.demand import StepGroup
from planner.limits import TOL, Findings
from planner.plan import IslandPlan, Supply, TruckPlan, Verification, Violation
from planner.powerflow import TruckAt, prepare_island, solve_grid, solve_island
from planner.refs import ref_for
from planner.state import Switching, apply_switching
from planner.topology import build_graph, cyclomatic, energised_buses, islands_of

__all__ = ["HourResult", "StageCheck", "StageSetup", "check_stage"]


@dataclass(frozen=True)
class StageSetup:
    """What a plan decides for one stage."""

    switching: Switching = field(default_factory=Switching)
    trucks: tuple[TruckAt, ...] = ()


@dataclass(frozen=True)
class HourResult:
    """One hour of a stage: trucks online and their output, island loads, voltage range."""

    time: datetime
    online: tuple[str, ...]
    truck_kw: dict[str, float]
    truck_kvar: dict[str, float]
    island_load_kw: dict[str, float]
    island_losses_kw: dict[str, float]
    min_vm_pu: float
    max_vm_pu: float


@dataclass
class StageCheck:
    islands: list[IslandPlan]
    trucks: list[TruckPlan]
    verification: Verification
    hours: list[HourResult] = field(default_factory=list)
    worst: dict[str, dict] = field(default_factory=dict)
    min_loading_hours: list[str] = field(default_factory=list)
    setup: StageSetup = field(default_factory=StageSetup)
    island_buses: dict[str, frozenset[int]] = field(default_factory=dict)


@dataclass
class _Island:
    id: str
    buses: frozenset[int]
    kind: Supply
    trucks: list[TruckAt] = field(default_factory=list)
    served: list[int] = field(default_factory=list)
    net: pp.pandapowerNet | None = None


def _classify(ctx: StageContext, setup: StageSetup, findings: Findings):
    """The state's graph, grid-fed buses and islands, with each truck put in its island."""
    net = copy.deepcopy(ctx.works_net)
    apply_switching(net, setup.switching)
    graph = build_graph(net)
    grid = energised_buses(graph)
    transferred = grid - ctx.works_energised
    parts = [(b, Supply.TRANSFER) for b in islands_of(graph, transferred)]
    parts += [(b, Supply.NONE) for b in islands_of(graph, ctx.base_energised - grid)]
    parts.sort(key=lambda item: min(item[0]))
    islands = [_Island(f"I{k + 1}", buses, kind) for k, (buses, kind) in enumerate(parts)]
    where = {b: isl for isl in islands for b in isl.buses}
    for truck in setup.trucks:
        ref = ref_for(ctx.base_net, "bus", truck.bus).text
        island = where.get(truck.bus)
        if truck.bus in grid:
            message = (
                f"truck {truck.id} at {ref} is on a bus the grid still supplies "
                "(trucks carry islands only)"
            )
            findings.add(Violation("truck_on_grid", message, ref))
        elif island is None or island.kind is Supply.TRANSFER:
            message = f"truck {truck.id} at {ref} is not inside an island cut off by the works"
            findings.add(Violation("truck_dead_bus", message, ref))
        else:
            island.trucks.append(truck)
    energised = set(grid)
    for island in islands:
        if island.trucks:
            island.kind = Supply.TRUCKS
            energised |= island.buses
        loads = ctx.loads_on(island.buses)
        island.served = (
            loads if island.kind is Supply.TRANSFER else [i for i in loads if i in ctx.protected]
        )
    extra_loops = cyclomatic(graph, energised) - cyclomatic(ctx.base_graph, energised)
    if extra_loops > 0:
        message = (
            f"the switching closes {extra_loops} loop(s) that the normal network does not have"
        )
        findings.add(Violation("not_radial", message, value=extra_loops, limit=0))
    return net, grid, islands


def check_stage(
    ctx: StageContext,
    setup: StageSetup,
    *,
    progress: Callable[[int], None] | None = None,
) -> StageCheck:
    """Verify `setup` for every hour of the stage; derive islands and supply from the state."""
    case = ctx.case
    fleet = case.fleet
    n_1 = fleet.reserve == Reserve.N_1
    findings = Findings(ctx.base_net, case.limits)
    net, grid, islands = _classify(ctx, setup, findings)
    _check_fleet(ctx, setup, findings)
    keep_sgen = case.islanded_sgen == SgenMode.KEEP
    for island in islands:
        if island.trucks:
            shed = set(ctx.loads_on(island.buses)) - set(island.served)
            island.net = prepare_island(
                net, island.buses, island.trucks, fleet.vm_setpoint_pu, keep_sgen, shed
            )
    hours: list[HourResult] = []
    for group in ctx.demand.groups:
        when = group.times[0].isoformat()
        set_design_loads(net, ctx, group)
        sol = solve_grid(net, grid)
        findings.load_flows += 1
        vms = list(sol.vm_pu.values())
        if not sol.converged:
            message = f"grid part at {when}: {sol.error}"
            findings.add(Violation("not_converged", message, time=when))
        else:
            findings.check(sol, "grid", when)
        online: list[str] = []
        truck_kw: dict[str, float] = {}
        truck_kvar: dict[str, float] = {}
        loads_kw: dict[str, float] = {}
        losses_kw: dict[str, float] = {}
        for island in islands:
            if island.trucks:
                result = _run_island(ctx, island, group, findings, n_1)
                if result is not None:
                    online += result[0]
                    truck_kw |= result[1]
                    truck_kvar |= result[2]
                    vms += result[3]
                    loads_kw[island.id] = ctx.load_kw(island.served, group)[0]
                    losses_kw[island.id] = sum(result[1].values()) - loads_kw[island.id]
            elif island.kind is Supply.NONE:
                _unserved(ctx, island, group, findings)
        for t in group.times:
            hours.append(
                HourResult(
                    t,
                    tuple(online),
                    truck_kw,
                    truck_kvar,
                    loads_kw,
                    losses_kw,
                    min(vms, default=math.nan),
                    max(vms, default=math.nan),
                )
            )
        if progress:
            progress(len(group.times))
    if n_1:
        for island in islands:
            if island.trucks:
                _check_n_1(ctx, net, island, findings)
    hours.sort(key=lambda h: h.time)
    return _result(ctx, setup, islands, findings, hours)


def _run_island(ctx, island: _Island, group: StepGroup, findings: Findings, n_1: bool):
    """Commit trucks for this hour, solve, and check; returns online ids, kW, kvar, voltages."""
    fleet = ctx.case.fleet
    when = group.times[0].isoformat()
    sub = island.net
    set_design_loads(sub, ctx, group)
    p_kw, q_kvar = ctx.load_kw(island.served, group)
    count, kept = online_count(
        math.hypot(p_kw, q_kvar), len(island.trucks), fleet.rating_kva, fleet.min_loading, n_1
    )
    if not kept:
        findings.min_loading_hours.extend(t.isoformat() for t in group.times)
    while True:
        online = island.trucks[:count]
        sol = solve_island(sub, online)
        findings.load_flows += 1
        loadings = sol.truck_loading_percent(online) if sol.converged else {}
        overloaded = any(v > 100.0 + TOL for v in loadings.values())
        if (sol.converged and not overloaded) or count >= len(island.trucks):
            break
        count += 1  # losses pushed the online trucks over their rating: start one more
    if not sol.converged:
        message = f"island {island.id} at {when}: {sol.error} with {len(online)} truck(s) online"
        findings.add(Violation("not_converged", message, island=island.id, time=when))
        return None
    findings.check(sol, f"island {island.id}", when, island.id)
    for truck_id, loading in loadings.items():
        findings.observe_truck(truck_id, loading, island.id, when)
    return (
        [t.id for t in online],
        dict(sol.truck_p_kw or {}),
        dict(sol.truck_q_kvar or {}),
        list(sol.vm_pu.values()),
    )


def _unserved(ctx: StageContext, island: _Island, group: StepGroup, findings: Findings) -> None:
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


def _check_n_1(ctx: StageContext, net: pp.pandapowerNet, island: _Island, f: Findings) -> None:
    """The island with its largest truck tripped, at the island's peak hour."""
    fleet = ctx.case.fleet
    trucks = island.trucks
    peak = max(ctx.demand.groups, key=lambda g: ctx.load_kw(island.served, g)[0])
    when = peak.times[0].isoformat()
    if len(trucks) < 2:
        message = f"island {island.id}: n-1 reserve needs at least 2 trucks, has {len(trucks)}"
        f.add(Violation("reserve", message, island=island.id, value=len(trucks), limit=2))
        return
    largest = max(t.rating_kva for t in trucks)
    tried = set()
    for gone in trucks:
        if gone.rating_kva < largest or gone.bus in tried:
            continue
        tried.add(gone.bus)
        rest = [t for t in trucks if t is not gone]
        shed = set(ctx.loads_on(island.buses)) - set(island.served)
        keep = ctx.case.islanded_sgen == SgenMode.KEEP
        sub = prepare_island(net, island.buses, rest, fleet.vm_setpoint_pu, keep, shed)
        set_design_loads(sub, ctx, peak)
        sol = solve_island(sub, rest)
        f.load_flows += 1
        label = f"island {island.id} with truck {gone.id} tripped"
        if not sol.converged:
            f.add(
                Violation("reserve", f"{label}: {sol.error}", gone.id, island=island.id, time=when)
            )
            continue
        for truck_id, loading in sol.truck_loading_percent(rest).items():
            if loading > 100.0 + TOL:
                message = f"{label}: truck {truck_id} at {loading:.1f} % of its kVA rating"
                f.add(
                    Violation(
                        "reserve", message, truck_id, round(loading, 2), 100.0, island.id, when
                    )
                )
        scratch = Findings(f.net, f.limits)
        scratch.check(sol, label, when, island.id)
        for v in scratch.violations.values():
            f.add(Violation("reserve", v.message, v.element, v.value, v.limit, island.id, when))


def _check_fleet(ctx: StageContext, setup: StageSetup, f: Findings) -> None:
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
        per_bus[truck.bus] = per_bus.get(truck.bus, 0) + 1
        if abs(truck.rating_kw - fleet.rating_kw) > TOL:
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


def _result(ctx, setup, islands: list[_Island], findings: Findings, hours) -> StageCheck:
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
    )
    return StageCheck(
        islands=plans,
        trucks=trucks,
        verification=verification,
        hours=hours,
        worst=f.worst_json(),
        min_loading_hours=sorted(set(f.min_loading_hours)),
        setup=setup,
        island_buses={isl.id: isl.buses for isl in islands},
    )
