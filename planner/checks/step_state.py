"""One state of a switching sequence, solved: the grid with the trucks paralleled to it, and each
island its connected trucks carry.

A truck paralleled with the grid carries the active power it was ramped to, its share of the
island it is to carry (or carried), and runs in the phase's control (`planner.checks.paralleled`):
holding the fleet's setpoint, at its share of the island's reactive power, or holding the
voltage it synchronised at. An
island cut off from the grid is solved on its own, its connected trucks holding the setpoint and
sharing P and Q by rating. Nothing here is taken from a plan.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandapower as pp
import pandas as pd

from planner.checks.paralleled import Paralleled, paralleled_run, ramped
from planner.checks.solve import loads_array
from planner.core.refs import ElementRef, ref_for
from planner.grid.branch_flow import EngineFlows, EngineRow, NotDerived
from planner.grid.context import StageContext, set_design_loads
from planner.grid.devices import across_kva
from planner.grid.engine import BatchModel, BatchResult, Unsupported
from planner.grid.limits import TOL, Findings
from planner.grid.powerflow import (
    GridSolution,
    TruckAt,
    curtail_kept_sgen,
    island_model,
    prepare_island,
    results,
    setpoint_pu,
    solve_island,
    solve_island_batch,
    solve_island_fast,
)
from planner.grid.state import copy_net
from planner.grid.topology import build_graph, energised_buses, islands_of
from planner.inputs.case import SgenMode
from planner.inputs.demand import StepGroup

__all__ = ["Models", "SolvedState", "solve_state", "solve_states", "topology_key"]

Solve = Callable[[], tuple[pp.pandapowerNet, bool]]  # a part's network, solved, and if it solved


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
    # each part's network; None for a part the batched engine solved until `net_of` builds it
    nets: list[tuple[frozenset[int], pp.pandapowerNet | None]] = field(default_factory=list)
    truck_kw: dict[str, float] = field(default_factory=dict)
    # parts the engine solved, built and solved by pandapower when their flows are needed
    unsolved: dict[frozenset[int], Solve] = field(default_factory=dict)
    # the engine's solution of such a part, from which most flows are read without pandapower
    rows: dict[frozenset[int], EngineRow] = field(default_factory=dict)

    def net_of(self, bus: int) -> pp.pandapowerNet | None:
        """The network holding `bus` (the grid's or an island's) with pandapower's results; a
        part the engine solved is built and solved by pandapower here, once, when its flows are
        needed (the engine's voltages and angles agree with pandapower's to 1e-6 pu)."""
        for k, (buses, net) in enumerate(self.nets):
            if bus in buses:
                solve = self.unsolved.pop(buses, None)
                if solve is not None:
                    net, solved = solve()
                    self.nets[k] = (buses, net)
                    if solved:  # angles not known yet: pandapower's
                        for b in buses:
                            if b not in self.va and b in net.res_bus.index:
                                self.va[b] = float(net.res_bus.at[b, "va_degree"])
                return net
        return None

    def across_kva(self, bus: int, ref: ElementRef) -> tuple[float, float] | None:
        """`across_kva` of `ref` in the part holding `bus`: read from the engine's solution
        where that tells it, else from pandapower's run of the part; (0, 0) where no part
        holds `bus` (it is not energised)."""
        for buses, net in self.nets:
            if bus in buses:
                row = self.rows.get(buses)
                if net is None and row is not None:
                    try:
                        return across_kva(row.net, ref, EngineFlows(row))
                    except NotDerived:
                        pass
                net = self.net_of(bus)
                return across_kva(net, ref) if net is not None else (0.0, 0.0)
        return 0.0, 0.0

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


def _record_row(
    state: SolvedState, model: BatchModel, res: BatchResult, row: int, keep: np.ndarray,
    source: str,
) -> None:  # fmt: skip
    """`_record` from one time step of the batched engine: voltages and angles of the model's
    buses `keep` marks (those of the part)."""
    assert res.va_degree is not None
    keep = keep & np.isfinite(res.vm_pu[row])
    ids = model.bus_ids[keep].tolist()
    state.vm.update(zip(ids, res.vm_pu[row, keep].tolist(), strict=True))
    state.va.update(zip(ids, res.va_degree[row, keep].tolist(), strict=True))
    state.source.update(dict.fromkeys(ids, source))


@dataclass
class Models:
    """Models of the batched engine kept across the steps of one switching phase, by topology:
    a step that only connects trucks or loads reuses the model of the step before. `trucks` are
    every truck the phase may connect (a truck not connected is a generator at zero output)."""

    trucks: list[TruckAt]
    built: dict[tuple, BatchModel | None] = field(default_factory=dict)


def topology_key(net: pp.pandapowerNet) -> tuple:
    """What a model of the batched engine depends on besides its loads: every switch position
    and element service state (loads' excepted: a load out of service is one at zero)."""
    key: list[object] = [net.ext_grid.vm_pu.to_numpy().tobytes()]
    for name, table in net.items():
        if isinstance(table, pd.DataFrame) and len(table) and name != "load":
            column = "closed" if name == "switch" else "in_service"
            if column in table.columns and not name.startswith("res_"):
                key.append(
                    (name, table.index.to_numpy().tobytes(), table[column].to_numpy(bool).tobytes())
                )
    return tuple(key)


def _model(models: Models | None, key: tuple, build: Callable[[], BatchModel | None]):
    """The model for `key`: kept from an earlier step, else built (and kept)."""
    if models is None:
        return build()
    if key not in models.built:
        models.built[key] = build()
    return models.built[key]


def _all_loads_on(net: pp.pandapowerNet) -> pp.pandapowerNet:
    """A copy to build a model from: every load in service (one off is solved at zero)."""
    out = copy_net(net)
    out.load["in_service"] = True
    return out


def _loads(net: pp.pandapowerNet, ctx: StageContext, groups: list[StepGroup]):
    """Design P and Q of `net`'s loads at each load state, zero where a load is out of service."""
    p, q = loads_array(net, ctx, groups)
    on = net.load.in_service.to_numpy(bool)
    return p * on, q * on


def solve_state(
    ctx: StageContext,
    base: pp.pandapowerNet,
    trucks: dict[str, TruckAt],
    output: dict[str, tuple[float, float]],
    group: StepGroup,
    when: str,
) -> SolvedState:
    """Solve `base` (switch, service and load states of one step) at the design load `group`,
    with `trucks` connected; those on grid-fed buses paralleled at their ramped (kW, kvar)
    `output`."""
    return solve_states(ctx, base, trucks, [output], [group], [when])[0]


def solve_states(
    ctx: StageContext,
    base: pp.pandapowerNet,
    trucks: dict[str, TruckAt],
    outputs: list[dict[str, tuple[float, float]]],
    groups: list[StepGroup],
    whens: list[str],
    models: Models | None = None,
    control: Paralleled | None = None,
) -> list[SolvedState]:
    """`solve_state` at several design loads (`groups`, each with its trucks' `outputs` and
    time): the topology is worked out once, and each part is one model of the batched engine
    (kept in `models` for later steps) solved at every load; pandapower where the engine does
    not apply or converge. Paralleled trucks run as `control` says (at the fleet's setpoint
    without it)."""
    net = copy_net(base, "gen")  # the step's own tables: `base` is never changed
    set_design_loads(net, ctx, groups[0])
    graph = build_graph(net)
    grid = energised_buses(graph)
    states = [
        SolvedState(Findings(ctx.base_net, ctx.case.limits, namer=ctx.namer), True) for _ in groups
    ]
    paralleled = [t for t in trucks.values() if t.bus in grid]
    held = (control or Paralleled()).held(paralleled, setpoint_pu(ctx.case.fleet, paralleled))
    may = models.trucks if models else list(trucks.values())  # trucks that may be paralleled
    model = _model(models, ("grid", topology_key(net)), lambda: _grid_model(net, grid, may))
    todo = list(range(len(groups)))
    if model is not None:
        todo = _grid_on_engine(model, net, ctx, grid, trucks, outputs, held, groups, whens, states)
    for k in todo:
        one, solved = paralleled_run(ctx, net, groups[k], paralleled, outputs[k], held)
        _grid_on_pandapower(one, solved, grid, trucks, paralleled, whens[k], states[k])
    live = set(grid)
    for buses in islands_of(graph, set(ctx.base_energised) - grid):
        carried = [t for t in trucks.values() if t.bus in buses]
        if carried:
            _island(ctx, net, buses, carried, groups, whens, states, models)
            live |= buses
    unfed = _unfed(ctx, net, live)
    for state in states:
        state.unfed = unfed
    return states


def _unfed(ctx: StageContext, net: pp.pandapowerNet, live: set[int]) -> frozenset[int]:
    """Protected load normally supplied that the state `net` leaves without: its bus cut off
    (not in `live`), or the load disconnected."""
    load = net.load
    normally = ctx.base_net.load.in_service.astype(bool).reindex(load.index, fill_value=False)
    index, bus = load.index.to_numpy().astype(int), load.bus.to_numpy().astype(int)
    cut = ~load.in_service.to_numpy(dtype=bool) | ~np.isin(bus, _ints(live))
    mask = normally.to_numpy(bool) & np.isin(index, _ints(ctx.protected)) & cut
    return frozenset(index[mask & np.isin(bus, _ints(ctx.base_energised))].tolist())


def _ints(values) -> np.ndarray:
    """A set of ints as an array (`np.isin` of a list converts it element by element)."""
    return np.fromiter(values, dtype=int, count=len(values))


def _grid_model(net, grid, trucks: list[TruckAt]) -> BatchModel | None:
    """The grid-fed part's model, with a generator at the bus of each of `trucks` that may be
    paralleled there; None where the engine does not apply."""
    buses = sorted({t.bus for t in trucks if t.bus in grid})
    try:
        return BatchModel(_all_loads_on(net), pv_buses=buses)
    except Unsupported:
        return None


def _grid_on_engine(model, net, ctx, grid, trucks, outputs, held, groups, whens, states):
    """The grid-fed part at every load on one model of the batched engine, trucks paralleled
    at their ramped `outputs` (holding their `held` voltages, if given); returns the loads it
    did not solve (pandapower's then)."""
    lookup = {bus: j for j, bus in enumerate(model.pv_input)}
    paralleled = [t for t in trucks.values() if t.bus in grid]
    if any(t.bus not in lookup for t in paralleled):
        return list(range(len(groups)))  # a truck the model was not built for
    gen_p = np.zeros((len(groups), len(lookup)))
    gen_q = np.zeros_like(gen_p)  # fixed Mvar, or with `held` the reactive range
    gen_vm = np.ones(len(lookup))
    gen_of = {}
    for truck in paralleled:  # trucks at one bus are one generator of their summed output
        j = gen_of[truck.id] = lookup[truck.bus]
        gen_vm[j] = held[truck.id] if held else 1.0
        for k, out in enumerate(outputs):
            p_kw, q_kvar = ramped(truck, out)
            gen_p[k, j] += p_kw / 1000.0
            gen_q[k, j] += (math.sqrt(max(truck.rating_kva**2 - p_kw**2, 0.0)) if held
                            else q_kvar) / 1000.0  # fmt: skip
    p, q = _loads(net, ctx, groups)
    res = model.solve(p, q, pv=(gen_p, gen_q, gen_vm if held else None))
    assert res.pv_q_mvar is not None
    in_grid = np.isin(model.bus_ids, _ints(grid))
    buses = model.bus_ids[in_grid]
    todo = []
    for k, state in enumerate(states):
        if not res.converged[k]:
            todo.append(k)
            continue
        state.findings.check_batch(
            buses, res.vm_pu[k : k + 1, in_grid], model.lines, res.line_loading_percent[k : k + 1],
            model.trafos, res.trafo_loading_percent[k : k + 1], [whens[k]], "grid",
        )  # fmt: skip
        _record_row(state, model, res, k, in_grid, "grid")
        for truck in paralleled:
            p_kw, q_kvar = ramped(truck, outputs[k])
            if held:  # its share of its bus's reactive power, by reactive range (pandapower's)
                j = gen_of[truck.id]
                q_lim = math.sqrt(max(truck.rating_kva**2 - p_kw**2, 0.0)) / 1000.0
                share = q_lim / gen_q[k, j] if gen_q[k, j] else 0.0
                q_kvar = float(res.pv_q_mvar[k, j]) * 1000.0 * share
            state.findings.observe_truck(truck, p_kw, q_kvar, "", whens[k])
            state.truck_kw[truck.id] = p_kw
        state.nets.append((grid, None))  # pandapower solves it if its flows are not derived
        state.rows[grid] = EngineRow.of(net, model, res, k, p, q)
        state.unsolved[grid] = functools.partial(
            paralleled_run, ctx, net, groups[k], paralleled, outputs[k], held
        )
    return todo


def _grid_on_pandapower(net, solved, grid, trucks, paralleled, when, state) -> None:
    """The grid-fed part at one load as pandapower solved it (`_paralleled_run`)."""
    if not solved:
        state.converged = False
        return
    state.findings.check(GridSolution(True, *results(net, set(grid))), "grid", when)
    _record(state, net, grid, "grid")
    ids = [t.id for t in paralleled]
    for table in ("gen", "sgen"):  # holding a voltage, or at a power factor
        for idx, name in net[table].name[net[table].name.isin(ids)].items():
            truck = trucks[str(name)]
            p_kw = float(net[f"res_{table}"].at[idx, "p_mw"]) * 1000.0
            q_kvar = float(net[f"res_{table}"].at[idx, "q_mvar"]) * 1000.0
            state.findings.observe_truck(truck, p_kw, q_kvar, "", when)
            state.truck_kw[truck.id] = p_kw


def _island(ctx, net, buses, carried, groups, whens, states: list[SolvedState], models) -> None:
    """A truck island cut off from the grid, on its own trucks, at every load."""
    keep = ctx.case.islanded_sgen == SgenMode.KEEP
    sub = prepare_island(net, buses, carried, setpoint_pu(ctx.case.fleet, carried), keep, set())
    # each load's own copy of the island: made here where pandapower solves it (kept generation
    # is curtailed by load), else only when its flows are asked for or its trucks are overloaded
    subs: list[pp.pandapowerNet | None] = [None] * len(groups)
    if keep:  # curtailment differs by load: one model each
        subs = [_island_at(ctx, sub, group, keep) for group in groups]
        sols = [solve_island_fast(one, carried) for one in subs if one is not None]
        model = None
    else:
        key = ("island", buses, tuple(t.id for t in carried), topology_key(sub))
        model = _model(models, key, lambda: island_model(_all_loads_on(sub), carried))
        p, q = _loads(sub, ctx, groups)
        sols = solve_island_batch(sub, carried, p, q, model)
    name = ref_for(ctx.base_net, "bus", min(buses)).text
    for k, (state, one, island_sol) in enumerate(zip(states, subs, sols, strict=True)):
        if not island_sol.converged:  # a violation of its own, not an interruption
            state.converged = False
            continue
        when = whens[k]
        state.findings.check(island_sol, f"island at {name}", when)
        state.findings.observe_trucks(
            carried, island_sol.truck_p_kw or {}, island_sol.truck_q_kvar or {}, "", when
        )
        worst = max(island_sol.truck_loading_percent(carried).values(), default=0.0)
        if worst > 100.0 + TOL:  # overloaded (a violation): what the trucks could carry
            one = subs[k] = one or _island_at(ctx, sub, groups[k], keep)
            on = one.load.in_service.to_numpy(bool)  # the model counts every load it is given
            scale = one.load.scaling.to_numpy() * on * 100.0 / worst
            p_cut = (one.load.p_mw.to_numpy() * scale)[None, :]
            q_cut = (one.load.q_mvar.to_numpy() * scale)[None, :]
            if keep:  # the island's own model at this load
                cut = copy_net(one)
                cut.load["p_mw"], cut.load["q_mvar"], cut.load["scaling"] = p_cut[0], q_cut[0], 1.0
                carried_sol = solve_island_fast(cut, carried)
            else:
                carried_sol = solve_island_batch(one, carried, p_cut, q_cut, model)[0]
            island_sol = carried_sol if carried_sol.converged else island_sol
        state.truck_kw |= island_sol.truck_p_kw or {}
        for bus, bus_vm in island_sol.vm_pu.items():
            state.vm[bus], state.source[bus] = bus_vm, f"island@{min(buses)}"
        state.nets.append((buses, None))
        state.unsolved[buses] = functools.partial(
            _island_run, ctx, sub, one, groups[k], keep, carried
        )


def _island_at(ctx, sub, group: StepGroup, keep: bool) -> pp.pandapowerNet:
    """The prepared island `sub` at the design load `group` (a copy), kept generation curtailed."""
    one = copy_net(sub)
    set_design_loads(one, ctx, group)
    if keep:  # kept generation beyond the island's load is curtailed
        served = one.load.in_service.astype(bool)
        curtail_kept_sgen(one, float((one.load.p_mw * one.load.scaling)[served].sum()))
    return one


def _island_run(ctx, sub, one, group, keep, carried) -> tuple[pp.pandapowerNet, bool]:
    """pandapower's run of an island (`one`, or `sub` at `group`) on its trucks; see `Solve`."""
    net = one if one is not None else _island_at(ctx, sub, group, keep)
    return net, solve_island(net, carried).converged
