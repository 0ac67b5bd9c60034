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

import numpy as np
import pandapower as pp
import pandas as pd

from planner.case import Reserve, SgenMode
from planner.commitment import online_count
from planner.context import StageContext, set_design_loads
from planner.demand import StepGroup
from planner.engine import BatchModel, Unsupported
from planner.limits import TOL, Findings
from planner.plan import IslandPlan, Supply, TruckPlan, Verification, Violation
from planner.powerflow import TruckAt, island_model, prepare_island, solve_grid, solve_island
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
    setup: StageSetup = field(default_factory=StageSetup)


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
    groups = list(ctx.demand.groups)
    whens = [g.times[0].isoformat() for g in groups]
    grid_vm = _grid(ctx, net, grid, groups, whens, findings)
    runs = {
        isl.id: _island(ctx, isl, groups, whens, findings, n_1) for isl in islands if isl.trucks
    }
    hours: list[HourResult] = []
    for k, group in enumerate(groups):
        vms = list(grid_vm[k])
        online: list[str] = []
        truck_kw: dict[str, float] = {}
        truck_kvar: dict[str, float] = {}
        loads_kw: dict[str, float] = {}
        losses_kw: dict[str, float] = {}
        for island in islands:
            if island.trucks:
                result = runs[island.id][k]
                if result is not None:
                    online += result.online
                    truck_kw |= result.p_kw
                    truck_kvar |= result.q_kvar
                    vms += [result.vm_min, result.vm_max]
                    loads_kw[island.id] = ctx.load_kw(island.served, group)[0]
                    losses_kw[island.id] = sum(result.p_kw.values()) - loads_kw[island.id]
            elif island.kind is Supply.NONE:
                _unserved(ctx, island, group, findings)
        vms = [v for v in vms if not math.isnan(v)]
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
                counts = [len(h.online) if h else len(island.trucks) for h in runs[island.id]]
                _check_n_1(ctx, net, island, findings, counts)
    hours.sort(key=lambda h: h.time)
    return _result(ctx, setup, islands, findings, hours)


@dataclass(frozen=True)
class _IslandHour:
    online: list[str]
    p_kw: dict[str, float]
    q_kvar: dict[str, float]
    vm_min: float
    vm_max: float


def _loads_array(net: pp.pandapowerNet, ctx: StageContext, groups: list[StepGroup]):
    pos = pd.Index(ctx.demand.loads).get_indexer(net.load.index)
    p = np.array([g.p_mw[pos] for g in groups])
    q = np.array([g.q_mvar[pos] for g in groups])
    return p, q


def _grid(ctx, net, grid, groups, whens, findings: Findings) -> list[tuple[float, float]]:
    """Grid-connected part at every load state: the batched engine, else pandapower per state."""
    set_design_loads(net, ctx, groups[0])
    try:
        model = BatchModel(copy.deepcopy(net))
    except Unsupported:
        model = None
    out: list[tuple[float, float]] = [(math.nan, math.nan)] * len(groups)
    todo = list(range(len(groups)))
    if model is not None:
        p, q = _loads_array(net, ctx, groups)
        res = model.solve(p, q)
        findings.load_flows += len(groups)
        ok = np.nonzero(res.converged)[0].tolist()
        findings.check_result(model, res, ok, [whens[k] for k in ok], "grid")
        for k in ok:
            vm = res.vm_pu[k]
            out[k] = (float(vm.min(initial=math.inf)), float(vm.max(initial=-math.inf)))
        todo = [k for k in todo if not res.converged[k]]
    for k in todo:  # pandapower's Newton-Raphson where the engine does not apply or converge
        set_design_loads(net, ctx, groups[k])
        sol = solve_grid(net, grid)
        findings.load_flows += 1
        if not sol.converged:
            message = f"grid part at {whens[k]}: {sol.error}"
            findings.add(Violation("not_converged", message, time=whens[k]))
            continue
        findings.check(sol, "grid", whens[k])
        vms = list(sol.vm_pu.values())
        out[k] = (min(vms, default=math.nan), max(vms, default=math.nan))
    return out


