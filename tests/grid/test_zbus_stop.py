"""When the Z-bus iteration stops (`planner.grid.zbus.iterate`): once the error its changes
leave (the last change times `r / (1 - r)`, `r` the rate they shrink at) is under the
tolerance and every time step's power mismatch is under pandapower's 1e-8 (read from the last
change). Checked against an iteration run to its last bit, against the mismatch the admittance
matrix gives (`zbus.solved`) and against pandapower's runpp."""

from __future__ import annotations

import copy

import numpy as np
import pandapower.networks as pn
import pytest

from planner.grid import engine, zbus
from planner.grid.engine import BatchModel
from planner.grid.zbus import iterate, solved
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
    exact, *_ = iterate(model.y_pp, model.rhs_s, s_pq, start, 0.0, 80, 0.0)  # to its last bit
    x, made, met = iterate(model.y_pp, model.rhs_s, s_pq, start, 1e-10, 200, 1.0)
    assert np.abs(x - exact).max() < 1e-10 and met.all()
    done = [iterate(model.y_pp, model.rhs_s, s_pq, start, 0.0, k, 0.0)[0] for k in range(1, 40)]
    change_under = next(k for k in range(1, 39) if np.abs(done[k] - done[k - 1]).max() < 1e-10)
    assert made == change_under  # iterations are counted from 1: done[k] made k + 1
    assert np.abs(done[made - 1] - exact).max() < 1e-10 < np.abs(done[made - 2] - exact).max()


def test_time_steps_not_yet_within_pandapower_s_tolerance_iterate_on(monkeypatch) -> None:
    """With a voltage tolerance far too loose (1e-7 pu) the iteration goes on until every time
    step's power mismatch is under 1e-8 as the admittance matrix computes it, and the answers
    agree with runpp as ever; with a mismatch no iteration can meet, it reports none met."""
    net = pn.mv_oberrhein()
    p, q = _levels(net, 6, seed=5, low=0.3, high=1.2)
    model = BatchModel(copy.deepcopy(net))
    loads = (p + 1j * q).T
    s_bus = model.s_other[:, None] - (model.load_matrix @ loads) / model.base_mva
    start = model.y_pp.solve(-model.rhs_s)
    loose, loose_made, _ = iterate(model.y_pp, model.rhs_s, s_bus[model.pq], start, 1e-7, 200, 1.0)
    x, made, met = iterate(model.y_pp, model.rhs_s, s_bus[model.pq], start, 1e-7, 200, 1e-8)
    assert made > loose_made and met.all()
    v = np.empty((model.n, 6), complex)
    v[:] = model.v0[:, None]
    for at, want in ((loose, [False] * 6), (x, [True] * 6)):
        v[model.pq] = at
        assert solved(model.y_pq_rows, v, model.pq, s_bus, 1e-8).tolist() == want
    _, made, met = iterate(model.y_pp, model.rhs_s, s_bus[model.pq], start, 1e-7, 12, 1e-30)
    assert made == 12 and not met.any()
    monkeypatch.setattr(engine, "TOL_PU", 1e-7)
    res = model.solve(p, q)
    assert res.converged.all() and res.iterations == made_with(model, p, q)
    for k in (0, 5):
        _agrees(model, res, k, _runpp(net, p[k], q[k]))


def made_with(model: BatchModel, p: np.ndarray, q: np.ndarray) -> int:
    """The iterations the engine's first chunk takes (from the no-load voltages) at 1e-7 pu."""
    loads = (p + 1j * q).T
    s_pq = (model.s_other[:, None] - (model.load_matrix @ loads) / model.base_mva)[model.pq]
    start = model.y_pp.solve(-model.rhs_s)
    return iterate(model.y_pp, model.rhs_s, s_pq, start, 1e-7, 200, engine.MISMATCH_PU)[1]


