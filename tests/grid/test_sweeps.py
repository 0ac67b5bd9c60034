"""Triangular solves by levels (`planner.grid.sweeps.Sweeps`): the same solution as SuperLU's
own solve on radial, meshed and random grids, none where SuperLU pivoted rows; the engine's
full chunks solved with them agree with SuperLU's answers and with pandapower's runpp."""

from __future__ import annotations

import copy

import numpy as np
import pandapower.networks as pn
import pytest
from scipy.sparse import csr_matrix

from planner.grid import engine, sweeps
from planner.grid.engine import BatchModel
from planner.grid.sweeps import Sweeps
from planner.grid.zbus import factorise, iterate
from tests.grid.test_engine16 import MANY_STEPS, _agrees, _levels, _runpp

NETWORKS = {
    "oberrhein": pn.mv_oberrhein,
    "case33bw": pn.case33bw,
    "cigre mv with der": lambda: pn.create_cigre_network_mv(with_der="pv_wind"),
    "cigre lv": pn.create_cigre_network_lv,
    "oberrhein meshed": lambda: _all_closed(pn.mv_oberrhein()),
    # its HV/MV transformers' phase shifts in Y_pp: U is not L's transpose times a diagonal
    "oberrhein with substations": lambda: pn.mv_oberrhein(include_substations=True),
}


def _all_closed(net):  # type: ignore[no-untyped-def]
    net.switch["closed"] = True  # the open rings closed: loops, and fill in the factors
    return net


def _random_grid(buses: int, loops: int, seed: int, shifted: bool = False) -> csr_matrix:
    """The admittance matrix of a random tree of `buses` buses with `loops` extra branches and
    a shunt at each bus (the slack's admittance to the rest, as `Y_pp` has it); `shifted`:
    each branch a phase shifter (its two off-diagonal entries no longer equal)."""
    rng = np.random.default_rng(seed)
    parent = [int(rng.integers(0, k)) for k in range(1, buses)]
    ends = [(k + 1, p) for k, p in enumerate(parent)]
    ends += [tuple(rng.choice(buses, 2, replace=False)) for _ in range(loops)]
    y = np.zeros((buses, buses), complex)
    for a, b in ends:
        g = complex(rng.uniform(1, 20), -rng.uniform(5, 60))
        y[a, a] += g
        y[b, b] += g
        turn = np.exp(1j * rng.uniform(-0.5, 0.5)) if shifted else 1.0
        y[a, b] -= g * turn
        y[b, a] -= g / turn
    y[np.diag_indices(buses)] += rng.uniform(0.01, 1, buses) - 1j * rng.uniform(0.01, 1, buses)
    return csr_matrix(y)


def _matrices() -> dict[str, csr_matrix]:
    out = {}
    for name, make in NETWORKS.items():
        model = BatchModel(copy.deepcopy(make()))
        out[name] = model.y_pq_rows[:, model.pq]
    out["random tree"] = _random_grid(300, 0, seed=1)
    out["random meshed"] = _random_grid(300, 40, seed=2)
    out["random meshed, shifted"] = _random_grid(300, 40, seed=4, shifted=True)
    return out


MATRICES = _matrices()


@pytest.mark.parametrize("name", sorted(MATRICES))
@pytest.mark.parametrize("steps", [1, 16])
def test_the_sweeps_solve_as_superlu_does(name: str, steps: int) -> None:
    y = MATRICES[name]
    lu = factorise(y)
    levels = Sweeps.of(lu)
    assert levels is not None
    rng = np.random.default_rng(7)
    b = rng.standard_normal((y.shape[0], steps)) + 1j * rng.standard_normal((y.shape[0], steps))
    want = lu.solve(np.asfortranarray(b))
    inside = np.ascontiguousarray(b[levels.rows])
    assert levels.solve(inside) is inside  # in place
    got = np.empty_like(inside)
    got[levels.rows] = inside
    assert np.abs(got - want).max() <= 1e-12 * np.abs(want).max()
    assert np.abs(y @ got - b).max() <= 1e-10 * np.abs(b).max()


def test_without_scipy_s_kernel_the_public_product_gives_the_same(monkeypatch) -> None:
    y = MATRICES["random meshed"]
    levels = Sweeps.of(factorise(y))
    assert levels is not None
    b = np.ascontiguousarray(np.random.default_rng(3).standard_normal((y.shape[0], 4)) + 0j)
    kernel = levels.solve(b.copy())
    monkeypatch.setattr(sweeps, "csr_matvecs", None)
    assert np.abs(levels.solve(b.copy()) - kernel).max() <= 1e-13 * np.abs(kernel).max()


