"""Flows read from the batched engine's solution agree with pandapower's `runpp`.

A switching step's opening reports the power it breaks (`across_kw`). Where the engine solved
the state, that is read from its voltages (`planner.grid.branch_flow`) instead of a pandapower
run of the whole grid; here every line and transformer end, load and switch of several states
is read both ways: the grid with trucks paralleled as static generators and as voltage-holding
generators, a stage's switched state (tie lines open at one end), a truck island, and a small
network with an impedance bus-bus switch and an open line end.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pytest

import planner
from planner.checks.paralleled import Paralleled
from planner.checks.step_state import SolvedState, solve_states
from planner.core.refs import ElementRef
from planner.decide.planning import plan_stage
from planner.grid.branch_flow import EngineFlows, EngineRow, NotDerived
from planner.grid.context import StageContext
from planner.grid.devices import ResultFlows, across_kva
from planner.grid.engine import BatchModel
from planner.grid.powerflow import TruckAt, prepare_island
from planner.grid.state import with_switching
from tests.conftest import CASES

FLOW_TOL_MW = 1e-6  # 1 W: far inside the 0.1 kW a plan reports
ACROSS_TOL_KW = 1e-3


@dataclass(frozen=True)
class Scenario:
    case: str
    stage: int
    state: str  # "normal": every truck on a grid-fed bus, paralleled; "planned": the set-up
    control: str
    # branch ends, loads and switches whose flow is derived (the rest: not in the engine's model)
    derived: tuple[int, int, int, int]


SCENARIOS = [
    Scenario("dashiqiao", 1, "normal", "power_factor", (58, 8, 27, 56)),
    Scenario("dashiqiao", 1, "normal", "setpoint", (58, 8, 27, 56)),
    Scenario("dashiqiao", 1, "planned", "setpoint", (28, 4, 27, 28)),
    Scenario("oberrhein_transfer_and_trucks", 0, "normal", "voltage", (362, 4, 147, 322)),
    Scenario("oberrhein_transfer_and_trucks", 0, "planned", "power_factor", (330, 4, 147, 291)),
]

_PLANNED: dict[tuple[str, int], tuple] = {}


def _states(s: Scenario) -> list[SolvedState]:
    """The scenario's state solved (afresh: nothing built by pandapower yet) at the stage's
    first two loads, trucks at 60 % of their rating."""
    if (s.case, s.stage) not in _PLANNED:
        case = planner.load_case(CASES / f"{s.case}.toml")
        ctx = StageContext.build(case, case.stages[s.stage])
        _PLANNED[s.case, s.stage] = (ctx, *plan_stage(ctx))
    ctx, plan, check = _PLANNED[s.case, s.stage]
    trucks = {t.id: t for t in check.setup.trucks}
    net = ctx.base_net if s.state == "normal" else with_switching(ctx.works_net, plan.switching)
    groups = list(ctx.demand.groups[:2])
    whens = [g.times[0].isoformat() for g in groups]
    output = {t.id: (0.6 * t.rating_kw, 0.2 * t.rating_kw) for t in trucks.values()}
    outputs = [output] * len(groups)
    return solve_states(ctx, net, trucks, outputs, groups, whens, control=Paralleled(s.control))


def _compare(row: EngineRow, net: pp.pandapowerNet) -> dict[str, int]:
    """Every branch end, load and switch of `net` (solved by pandapower) read from `row` too;
    how many of each the engine's solution told (branch ends, loads and switches)."""
    engine, results = EngineFlows(row), ResultFlows(net)
    derived = dict.fromkeys(("line", "trafo", "load", "switch"), 0)
    for table, ends in (("line", ("from_bus", "to_bus")), ("trafo", ("hv_bus", "lv_bus"))):
        for index in net[table].index:
            for column in ends:
                bus = int(net[table].at[index, column])
                try:
                    p, q = engine.end_flow(table, int(index), bus)
                except NotDerived:
                    assert int(index) not in (
                        row.model.lines if table == "line" else row.model.trafos
                    )
                    continue
                p_ref, q_ref = results.end_flow(table, int(index), bus)
                assert p == pytest.approx(p_ref, abs=FLOW_TOL_MW), (table, index, column)
                assert q == pytest.approx(q_ref, abs=FLOW_TOL_MW), (table, index, column)
                derived[table] += 1
    for table in ("load", "switch", "line", "trafo"):
        for index in net[table].index:
            ref = ElementRef(table, int(index), "")
            try:
                got = across_kva(row.net, ref, engine)
            except NotDerived:
                continue
            expected = across_kva(net, ref)
            if expected is None:
                assert got is None, ref
            else:
                assert got is not None, ref
                assert got == pytest.approx(expected, abs=ACROSS_TOL_KW), ref
            derived[table] += table in ("load", "switch")
    return derived


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: f"{s.case}-{s.state}-{s.control}")
def test_engine_flows_agree_with_pandapower(scenario: Scenario) -> None:
    for state in _states(scenario):
        assert state.converged and len(state.rows) == 1
        (buses, row), *_ = state.rows.items()
        net = state.net_of(min(buses))  # pandapower's run of the same part
        assert net is not None
        gens = len(net.gen) if scenario.control != "power_factor" else len(net.sgen)
        if scenario.state == "normal":  # the trucks are paralleled with the grid
            assert gens >= 3
        assert tuple(_compare(row, net).values()) == scenario.derived