def _island(ctx, island: _Island, groups, whens, findings: Findings, n_1: bool):
    """A truck island at every load state, with the hourly commitment of its trucks."""
    fleet = ctx.case.fleet
    trucks = island.trucks
    counts = []
    for group in groups:
        p_kw, q_kvar = ctx.load_kw(island.served, group)
        count, kept = online_count(
            math.hypot(p_kw, q_kvar), len(trucks), fleet.rating_kva, fleet.min_loading, n_1
        )
        if not kept:
            findings.min_loading_hours.extend(t.isoformat() for t in group.times)
        counts.append(count)
    sub = island.net
    assert sub is not None
    set_design_loads(sub, ctx, groups[0])
    model = island_model(sub, trucks)
    out: list[_IslandHour | None] = [None] * len(groups)
    todo = list(range(len(groups)))
    if model is not None:
        p, q = _loads_array(sub, ctx, groups)
        shares = np.array([t.rating_kva for t in trucks])
        pending = todo
        while pending:
            online = np.array(
                [[j < counts[k] - 1 for j in range(len(trucks) - 1)] for k in pending]
            ).reshape(len(pending), len(trucks) - 1)
            res = model.solve(p[pending], q[pending], online, shares)
            findings.load_flows += len(pending)
            retry = []
            for row, k in enumerate(pending):
                if not res.converged[row]:
                    continue
                on = trucks[: counts[k]]
                p_kw = {trucks[0].id: float(res.slack_p_mw[row, 0]) * 1000}
                q_kvar = {trucks[0].id: float(res.slack_q_mvar[row, 0]) * 1000}
                for j, t in enumerate(trucks[1 : counts[k]]):
                    p_kw[t.id] = float(res.truck_p_mw[row, j]) * 1000
                    q_kvar[t.id] = float(res.truck_q_mvar[row, j]) * 1000
                loading = {
                    t.id: math.hypot(p_kw[t.id], q_kvar[t.id]) / t.rating_kva * 100 for t in on
                }
                if max(loading.values()) > 100.0 + TOL and counts[k] < len(trucks):
                    counts[k] += 1  # losses pushed the online trucks over their rating
                    retry.append(k)
                    continue
                vm = res.vm_pu[row]
                findings.check_result(
                    model, res, [row], [whens[k]], f"island {island.id}", island.id
                )
                for truck_id, value in loading.items():
                    findings.observe_truck(truck_id, value, island.id, whens[k])
                out[k] = _IslandHour(
                    [t.id for t in on], p_kw, q_kvar, float(vm.min()), float(vm.max())
                )
            pending = retry
        todo = [k for k in todo if out[k] is None]
    for k in todo:
        out[k] = _island_step(ctx, island, groups[k], whens[k], counts[k], findings)
    return out