def test_none_where_superlu_pivoted_rows_and_only_c_ordered_right_hand_sides() -> None:
    pivoted = factorise(csr_matrix(np.array([[1e-3, 1.0, 0], [1.0, 1.0, 0.5], [0, 0.5, 2.0]])))
    assert not np.array_equal(pivoted.perm_r, pivoted.perm_c)
    assert Sweeps.of(pivoted) is None
    levels = Sweeps.of(factorise(MATRICES["case33bw"]))
    assert levels is not None
    n = levels.shape[0]
    for wrong in (
        np.asfortranarray(np.ones((n, 3), complex)),
        np.ones((n - 1, 3), complex),  # the kernel would write past its end
        np.ones((n + 1, 3), complex),
        np.ones(n, complex),
    ):
        with pytest.raises(ValueError, match="C-ordered right-hand side"):
            levels.solve(wrong)


def test_none_where_a_row_of_u_reaches_its_own_level() -> None:
    """A matrix whose pattern is not symmetric (no grid's, but SuperLU takes it): where `U`
    holds an entry `L`'s levels did not order, the sweeps would be wrong; they are refused."""
    rng = np.random.default_rng(9)
    refused = 0
    for _ in range(40):
        y = np.diag(rng.uniform(5, 10, 30) + 0j)
        for a, b in rng.integers(0, 30, (25, 2)):
            if a != b:
                y[a, b] = rng.uniform(-1, 1)  # one way only
        lu = factorise(csr_matrix(y))
        levels = Sweeps.of(lu)
        if levels is None:
            refused += 1
            continue
        b = np.ascontiguousarray(rng.standard_normal((30, 2)) + 0j)
        got = np.empty_like(b)
        got[levels.rows] = levels.solve(np.ascontiguousarray(b[levels.rows]))
        assert np.abs(y @ got - b).max() < 1e-12  # those taken solve
    assert refused > 20


@pytest.mark.parametrize("name", ["oberrhein", "random tree"])
def test_levels_narrower_than_asked_get_none(name: str) -> None:
    """A deep, narrow forest of factors (fewer rows per level than `wide`) gets none: SuperLU
    solves it faster (MV Oberrhein: 5 rows per level)."""
    lu = factorise(MATRICES[name])
    levels = Sweeps.of(lu)
    assert levels is not None
    width = levels.shape[0] / len(levels.backward)
    assert Sweeps.of(lu, wide=width) is not None
    assert Sweeps.of(lu, wide=width * 1.01) is None


def test_the_iteration_with_sweeps_answers_in_the_buses_own_order() -> None:
    net = pn.mv_oberrhein()
    model = BatchModel(copy.deepcopy(net))
    p, q = _levels(net, 16, seed=3, low=0.3, high=1.2)
    s_pq = (model.s_other[:, None] - (model.load_matrix @ (p + 1j * q).T) / model.base_mva)[
        model.pq
    ]
    start = model.y_pp.solve(-model.rhs_s)
    levels = Sweeps.of(model.y_pp)
    assert levels is not None
    want, made, met = iterate(model.y_pp, model.rhs_s, s_pq, start, 1e-10, 200, 1e-8)
    got, made_too, met_too = iterate(levels, model.rhs_s, s_pq, start, 1e-10, 200, 1e-8)
    assert met.all() and met_too.all() and made_too == made
    assert np.abs(got - want).max() < 1e-10


@pytest.mark.parametrize("name", sorted(MANY_STEPS))
def test_full_chunks_solved_by_levels_agree_with_runpp(name: str, monkeypatch) -> None:
    """With the width the sweeps start at lowered to none, full chunks of these grids solve
    with them (a chunk short of `CHUNK` with SuperLU), as before and as runpp does; at the
    engine's own width these narrow grids keep SuperLU."""
    make, steps, (low, high), compared = MANY_STEPS[name]
    net = make()
    p, q = _levels(net, steps, seed=11, low=low, high=high)
    narrow = BatchModel(copy.deepcopy(net))
    before = narrow.solve(p, q)
    assert narrow._sweeps is narrow.y_pp
    monkeypatch.setattr(engine, "SWEEP_WIDTH", 0)
    model = BatchModel(copy.deepcopy(net))
    res = model.solve(p, q)
    assert isinstance(model._sweeps, Sweeps)
    assert res.converged.all() and np.abs(res.vm_pu - before.vm_pu).max() < 1e-9
    for k in compared:
        _agrees(model, res, k, _runpp(net, p[k], q[k]))
