"""What the switching replays look up rather than solve (`planner.checks.step_memo`): the normal
state's broken limits at a load the stage's normal-state scan solved. Looked up or solved, the
same."""

from __future__ import annotations

from tests.conftest import DATA

INSPECT = DATA / "cases" / "inspect"


def test_the_normal_state_at_a_scanned_load_is_the_scan_s() -> None:
    """Line 0 (155.2 %) and bus 17 (0.9036 pu, its own 0.95 pu floor) are broken before the
    works: at every check time the scan found them, the replay takes the scan's values, and
    they are what solving the normal state at that load alone gives."""
    import planner
    from planner.checks.normal_state import normal_exemptions
    from planner.checks.step_memo import broken_normally
    from planner.checks.step_state import Models
    from planner.grid.context import StageContext

    case = planner.load_case(str(INSPECT / "broken_normally.toml"))
    ctx = StageContext.build(case, case.stages[0])
    groups = list(ctx.demand.groups)
    solved = [broken_normally(ctx, {}, Models([]), g) for g in groups]  # no scan yet: solved
    normal_exemptions(ctx)
    looked_up = [broken_normally(ctx, {}, Models([]), g) for g in groups]
    assert looked_up == solved
    broken = [found for found in solved if found]
    assert len(broken) >= 1
    assert max(found.get(("line_loading", "line:#0"), 0.0) for found in broken) == 155.23
    assert min(found.get(("vm_min", "bus:#17"), 1.0) for found in broken) == 0.90356


def test_a_network_with_generators_of_its_own_is_solved_not_looked_up() -> None:
    """The scan solves a network's own generators without their reactive limits where pandapower
    solves it, a step's normal state with them: such a network's normal state is solved."""
    import pandapower as pp

    import planner
    from planner.checks.step_memo import _scanned
    from planner.grid.context import StageContext

    case = planner.load_case(str(INSPECT / "broken_normally.toml"))
    ctx = StageContext.build(case, case.stages[0])
    group = ctx.demand.groups[0]
    assert _scanned(ctx, group)
    pp.create_gen(ctx.base_net, 17, p_mw=0.1, vm_pu=1.0, max_q_mvar=0.05, min_q_mvar=-0.05)
    assert not _scanned(ctx, group)
