"""The way back with the trucks paralleled again ("rejoin_supported"): found on
cases/simbench_mvlv_large.toml, where closing the sectionaliser with the tie still closed meshes
two feeders and, with the truck island already shut down, lifts LV buses that SimBench limits
to 1.01 pu by 0.0012 pu over the normal state. The planner then opened the tie first and cut the
transferred part for 15 minutes. With the truck reconnected (its own breaker synchronises it to
the grid-fed bay, then its regulator is set to the fleet's setpoint) the loop state holds,
0.0004 pu, and only the island's own break remains."""

from __future__ import annotations

import pytest

from tests.conftest import CASES

# case, its end steps in the "rejoin_supported" order, the interruptions of the whole sequence
WAY_BACK = [
    (
        "oberrhein_transfer_and_trucks",
        [
            ("shut_down_island", "I1"),
            ("put_back", "line:Line 70"),
            ("connect_truck", "T1"),
            ("connect_truck", "T2"),
            ("connect_truck", "T3"),
            ("close", "switch:Switch 165"),
            ("open", "switch:Switch 144"),
            ("disconnect_truck", "T1"),
            ("disconnect_truck", "T2"),
            ("disconnect_truck", "T3"),
        ],
        [(7, 4824.6, 5.0)],
    ),
]


@pytest.mark.parametrize(("name", "steps", "cuts"), WAY_BACK)
def test_shut_down_trucks_come_back_paralleled_before_loops_close(name, steps, cuts) -> None:  # type: ignore[no-untyped-def]
    import planner
    from planner.checks.replay import replay
    from planner.decide.planning import plan_stage
    from planner.dispatch.sequence import _end_steps, _start_steps, _timed
    from planner.grid.context import StageContext

    case = planner.load_case(CASES / f"{name}.toml")
    ctx = StageContext.build(case, case.stages[0])
    _, check = plan_stage(ctx)
    end = _end_steps(ctx, check, "rejoin_supported")
    assert [(action, element) for action, element, _ in end] == steps
    result = replay(ctx, check, _timed(ctx, _start_steps(ctx, check), end))
    assert [v.message for v in result.violations] == []
    assert [(c["step"], c["kw"], c["minutes"]) for c in result.interruptions] == cuts
    back = [s for s in result.steps if s["action"] == "connect_truck"][-3:]
    assert [(s["element"], s["joins"], s["holds"], s["control"]) for s in back] == [
        (t, [t, "grid"], True, "setpoint") for t in ("T1", "T2", "T3")
    ]  # held at the fleet's setpoint: the first control tried (`planner.checks.paralleled`)
