"""Truck islands: proportional sharing, the voltage setpoint, and agreement with plain runpp."""

from __future__ import annotations

import copy

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pytest

from planner.grid.powerflow import TruckAt, prepare_island, run, solve_island

ISLAND = frozenset({29, 30, 31, 32})


def _net():  # type: ignore[no-untyped-def]
    net = pn.case33bw()
    net.line.at[28, "in_service"] = False
    return net


def test_trucks_share_p_and_q_in_proportion_to_rating() -> None:
    trucks = [
        TruckAt("T1", 30, 500.0, 625.0),
        TruckAt("T2", 32, 500.0, 625.0),
        TruckAt("T3", 29, 1000.0, 1250.0),
    ]
    sub = prepare_island(_net(), ISLAND, trucks, 1.0, False, set())
    sol = solve_island(sub, trucks)
    assert sol.converged
    p, q = sol.truck_p_kw, sol.truck_q_kvar
    assert p["T1"] == pytest.approx(p["T2"], abs=0.01)
    assert p["T3"] == pytest.approx(2 * p["T1"], abs=0.01)
    assert q["T3"] == pytest.approx(2 * q["T1"], abs=0.01)
    total_load_kw = sub.load.p_mw[sub.load.in_service].sum() * 1000
    losses_kw = sub.res_line.pl_mw.sum() * 1000
    assert sum(p.values()) == pytest.approx(total_load_kw + losses_kw, abs=0.01)
    assert sub.res_bus.vm_pu.at[30] == pytest.approx(1.0)


def test_single_truck_equals_plain_runpp_with_an_ext_grid() -> None:
    net = _net()
    trucks = [TruckAt("T1", 30, 2000.0, 2500.0)]
    sol = solve_island(prepare_island(net, ISLAND, trucks, 1.02, False, set()), trucks)
    plain = pp.toolbox.select_subnet(copy.deepcopy(net), sorted(ISLAND))
    pp.create_ext_grid(plain, 30, vm_pu=1.02)
    pp.runpp(plain, numba=False)
    for bus, vm in sol.vm_pu.items():
        assert vm == pytest.approx(plain.res_bus.vm_pu.at[bus], abs=1e-9)
    assert sol.truck_p_kw["T1"] == pytest.approx(plain.res_ext_grid.p_mw.iloc[0] * 1000, abs=1e-6)


def test_shared_island_matches_runpp_with_fixed_injections() -> None:
    """Feeding the shares found back into plain runpp reproduces the planner's voltages."""
    net = _net()
    trucks = [TruckAt("T1", 30, 500.0, 625.0), TruckAt("T2", 32, 500.0, 625.0)]
    sol = solve_island(prepare_island(net, ISLAND, trucks, 1.0, False, set()), trucks)
    plain = pp.toolbox.select_subnet(copy.deepcopy(net), sorted(ISLAND))
    pp.create_ext_grid(plain, 30, vm_pu=1.0)
    pp.create_sgen(
        plain, 32, p_mw=sol.truck_p_kw["T2"] / 1000, q_mvar=sol.truck_q_kvar["T2"] / 1000
    )
    pp.runpp(plain, numba=False)
    vm = np.array([sol.vm_pu[b] for b in sorted(ISLAND)])
    assert np.abs(vm - plain.res_bus.vm_pu.loc[sorted(ISLAND)].to_numpy()).max() < 1e-9
    assert plain.res_ext_grid.p_mw.iloc[0] * 1000 == pytest.approx(sol.truck_p_kw["T1"], abs=0.01)


def test_sgen_trips_unless_kept() -> None:
    net = _net()
    pp.create_sgen(net, 31, p_mw=0.1, q_mvar=0.0)
    trucks = [TruckAt("T1", 30, 2000.0, 2500.0)]
    tripped = solve_island(prepare_island(net, ISLAND, trucks, 1.0, False, set()), trucks)
    kept = solve_island(prepare_island(net, ISLAND, trucks, 1.0, True, set()), trucks)
    assert tripped.truck_p_kw["T1"] - kept.truck_p_kw["T1"] == pytest.approx(100.0, abs=2.0)


def test_failed_load_flow_is_a_message_not_an_exception() -> None:
    net = _net()
    net.load["p_mw"] *= 1000  # far beyond what the feeder can carry
    assert "did not converge" in run(net) or "failed" in run(net)


@pytest.mark.parametrize("name", ["case33bw", "create_cigre_network_mv", "mv_oberrhein", "case9"])
def test_the_start_voltage_is_the_one_pandapower_works_out(name: str) -> None:
    """`start_voltage` replaces pandapower's queries for init="auto": the same value."""
    from planner.grid.engine import start_voltage

    net = getattr(pn, name)()
    net.ext_grid["vm_pu"] = 1.03
    if len(net.gen):
        net.gen["vm_pu"] = 1.01
    pp.runpp(net, numba=False)
    assert start_voltage(net) == {"init_vm_pu": pytest.approx(net._options["init_vm_pu"])}
