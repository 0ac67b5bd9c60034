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

import numpy as np
import pandapower as pp

from planner.checks.paralleled import Paralleled, paralleled_run, ramped
from planner.checks.solve import loads_array
from planner.checks.solved_state import SolvedState
from planner.checks.step_models import Models, state_key, topology_key
from planner.core.refs import ref_for
from planner.grid.branch_flow import EngineRow
from planner.grid.context import StageContext, set_design_loads
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
    without it). States `models` kept from an earlier step are looked up, not solved again."""
    net = copy_net(base, "gen")  # the step's own tables: `base` is never changed
    set_design_loads(net, ctx, groups[0])
    graph = build_graph(net)
    grid = energised_buses(graph)
    paralleled = [t for t in trucks.values() if t.bus in grid]
    held = (control or Paralleled()).held(paralleled, setpoint_pu(ctx.case.fleet, paralleled))
    models = models or Models(list(trucks.values()), capacity=0)  # trucks that may parallel
    topology = topology_key(net)
    loose, strict = (
        state_key(net, topology, trucks, outputs, groups, whens, paralleled, held, pandapower)
        for pandapower in (False, True)
    )
    kept = models.kept(loose) or models.kept(strict)
    if kept is not None:
        return [one.on(net, held) for one in kept]
    states = [
        SolvedState(Findings(ctx.base_net, ctx.case.limits, namer=ctx.namer), True) for _ in groups
    ]
    model = models.model(("grid", topology), lambda: _grid_model(net, grid, models.trucks))
    todo = list(range(len(groups)))
    if model is not None:
        todo = _grid_on_engine(model, net, ctx, grid, trucks, outputs, held, groups, whens, states)
    for k in todo:
        again = functools.partial(_grid_run, ctx, groups[k], paralleled, outputs[k])
        states[k].again[grid] = again
        _grid_on_pandapower(*again(net, held), grid, trucks, paralleled, whens[k], states[k])
    live = set(grid)
    for buses in islands_of(graph, set(ctx.base_energised) - grid):
        carried = [t for t in trucks.values() if t.bus in buses]
        if carried:
            _island(ctx, net, buses, carried, groups, whens, states, models)
            live |= buses
    unfed = _unfed(ctx, net, live)
    for state in states:
        state.unfed = unfed
    models.keep(strict if todo else loose, states)
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
        again = functools.partial(_grid_run, ctx, groups[k], paralleled, outputs[k])
        state.again[grid], state.unsolved[grid] = again, functools.partial(again, net, held)
    return todo


def _grid_run(ctx, group, paralleled, output, net, held) -> tuple[pp.pandapowerNet, bool]:
    """`paralleled_run` of a step's network `net`; see `Again`."""
    return paralleled_run(ctx, net, group, paralleled, output, held)


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
        model = models.model(key, lambda: island_model(_all_loads_on(sub), carried))
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
        state.again[buses] = functools.partial(_island_again, ctx, buses, carried, groups[k], keep)


def _island_at(ctx, sub, group: StepGroup, keep: bool) -> pp.pandapowerNet:
    """The prepared island `sub` at the design load `group` (a copy), kept generation curtailed."""
    one = copy_net(sub)
    set_design_loads(one, ctx, group)
    if keep:  # kept generation beyond the island's load is curtailed
        served = one.load.in_service.astype(bool)
        curtail_kept_sgen(one, float((one.load.p_mw * one.load.scaling)[served].sum()))
    return one


def _island_again(ctx, buses, carried, group, keep, net, _held) -> tuple[pp.pandapowerNet, bool]:
    """`_island_run` of the island `buses` of a step's network `net` (on its own trucks at
    the fleet's setpoint, whatever the control); see `Again`."""
    sub = prepare_island(net, buses, carried, setpoint_pu(ctx.case.fleet, carried), keep, set())
    return _island_run(ctx, sub, None, group, keep, carried)


def _island_run(ctx, sub, one, group, keep, carried) -> tuple[pp.pandapowerNet, bool]:
    """pandapower's run of an island (`one`, or `sub` at `group`) on its trucks; see `Solve`."""
    net = one if one is not None else _island_at(ctx, sub, group, keep)
    return net, solve_island(net, carried).converged
