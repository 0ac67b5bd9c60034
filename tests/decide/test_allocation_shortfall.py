"""The shortfall messages (`planner.decide.allocation.shortfalls`): a mixed fleet counts only
trucks that can serve an island the way the message says (MV trucks at its bays, the largest
first; LV trucks only at the transformers it may hand over), never an LV truck as an MV truck of
the largest rating; a single type's messages are as before."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pytest

import planner
from planner.decide.allocation import island_matrix, shortfalls
from planner.decide.mix_needs import LvSlot
from planner.grid.topology import Graph
from planner.inputs.case import Fleet, Reserve, TruckType
from tests.conftest import DATA

SLOT = LvSlot(7, 88.0, 34.78, name="trafo:T1")  # a transformer one LV truck of 100 kW or more takes


@dataclass(frozen=True)
class _Island:
    buses: frozenset[int]
    design_kw: float
    design_kvar: float
    points: tuple[tuple[int, int, float], ...]
    lv: tuple[LvSlot, ...] = ()
    design_kwh: float = 0.0

    @property
    def design_kva(self) -> float:
        return math.hypot(self.design_kw, self.design_kvar)


BIG = _Island(frozenset({1, 2, 7}), 1600.0, 600.0, ((1, 2, 0.0), (2, 2, 1.0)), (SLOT,))
SMALL = _Island(frozenset({3, 4}), 300.0, 100.0, ((3, 1, 0.0),), (LvSlot(4, 60.0, 20.0),))


def _fleet(*types: tuple[str, int, float, str], reserve: Reserve = Reserve.NONE) -> Fleet:
    """A mixed fleet as the case reader makes it: `trucks` the total, the largest rating."""
    kinds = tuple(TruckType(n, k, kw, connects=c) for n, k, kw, c in types)
    top = max(t.rating_kw for t in kinds)
    return Fleet(sum(t.trucks for t in kinds), top, reserve=reserve, types=kinds)


MV2 = ("MV-520", 2, 520.0, "mv")
LV = ("LV-400", 1, 400.0, "lv")

CASES = [
    (
        "two MV trucks and the LV truck at the transformer",
        [BIG], [4], _fleet(MV2, LV),
        ["island I1 (3 buses, 1,600 kW design peak) needs 4 trucks, 3 can serve it: the fleet's "
         "2 MV trucks at its 4 bays (1,040 kW) and 1 LV truck at a transformer it may hand over "
         "(88 kW): short by 472 kW"],
    ),
    (
        "an LV truck is no MV truck of the largest rating (was: 2 available, short by 560 kW)",
        [_Island(BIG.buses, 1600.0, 600.0, BIG.points)], [4],
        _fleet(("MV-520", 1, 520.0, "mv"), LV),
        ["island I1 (3 buses, 1,600 kW design peak) needs 4 trucks, 1 can serve it: the fleet's "
         "1 MV truck at its 4 bays (520 kW); no LV truck (the fleet has 1) can take over a "
         "transformer of it: short by 1,080 kW"],
    ),
    (
        "an LV truck too small for the transformer",
        [BIG], [4], _fleet(MV2, ("LV-50", 1, 50.0, "lv")),
        ["island I1 (3 buses, 1,600 kW design peak) needs 4 trucks, 2 can serve it: the fleet's "
         "2 MV trucks at its 4 bays (1,040 kW); no LV truck (the fleet has 1) can take over a "
         "transformer of it: short by 560 kW"],
    ),
    (
        "under n-1 no transformer is handed over",
        [BIG], [5], _fleet(MV2, LV, reserve=Reserve.N_1),
        ["island I1 (3 buses, 1,600 kW design peak) needs 5 trucks, 2 can serve it: the fleet's "
         "2 MV trucks at its 4 bays (1,040 kW); no LV truck (the fleet has 1) can take over a "
         "transformer of it: short by 560 kW"],
    ),
    (
        "more MV trucks than bays: as many as the bays hold",
        [_Island(BIG.buses, 1600.0, 600.0, ((1, 2, 0.0),), (SLOT,))], [4],
        _fleet(("MV-520", 6, 520.0, "mv"), LV),
        ["island I1 (3 buses, 1,600 kW design peak) needs 4 trucks, 3 can serve it: 2 MV trucks "
         "of the fleet's 6, as many as its bays hold (1,040 kW) and 1 LV truck at a transformer "
         "it may hand over (88 kW): short by 472 kW"],
    ),
    (
        "the kVA binds: 1,600 kW at power factor 0.6",
        [_Island(BIG.buses, 1200.0, 1600.0, BIG.points)], [4], _fleet(MV2, LV),
        ["island I1 (3 buses, 1,200 kW design peak) needs 4 trucks, 2 can serve it: the fleet's "
         "2 MV trucks at its 4 bays (1,040 kW); no LV truck (the fleet has 1) can take over a "
         "transformer of it: short by 700 kVA"],
    ),
    (
        "an island the fleet can serve has no message",
        [BIG], [4], _fleet(("MV-520", 3, 520.0, "mv"), LV),
        [],
    ),
    (
        "two islands, one LV truck for two transformers: counted once",
        [BIG, SMALL], [4, 1], _fleet(("MV-520", 3, 520.0, "mv"), LV),
        ["the stage needs 5 trucks (I1 4, I2 1), 4 can serve them (3 MV, 1 LV at transformers "
         "they may hand over): short by 1"],
    ),
    (
        "no connection point",
        [_Island(BIG.buses, 1600.0, 600.0, ())], [4], _fleet(MV2, LV),
        ["island I1 (3 buses, 1,600 kW design peak) has no connection point for trucks: its "
         "protected load cannot be supplied"],
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("islands", "counts", "fleet", "messages"),
    [pytest.param(i, c, f, m, id=name) for name, i, c, f, m in CASES],
)
def test_a_mixed_fleets_shortfall_counts_the_trucks_that_can_serve(
    islands: list[_Island], counts: list[int], fleet: Fleet, messages: list[str]
) -> None:
    ids = [f"I{k + 1}" for k in range(len(islands))]
    assert [v.message for v in shortfalls(islands, counts, fleet, ids)] == messages


def test_a_single_types_messages_are_as_before() -> None:
    island = _Island(frozenset({1, 2, 3}), 1127.0, 300.0, ((1, 2, 0.0),))
    found = shortfalls([island], [3], Fleet(1, 500.0), ["I1"])
    assert [(v.message, v.value, v.limit) for v in found] == [
        ("island I1 (3 buses, 1,127 kW design peak) needs 3 trucks, its connection points have "
         "2 bays: short by 127 kW", 2, 3),
        ("island I1 (3 buses, 1,127 kW design peak) needs 3 trucks, 1 available: short by 627 kW",
         1, 3),
    ]  # fmt: skip


def test_the_plan_of_the_lv_truck_case_with_two_mv_trucks_names_the_shortfall(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """tests/data/cases/mixed/mvlv_lv_truck.toml with two MV trucks: 1,605 kW need four 520 kW
    trucks; the LV truck takes the 88 kW transformer, the two MV trucks carry 1,040 kW of the
    1,517 kW left (the fleet's three trucks were counted as 1,560 kW: "short by 45 kW")."""
    case_file = DATA / "cases" / "mixed" / "mvlv_lv_truck.toml"
    text = case_file.read_text(encoding="utf-8").replace("trucks = 6\n", "trucks = 2\n")
    (tmp_path / "case.toml").write_text(text, encoding="utf-8")
    data = json.loads(planner.plan_case(planner.load_case(tmp_path / "case.toml")).to_json())
    (stage,) = data["stages"]
    assert not data["feasible"]
    found = [v for v in stage["verification"]["violations"] if v["kind"] == "shortfall"]
    assert found == [
        {
            "kind": "shortfall",
            "message": "island I1 (23 buses, 1,605 kW design peak) needs 4 trucks, 3 can serve "
            "it: the fleet's 2 MV trucks at its 4 bays (1,040 kW) and 1 LV truck at a "
            "transformer it may hand over (88 kW): short by 477 kW",
            "value": 3,
            "limit": 4,
            "island": "I1",
        }
    ]


def _graph() -> Graph:
    """Buses 5, 2, 9, 7, 4 (node numbers 0-4): 5-2 (3 ohm), 2-9 a switch (0 ohm: kept at 1e-9),
    9-7 and 7-9 (2 and 6 ohm), 7-4 (1 ohm)."""
    return Graph(
        buses=np.array([5, 2, 9, 7, 4]),
        edges=np.array([[0, 1], [1, 2], [2, 3], [3, 2], [3, 4]]),
        edge_ohm=np.array([3.0, 0.0, 2.0, 6.0, 1.0]),
        sources=frozenset({5}),
    )


@pytest.mark.parametrize(
    ("island", "order", "entries"),
    [
        # sorted bus order; an edge with one end off the island is left out
        ({2, 9, 7}, [2, 7, 9], {(0, 2): 1e-9, (2, 1): 2.0 + 1e-9, (1, 2): 6.0 + 1e-9}),
        (
            {5, 2, 9, 7, 4},
            [2, 4, 5, 7, 9],
            {(2, 0): 3 + 1e-9, (0, 4): 1e-9, (4, 3): 2 + 1e-9, (3, 4): 6 + 1e-9, (3, 1): 1 + 1e-9},
        ),
        ({4}, [4], {}),
        ({5, 4}, [4, 5], {}),  # no edge between them
        ({3, 8}, [3, 8], {}),  # buses the graph does not hold
        (set(), [], {}),
    ],
)
def test_an_islands_matrix_holds_its_own_edges_by_impedance(
    island: set[int], order: list[int], entries: dict[tuple[int, int], float]
) -> None:
    got_order, matrix = island_matrix(_graph(), frozenset(island))
    assert got_order == order
    assert matrix.shape == (len(order), len(order))
    assert matrix.nnz == len(entries)
    for (i, j), ohm in entries.items():
        assert matrix[i, j] == pytest.approx(ohm, rel=1e-12, abs=1e-15)