def test_the_mismatch_read_from_the_change_is_the_admittance_matrix_s() -> None:
    """Stopped early, some time steps (the light ones) meet 1e-8 and others do not: the flags
    read from the last change are those `zbus.solved` computes from the admittance matrix."""
    net = pn.case33bw()
    model = BatchModel(copy.deepcopy(net))
    factor = np.geomspace(0.001, 3.0, 12)  # from next to nothing to three times the load
    p, q = np.outer(factor, net.load.p_mw), np.outer(factor, net.load.q_mvar)
    loads = (p + 1j * q).T
    s_bus = model.s_other[:, None] - (model.load_matrix @ loads) / model.base_mva
    start = model.y_pp.solve(-model.rhs_s)
    v = np.empty((model.n, 12), complex)
    v[:] = model.v0[:, None]
    mixed = 0
    for most in range(1, 12):
        x, _, met = iterate(model.y_pp, model.rhs_s, s_bus[model.pq], start, 0.0, most, 1e-8)
        v[model.pq] = x
        assert met.tolist() == solved(model.y_pq_rows, v, model.pq, s_bus, 1e-8).tolist()
        mixed += 0 < met.sum() < 12
    assert mixed >= 1


def test_branches_of_next_to_no_impedance_take_pandapower_s_mismatch() -> None:
    """Where the admittance matrix's rounding alone reaches near the tolerance (a line of 1e-8
    ohm), a time step converges only if the mismatch computed from the matrix, as pandapower
    computes it, is under it too; on ordinary grids that is not needed."""
    net = pn.case33bw()
    ordinary = BatchModel(copy.deepcopy(net))
    ordinary.solve(*_levels(net, 2, seed=1, low=0.5, high=1.0))
    assert ordinary._stiff is False
    stiff_net = copy.deepcopy(net)
    pp_line = dict(from_bus=17, to_bus=stiff_net.bus.index.max(), length_km=1.0, r_ohm_per_km=1e-8,
                   x_ohm_per_km=1e-8, c_nf_per_km=0.0, max_i_ka=1.0)  # fmt: skip
    import pandapower as pp

    extra = pp.create_bus(stiff_net, vn_kv=float(stiff_net.bus.vn_kv.iloc[0]))
    pp_line["to_bus"] = extra
    pp.create_line_from_parameters(stiff_net, **pp_line)
    pp.create_load(stiff_net, extra, p_mw=0.05, q_mvar=0.02)
    model = BatchModel(copy.deepcopy(stiff_net))
    p, q = _levels(stiff_net, 4, seed=2, low=0.5, high=1.0)
    res = model.solve(p, q)
    assert model._stiff is True
    loads = (p + 1j * q).T
    s_bus = model.s_other[:, None] - (model.load_matrix @ loads) / model.base_mva
    start = model.y_pp.solve(-model.rhs_s)
    x, _, met = iterate(model.y_pp, model.rhs_s, s_bus[model.pq], start, 1e-10, 200, 1e-8)
    v = np.empty((model.n, 4), complex)
    v[:] = model.v0[:, None]
    v[model.pq] = x
    assert (
        res.converged.tolist() == (met & solved(model.y_pq_rows, v, model.pq, s_bus, 1e-8)).tolist()
    )
    assert met.all() and not res.converged.any()  # the matrix's rounding alone fails them


def test_mismatch_at_the_stop_is_the_old_expression_to_the_last_bit():
    """`_mismatch_met` works in the change's own buffer: what it leaves there must be
    `s * change / before` to the last bit (a product's last bit depends on its operands' order
    where the multiply is fused: the first pair is one a reviewer found), and a tolerance just
    at or just above each column's largest magnitude gives the old flags."""
    rng = np.random.default_rng(47)
    shape = (400, 8)
    s = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    change = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * 1e-7
    s[0, 0] = 0.36159505490948474 - 0.7659424697490602j
    change[0, 0] = -4.895660361531874e-08 - 1.696175286153546e-07j
    before = 1.0 + 0.05 * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))
    old = s * change / before
    buffer = np.asfortranarray(change.copy())
    zbus._mismatch_met(s, buffer, before, 1.0)
    bits = [np.ascontiguousarray(a).view(np.uint64) for a in (buffer, old)]
    assert np.array_equal(*bits)
    worst = np.abs(old).max(axis=0)
    for column in range(shape[1]):
        for tol, met in ((worst[column], False), (np.nextafter(worst[column], np.inf), True)):
            flags = zbus._mismatch_met(s, np.asfortranarray(change.copy()), before, tol)
            assert bool(flags[column]) is met
