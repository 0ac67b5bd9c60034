"""AC verification of one stage set-up (switching + truck positions) at the design load.

Used by the planner inside its plan-verify loop and by `planner validate` on plans from anywhere:
the islands, their supply and every limit are derived here from the network state alone, never
taken from what a plan claims.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandapower as pp
import pandas as pd

from planner.case import Case, Reserve, SgenMode, Stage
from planner.demand import Demand, StepGroup, stage_demand
from planner.plan import IslandPlan, Supply, TruckPlan, Verification, Violation
from planner.powerflow import TruckAt, prepare_island, solve_grid, solve_island
from planner.refs import ref_for
from planner.state import Switching, apply_switching, apply_works, stage_base_net
from planner.topology import Graph, build_graph, cyclomatic, energised_buses, islands_of

__all__ = ["StageCheck", "StageContext", "StageSetup", "check_stage", "set_design_loads"]

TOL = 1e-6


@dataclass(frozen=True)
class StageSetup:
    """What a plan decides for one stage."""

    switching: Switching = field(default_factory=Switching)
    trucks: tuple[TruckAt, ...] = ()


@dataclass(frozen=True)
class StageContext:
    """Everything about a stage that does not depend on the plan, computed once."""

    case: Case
    stage: Stage
    base_net: pp.pandapowerNet
    works_net: pp.pandapowerNet
    base_graph: Graph
    base_energised: frozenset[int]
    works_energised: frozenset[int]
    demand: Demand
    load_bus: dict[int, int]
    protected: frozenset[int]

    @classmethod
    def build(cls, case: Case, stage: Stage) -> StageContext:
        base = stage_base_net(case, stage)
        works = copy.deepcopy(base)
        apply_works(works, stage)
        base_graph = build_graph(base)
        loads = base.load
        return cls(
            case=case,
            stage=stage,
            base_net=base,
            works_net=works,
            base_graph=base_graph,
            base_energised=energised_buses(base_graph),
            works_energised=energised_buses(build_graph(works)),
            demand=stage_demand(case, base, stage),
            load_bus={int(i): int(b) for i, b in zip(loads.index, loads.bus, strict=True)},
            protected=case.loads.protected,
        )

    @property
    def cut_off(self) -> frozenset[int]:
        """Buses the works cut off from every source."""
        return self.base_energised - self.works_energised

    def loads_on(self, buses: frozenset[int] | set[int]) -> list[int]:
        return sorted(i for i, b in self.load_bus.items() if b in buses)

    def load_kw(self, loads: list[int], group: StepGroup) -> tuple[float, float]:
        pos = np.isin(self.demand.loads, loads)
        return float(group.p_mw[pos].sum() * 1000.0), float(group.q_mvar[pos].sum() * 1000.0)

    def peak_kw(self, loads: list[int]) -> tuple[float, float]:
        """Largest design P over the stage's time steps, and the Q at that step."""
        best = (0.0, 0.0)
        for group in self.demand.groups:
            p, q = self.load_kw(loads, group)
            if p > best[0]:
                best = (p, q)
        return best

    def households(self, loads: list[int]) -> int:
        column = self.base_net.load.get("households")
        if column is None:
            return 0
        return int(np.nansum(column.reindex(loads).to_numpy(dtype=float)))


@dataclass
class StageCheck:
    islands: list[IslandPlan]
    trucks: list[TruckPlan]
    verification: Verification
    truck_kw: dict[str, dict[datetime, float]] = field(default_factory=dict)


class _Worst:
    """Keeps the worst value per (kind, element) so a violation is reported once per stage."""

    def __init__(self) -> None:
        self.found: dict[tuple[str, str], Violation] = {}

    def add(self, v: Violation, higher_is_worse: bool = True) -> None:
        key = (v.kind, v.element + v.island)
        old = self.found.get(key)
        if old is None or old.value is None or v.value is None:
            self.found.setdefault(key, v)
            return
        if (v.value > old.value) == higher_is_worse and v.value != old.value:
            self.found[key] = v


