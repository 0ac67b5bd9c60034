"""One state of a switching sequence, solved: the grid with the trucks paralleled to it, and each
island its connected trucks carry.

A truck paralleled with the grid runs as the grid-forming machine it is, synchronised: it holds
its bus at the fleet's voltage setpoint with the reactive power its kVA leaves (beyond that its
voltage floats) and carries the active power it was ramped to, its share of the island it is to
carry (or carried). An island cut off from the grid is solved on its own, its connected trucks
sharing P and Q by rating. Nothing here is taken from a plan.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np
import pandapower as pp

from planner.core.refs import ref_for
from planner.grid.context import StageContext, set_design_loads
from planner.grid.limits import TOL, Findings
from planner.grid.powerflow import (
    GridSolution,
    TruckAt,
    curtail_kept_sgen,
    prepare_island,
    results,
    run,
    solve_island,
    solve_island_fast,
)
from planner.grid.topology import build_graph, energised_buses, islands_of
from planner.inputs.case import SgenMode
from planner.inputs.demand import StepGroup

__all__ = ["SolvedState", "match_voltage", "solve_state"]


@dataclass
class SolvedState:
    """What a state's load flows found: limits, voltages and angles per bus with the source that
    feeds it ("grid", or "island@<lowest bus>"), unfed protected loads, the solved networks."""

    findings: Findings
    converged: bool
    vm: dict[int, float] = field(default_factory=dict)
    va: dict[int, float] = field(default_factory=dict)
    source: dict[int, str] = field(default_factory=dict)
    unfed: frozenset[int] = frozenset()
    nets: list[tuple[frozenset[int], pp.pandapowerNet]] = field(default_factory=list)
    truck_kw: dict[str, float] = field(default_factory=dict)
    # islands solved by the batched engine, not yet by pandapower: their trucks
    unsolved: dict[frozenset[int], list[TruckAt]] = field(default_factory=dict)

    def net_of(self, bus: int) -> pp.pandapowerNet | None:
        """The network holding `bus` (the grid's or an island's) with pandapower's results; an
        island the engine solved is solved by pandapower here, once, when its flows or angles
        are needed."""
        for buses, net in self.nets:
            if bus in buses:
                trucks = self.unsolved.pop(buses, None)
                if trucks is not None and solve_island(net, trucks).converged:
                    for b in buses:
                        if b in net.res_bus.index:
                            self.va[b] = float(net.res_bus.at[b, "va_degree"])
                return net
        return None

    def angle(self, bus: int) -> float:
        if bus not in self.va:
            self.net_of(bus)
        return self.va.get(bus, math.nan)


def _record(state: SolvedState, net: pp.pandapowerNet, buses: frozenset[int], source: str) -> None:
    res = net.res_bus
    for bus in buses:
        if bus in res.index and np.isfinite(res.at[bus, "vm_pu"]):
            state.vm[bus] = float(res.at[bus, "vm_pu"])
            state.va[bus] = float(res.at[bus, "va_degree"])
            state.source[bus] = source
    state.nets.append((buses, net))


def solve_state(
    ctx: StageContext,
    base: pp.pandapowerNet,
    trucks: dict[str, TruckAt],
    output_kw: dict[str, float],
    group: StepGroup,
    when: str,
) -> SolvedState:
    """Solve `base` (switch, service and load states of one step) at the design load `group`,
    with `trucks` connected; those on grid-fed buses paralleled at `output_kw`."""
    fleet = ctx.case.fleet
    net = copy.deepcopy(base)
    set_design_loads(net, ctx, group)
    graph = build_graph(net)
    grid = energised_buses(graph)
    state = SolvedState(Findings(ctx.base_net, ctx.case.limits), True)
    paralleled = [t for t in trucks.values() if t.bus in grid]
    for truck in paralleled:
        p_kw = min(max(output_kw.get(truck.id, 0.0), 0.0), truck.rating_kw)
        q_max = math.sqrt(max(truck.rating_kva**2 - p_kw**2, 0.0)) / 1000.0
        pp.create_gen(
            net, truck.bus, p_mw=p_kw / 1000.0, vm_pu=fleet.vm_setpoint_pu,
            max_q_mvar=q_max, min_q_mvar=-q_max, name=truck.id,
        )  # fmt: skip
    if run(net, enforce_q_lims=True):
        state.converged = False
    else:
        state.findings.check(GridSolution(True, *results(net, set(grid))), "grid", when)
        _record(state, net, grid, "grid")
        gens = net.gen[net.gen.name.isin([t.id for t in paralleled])]
        for idx, row in gens.iterrows():
            truck = trucks[str(row["name"])]
            p_kw = float(net.res_gen.at[idx, "p_mw"]) * 1000.0
            q_kvar = float(net.res_gen.at[idx, "q_mvar"]) * 1000.0
            state.findings.observe_truck(truck, p_kw, q_kvar, "", when)
            state.truck_kw[truck.id] = p_kw
    keep = ctx.case.islanded_sgen == SgenMode.KEEP
    live = set(grid)
    for buses in islands_of(graph, set(ctx.base_energised) - grid):
        carried = [t for t in trucks.values() if t.bus in buses]
        if not carried:
            continue
        sub = prepare_island(net, buses, carried, fleet.vm_setpoint_pu, keep, set())
        if keep:  # kept generation beyond the island's load is curtailed
            served = sub.load.in_service.astype(bool)
            curtail_kept_sgen(sub, float((sub.load.p_mw * sub.load.scaling)[served].sum()))
        island_sol = solve_island_fast(sub, carried)
        if not island_sol.converged:  # a violation of its own, not an interruption
            state.converged = False
            live |= buses
            continue
        name = ref_for(ctx.base_net, "bus", min(buses)).text
        state.findings.check(island_sol, f"island at {name}", when)
        state.findings.observe_trucks(
            carried, island_sol.truck_p_kw or {}, island_sol.truck_q_kvar or {}, "", when
        )
        worst = max(island_sol.truck_loading_percent(carried).values(), default=0.0)
        if worst > 100.0 + TOL:  # overloaded (a violation): what the trucks could carry
            shed = copy.deepcopy(sub)
            shed.load["p_mw"] = shed.load.p_mw * 100.0 / worst
            shed.load["q_mvar"] = shed.load.q_mvar * 100.0 / worst
            carried_sol = solve_island_fast(shed, carried)
            island_sol = carried_sol if carried_sol.converged else island_sol
        state.truck_kw |= island_sol.truck_p_kw or {}
        for bus, bus_vm in island_sol.vm_pu.items():
            state.vm[bus], state.source[bus] = bus_vm, f"island@{min(buses)}"
        state.nets.append((buses, sub))
        state.unsolved[buses] = carried
        live |= buses
    # protected load normally supplied that this state leaves without: cut off, or disconnected
    normally = ctx.base_net.load.in_service.astype(bool)
    on = net.load.in_service.astype(bool)
    state.unfed = frozenset(
        int(i)
        for i in net.load.index[normally.reindex(net.load.index, fill_value=False)]
        if int(i) in ctx.protected
        and int(net.load.at[i, "bus"]) in ctx.base_energised
        and (not on[i] or int(net.load.at[i, "bus"]) not in live)
    )
    return state


def match_voltage(
    ctx: StageContext, a: int, b: int, before: SolvedState, trucks: dict[str, TruckAt]
) -> tuple[float, float | None, list[str]]:
    """Before a truck island is joined to another system its trucks' voltage setpoint is
    moved (within the case's voltage band) so that the two sides match; the island is
    solved again at that setpoint. Returns the remaining dV %, the setpoint and problems."""
    dv = abs(before.vm[a] - before.vm[b]) * 100.0
    side, other = (a, b) if before.source[a].startswith("island") else (b, a)
    if not before.source[side].startswith("island"):
        return dv, None, []
    fleet, limits = ctx.case.fleet, ctx.case.limits
    wanted = fleet.vm_setpoint_pu + before.vm[other] - before.vm[side]
    setpoint = min(max(wanted, limits.vm_min_pu), limits.vm_max_pu)
    sub = before.net_of(side)
    carried = [t for t in trucks.values() if sub is not None and t.bus in sub.bus.index]
    if sub is None or not carried or abs(setpoint - fleet.vm_setpoint_pu) < 1e-4:
        return dv, None, []
    sub = copy.deepcopy(sub)
    sub.ext_grid["vm_pu"] = setpoint
    sol = solve_island(sub, carried)
    if not sol.converged or side not in sol.vm_pu:
        return dv, setpoint, [f"the island does not solve at a setpoint of {setpoint:.3f} pu"]
    findings = Findings(ctx.base_net, ctx.case.limits)
    findings.check(sol, "island, voltage matched", "")
    problems = [f"with the trucks at {setpoint:.3f} pu to match: {v.message}"
                for v in findings.sorted_violations()]  # fmt: skip
    return abs(before.vm[other] - sol.vm_pu[side]) * 100.0, setpoint, problems
