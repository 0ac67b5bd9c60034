"""The batched engine against pandapower's runpp: same voltages, loadings and truck sharing."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pytest

import planner
from planner.checks import solve
from planner.checks.stage import StageSetup, check_stage
from planner.grid import powerflow
from planner.grid.context import StageContext
from planner.grid.engine import BatchModel, Unsupported
from planner.grid.powerflow import TruckAt, prepare_island, solve_island
from tests.conftest import CASES

VM_TOL = 1e-6
LOADING_TOL = 1e-4


def _random_levels(net, steps: int, seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    factor = 0.3 + 0.9 * rng.random((steps, len(net.load)))
    base_p = (net.load.p_mw * net.load.scaling).to_numpy()
    base_q = (net.load.q_mvar * net.load.scaling).to_numpy()
    return base_p * factor, base_q * factor


def _runpp_at(net, p, q):  # type: ignore[no-untyped-def]
    ref = copy.deepcopy(net)
    ref.load["scaling"] = 1.0
    ref.load["p_mw"], ref.load["q_mvar"] = p, q
    pp.runpp(ref, numba=False)
    return ref


@pytest.mark.parametrize(
    "make",
    [
        pn.mv_oberrhein,
        pn.case33bw,
        pn.create_cigre_network_mv,
        lambda: pn.create_cigre_network_mv(with_der="pv_wind"),
    ],
)
def test_grid_matches_runpp(make) -> None:  # type: ignore[no-untyped-def]
    net = make()
    p, q = _random_levels(net, 12, seed=len(net.bus))
    model = BatchModel(copy.deepcopy(net))
    res = model.solve(p, q)
    assert res.converged.all()
    for k in (0, 5, 11):
        ref = _runpp_at(net, p[k], q[k])
        vm = ref.res_bus.vm_pu.loc[model.bus_ids].to_numpy()
        assert np.abs(vm - res.vm_pu[k]).max() < VM_TOL
        line = ref.res_line.loading_percent.loc[model.lines].to_numpy()
        assert np.abs(line - res.line_loading_percent[k]).max() < LOADING_TOL
        if len(model.trafos):
            trafo = ref.res_trafo.loading_percent.loc[model.trafos].to_numpy()
            assert np.abs(trafo - res.trafo_loading_percent[k]).max() < LOADING_TOL
        assert res.slack_p_mw[k] == pytest.approx(ref.res_ext_grid.p_mw.to_numpy(), abs=1e-7)


def test_truck_island_sharing_matches_the_pandapower_loop() -> None:
    net = pn.case33bw()
    net.line.at[28, "in_service"] = False
    island = frozenset({29, 30, 31, 32})
    trucks = [
        TruckAt("T1", 30, 500, 625),
        TruckAt("T2", 32, 500, 625),
        TruckAt("T3", 29, 1000, 1250),
    ]
    sub = prepare_island(net, island, trucks, 1.02, False, set())
    ref = solve_island(copy.deepcopy(sub), trucks)
    idx = [int(sub.sgen.index[sub.sgen.name == t.id][0]) for t in trucks[1:]]
    model = BatchModel(copy.deepcopy(sub), idx)
    p = (sub.load.p_mw * sub.load.scaling).to_numpy()[None, :]
    q = (sub.load.q_mvar * sub.load.scaling).to_numpy()[None, :]
    res = model.solve(p, q, None, np.array([625.0, 625.0, 1250.0]))
    assert res.slack_p_mw[0, 0] * 1000 == pytest.approx(ref.truck_p_kw["T1"], abs=0.01)
    assert res.truck_p_mw[0] * 1000 == pytest.approx(
        [ref.truck_p_kw["T2"], ref.truck_p_kw["T3"]], abs=0.01
    )
    assert res.truck_q_mvar[0, 1] == pytest.approx(2 * res.truck_q_mvar[0, 0], rel=1e-6)
    vm = np.array([ref.vm_pu[b] for b in model.bus_ids])
    assert np.abs(vm - res.vm_pu[0]).max() < VM_TOL
    # a truck switched off: the others share what is left
    res = model.solve(p, q, np.array([[True, False]]), np.array([625.0, 625.0, 1250.0]))
    assert res.truck_p_mw[0, 1] == 0.0
    assert res.slack_p_mw[0, 0] == pytest.approx(res.truck_p_mw[0, 0], rel=1e-6)


def test_pv_generators_are_not_modelled() -> None:
    net = pn.case9()
    with pytest.raises(Unsupported):
        BatchModel(net)


def test_verification_with_and_without_the_engine_agree(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The planner's verification of the reference stage, engine vs pandapower fallback."""
    case = planner.load_case(CASES / "dashiqiao.toml")
    ctx = StageContext.build(case, case.stages[1])
    _, plan = None, planner.plan_case(dataclasses.replace(case, stages=(case.stages[1],)))
    stage = plan.stages[0]
    trucks = tuple(TruckAt(t.id, t.bus, t.rating_kw, case.fleet.rating_kva) for t in stage.trucks)
    setup = StageSetup(stage.switching, trucks)
    fast = check_stage(ctx, setup)

    refused = []

    def unsupported(*args, **kwargs):  # type: ignore[no-untyped-def]
        refused.append(1)
        raise Unsupported("forced for the test")

    monkeypatch.setattr(solve, "BatchModel", unsupported)
    monkeypatch.setattr(powerflow, "BatchModel", unsupported)
    slow = check_stage(ctx, setup)
    assert len(refused) == 3  # the grid part and both truck islands went to pandapower
    a, b = fast.verification, slow.verification
    assert a.passed == b.passed
    assert a.min_vm_pu == pytest.approx(b.min_vm_pu, abs=VM_TOL)
    assert a.max_vm_pu == pytest.approx(b.max_vm_pu, abs=VM_TOL)
    assert a.max_line_loading_percent == pytest.approx(b.max_line_loading_percent, abs=1e-3)
    assert a.max_truck_loading_percent == pytest.approx(b.max_truck_loading_percent, abs=1e-3)
    for ha, hb in zip(fast.hours, slow.hours, strict=True):
        assert ha.online == hb.online
        for truck, kw in ha.truck_kw.items():
            assert kw == pytest.approx(hb.truck_kw[truck], abs=0.01)


def test_no_internal_model_from_pandapower_is_unsupported(monkeypatch) -> None:
    """pandapower can return without an internal model (a property test found such a state):
    the engine must then step aside for the per-state path, not fail."""
    net = pn.case33bw()

    def runpp_without_model(net, **kwargs):  # type: ignore[no-untyped-def]
        net["_ppc"] = {"internal": {}}

    monkeypatch.setattr(pp, "runpp", runpp_without_model)
    with pytest.raises(Unsupported, match="no internal model"):
        BatchModel(net)
