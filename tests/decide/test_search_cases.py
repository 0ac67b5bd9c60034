"""The planner's trucks against an independent brute force on SimBench, CIGRE and small cases.

Each case takes out one line and cuts protected load off; the brute force
(`tests/decide/search_brute.py`) tries every switch set of up to three toggles near the
cut-off area and every truck count and placement, with pandapower's own load flow at the
design peak, and gives the fewest trucks any plan can have. The planner must need no more
(fewer only where its greedy transfer takes more operations than the brute force tries),
its plan must pass `validate`, and `summary.optimality` must say whether it is proven minimal.
"""

from __future__ import annotations

import pytest

import planner
from planner.grid.context import StageContext
from tests.conftest import DATA
from tests.decide.search_brute import brute_force_minimum

SEARCH = DATA / "cases" / "search"

CASES = [
    # case, brute-force minimum (at most 3 operations), the planner's trucks, proven minimal
    ("retry", 1, 1, True),  # the greedy transfer's switch set fails: the next one verifies
    ("semiurb_line46", 2, 2, True),
    ("semiurb_line12", 0, 0, True),
    ("semiurb_line12_x18", 6, 6, False),  # the normal state breaks limits: nothing proven
    ("comm_line19", 0, 0, True),
    ("comm_line19_x20", 5, 5, False),
    ("cigre_line23", 5, 5, False),  # CIGRE's normal state breaks limits: nothing is proven
    ("cigre_line12", 4, 4, False),
    ("rural_line1", 2, 0, True),  # the greedy transfer takes 4 operations: both ties
    ("rural_line45", 0, 0, True),
    ("mvlv_line13", 0, 0, True),  # MV and LV: the LV grid behind its transformer comes back
    ("mvlv_line13_trucks", 4, 4, True),  # no ties: openings only, one is enough to try
    # trucks paralleled with the grid before the islands are cut: at their share of the
    # islands' P and Q, not holding the island setpoint (which drew reactive power from other
    # feeders and failed the switching sequence)
    ("rural_two", 6, 6, False),
    ("comm_line29", 3, 3, True),
]
OPERATIONS = {"mvlv_line13_trucks": 1}  # the brute force's limit where 3 would take minutes


@pytest.mark.parametrize(("name", "fewest", "planned", "proven"), CASES)
def test_the_planner_needs_no_more_trucks_than_the_brute_force(
    name: str, fewest: int, planned: int, proven: bool
) -> None:
    case = planner.load_case(SEARCH / f"{name}.toml")
    ctx = StageContext.build(case, case.stages[0])
    found = brute_force_minimum(ctx, operations=OPERATIONS.get(name, 3))
    assert found is not None
    assert found.trucks == fewest
    plan = planner.plan_case(case)
    assert plan.feasible
    assert plan.trucks_used == planned
    operations = plan.stages[0].switching
    if planned < fewest:  # only with more switching operations than the brute force tries
        assert len(operations.close) + len(operations.open) + len(operations.in_service) > 3
    optimality = plan.summary["optimality"]
    assert optimality["proven_minimal"] is proven
    if proven:
        assert optimality["trucks_lower_bound"] == planned
    assert planner.validate(case, plan.as_json()).passed


def test_the_next_switch_set_is_verified_when_the_first_fails() -> None:
    case = planner.load_case(SEARCH / "retry.toml")
    plan = planner.plan_case(case)
    stage = plan.stages[0]
    assert [r.text for r in stage.switching.close] == ["switch:tie N"]
    assert [r.text for r in stage.switching.open] == ["switch:sect A3-A4"]
    assert [(t.id, t.connection_point) for t in stage.trucks] == [("T1", "bus:A3")]
    assert list(stage.notes) == [
        "switch set found by search (2 operation(s): close switch:tie N, open switch:sect "
        "A3-A4): 1 truck(s) by bound, tried after verification needed more trucks than the "
        "first switch set's bound",
        "1 truck(s) verified with this switch set, against a failed plan with the one tried before",
    ]
