"""Trucks carried between stages: the planner's distinct trucks equal a brute force minimum."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import timedelta

import planner
from planner.checks.stage import StageSetup, check_stage
from planner.core.switching import Switching
from planner.decide.allocation import IslandNeed, allocate
from planner.decide.fleet import Availability
from planner.grid.context import StageContext
from planner.grid.powerflow import TruckAt
from tests.conftest import DATA

SEARCH = DATA / "cases" / "search"


def _passing_placements(case, stage) -> list[tuple[int, ...]]:  # type: ignore[no-untyped-def]
    """Every multiset of connection points in the stage's cut-off area, from the fewest trucks
    that carry it to one more, that verifies hour by hour with every truck online."""
    ctx = StageContext.build(case, stage)
    bays = {p.bus.index: p.bays for p in case.connection_points if p.bus.index in ctx.cut_off}
    slots = [bus for bus, n in sorted(bays.items()) for _ in range(n)]
    fleet = case.fleet
    found: list[tuple[int, ...]] = []
    for count in range(1, len(slots) + 1):
        for buses in sorted(set(itertools.combinations(slots, count))):
            trucks = tuple(
                TruckAt(f"B{k}", b, fleet.rating_kw, fleet.rating_kva) for k, b in enumerate(buses)
            )
            if check_stage(ctx, StageSetup(Switching(), trucks)).verification.passed:
                found.append(buses)
        if found and count > len(found[0]):
            break
    return found


def _fewest_trucks(stages, placements, setup: timedelta) -> int:  # type: ignore[no-untyped-def]
    """Distinct trucks of the best combination: a truck keeps its bus for free, changes bus
    only when the gap leaves `setup`, and a new truck can always come from the depot."""
    best = 10**9
    for combo in itertools.product(*placements):
        # greedy is exact here: reuse a truck at the same bus, else one free long enough
        where: dict[int, tuple[int, object]] = {}  # truck -> (bus, free from)
        for stage, buses in zip(stages, combo, strict=True):
            taken: set[int] = set()
            moved: list[int] = []
            for bus in buses:
                stay = next(
                    (t for t, (b, end) in where.items() if b == bus and t not in taken), None
                )
                if stay is None:
                    moved.append(bus)
                else:
                    taken.add(stay)
                    where[stay] = (bus, stage.end)
            for bus in moved:
                free = next(
                    (
                        t
                        for t, (_, end) in where.items()
                        if t not in taken and end + setup <= stage.start
                    ),
                    None,
                )
                truck = len(where) if free is None else free
                taken.add(truck)
                where[truck] = (bus, stage.end)
        best = min(best, len(where))
    return best


def test_a_truck_placed_where_the_next_stage_needs_it_stays_for_it() -> None:
    case = planner.load_case(SEARCH / "stay_for_next_stage.toml")
    stages = sorted(case.stages, key=lambda s: s.start)
    placements = [_passing_placements(case, s) for s in stages]
    assert placements[1] == [(32,)]  # the second stage can only be fed at bus 32
    fewest = _fewest_trucks(stages, placements, timedelta(hours=case.fleet.setup_hours))
    assert fewest == 2
    plan = planner.plan_case(case)
    assert plan.feasible and plan.trucks_used == fewest
    first, second, _ = plan.stages
    stayed = [t for t in first.trucks if t.bus == 32]
    assert [t.id for t in second.trucks] == [t.id for t in stayed]
    report = planner.validate(case, plan.as_json())
    assert report.passed


def test_the_allocation_keeps_trucks_where_they_stand_and_moves_only_what_can_move() -> None:
    need = [IslandNeed(0, ((10, 2, 0.0), (20, 1, 0.9)), 2)]
    # nothing can move in time and no depot truck: both must be trucks standing in the island
    where = Availability(standing={20: (False,), 30: (False,)}, movable_used=0, fresh=0)
    assert allocate(need, 2, where) is None
    where = Availability(standing={20: (False,), 10: (False,)}, movable_used=0, fresh=0)
    assert allocate(need, 2, where) == {0: [10, 20]}
    # one depot truck: the standing one stays at 20 (though 10 is electrically better)
    where = Availability(standing={20: (False,)}, movable_used=0, fresh=1)
    assert allocate(need, 3, where) == {0: [10, 20]}
    # without the fleet's positions the cheapest points win
    assert allocate(need, 3) == {0: [10, 10]}
    # a truck standing elsewhere that can move counts; one that cannot does not
    where = Availability(standing={30: (True,)}, movable_used=1, fresh=1)
    assert Counter(allocate(need, 3, where)[0]) == Counter([10, 10])  # type: ignore[index]
    assert allocate(need, 3, Availability({30: (True,)}, movable_used=1, fresh=0)) is None


def test_optimality_says_proven_only_where_no_plan_can_do_with_fewer(planned) -> None:  # type: ignore[no-untyped-def]
    case, plan = planned("case33bw_trucks")
    found = plan.summary["optimality"]
    assert found["proven_minimal"] is True
    assert found["trucks_lower_bound"] == plan.trucks_used == 2
    # brute force: no single truck at any connection point carries the lateral
    assert min(len(p) for p in _passing_placements(case, case.stages[0])) == 2
    case, plan = planned("dashiqiao")  # ties: proven over the switch sets searched
    found = plan.summary["optimality"]
    assert found["proven_minimal"] is True
    assert (found["trucks_lower_bound"], found["trucks_lower_bound_for_switching"]) == (6, 6)
    assert found["stages_with_proven_bound"] == 3
    (search,) = found["search"]  # the works stage: the others cut nothing off
    assert {k: search[k] for k in ("max_operations", "closes", "opens", "exhaustive")} == {
        "max_operations": 3,
        "closes": 3,
        "opens": 48,
        "exhaustive": True,
    }