def _island_step(
    ctx, island: _Island, group: StepGroup, when: str, count: int, findings: Findings
) -> _IslandHour | None:
    """One load state of a truck island with pandapower (the engine's fallback)."""
    sub = island.net
    assert sub is not None
    set_design_loads(sub, ctx, group)
    while True:
        online = island.trucks[:count]
        sol = solve_island(sub, online)
        findings.load_flows += 1
        loadings = sol.truck_loading_percent(online) if sol.converged else {}
        overloaded = any(v > 100.0 + TOL for v in loadings.values())
        if (sol.converged and not overloaded) or count >= len(island.trucks):
            break
        count += 1
    if not sol.converged:
        message = f"island {island.id} at {when}: {sol.error} with {len(online)} truck(s) online"
        findings.add(Violation("not_converged", message, island=island.id, time=when))
        return None
    findings.check(sol, f"island {island.id}", when, island.id)
    for truck_id, loading in loadings.items():
        findings.observe_truck(truck_id, loading, island.id, when)
    vms = list(sol.vm_pu.values())
    return _IslandHour(
        [t.id for t in online],
        dict(sol.truck_p_kw or {}),
        dict(sol.truck_q_kvar or {}),
        min(vms),
        max(vms),
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


def _check_n_1(
    ctx: StageContext,
    net: pp.pandapowerNet,
    island: _Island,
    f: Findings,
    counts: list[int],
) -> None:
    """The island with its largest truck tripped, at every hour: of the trucks online that hour
    (`counts`), one fewer must carry the island within every limit."""
    fleet = ctx.case.fleet
    trucks = island.trucks
    if len(trucks) < 2:
        message = f"island {island.id}: n-1 reserve needs at least 2 trucks, has {len(trucks)}"
        f.add(Violation("reserve", message, island=island.id, value=len(trucks), limit=2))
        return
    groups = list(ctx.demand.groups)
    whens = [g.times[0].isoformat() for g in groups]
    largest = max(t.rating_kva for t in trucks)
    keep = ctx.case.islanded_sgen == SgenMode.KEEP
    shed = set(ctx.loads_on(island.buses)) - set(island.served)
    tried = set()
    for gone in trucks:
        if gone.rating_kva < largest or gone.bus in tried:
            continue
        tried.add(gone.bus)
        rest = [t for t in trucks if t is not gone]
        sub = prepare_island(net, island.buses, rest, fleet.vm_setpoint_pu, keep, shed)
        label = f"island {island.id} with truck {gone.id} tripped"
        scratch = Findings(f.net, f.limits)
        set_design_loads(sub, ctx, groups[0])
        model = island_model(sub, rest)
        if model is None:  # pandapower at the island's peak hour only
            peak = max(range(len(groups)), key=lambda k: ctx.load_kw(island.served, groups[k])[0])
            set_design_loads(sub, ctx, groups[peak])
            on = rest[: max(counts[peak] - 1, 1)]
            sol = solve_island(sub, on)
            f.load_flows += 1
            if not sol.converged:
                f.add(
                    Violation(
                        "reserve",
                        f"{label}: {sol.error}",
                        gone.id,
                        island=island.id,
                        time=whens[peak],
                    )
                )
                continue
            scratch.check(sol, label, whens[peak], island.id)
            for truck_id, loading in sol.truck_loading_percent(on).items():
                scratch.observe_truck(truck_id, loading, island.id, whens[peak])
        else:
            p, q = _loads_array(sub, ctx, groups)
            running = [max(count - 1, 1) for count in counts]
            online = np.array([[j < n - 1 for j in range(len(rest) - 1)] for n in running])
            online = online.reshape(len(groups), len(rest) - 1)
            res = model.solve(p, q, online, np.array([t.rating_kva for t in rest]))
            f.load_flows += len(groups)
            for k in np.nonzero(~res.converged)[0].tolist():
                f.add(
                    Violation(
                        "reserve",
                        f"{label}: load flow did not converge",
                        gone.id,
                        island=island.id,
                        time=whens[k],
                    )
                )
            ok = np.nonzero(res.converged)[0].tolist()
            scratch.check_result(model, res, ok, [whens[k] for k in ok], label, island.id)
            for k in ok:
                kw = [res.slack_p_mw[k, 0], *res.truck_p_mw[k, : running[k] - 1]]
                kvar = [res.slack_q_mvar[k, 0], *res.truck_q_mvar[k, : running[k] - 1]]
                for t, p_mw, q_mvar in zip(rest, kw, kvar, strict=False):
                    loading = float(np.hypot(p_mw, q_mvar)) * 1000 / t.rating_kva * 100
                    scratch.observe_truck(t.id, loading, island.id, whens[k])
        for v in scratch.violations.values():
            text = v.message.removeprefix(f"island {island.id}: ")
            message = text if text.startswith(label) else f"{label}: {text}"
            f.add(Violation("reserve", message, v.element, v.value, v.limit, island.id, v.time))


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
        setup=setup,
    )
