"""The array forms of pandapower's two per-element loops (planner/grid/pp_loops.py) write what
pandapower's Python loops write, raise where they raise, are in place only inside `array_loops`,
and leave the model a build makes unchanged (also where the connectivity check isolates buses)."""

from __future__ import annotations

import contextlib
import copy

import numpy as np
import pandapower.auxiliary as aux
import pandapower.networks as pn
import pytest

import planner.grid.model_build as model_build
from planner.grid import pp_loops
from planner.grid.model_build import internal_model
from planner.grid.pp_loops import array_loops, set_elements_oos, set_isolated_buses_oos

LOOP_ELEMENTS = aux._python_set_elements_oos
LOOP_BUSES = aux._python_set_isolated_buses_oos


@pytest.mark.parametrize("dtype", [np.int64, np.uint32, np.int32])
@pytest.mark.parametrize("seed", range(6))
def test_elements_as_the_loop_sets_them(dtype: type, seed: int) -> None:
    rng = np.random.default_rng(seed)
    buses = int(rng.integers(1, 60))
    bis = rng.random(buses) < 0.7
    n = int(rng.integers(0, 200))
    ti = rng.integers(0, buses, n).astype(dtype)
    tis = rng.random(n) < 0.8
    off = np.flatnonzero(~tis)
    ti[off[: len(off) // 2]] = buses + 5  # out of range, but out of service: never looked up
    start = rng.random(n) < 0.1  # entries already set stay set
    ours, loop = start.copy(), start.copy()
    set_elements_oos(ti, tis, bis, ours)
    LOOP_ELEMENTS(ti, tis, bis, loop)
    assert np.array_equal(ours, loop)
    assert ours.sum() > start.sum() or not (tis & (ti < buses)).any()


@pytest.mark.parametrize("seed", range(6))
def test_isolated_buses_as_the_loop_sets_them(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    internal = int(rng.integers(1, n + 1))
    lookup = rng.integers(0, internal, n + int(rng.integers(0, 5)))  # longer than the buses
    isolated = rng.random(internal) < 0.3
    ours = rng.random(n) < 0.9
    loop = ours.copy()
    set_isolated_buses_oos(ours, isolated, lookup)
    LOOP_BUSES(loop, isolated, lookup)
    assert np.array_equal(ours, loop)


def test_they_raise_where_the_loops_raise() -> None:
    in_service = np.array([True, True])
    for function in (set_elements_oos, LOOP_ELEMENTS):
        with pytest.raises(IndexError):  # an element in service on a bus beyond the table
            function(np.array([0, 9]), in_service, np.ones(3, bool), np.zeros(2, bool))
    for function in (set_isolated_buses_oos, LOOP_BUSES):
        with pytest.raises(IndexError):  # a lookup shorter than the buses
            function(np.ones(4, bool), np.zeros(2, bool), np.array([0, 1]))


def test_other_index_types_take_pandapowers_loop() -> None:
    ti = np.array([0, 1, 2], dtype=object)
    ours, loop = np.zeros(3, bool), np.zeros(3, bool)
    set_elements_oos(ti, np.array([True, True, False]), np.array([True, False, True]), ours)
    LOOP_ELEMENTS(ti, np.array([True, True, False]), np.array([True, False, True]), loop)
    assert ours.tolist() == loop.tolist() == [True, False, False]


def test_swapped_only_inside_the_with_and_restored_after_an_error() -> None:
    assert aux.set_elements_oos is LOOP_ELEMENTS  # numba absent: pandapower's Python loops
    with array_loops():
        assert aux.set_elements_oos is pp_loops.set_elements_oos
        assert aux.set_isolated_buses_oos is pp_loops.set_isolated_buses_oos
    assert aux.set_elements_oos is LOOP_ELEMENTS
    with pytest.raises(RuntimeError), array_loops():
        raise RuntimeError("a build that fails")
    assert aux.set_elements_oos is LOOP_ELEMENTS
    assert aux.set_isolated_buses_oos is LOOP_BUSES


def test_compiled_loops_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    def compiled(*args: object) -> None:  # what numba would have put there
        return None

    monkeypatch.setattr(aux, "set_elements_oos", compiled)
    with array_loops():
        assert aux.set_elements_oos is compiled
        assert aux.set_isolated_buses_oos is pp_loops.set_isolated_buses_oos
    assert aux.set_elements_oos is compiled


def _isolating():  # type: ignore[no-untyped-def]
    net = pn.mv_oberrhein()
    net.line.loc[0, "in_service"] = False  # 16 buses beyond it lose supply
    net.load.loc[net.load.index[:3], "in_service"] = False
    return net


@pytest.mark.parametrize("make", [_isolating, pn.mv_oberrhein, pn.case33bw])
def test_the_model_is_the_one_the_loops_build(make, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    net = make()
    with_arrays = internal_model(copy.deepcopy(net))
    monkeypatch.setattr(model_build, "array_loops", contextlib.nullcontext)
    with_loops = internal_model(copy.deepcopy(net))
    assert len(with_arrays["bus"]) == len(with_loops["bus"])
    for key in ("bus", "branch", "gen", "branch_is", "ref", "pv", "pq"):
        assert np.array_equal(with_arrays[key], with_loops[key], equal_nan=True), key
    for key in ("Ybus", "Yf", "Yt"):
        assert abs(with_arrays[key] - with_loops[key]).max() == 0.0, key


def test_the_isolating_case_isolates() -> None:
    whole = internal_model(pn.mv_oberrhein())
    cut = internal_model(_isolating())
    assert len(whole["bus"]) - len(cut["bus"]) >= 16  # and the open line switch's end
