"""The short-circuit memo (`planner.grid.faults.fault_memo`): its results are a fresh pandapower
`calc_sc`'s, and a change of topology, parameters or trucks misses it.

Each island below is a part of a network pandapower ships, with the trucks that feed it; the
reference is computed here straight from pandapower (a deep copy, the generators created anew,
`calc_sc` with its defaults), not through the planner's code.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

import pandapower as pp
import pandapower.networks as pn
import pandapower.shortcircuit as sc
import pytest

from planner.grid.faults import (
    C_MAX,
    END_TEMP_C,
    FaultMemo,
    fault_memo,
    grid_min_2ph_ka,
    island_faults,
    island_max_3ph_ka,
)
from planner.grid.powerflow import TruckAt, subnet
from tests.checks.test_protection import _one_line_island

FLEET = {"xdss_pu": 0.15, "xds_pu": 0.25, "sustained_x_pu": 1.0 / 3.0, "power_factor": 0.8}


def _part(make: Callable[[], pp.pandapowerNet], buses: set[int]) -> Callable[[], pp.pandapowerNet]:
    return lambda: subnet(make(), buses)


# name: (the island's network, its trucks as (bus, kVA), a line inside it)
ISLANDS: dict[str, tuple[Callable[[], pp.pandapowerNet], list[tuple[int, float]], int]] = {
    "one line, one truck": (_one_line_island, [(0, 2500.0)], 0),
    "cigre MV feeder 2, two trucks": (
        _part(pn.create_cigre_network_mv, {12, 13, 14}),
        [(12, 1250.0), (14, 800.0)],
        11,
    ),
    "case33bw lateral 25-32, three trucks": (
        _part(pn.case33bw, set(range(25, 33))),
        [(25, 625.0), (25, 625.0), (29, 1000.0)],
        27,
    ),
}


def _trucks(spec: list[tuple[int, float]]) -> list[TruckAt]:
    return [TruckAt(f"T{k}", bus, 0.8 * kva, kva) for k, (bus, kva) in enumerate(spec, start=1)]


def _fresh(net: pp.pandapowerNet, trucks: list[TruckAt], x_pu: float, cos_phi: float, fault: str,
           case: str) -> dict[int, float]:  # fmt: skip
    """pandapower's own answer: the island without sources, lines at the end temperature, the
    trucks as generators created anew, `calc_sc` with its defaults."""
    ref = copy.deepcopy(net)
    for table in ("ext_grid", "gen", "sgen", "storage"):
        ref[table] = ref[table].iloc[0:0]
    ref.line["endtemp_degree"] = END_TEMP_C
    for k, truck in enumerate(trucks):
        vn_kv = float(ref.bus.at[truck.bus, "vn_kv"])
        sn_mva = truck.rating_kva / 1000.0
        pp.create_gen(
            ref, truck.bus, p_mw=0.0, vm_pu=1.0, sn_mva=sn_mva, vn_kv=vn_kv, xdss_pu=x_pu,
            rdss_ohm=0.07 * x_pu * vn_kv**2 / sn_mva, cos_phi=cos_phi, slack=k == 0,
        )  # fmt: skip
    sc.calc_sc(ref, fault=fault, case=case)
    return {int(b): float(v) for b, v in ref.res_bus_sc.ikss_ka.items()}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """An empty memo, and the count of pandapower short-circuit runs the test makes."""
    count = [0]
    original = sc.calc_sc

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        count[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(sc, "calc_sc", counted)
    fault_memo.clear()
    yield count
    fault_memo.clear()


@pytest.mark.parametrize("name", ISLANDS)
def test_memoised_levels_are_a_fresh_calc_sc(name: str, calls: list[int]) -> None:
    make, spec, _ = ISLANDS[name]
    net, trucks = make(), _trucks(spec)
    sub = _fresh(net, trucks, FLEET["xdss_pu"], FLEET["power_factor"], "2ph", "min")
    transient = _fresh(net, trucks, FLEET["xds_pu"] / C_MAX, 1.0, "2ph", "min")
    sustained = _fresh(net, trucks, FLEET["sustained_x_pu"] / C_MAX, 1.0, "2ph", "min")
    duty = max(_fresh(net, trucks, FLEET["xdss_pu"], FLEET["power_factor"], "3ph", "max").values())
    bus = min(sub, key=sub.__getitem__)
    calls[0] = 0
    for _ in range(2):  # computed, then from the memo
        levels = island_faults(net, trucks, **FLEET)
        assert levels is not None and levels.bus == bus
        assert levels.subtransient_ka == pytest.approx(sub[bus], rel=1e-6)
        assert levels.transient_ka == pytest.approx(transient[bus], rel=1e-6)
        assert levels.sustained_ka == pytest.approx(sustained[bus], rel=1e-6)
        assert island_max_3ph_ka(net, trucks, FLEET["xdss_pu"], FLEET["power_factor"]) == (
            pytest.approx(duty, rel=1e-6)
        )
        assert calls[0] == 4  # three machine models and the duty, each run once
    assert (fault_memo.hits, fault_memo.misses) == (4, 4)


@pytest.mark.parametrize("name", ISLANDS)
def test_the_memo_knows_content_not_identity(name: str, calls: list[int]) -> None:
    """The same island in another network object, and other trucks of the same buses and
    ratings (names are not part of a fault), are found; nothing else is."""
    make, spec, line = ISLANDS[name]
    trucks = _trucks(spec)
    first = island_faults(make(), trucks, **FLEET)
    renamed = [TruckAt(f"X{t.id}", t.bus, t.rating_kw, t.rating_kva) for t in trucks]
    assert island_faults(make(), renamed, **FLEET) == first
    assert calls[0] == 3

    def misses(net: pp.pandapowerNet, others: list[TruckAt]) -> None:
        before = calls[0]
        island_faults(net, others, **FLEET)
        assert calls[0] == before + 3, "a different question was answered from the memo"

    longer = make()
    longer.line.at[line, "length_km"] *= 2.0  # a parameter
    misses(longer, trucks)
    bigger = [TruckAt(t.id, t.bus, t.rating_kw, 2.0 * t.rating_kva) for t in trucks]
    misses(make(), bigger)  # the trucks' ratings
    misses(make(), trucks[:1] if len(trucks) > 1 else trucks * 2)  # the set of trucks
    moved = make()
    other_bus = int(max(moved.bus.index))
    misses(moved, [TruckAt(t.id, other_bus, t.rating_kw, t.rating_kva) for t in trucks])
    cut = make()  # the topology: a line taken out
    cut.line.at[line, "in_service"] = False
    misses(cut, trucks)


def test_a_changed_topology_gives_its_own_currents(calls: list[int]) -> None:
    """case33bw's lateral 25-32 fed at 25: with line 27 (buses 27-28) out, the far end is
    gone, and the lowest current rises to that of the shorter island's end."""
    make, spec, line = ISLANDS["case33bw lateral 25-32, three trucks"]
    trucks = _trucks(spec)[:2]
    whole = island_faults(make(), trucks, **FLEET)
    cut = make()
    cut.line.at[line, "in_service"] = False
    shorter = island_faults(cut, trucks, **FLEET)
    assert whole is not None and shorter is not None
    assert whole.bus == 32 and shorter.bus == 27
    reference = _fresh(cut, trucks, FLEET["xdss_pu"], FLEET["power_factor"], "2ph", "min")
    assert shorter.subtransient_ka == pytest.approx(reference[27], rel=1e-6)
    assert shorter.subtransient_ka > whole.subtransient_ka


