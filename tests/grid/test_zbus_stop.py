"""When the Z-bus iteration stops (`planner.grid.zbus.iterate`): once the error its changes
leave (the last change times `r / (1 - r)`, `r` the rate they shrink at) is under the
tolerance, and the time steps whose power mismatch is not yet under pandapower's 1e-8 then
iterate on alone (`BatchModel`). Checked against an iteration run to its last bit and against
pandapower's runpp."""

from __future__ import annotations

import copy

import numpy as np
import pandapower.networks as pn
import pytest

from planner.grid import engine
from planner.grid.engine import BatchModel
from planner.grid.zbus import iterate
from tests.grid.test_engine16 import _agrees, _levels, _runpp

# network, load range
GRIDS = {"oberrhein": (pn.mv_oberrhein, (0.3, 1.2)), "case33bw heavy": (pn.case33bw, (1.5, 2.6))}


@pytest.mark.parametrize("name", sorted(GRIDS))
def test_the_iteration_stops_once_its_error_is_under_the_tolerance(name: str) -> None:
    """Its answer is within 1e-10 pu of the iteration run to its last bit, one iteration
    before the last change is under 1e-10 (the rule before)."""
    make, (low, high) = GRIDS[name]
    net = make()
    model = BatchModel(copy.deepcopy(net))
    p, q = _levels(net, 16, seed=3, low=low, high=high)
    loads = (p + 1j * q).T
    s_pq = (model.s_other[:, None] - (model.load_matrix @ loads) / model.base_mva)[model.pq]
    start = model.y_pp.solve(-model.rhs_s)
    exact, _ = iterate(model.y_pp, model.rhs_s, s_pq, start, 0.0, 80)  # to its last bit
    x, made = iterate(model.y_pp, model.rhs_s, s_pq, start, 1e-10, 200)
    assert np.abs(x - exact).max() < 1e-10
    done = [iterate(model.y_pp, model.rhs_s, s_pq, start, 0.0, k)[0] for k in range(1, 40)]
    change_under = next(k for k in range(1, 39) if np.abs(done[k] - done[k - 1]).max() < 1e-10)
    assert made == change_under  # iterations are counted from 1: done[k] made k + 1
    assert np.abs(done[made - 1] - exact).max() < 1e-10 < np.abs(done[made - 2] - exact).max()


def test_time_steps_not_yet_within_pandapower_s_tolerance_iterate_on(monkeypatch) -> None:
    """With a first stop far too loose (1e-7 pu), every time step's mismatch is still over 1e-8:
    they iterate on from where they stopped, and agree with runpp as ever."""
    net = pn.mv_oberrhein()
    p, q = _levels(net, 6, seed=5, low=0.3, high=1.2)
    model = BatchModel(copy.deepcopy(net))
    runs: list[tuple[int, float]] = []
    real = engine.iterate

    def counted(y, rhs, s, start, tol, most):  # type: ignore[no-untyped-def]
        runs.append((s.shape[1], tol))
        return real(y, rhs, s, start, tol, most)

    monkeypatch.setattr(engine, "TOL_PU", 1e-7)
    monkeypatch.setattr(engine, "iterate", counted)
    res = model.solve(p, q)
    assert [(steps, pytest.approx(tol)) for steps, tol in runs] == [(6, 1e-7), (6, 1e-9)]
    assert res.converged.all()
    for k in (0, 5):
        _agrees(model, res, k, _runpp(net, p[k], q[k]))
