"""Fuel logistics: refuels grouped into tanker rounds (`planner.dispatch.tanker`)."""

from __future__ import annotations

import pytest

from planner.dispatch.schedule import Refuel
from planner.dispatch.tanker import fuel_logistics, tanker_rounds


def _refuel(truck: str, time: str, litres: float) -> Refuel:
    return Refuel(truck, f"2025-05-{time}:00+08:00", f"bus:RMU {truck}", litres)


# (refuels, tanker_l, rounds as (day, number, [(truck, litres), ...]))
CASES = {
    "one round serves all": (
        [_refuel("T1", "13T10:00", 1200.0), _refuel("T2", "13T10:00", 1100.0)],
        6000.0,
        [("2025-05-13", 1, [("T1", 1200.0), ("T2", 1100.0)])],
    ),
    # 1,200 + 1,200 + 1,200 > 3,000: the third refuel is not split, it starts round 2
    "a refuel that does not fit starts the next round": (
        [_refuel(t, "13T10:00", 1200.0) for t in ("T1", "T2", "T3")],
        3000.0,
        [
            ("2025-05-13", 1, [("T1", 1200.0), ("T2", 1200.0)]),
            ("2025-05-13", 2, [("T3", 1200.0)]),
        ],
    ),
    # within 2 h of the round's first stop it rides along; 3 h later it is a new round
    "rounds are at most two hours long": (
        [
            _refuel("T1", "13T10:00", 500.0),
            _refuel("T2", "13T12:00", 500.0),
            _refuel("T1", "13T13:00", 500.0),
        ],
        6000.0,
        [
            ("2025-05-13", 1, [("T1", 500.0), ("T2", 500.0)]),
            ("2025-05-13", 2, [("T1", 500.0)]),
        ],
    ),
    # a new day starts round 1 again, even within two hours of the last stop
    "rounds are counted per day": (
        [_refuel("T1", "13T23:00", 500.0), _refuel("T2", "14T00:00", 500.0)],
        6000.0,
        [("2025-05-13", 1, [("T1", 500.0)]), ("2025-05-14", 1, [("T2", 500.0)])],
    ),
    # only a refuel larger than a whole tanker is split over rounds
    "a refuel larger than the tanker is split": (
        [_refuel("T1", "13T10:00", 2500.0), _refuel("T2", "13T10:00", 300.0)],
        1000.0,
        [
            ("2025-05-13", 1, [("T1", 1000.0)]),
            ("2025-05-13", 2, [("T1", 1000.0)]),
            ("2025-05-13", 3, [("T1", 500.0), ("T2", 300.0)]),
        ],
    ),
    "no refuels, no rounds": ([], 6000.0, []),
}


@pytest.mark.parametrize("name", CASES)
def test_tanker_rounds(name: str) -> None:
    refuels, tanker_l, expected = CASES[name]
    rounds = tanker_rounds(refuels, tanker_l)
    got = [(r.day, r.number, [(s.truck, s.litres) for s in r.stops]) for r in rounds]
    assert got == expected
    assert all(r.litres <= tanker_l for r in rounds)
    assert sum(r.litres for r in rounds) == pytest.approx(sum(x.litres for x in refuels))


def test_fuel_logistics_json() -> None:
    refuels = [_refuel(t, "13T10:00", 1200.0) for t in ("T1", "T2", "T3")]
    refuels.append(_refuel("T10", "14T09:30", 800.0))
    data = fuel_logistics(refuels, 3000.0)
    assert {k: v for k, v in data.items() if k not in ("rule", "rounds")} == {
        "tanker_l": 3000.0,
        "rounds_total": 3,
        "litres_total": 4400.0,
        "days": [
            {"day": "2025-05-13", "rounds": 2, "litres": 3600.0, "trucks": ["T1", "T2", "T3"]},
            {"day": "2025-05-14", "rounds": 1, "litres": 800.0, "trucks": ["T10"]},
        ],
    }
    assert data["rounds"][0] == {
        "day": "2025-05-13",
        "round": 1,
        "first_stop": "2025-05-13T10:00:00+08:00",
        "last_stop": "2025-05-13T10:00:00+08:00",
        "litres": 2400.0,
        "trucks": ["T1", "T2"],
        "stops": [
            {"truck": "T1", "time": "2025-05-13T10:00:00+08:00", "location": "bus:RMU T1",
             "litres": 1200.0},
            {"truck": "T2", "time": "2025-05-13T10:00:00+08:00", "location": "bus:RMU T2",
             "litres": 1200.0},
        ],
    }  # fmt: skip
    assert data["rule"].startswith("a full tanker per round; a round serves one day's refuels")