@pytest.mark.parametrize(
    ("make", "bus"),
    [(pn.case33bw, 17), (pn.case33bw, 32), (pn.create_cigre_network_mv, 11)],
)
def test_grid_fed_current_is_a_fresh_calc_sc_and_memoised(make, bus: int, calls) -> None:  # type: ignore[no-untyped-def]
    net = make()
    ref = copy.deepcopy(net)
    for table in ("gen", "sgen", "storage"):
        ref[table]["in_service"] = False
    for column, value in {"s_sc_max_mva": 1000.0, "rx_max": 0.1, "rx_min": 0.1}.items():
        if column not in ref.ext_grid.columns:
            ref.ext_grid[column] = value
        ref.ext_grid[column] = ref.ext_grid[column].fillna(value)
    if "s_sc_min_mva" not in ref.ext_grid.columns:
        ref.ext_grid["s_sc_min_mva"] = 0.8 * ref.ext_grid.s_sc_max_mva
    ref.ext_grid["s_sc_min_mva"] = ref.ext_grid.s_sc_min_mva.fillna(0.8 * ref.ext_grid.s_sc_max_mva)
    ref.line["endtemp_degree"] = END_TEMP_C
    sc.calc_sc(ref, fault="2ph", case="min")
    expected = float(ref.res_bus_sc.at[bus, "ikss_ka"])
    calls[0] = 0
    assert grid_min_2ph_ka(net, bus) == pytest.approx(expected, rel=1e-6)
    assert grid_min_2ph_ka(copy.deepcopy(net), bus) == pytest.approx(expected, rel=1e-6)
    assert calls[0] == 1
    net.line.at[int(net.line.index[0]), "length_km"] *= 3.0
    assert grid_min_2ph_ka(net, bus) < expected
    assert calls[0] == 2


def test_the_memo_is_bounded_least_recently_used_out_first() -> None:
    memo = FaultMemo(size=2)
    memo.put(("a",), {1: 1.0})
    memo.put(("b",), {1: 2.0})
    assert memo.get(("a",)) == {1: 1.0}  # "a" is now the most recent
    memo.put(("c",), {1: 3.0})
    assert memo.get(("b",)) is None
    assert memo.get(("a",)) == {1: 1.0} and memo.get(("c",)) == {1: 3.0}
    assert (memo.hits, memo.misses) == (3, 1)
    memo.clear()
    assert memo.get(("a",)) is None and (memo.hits, memo.misses) == (0, 1)
