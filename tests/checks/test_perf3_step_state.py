"""A step state's networks are built for pandapower only when their flows are asked for.

The batched engine solves each part of a switching state; the pandapower network of a part (the
flows through a switch to be opened, an island's angles) is made and solved by `net_of`, once.
The protected loads a state leaves unfed are worked out on arrays; here against the rule
written out load by load.
"""

from __future__ import annotations

import pytest

import planner
from planner.checks.step_state import SolvedState, solve_states
from planner.decide.planning import plan_stage
from planner.grid.context import StageContext
from planner.grid.state import with_switching
from tests.conftest import CASES, DATA

# case, stage: a far-end feeder carried by trucks in the island, and the reference case
CASES_STAGES = [(DATA / "cases" / "safety" / "far_end.toml", 0), (CASES / "dashiqiao.toml", 1)]


def _solved(path, stage: int) -> tuple[StageContext, object, list[SolvedState]]:  # type: ignore[no-untyped-def]
    """The stage planned, its set-up's state solved at its first two loads, trucks connected."""
    case = planner.load_case(path)
    ctx = StageContext.build(case, case.stages[stage])
    plan, check = plan_stage(ctx)
    net = with_switching(ctx.works_net, plan.switching)
    trucks = {t.id: t for t in check.setup.trucks}
    groups = list(ctx.demand.groups[:2])
    whens = [g.times[0].isoformat() for g in groups]
    states = solve_states(ctx, net, trucks, [{} for _ in groups], groups, whens)
    return ctx, net, states


@pytest.mark.parametrize(("path", "stage"), CASES_STAGES)
def test_parts_are_built_and_solved_once_when_asked(path, stage: int) -> None:  # type: ignore[no-untyped-def]
    _, _, states = _solved(path, stage)
    for state in states:
        assert state.converged
        parts = [buses for buses, _ in state.nets]
        assert all(net is None for _, net in state.nets)  # nothing built yet
        assert set(state.unsolved) == set(parts)
        for buses in parts:
            bus = min(buses)
            net = state.net_of(bus)
            assert net is not None and state.net_of(bus) is net  # built once, then kept
            assert buses not in state.unsolved
            for b in buses:  # pandapower agrees with the engine
                if b in state.vm:
                    assert float(net.res_bus.at[b, "vm_pu"]) == pytest.approx(state.vm[b], abs=1e-6)
                    assert state.angle(b) == pytest.approx(
                        float(net.res_bus.at[b, "va_degree"]), abs=1e-4
                    )
        assert not state.unsolved


@pytest.mark.parametrize(("path", "stage"), CASES_STAGES)
def test_unfed_protected_loads_follow_the_rule(path, stage: int) -> None:  # type: ignore[no-untyped-def]
    ctx, net, states = _solved(path, stage)
    live = {b for state in states[:1] for b, source in state.source.items() if source}
    normally = ctx.base_net.load.in_service.astype(bool)
    expected = set()
    for i in net.load.index:
        bus = int(net.load.at[i, "bus"])
        if (
            bool(normally.get(i, False))
            and int(i) in ctx.protected
            and bus in ctx.base_energised
            and (not bool(net.load.at[i, "in_service"]) or bus not in live)
        ):
            expected.add(int(i))
    assert states[0].unfed == frozenset(expected)
    assert all(state.unfed == states[0].unfed for state in states)