def _check_limits(
    ctx: StageContext,
    sol,
    where: str,
    when: str,
    worst: _Worst,
    stats: dict,
    island: str = "",
) -> None:
    limits = ctx.case.limits
    net = ctx.base_net
    for bus, vm in sol.vm_pu.items():
        stats["vmin"] = min(stats["vmin"], vm)
        stats["vmax"] = max(stats["vmax"], vm)
        ref = ref_for(net, "bus", bus).text
        if vm < limits.vm_min_pu - TOL:
            worst.add(
                Violation(
                    "vm_min",
                    f"{where}: {ref} at {vm:.4f} pu, below {limits.vm_min_pu} pu",
                    ref,
                    round(vm, 5),
                    limits.vm_min_pu,
                    island,
                    when,
                ),
                higher_is_worse=False,
            )
        if vm > limits.vm_max_pu + TOL:
            worst.add(
                Violation(
                    "vm_max",
                    f"{where}: {ref} at {vm:.4f} pu, above {limits.vm_max_pu} pu",
                    ref,
                    round(vm, 5),
                    limits.vm_max_pu,
                    island,
                    when,
                )
            )
    for table, loading, limit in (
        ("line", sol.line_loading_percent, limits.max_line_loading_percent),
        ("trafo", sol.trafo_loading_percent, limits.max_trafo_loading_percent),
    ):
        for idx, value in loading.items():
            stats[table] = max(stats[table], value)
            if value > limit + TOL:
                ref = ref_for(net, table, idx).text
                worst.add(
                    Violation(
                        f"{table}_loading",
                        f"{where}: {ref} loaded {value:.1f} %, above {limit:g} %",
                        ref,
                        round(value, 2),
                        limit,
                        island,
                        when,
                    )
                )


def check_stage(ctx: StageContext, setup: StageSetup, *, n_1: bool | None = None) -> StageCheck:
    """Verify `setup` for every time step of the stage; derive islands and supply from the state."""
    case, net0 = ctx.case, ctx.base_net
    fleet = case.fleet
    n_1 = fleet.reserve == Reserve.N_1 if n_1 is None else n_1
    worst = _Worst()
    net = copy.deepcopy(ctx.works_net)
    apply_switching(net, setup.switching)
    graph = build_graph(net)
    grid = energised_buses(graph)
    affected = ctx.base_energised - grid
    transferred = grid - ctx.works_energised
    parts = [(b, Supply.TRANSFER) for b in islands_of(graph, transferred)]
    parts += [(b, Supply.NONE) for b in islands_of(graph, affected)]
    parts.sort(key=lambda item: min(item[0]))
    trucks_by_island: dict[int, list[TruckAt]] = {}
    index_of = {}
    for k, (buses, _) in enumerate(parts):
        for b in buses:
            index_of[b] = k
    for truck in setup.trucks:
        part = index_of.get(truck.bus)
        if truck.bus in grid:
            ref = ref_for(net0, "bus", truck.bus).text
            worst.add(
                Violation(
                    "truck_on_grid",
                    f"truck {truck.id} at {ref} is on a bus the grid "
                    "still supplies (trucks carry islands only)",
                    ref,
                )
            )
        elif part is None or parts[part][1] is Supply.TRANSFER:
            ref = ref_for(net0, "bus", truck.bus).text
            worst.add(
                Violation(
                    "truck_dead_bus",
                    f"truck {truck.id} at {ref} is not inside an island cut off by the works",
                    ref,
                )
            )
        else:
            trucks_by_island.setdefault(part, []).append(truck)
    _check_fleet(ctx, setup, worst)
    energised_all = set(grid)
    for k in trucks_by_island:
        energised_all |= parts[k][0]
    loops_now = cyclomatic(graph, energised_all)
    loops_base = cyclomatic(ctx.base_graph, energised_all)
    if loops_now > loops_base:
        worst.add(
            Violation(
                "not_radial",
                f"the switching closes {loops_now - loops_base} loop(s) "
                "that the normal network does not have",
                value=loops_now - loops_base,
                limit=0,
            )
        )

    ids = [f"I{k + 1}" for k in range(len(parts))]
    stats = {
        "vmin": np.inf,
        "vmax": -np.inf,
        "line": 0.0,
        "trafo": 0.0,
        "truck": 0.0,
        "unserved": 0.0,
        "flows": 0,
    }
    truck_kw: dict[str, dict[datetime, float]] = {t.id: {} for t in setup.trucks}
    island_nets = {}
    for k, trucks in trucks_by_island.items():
        served = set(ctx.loads_on(parts[k][0])) & ctx.protected
        shed = set(ctx.loads_on(parts[k][0])) - served
        island_nets[k] = prepare_island(
            net,
            parts[k][0],
            trucks,
            fleet.vm_setpoint_pu,
            case.islanded_sgen == SgenMode.KEEP,
            shed,
        )
    for group in ctx.demand.groups:
        when = group.times[0].isoformat()
        set_design_loads(net, ctx, group)
        sol = solve_grid(net, grid)
        stats["flows"] += 1
        if not sol.converged:
            worst.add(Violation("not_converged", f"grid part at {when}: {sol.error}", time=when))
        else:
            _check_limits(ctx, sol, "grid", when, worst, stats)
        for k, trucks in trucks_by_island.items():
            sub = island_nets[k]
            set_design_loads(sub, ctx, group)
            _solve_truck_island(ctx, sub, trucks, ids[k], when, worst, stats, truck_kw, group)
        for k, (buses, kind) in enumerate(parts):
            if kind is Supply.NONE and k not in trucks_by_island:
                lost = [i for i in ctx.loads_on(buses) if i in ctx.protected]
                p_kw, _ = ctx.load_kw(lost, group)
                stats["unserved"] = max(stats["unserved"], p_kw)
                if p_kw > TOL:
                    worst.add(
                        Violation(
                            "unserved",
                            f"island {ids[k]} ({len(buses)} buses): "
                            f"{p_kw:,.0f} kW of protected load has no supply",
                            island=ids[k],
                            value=round(p_kw, 1),
                            limit=0.0,
                            time=when,
                        )
                    )
    if n_1:
        for k, trucks in trucks_by_island.items():
            _check_n_1(ctx, net, parts[k][0], trucks, ids[k], worst, stats)
    islands = _island_plans(ctx, parts, ids, trucks_by_island)
    truck_island = {t.id: ids[k] for k, ts in trucks_by_island.items() for t in ts}
    truck_plans = [
        TruckPlan(
            t.id, t.bus, ref_for(net0, "bus", t.bus).text, truck_island.get(t.id, ""), t.rating_kw
        )
        for t in setup.trucks
    ]
    violations = tuple(sorted(worst.found.values(), key=lambda v: (v.kind, v.island, v.element)))
    verification = Verification(
        passed=not violations,
        time_steps=len(ctx.demand.times),
        min_vm_pu=None if stats["vmin"] == np.inf else float(stats["vmin"]),
        max_vm_pu=None if stats["vmax"] == -np.inf else float(stats["vmax"]),
        max_line_loading_percent=float(stats["line"]),
        max_trafo_loading_percent=float(stats["trafo"]),
        max_truck_loading_percent=float(stats["truck"]),
        unserved_protected_kw=float(stats["unserved"]),
        violations=violations,
        load_flows=int(stats["flows"]),
    )
    return StageCheck(islands, truck_plans, verification, truck_kw)


