"""The engine's speed-ups of issue #16 against pandapower's runpp: chunks that start from the chunk
before (many time steps), a heavy-loaded island sharing among its trucks, trucks paralleled at
their reactive limits over many steps, and the Z-bus core's pieces (its convergence test, its
factorisation). Voltages to 1e-6 pu, loadings to 1e-3 percentage points, flows to 0.1 kW."""

from __future__ import annotations

import copy
from dataclasses import fields

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.linalg import spsolve

from planner.grid.batch_result import BatchResult
from planner.grid.engine import CHUNK, BatchModel
from planner.grid.powerflow import TruckAt, prepare_island, results, row_solution, solve_island
from planner.grid.zbus import _below, factorise

VM_TOL = 1e-6
LOADING_TOL = 1e-3
KW_TOL = 0.1


def _levels(net, steps: int, seed: int, low: float, high: float):  # type: ignore[no-untyped-def]
    """Load levels drifting step to step (as a profile does): each load between `low` and
    `high` times its own."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(0.0, 0.05, (steps, len(net.load))), axis=0)
    factor = low + (high - low) * (0.5 + 0.5 * np.sin(walk + rng.random(len(net.load)) * 6))
    base_p = (net.load.p_mw * net.load.scaling).to_numpy()
    base_q = (net.load.q_mvar * net.load.scaling).to_numpy()
    return base_p * factor, base_q * factor


def _runpp(net, p, q, gens=()):  # type: ignore[no-untyped-def]
    ref = copy.deepcopy(net)
    ref.load["scaling"] = 1.0
    ref.load["p_mw"], ref.load["q_mvar"] = p, q
    for bus, mw, lim, vm in gens:
        pp.create_gen(ref, bus, p_mw=mw, vm_pu=vm, max_q_mvar=lim, min_q_mvar=-lim)
    pp.runpp(ref, numba=False, enforce_q_lims=bool(gens))
    return ref


def _agrees(model: BatchModel, res, k: int, ref) -> None:  # type: ignore[no-untyped-def]
    vm = ref.res_bus.vm_pu.loc[model.bus_ids].to_numpy()
    assert np.abs(vm - res.vm_pu[k]).max() < VM_TOL
    line = ref.res_line.loading_percent.loc[model.lines].to_numpy()
    assert np.abs(line - res.line_loading_percent[k]).max() < LOADING_TOL
    if len(model.trafos):
        trafo = ref.res_trafo.loading_percent.loc[model.trafos].to_numpy()
        assert np.abs(trafo - res.trafo_loading_percent[k]).max() < LOADING_TOL
    slack_kw = ref.res_ext_grid.p_mw.to_numpy() * 1000.0
    assert np.abs(slack_kw - res.slack_p_mw[k] * 1000.0).max() < KW_TOL


# grids solved at many drifting time steps (several chunks, each started from the one before):
# network, steps, load range, steps compared with runpp
MANY_STEPS = {
    "oberrhein, 50 steps": (pn.mv_oberrhein, 50, (0.3, 1.2), (0, 15, 16, 17, 31, 32, 49)),
    "case33bw heavy, 40 steps": (pn.case33bw, 40, (1.5, 2.6), (0, 16, 33, 39)),
    "cigre mv with der, 20 steps": (
        lambda: pn.create_cigre_network_mv(with_der="pv_wind"),
        20,
        (0.2, 1.5),
        (0, 16, 19),
    ),
}


@pytest.mark.parametrize("name", sorted(MANY_STEPS))
def test_many_steps_match_runpp(name: str) -> None:
    make, steps, (low, high), compared = MANY_STEPS[name]
    net = make()
    p, q = _levels(net, steps, seed=steps, low=low, high=high)
    model = BatchModel(copy.deepcopy(net))
    res = model.solve(p, q)
    assert steps > 2 * CHUNK or name.startswith("cigre")
    assert res.converged.all()
    for k in compared:
        _agrees(model, res, k, _runpp(net, p[k], q[k]))


@pytest.mark.parametrize("name", sorted(MANY_STEPS))
def test_without_angles_the_rest_is_the_same(name: str) -> None:
    """`solve(..., angles=False)` (the scans) leaves `va_degree` out, every other field the same
    to the bit, over several chunks."""
    make, steps, (low, high), _ = MANY_STEPS[name]
    net = make()
    p, q = _levels(net, steps, seed=steps, low=low, high=high)
    model = BatchModel(copy.deepcopy(net))
    full, bare = model.solve(p, q), model.solve(p, q, angles=False)
    assert full.va_degree is not None and full.va_degree.shape == full.vm_pu.shape
    assert bare.va_degree is None and bare.iterations == full.iterations
    for f in fields(BatchResult):
        if f.name not in ("va_degree", "iterations"):
            assert np.array_equal(getattr(bare, f.name), getattr(full, f.name)), f.name
    alone = model.solve(p[:1], q[:1], angles=False)  # one chunk: as it is, not stacked
    assert alone.va_degree is None and alone.vm_pu.shape == (1, full.vm_pu.shape[1])


@pytest.mark.parametrize("name", sorted(MANY_STEPS))
def test_a_step_solved_alone_is_solved_alike(name: str) -> None:
    """Where a chunk starts (the no-load voltages, or the chunk before's solution) moves no
    result by more than 1e-9 pu: each step solved alone agrees with it solved among all."""
    make, steps, (low, high), compared = MANY_STEPS[name]
    net = make()
    p, q = _levels(net, steps, seed=steps, low=low, high=high)
    model = BatchModel(copy.deepcopy(net))
    together = model.solve(p, q)
    for k in compared:
        alone = model.solve(p[k : k + 1], q[k : k + 1])
        assert np.abs(alone.vm_pu[0] - together.vm_pu[k]).max() < 1e-9
        assert np.abs(alone.va_degree[0] - together.va_degree[k]).max() < 1e-7
        assert np.abs(alone.line_loading_percent[0] - together.line_loading_percent[k]).max() < 1e-7


def test_a_step_that_does_not_converge_does_not_start_the_next_chunk() -> None:
    """A chunk's last step beyond what the grid carries (no solution) is not where the next
    chunk starts: the steps after it converge as they do alone."""
    net = pn.case33bw()
    p, q = _levels(net, 2 * CHUNK, seed=3, low=0.5, high=1.0)
    p[CHUNK - 1] *= 40.0
    q[CHUNK - 1] *= 40.0
    model = BatchModel(copy.deepcopy(net))
    res = model.solve(p, q)
    assert res.converged.tolist() == [k != CHUNK - 1 for k in range(2 * CHUNK)]
    alone = model.solve(p[CHUNK:], q[CHUNK:])
    assert np.abs(alone.vm_pu - res.vm_pu[CHUNK:]).max() < 1e-9


# truck islands on case33bw (line 28 out: buses 29-32 an island): load factor, trucks
ISLANDS = {
    "heavy, three trucks": (2.5, [(30, 500, 625), (32, 500, 625), (29, 1000, 1250)]),
    "heavy, one truck": (3.0, [(31, 2000, 2500)]),
    "light, two trucks": (0.2, [(29, 400, 500), (32, 800, 1000)]),
}


@pytest.mark.parametrize("name", sorted(ISLANDS))
def test_island_sharing_matches_the_pandapower_loop(name: str) -> None:
    factor, specs = ISLANDS[name]
    net = pn.case33bw()
    net.line.at[28, "in_service"] = False
    net.load["p_mw"] *= factor
    net.load["q_mvar"] *= factor
    trucks = [TruckAt(f"T{j}", bus, kw, kva) for j, (bus, kw, kva) in enumerate(specs)]
    sub = prepare_island(net, frozenset({29, 30, 31, 32}), trucks, 1.02, False, set())
    idx = [int(sub.sgen.index[sub.sgen.name == t.id][0]) for t in trucks[1:]]
    model = BatchModel(copy.deepcopy(sub), idx)
    steps = CHUNK + 4
    p, q = _levels(sub, steps, seed=5, low=0.6, high=1.0)
    shares = np.array([t.rating_kva for t in trucks])
    res = model.solve(p, q, None, shares)
    assert res.converged.all()
    for k in (0, CHUNK, steps - 1):
        one = copy.deepcopy(sub)
        one.load["p_mw"], one.load["q_mvar"], one.load["scaling"] = p[k], q[k], 1.0
        ref = solve_island(one, trucks)
        sol = row_solution(model, res, k, [t.id for t in trucks])
        assert sol.truck_p_kw is not None and ref.truck_p_kw is not None
        for truck in trucks:
            assert abs(sol.truck_p_kw[truck.id] - ref.truck_p_kw[truck.id]) < KW_TOL
        vm = np.array([ref.vm_pu[b] for b in model.bus_ids])
        assert np.abs(vm - res.vm_pu[k]).max() < VM_TOL


# trucks paralleled with the grid over many steps: (bus, MW, Mvar limit) each, setpoint, how
# many of them are at their reactive limit (at every step)
PARALLELED = {
    "free": ([(17, 0.3, 2.0), (32, 0.2, 2.0)], 1.0, 0),
    "one at its limit": ([(17, 0.3, 0.02), (32, 0.2, 2.0)], 1.0, 1),
    "both at their limits": ([(17, 0.3, 0.01), (24, 0.2, 0.005)], 1.0, 2),
    "absorbing at their limits": ([(17, 0.0, 0.05), (32, 0.0, 0.5)], 0.95, 2),
}


@pytest.mark.parametrize("name", sorted(PARALLELED))
def test_paralleled_trucks_over_many_steps_match_runpp(name: str) -> None:
    gens, vm_set, limited = PARALLELED[name]
    net = pn.case33bw()
    steps = CHUNK + 6
    p, q = _levels(net, steps, seed=9, low=0.4, high=1.1)
    model = BatchModel(copy.deepcopy(net), pv_buses=[bus for bus, _, _ in gens])
    gen_p = np.array([[mw * (1 + 0.02 * k) for _, mw, _ in gens] for k in range(steps)])
    gen_q = np.array([[lim for _, _, lim in gens]] * steps)
    res = model.solve(p, q, pv=(gen_p, gen_q, vm_set))
    assert res.converged.all() and res.pv_q_mvar is not None
    for k in (0, CHUNK - 1, CHUNK, steps - 1):
        placed = [(bus, gen_p[k, j], lim, vm_set) for j, (bus, _, lim) in enumerate(gens)]
        ref = _runpp(net, p[k], q[k], placed)
        _agrees(model, res, k, ref)
        q_mvar = ref.res_gen.q_mvar.to_numpy()
        assert np.abs(q_mvar - res.pv_q_mvar[k]).max() < 1e-6
        assert np.isclose(np.abs(q_mvar), gen_q[k], atol=1e-9).sum() == limited


# the convergence test decided from real and imaginary parts: (entries, tolerance)
BELOW = {
    "all tiny": ([1e-12 + 1e-12j, -3e-13j], 1e-10),
    "a real part over": ([2e-10 + 0j, 1e-12j], 1e-10),
    "magnitude over, parts under": ([8e-11 + 8e-11j], 1e-10),
    "magnitude under, parts near": ([7e-11 - 7e-11j], 1e-10),
    "exactly at": ([1e-10 + 0j], 1e-10),
    "not a number": ([np.nan + 0j, 0j], 1e-10),
    "negative imaginary over": ([-2e-10j, 0j], 1e-10),
}


@pytest.mark.parametrize("name", sorted(BELOW))
def test_the_convergence_test_is_on_magnitudes(name: str) -> None:
    entries, tol = BELOW[name]
    change = np.asfortranarray(np.array(entries, dtype=complex).reshape(-1, 1).repeat(3, axis=1))
    assert _below(change, tol) == bool(np.abs(change).max() < tol)


def test_the_factors_solve_a_matrix_that_needs_pivoting() -> None:
    """A diagonal far smaller than its column (not an admittance matrix's shape) is pivoted
    away: the factors still solve to 1e-12."""
    dense = np.array(
        [[1e-6, 2.0, 0.0, 0.0], [3.0, 1.0, 1.0, 0.0], [0.0, 1.0, 4.0, 1.0], [0.0, 0.0, 1.0, 2.0]]
    ) * (1.0 - 0.5j)
    rhs = np.array([1.0, 2.0, 3.0, 4.0], dtype=complex)
    x = factorise(csr_matrix(dense)).solve(rhs)
    assert np.abs(dense @ x - rhs).max() < 1e-12
    assert np.abs(x - spsolve(csr_matrix(dense).tocsc(), rhs)).max() < 1e-12


def test_solutions_hold_python_numbers() -> None:
    """The per-element dictionaries of a batched row and of a pandapower run hold Python ints
    and floats (JSON and the checks take them as they are), finite values only."""
    net = pn.case33bw()
    model = BatchModel(copy.deepcopy(net))
    p, q = _levels(net, 2, seed=1, low=0.5, high=1.0)
    sol = row_solution(model, model.solve(p, q), 1, [])
    for values in (sol.vm_pu, sol.line_loading_percent):
        assert {type(k) for k in values} == {int} and {type(v) for v in values.values()} == {float}
    ref = _runpp(net, p[1], q[1])
    ref.res_bus.loc[5, "vm_pu"] = np.nan
    vm, line, trafo = results(ref, {4, 5, 6})
    assert sorted(vm) == [4, 6] and trafo == {}
    assert vm[4] == float(ref.res_bus.vm_pu[4]) and type(vm[4]) is float
    assert line == {int(i): float(v) for i, v in ref.res_line.loading_percent.items()}
