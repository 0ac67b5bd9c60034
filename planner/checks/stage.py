"""AC verification of one stage set-up (switching + truck positions) at the design load.

Used by the planner inside its plan-verify loop and by `planner validate` on plans from anywhere:
the islands, their supply and every limit are derived from the network state alone, never taken
from what a plan claims. Every hour of the stage is checked (hours with the same load state are
solved once), with the trucks the hourly commitment runs; battery trucks' energy is tracked
through those hours (`planner.checks.energy`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from planner.checks.energy import track_batteries
from planner.checks.findings import (
    HourResult,
    StageCheck,
    check_fleet,
    check_unserved,
    check_works,
    stage_result,
)
from planner.checks.islands import StageSetup, classify, truck_island_net
from planner.checks.lv_trucks import check_lv_trucks
from planner.checks.normal_state import normal_exemptions
from planner.checks.protection import KnownLevels, assess_island, protection_floor
from planner.checks.reserve import check_n_1
from planner.checks.solve import solve_grid_states, solve_island_states
from planner.core.plan import Supply
from planner.grid.context import StageContext
from planner.grid.limits import Exemptions, Findings
from planner.inputs.case import Reserve

__all__ = ["HourResult", "StageCheck", "StageSetup", "check_once", "check_stage"]


KEPT_CHECKS = 8  # set-ups `check_once` keeps per stage (a stage's rounds verify a few each)


def check_once(
    ctx: StageContext, setup: StageSetup, progress: Callable[[int], None] | None = None
) -> StageCheck:
    """`check_stage` of `setup` (against the normal state's own breaches), made once per stage
    context: planning that comes back to a set-up it verified (a later round of the screening,
    more hours joined, that chooses the same switch set and trucks) takes the check made."""
    checks = ctx.memo.setdefault("stage_checks", {})
    if setup in checks:
        if progress:  # the hours it covers, at once
            progress(len(ctx.demand.times))
        return checks[setup]
    while len(checks) >= KEPT_CHECKS:  # each holds its islands' networks: the latest only
        del checks[next(iter(checks))]
    checks[setup] = check_stage(ctx, setup, progress=progress)
    return checks[setup]


def check_stage(
    ctx: StageContext,
    setup: StageSetup,
    *,
    progress: Callable[[int], None] | None = None,
    exempt: Exemptions | None = None,
) -> StageCheck:
    """Verify `setup` for every hour of the stage; derive islands and supply from the state.

    Limits the network's normal state already breaks during the stage (`exempt`, from
    `normal_exemptions(ctx)`: pass it when checking one stage many times) are not counted
    against the set-up, as the switching replay does; `planner check` warns of them."""
    case = ctx.case
    fleet = case.fleet
    n_1 = fleet.reserve == Reserve.N_1
    if exempt is None:
        exempt = normal_exemptions(ctx)
    findings = Findings(ctx.base_net, case.limits, exempt=exempt, namer=ctx.namer)
    net, grid, islands = classify(ctx, setup, findings)
    check_fleet(ctx, setup, findings)
    check_lv_trucks(ctx, setup, islands, findings)
    check_works(ctx, setup, findings)
    for island in islands:
        if island.trucks:
            island.net, island.curtailed_kw = truck_island_net(ctx, net, island, island.trucks)
    groups = list(ctx.demand.groups)
    whens = [g.times[0].isoformat() for g in groups]
    grid_vm = solve_grid_states(ctx, net, grid, groups, whens, findings)
    known: dict[str, KnownLevels] = {isl.id: {} for isl in islands}
    runs = {
        isl.id: solve_island_states(
            ctx, isl, groups, whens, findings, n_1, floor=protection_floor(ctx, isl, known[isl.id])
        )
        for isl in islands
        if isl.trucks
    }
    hours: list[HourResult] = []
    for k, group in enumerate(groups):
        vms = list(grid_vm[k])
        online: list[str] = []
        truck_kw: dict[str, float] = {}
        truck_kvar: dict[str, float] = {}
        loads_kw: dict[str, float] = {}
        losses_kw: dict[str, float] = {}
        for island in islands:
            if island.trucks:
                result = runs[island.id][k]
                if result is not None:
                    online += result.online
                    truck_kw |= result.p_kw
                    truck_kvar |= result.q_kvar
                    vms += [result.vm_min, result.vm_max]
                    loads_kw[island.id] = ctx.load_kw(island.served, group)[0]
                    losses_kw[island.id] = sum(result.p_kw.values()) - loads_kw[island.id]
            elif island.kind is Supply.NONE:
                check_unserved(ctx, island, group, findings)
        vms = [v for v in vms if not math.isnan(v)]
        for t in group.times:
            hours.append(
                HourResult(
                    t,
                    tuple(online),
                    truck_kw,
                    truck_kvar,
                    loads_kw,
                    losses_kw,
                    min(vms, default=math.nan),
                    max(vms, default=math.nan),
                )
            )
        if progress:
            progress(len(group.times))
    if n_1:
        for island in islands:
            if island.trucks:
                counts = [len(h.online) if h else len(island.trucks) for h in runs[island.id]]
                check_n_1(ctx, net, island, findings, counts)
    hours.sort(key=lambda h: h.time)
    hours = track_batteries(ctx, islands, hours, findings)
    assessed = {
        isl.id: assess_island(ctx, isl, hours, findings, known[isl.id])
        for isl in islands
        if isl.trucks
    }
    return stage_result(ctx, setup, islands, findings, hours, assessed)