def test_openings_are_read_without_a_pandapower_run() -> None:
    """A step state's `across_kva` of a feeder switch and a load: the engine's solution tells
    both, no pandapower network is built, and pandapower's run agrees."""
    state = _states(SCENARIOS[2])[0]
    (buses, row), *_ = state.rows.items()
    switch, load = row.net.switch, row.net.load
    feeder = int(switch.index[switch.name == "F5 Yumin South breaker"][0])
    served = int(load.index[load.bus.isin(buses)][0])
    refs = [
        (int(switch.at[feeder, "bus"]), ElementRef("switch", feeder, "")),
        (int(load.at[served, "bus"]), ElementRef("load", served, "")),
    ]
    flows = [state.across_kva(bus, ref) for bus, ref in refs]
    assert state.across_kva(-1, refs[1][1]) == (0.0, 0.0)  # a bus in no part: nothing flows
    assert buses in state.unsolved  # nothing was run by pandapower
    net = state.net_of(refs[0][0])
    for (_, ref), flow in zip(refs, flows, strict=True):
        assert flow is not None and flow[0] > 100.0
        assert flow == pytest.approx(across_kva(net, ref), abs=ACROSS_TOL_KW)


def test_a_flow_the_engine_does_not_tell_is_pandapowers() -> None:
    """A works line out of service is not in the engine's model: pandapower reads it."""
    state = _states(SCENARIOS[2])[0]
    (buses, row), *_ = state.rows.items()
    line = row.net.line
    out = int(line.index[~line.in_service & line.from_bus.isin(buses)][0])
    with pytest.raises(NotDerived):
        across_kva(row.net, ElementRef("line", out, ""), EngineFlows(row))
    flow = state.across_kva(int(line.at[out, "from_bus"]), ElementRef("line", out, ""))
    assert buses not in state.unsolved  # built by pandapower for it
    assert flow == (0.0, 0.0)


