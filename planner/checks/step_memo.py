"""What the replays of a stage's switching look up rather than solve: the normal state's broken
limits at each load the stage's normal-state scan solved already."""

from __future__ import annotations

from datetime import datetime

from planner.checks.normal_state import EXEMPTIONS
from planner.checks.step_models import Models
from planner.checks.step_state import solve_states
from planner.grid.context import StageContext
from planner.inputs.demand import StepGroup

__all__ = ["Normal", "broken_normally"]

Normal = dict[tuple[datetime, ...], dict[tuple[str, str], float | None]]


def broken_normally(
    ctx: StageContext, normal: Normal, models: Models, group: StepGroup
) -> dict[tuple[str, str], float | None]:
    """Limits already broken in the network's normal state at `group`'s load, with how far (kept
    in `normal`): a step that breaks them no further is not their cause (one that breaks them
    further is). Taken from the stage check's normal-state scan where it solved that load,
    else solved on the normal state's model (`models`)."""
    key = group.times  # the design load is the times'
    scanned = ctx.memo.get(EXEMPTIONS)
    if key not in normal and scanned is not None and _scanned(ctx, group):
        when = group.times[0].isoformat()
        normal[key] = {k: at[when] for k, at in scanned.items() if when in at}
    if key not in normal:
        state = solve_states(ctx, ctx.base_net, {}, [{}], [group], [""], models)[0]
        normal[key] = {(v.kind, v.element): v.value for v in state.findings.violations.values()}
    return normal[key]


def _scanned(ctx: StageContext, group: StepGroup) -> bool:
    """Whether the normal-state scan of the stage's check (`normal_exemptions`) solved the
    network at `group`'s load: one of the stage's load states, which are the normal state's
    too (no `daily` windows). Not where the network has generators of its own: the scan
    solves them without their reactive limits where pandapower solves it (`solve_grid`), a
    step's normal state with them (`paralleled_run`)."""
    demand, gen = ctx.demand, ctx.base_net.gen
    if len(gen) and gen.in_service.to_numpy(bool).any():
        return False
    return demand.normal_groups is demand.groups and any(g is group for g in demand.groups)
