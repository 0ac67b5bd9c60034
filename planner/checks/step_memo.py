"""What the replays of a stage's switching solve once and look up after: the normal state's
broken limits at each load, and each phase's step states, which other orders and controls of
the phase reach again (about two thirds of the steps replayed in a large network's stage)."""

from __future__ import annotations

from datetime import datetime

from planner.checks.paralleled import Paralleled, Power, on_grid
from planner.checks.step_state import Models, SolvedState, solve_states, topology_key
from planner.grid.context import StageContext
from planner.grid.powerflow import TruckAt, setpoint_pu
from planner.inputs.demand import StepGroup

__all__ = ["Normal", "Repeats", "broken_normally", "step_states"]

Normal = dict[tuple[datetime, ...], dict[tuple[str, str], float | None]]
Repeats = dict[tuple, list[SolvedState]]


def broken_normally(
    ctx: StageContext, normal: Normal, models: Models, group: StepGroup
) -> dict[tuple[str, str], float | None]:
    """Limits already broken in the network's normal state at `group`'s load, with how far (kept
    in `normal`): a step that breaks them no further is not their cause (one that breaks them
    further is). Taken from the stage check's normal-state scan where it solved that load,
    else solved on the normal state's model (`models`)."""
    key = group.times  # the design load is the times'
    scanned = ctx.memo.get("normal_exemptions")
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
    too (no `daily` windows)."""
    demand = ctx.demand
    return demand.normal_groups is demand.groups and any(g is group for g in demand.groups)


def step_states(
    ctx: StageContext,
    repeats: Repeats,
    net,
    trucks: dict[str, TruckAt],
    outputs: list[dict[str, Power]],
    groups: list[StepGroup],
    whens: list[str],
    models: Models,
    control: Paralleled,
) -> list[SolvedState]:
    """`solve_states` of a step, or the states of an earlier step of the phase's network (kept
    in `repeats`, of another order or control replayed) with the same switching, service,
    trucks, outputs and times: where no truck ran paralleled with the grid (`on_grid`), whatever
    the control; else where the control was the same and holds no state ("setpoint",
    "power_factor"; "voltage" holds what each truck synchronised at)."""
    key = (
        topology_key(net), net.load.in_service.to_numpy(bool).tobytes(), tuple(trucks.items()),
        tuple(tuple(out.items()) for out in outputs), tuple(whens),
    )  # fmt: skip
    kept = repeats.get((key, None)) or repeats.get((key, control.control))
    if kept is not None:
        if (key, None) in repeats:  # nothing paralleled: the control forgets, as in a solve
            control.held([], setpoint_pu(ctx.case.fleet, []))
        return kept
    states = solve_states(ctx, net, trucks, outputs, groups, whens, models, control)
    if not any(on_grid(state, trucks) for state in states):
        repeats[(key, None)] = states
    elif control.control != "voltage":
        repeats[(key, control.control)] = states
    return states