def set_design_loads(net: pp.pandapowerNet, ctx: StageContext, group: StepGroup) -> None:
    pos = pd.Index(ctx.demand.loads).get_indexer(net.load.index)
    net.load["p_mw"] = group.p_mw[pos]
    net.load["q_mvar"] = group.q_mvar[pos]
    net.load["scaling"] = 1.0


def _solve_truck_island(ctx, sub, trucks, island, when, worst, stats, truck_kw, group) -> None:
    sol = solve_island(sub, trucks)
    stats["flows"] += 1
    if not sol.converged:
        worst.add(
            Violation(
                "not_converged",
                f"island {island} at {when}: {sol.error} with {len(trucks)} truck(s)",
                island=island,
                time=when,
            )
        )
        return
    _check_limits(ctx, sol, f"island {island}", when, worst, stats, island)
    for truck_id, loading in sol.truck_loading_percent(trucks).items():
        stats["truck"] = max(stats["truck"], loading)
        for t in group.times:
            truck_kw[truck_id][t] = (sol.truck_p_kw or {})[truck_id]
        if loading > 100.0 + TOL:
            worst.add(
                Violation(
                    "truck_overload",
                    f"island {island}: truck {truck_id} at {loading:.1f} % of its kVA rating",
                    truck_id,
                    round(loading, 2),
                    100.0,
                    island,
                    when,
                )
            )


