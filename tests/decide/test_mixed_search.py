"""The planner's mix of truck types against a brute force: with the switching the plan chose,
every way of placing any cheaper set of typed trucks (fewer trucks, or as many with less
installed kVA) at the islands' connection points fails hour-by-hour verification, the plan's
own trucks verify, and the plan passes `validate`."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

import planner
from planner.checks.stage import StageSetup, check_stage
from planner.decide.planning import truck_islands
from planner.grid.context import StageContext
from planner.grid.powerflow import TruckAt
from tests.conftest import DATA

MIXED = DATA / "cases" / "mixed"
VALID = DATA / "cases" / "valid"

CASES = [
    # case file, the plan's trucks (type, bus), cheaper placements the brute force tried
    # none, or the 800 kW truck alone (1,000 kVA for 1,070)
    (VALID / "mixed_fleet.toml", [("MV-2000", 30)], 2),
    (MIXED / "lateral_small_enough.toml", [("MV-1200", 30)], 1),  # none
    # none, or one 1,000 or 500 kW truck at Bus 49 (the island's only point after the transfer)
    (MIXED / "semiurb_line46.toml", [("MV-2000", 49)], 3),
    # two 800 kW trucks and a 400 kW one where four 500 kW trucks were needed: every mix of at
    # most two trucks, and three of 400 kW or 800+400+400 kW, fails somewhere
    (MIXED / "mvlv_line13.toml", [("MV-800", 58), ("MV-400", 60), ("MV-800", 65)], 35),
]


def _cheaper(ctx: StageContext, switching, cost: tuple[int, float]):  # type: ignore[no-untyped-def]
    """Every placement of typed trucks cheaper than `cost` (trucks, kVA), at most what each type
    has, one per bay, on the islands `switching` leaves to trucks."""
    fleet = ctx.case.fleet
    slots = [
        b
        for info in truck_islands(ctx, switching)
        for b, bays, _ in info.points
        for _ in range(bays)
    ]
    for n in range(cost[0] + 1):
        for kinds in itertools.combinations_with_replacement(fleet.types, n):
            kva = sum(k.rating_kva for k in kinds)
            if (n, kva) >= cost or any(kinds.count(k) > k.trucks for k in kinds):
                continue
            for buses in sorted(set(itertools.combinations(slots, n))):
                for order in dict.fromkeys(itertools.permutations(kinds)):  # each order once
                    yield [
                        TruckAt(f"{k.name}-{i + 1}", b, k.rating_kw, k.rating_kva, k)
                        for i, (k, b) in enumerate(zip(order, buses, strict=True))
                    ]


@pytest.mark.parametrize(
    ("path", "expected", "tried"), CASES, ids=lambda v: getattr(v, "stem", None)
)
def test_no_cheaper_mix_verifies(path: Path, expected, tried: int) -> None:  # type: ignore[no-untyped-def]
    case = planner.load_case(path)
    plan = planner.plan_case(case)
    assert plan.feasible
    stage = plan.stages[0]
    assert [(t.id.rsplit("-", 1)[0], t.bus) for t in stage.trucks] == expected
    fleet = case.fleet
    kinds = [fleet.type_of(t.id) for t in stage.trucks]
    cost = (len(kinds), sum(k.rating_kva for k in kinds if k is not None))
    ctx = StageContext.build(case, case.stages[0])
    count = 0
    for trucks in _cheaper(ctx, stage.switching, cost):
        count += 1
        check = check_stage(ctx, StageSetup(stage.switching, tuple(trucks)))
        assert not check.verification.passed, [t.id for t in trucks]
    assert count == tried
    assert planner.validate(case, plan.as_json()).passed


def test_the_plan_shows_the_mix(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """plan.json's `fleet.types` (an added field) counts each type's trucks used; plan.md's
    rules name each type; the plan passes the plan schema and `validate`."""
    import json

    from tests.test_schemas import errors

    case = MIXED / "mvlv_line13.toml"
    result = cli("plan", str(case), "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "plan.json").read_text())
    assert errors("plan", data) == []
    assert data["fleet"]["types"] == [
        {"name": "MV-800", "trucks_available": 2, "trucks_used": 2, "rating_kw": 800.0,
         "power_factor": 0.8, "connects": "mv", "storage_kwh": 0.0},
        {"name": "MV-400", "trucks_available": 4, "trucks_used": 1, "rating_kw": 400.0,
         "power_factor": 0.8, "connects": "mv", "storage_kwh": 0.0},
    ]  # fmt: skip
    assert [t["type"] for t in data["stages"][0]["trucks"]] == ["MV-800", "MV-400", "MV-800"]
    assert (
        "- trucks: mixed fleet: 2 x MV-800: 800 kW, power factor 0.8 (1,000 kVA), voltage "
        "set-point 1 pu; 4 x MV-400: 400 kW, power factor 0.8 (500 kVA), voltage set-point 1 pu; "
        "set-up 2 h"
    ) in (tmp_path / "plan.md").read_text()
    check = cli("validate", str(case), str(tmp_path / "plan.json"))
    assert check.exit_code == 0, check.output


def test_a_mixed_fleet_keeps_a_truck_where_the_next_stages_need_it() -> None:
    """Three stages an hour apart (setup 2 h): the 1,000 kW truck placed at bus 32 for the first
    stays there for the other two (it could not reach another bus in time), where a fresh
    500 kW truck would cost less kVA but one more truck over the works."""
    case = planner.load_case(MIXED / "stay_for_next_stage.toml")
    plan = planner.plan_case(case)
    assert plan.feasible and plan.trucks_used == 1
    assert [[(t.id, t.bus) for t in s.trucks] for s in plan.stages] == [[("MV-1000-1", 32)]] * 3
    assert plan.summary["optimality"]["proven_minimal"] is True
    assert planner.validate(case, plan.as_json()).passed


def test_the_reference_works_on_the_mixed_fleet(planned) -> None:  # type: ignore[no-untyped-def]
    """cases/dashiqiao_mixed.toml: six 2000 kW and three 1000 kW trucks available; the islands'
    evening peaks (5,907 and 5,654 kW) take three 2000 kW trucks each."""
    _, plan = planned("dashiqiao_mixed")
    assert plan.feasible
    works = next(s for s in plan.stages if s.trucks)
    assert sorted((t.id, t.island) for t in works.trucks) == [
        ("MV-2000-1", "I4"), ("MV-2000-2", "I4"), ("MV-2000-3", "I4"),
        ("MV-2000-4", "I5"), ("MV-2000-5", "I5"), ("MV-2000-6", "I5"),
    ]  # fmt: skip
    assert plan.as_json()["fleet"]["types"][1]["trucks_used"] == 0