def test_a_truck_island() -> None:
    """An island on three trucks sharing by rating: the engine's solution against pandapower's
    run of the island with the sharing trucks at the outputs the engine found."""
    net = pn.case33bw()
    net.line.at[28, "in_service"] = False
    trucks = [
        TruckAt("T1", 30, 500, 625),
        TruckAt("T2", 32, 500, 625),
        TruckAt("T3", 29, 1000, 1250),
    ]
    sub = prepare_island(net, frozenset({29, 30, 31, 32}), trucks, 1.02, False, set())
    sgens = [int(sub.sgen.index[sub.sgen.name == t.id][0]) for t in trucks[1:]]
    model = BatchModel(copy.deepcopy(sub), sgens)
    p = (sub.load.p_mw * sub.load.scaling).to_numpy()[None, :]
    q = (sub.load.q_mvar * sub.load.scaling).to_numpy()[None, :]
    res = model.solve(p, q, None, np.array([625.0, 625.0, 1250.0]))
    assert res.converged[0]
    ref = copy.deepcopy(sub)
    ref.sgen.loc[sgens, "p_mw"] = res.truck_p_mw[0]
    ref.sgen.loc[sgens, "q_mvar"] = res.truck_q_mvar[0]
    ref.sgen.loc[sgens, "scaling"] = 1.0
    pp.runpp(ref, tolerance_mva=1e-10)
    counts = _compare(EngineRow.of(sub, model, res, 0, p, q), ref)
    assert counts == {"line": 6, "trafo": 0, "load": 4, "switch": 0}


def _small() -> pp.pandapowerNet:
    """Grid, a feeder, an impedance bus-bus switch, a line open at its far end, a transformer."""
    net = pp.create_empty_network()
    b = [pp.create_bus(net, 20.0) for _ in range(5)] + [pp.create_bus(net, 0.4)]
    pp.create_ext_grid(net, b[0], vm_pu=1.01, va_degree=5.0)
    for f, t in ((0, 1), (1, 3), (3, 4)):
        pp.create_line(net, b[f], b[t], 1.5, "NA2XS2Y 1x95 RM/25 12/20 kV")
    pp.create_switch(net, b[1], b[2], "b", closed=True, z_ohm=0.2)
    open_line = net.line.index[-1]
    pp.create_switch(net, b[4], open_line, "l", closed=False)
    pp.create_switch(net, b[3], open_line, "l", closed=True)
    pp.create_switch(net, b[0], b[3], "b", closed=False)  # open, fused when closed: no flow
    pp.create_transformer(net, b[2], b[5], "0.63 MVA 20/0.4 kV")
    pp.create_load(net, b[5], 0.4, 0.1)
    pp.create_load(net, b[2], 1.2, 0.3)
    pp.create_load(net, b[4], 0.5, 0.1)  # on the dead end: nothing flows
    return net


def test_a_small_network_every_element() -> None:
    net = _small()
    model = BatchModel(copy.deepcopy(net))
    p = (net.load.p_mw * net.load.scaling).to_numpy()[None, :]
    q = (net.load.q_mvar * net.load.scaling).to_numpy()[None, :]
    res = model.solve(p, q)
    assert res.converged[0]
    row = EngineRow.of(net, model, res, 0, p, q)
    ref = copy.deepcopy(net)
    pp.runpp(ref, tolerance_mva=1e-10)
    assert _compare(row, ref) == {"line": 6, "trafo": 2, "load": 3, "switch": 3}
    engine = EngineFlows(row)
    with pytest.raises(NotDerived):  # an impedance switch: pandapower's branch, not the model's
        across_kva(net, ElementRef("switch", 0, ""), engine)
    assert across_kva(net, ElementRef("switch", 3, ""), engine) is None  # a bus-bus coupler
    # the open end of the line behind the open switch: only its charging at the closed end
    kw, kva = across_kva(net, ElementRef("switch", 2, ""), engine) or (0.0, 0.0)
    kw_ref, kva_ref = across_kva(ref, ElementRef("switch", 2, "")) or (0.0, 0.0)
    assert (round(kw, 1), round(kva, 1)) == (round(kw_ref, 1), round(kva_ref, 1))
    assert kva > 1.0  # a 1.5 km cable's charging is not nothing
    assert across_kva(net, ElementRef("load", 2, ""), engine) == (0.0, 0.0)