def _check_n_1(ctx, net, buses, trucks, island, worst, stats) -> None:
    """The island with its largest truck tripped, at the island's peak hour."""
    fleet = ctx.case.fleet
    loads = ctx.loads_on(buses)
    peak = max(ctx.demand.groups, key=lambda g: ctx.load_kw(loads, g)[0])
    when = peak.times[0].isoformat()
    if len(trucks) < 2:
        worst.add(
            Violation(
                "reserve",
                f"island {island}: n-1 reserve needs at least 2 trucks, has {len(trucks)}",
                island=island,
                value=len(trucks),
                limit=2,
            )
        )
        return
    largest = max(t.rating_kva for t in trucks)
    tried = set()
    for gone in trucks:
        if gone.rating_kva < largest or gone.bus in tried:
            continue
        tried.add(gone.bus)
        rest = [t for t in trucks if t is not gone]
        served = set(loads) & ctx.protected
        sub = prepare_island(
            net,
            buses,
            rest,
            fleet.vm_setpoint_pu,
            ctx.case.islanded_sgen == SgenMode.KEEP,
            set(loads) - served,
        )
        set_design_loads(sub, ctx, peak)
        sol = solve_island(sub, rest)
        stats["flows"] += 1
        label = f"island {island} with truck {gone.id} tripped"
        if not sol.converged:
            worst.add(
                Violation("reserve", f"{label}: {sol.error}", gone.id, island=island, time=when)
            )
            continue
        for truck_id, loading in sol.truck_loading_percent(rest).items():
            if loading > 100.0 + TOL:
                worst.add(
                    Violation(
                        "reserve",
                        f"{label}: truck {truck_id} at {loading:.1f} % of its kVA rating",
                        truck_id,
                        round(loading, 2),
                        100.0,
                        island,
                        when,
                    )
                )
        scratch = _Worst()
        _check_limits(ctx, sol, label, when, scratch, {"vmin": 0, "vmax": 0, "line": 0, "trafo": 0})
        for v in scratch.found.values():
            worst.add(Violation("reserve", v.message, v.element, v.value, v.limit, island, when))


def _check_fleet(ctx: StageContext, setup: StageSetup, worst: _Worst) -> None:
    case, net0 = ctx.case, ctx.base_net
    fleet = case.fleet
    if len(setup.trucks) > fleet.trucks:
        worst.add(
            Violation(
                "fleet",
                f"{len(setup.trucks)} trucks placed, the fleet has {fleet.trucks}",
                value=len(setup.trucks),
                limit=fleet.trucks,
            )
        )
    per_bus: dict[int, int] = {}
    seen_ids: set[str] = set()
    for truck in setup.trucks:
        if truck.id in seen_ids:
            worst.add(Violation("truck_id", f"truck id {truck.id} is used twice", truck.id))
        seen_ids.add(truck.id)
        per_bus[truck.bus] = per_bus.get(truck.bus, 0) + 1
        if abs(truck.rating_kw - fleet.rating_kw) > TOL:
            worst.add(
                Violation(
                    "truck_rating",
                    f"truck {truck.id} is rated {truck.rating_kw:g} kW,"
                    f" the fleet's trucks {fleet.rating_kw:g} kW",
                    truck.id,
                    truck.rating_kw,
                    fleet.rating_kw,
                )
            )
    for bus, count in sorted(per_bus.items()):
        bays = case.bays_at(bus)
        ref = ref_for(net0, "bus", bus).text
        if bays == 0:
            worst.add(
                Violation(
                    "no_bay",
                    f"{ref} is not a connection point: no bay for {count} truck(s)",
                    ref,
                    count,
                    0,
                )
            )
        elif count > bays:
            worst.add(
                Violation(
                    "bays", f"{ref} has {bays} bay(s), {count} trucks placed", ref, count, bays
                )
            )


def _island_plans(ctx, parts, ids, trucks_by_island) -> list[IslandPlan]:
    out = []
    for k, (buses, kind) in enumerate(parts):
        loads = ctx.loads_on(buses)
        protected = [i for i in loads if i in ctx.protected]
        trucks = trucks_by_island.get(k, [])
        supply = Supply.TRUCKS if trucks else kind
        served = loads if supply is Supply.TRANSFER else protected
        p_kw, q_kvar = ctx.peak_kw(served)
        all_kw, _ = ctx.peak_kw(loads)
        out.append(
            IslandPlan(
                id=ids[k],
                buses=tuple(sorted(buses)),
                supply=supply,
                design_peak_kw=p_kw,
                trucks=tuple(t.id for t in trucks),
                households=ctx.households(served if supply is not Supply.NONE else []),
                design_peak_kvar=q_kvar,
                protected_kw=ctx.peak_kw(protected)[0],
                shed_kw=max(all_kw - p_kw, 0.0) if supply is not Supply.NONE else all_kw,
                loads=tuple(loads),
            )
        )
    return out
