"""Planning a whole case: stages in time order with one fleet; schedules, fuel, sequences."""

from __future__ import annotations

import dataclasses
from typing import Any

from planner.checks.stage import StageCheck
from planner.core.plan import Plan, StagePlan, Supply
from planner.core.version import __version__
from planner.decide.fleet import FleetState
from planner.decide.planning import Progress, plan_stage
from planner.dispatch.schedule import FleetHour, Refuel, fleet_timeline, stage_schedule
from planner.dispatch.sequence import switching_sequence
from planner.grid.context import StageContext
from planner.inputs.case import Case

__all__ = ["Dispatch", "plan_case", "plan_dispatch"]


@dataclasses.dataclass(frozen=True)
class Dispatch:
    """A plan with what the outputs need beyond plan.json: contexts, checks, fleet hours."""

    plan: Plan
    contexts: tuple[StageContext, ...]
    checks: tuple[StageCheck, ...]
    fleet_hours: tuple[FleetHour, ...]
    refuels: tuple[Refuel, ...]


def plan_dispatch(case: Case, progress: Progress | None = None) -> Dispatch:
    """Plan every stage (in time order, trucks carried from stage to stage) and dispatch them."""
    fleet = FleetState(case.fleet.trucks, case.fleet.setup_hours)
    order = sorted(range(len(case.stages)), key=lambda i: case.stages[i].start)
    done: dict[int, tuple[StagePlan, StageCheck, StageContext]] = {}
    for i in order:
        stage = case.stages[i]
        ctx = StageContext.build(case, stage)
        plan, check = plan_stage(ctx, fleet, progress)
        fleet.commit(stage.end, [(t.id, t.bus) for t in check.trucks])
        if progress:
            progress(f"{stage.name}: switching sequence", 0, 1)
        steps, problems = switching_sequence(ctx, check)
        verification = plan.verification
        if problems:
            verification = dataclasses.replace(
                verification, passed=False, violations=(*verification.violations, *problems)
            )
        plan = dataclasses.replace(
            plan,
            verification=verification,
            schedule=tuple(stage_schedule(case, stage, check)),
            sequence=tuple(steps),
        )
        done[i] = (plan, check, ctx)
    stages = [done[i][0] for i in range(len(case.stages))]
    checks = [done[i][1] for i in range(len(case.stages))]
    contexts = [done[i][2] for i in range(len(case.stages))]
    rows, refuels = fleet_timeline(case, list(zip(case.stages, checks, strict=True)))
    result = Plan(
        planner_version=__version__,
        case_name=case.name,
        case_file=case.file,
        network=case.network.source,
        feasible=all(s.verification.passed for s in stages),
        trucks_available=case.fleet.trucks,
        trucks_used=len({t.id for s in stages for t in s.trucks}),
        rating_kw=case.fleet.rating_kw,
        power_factor=case.fleet.power_factor,
        stages=tuple(stages),
        case_sha256=case.sha256,
        network_sha256=case.network.sha256,
        summary=_summary(case, stages, contexts, rows, refuels),
        refuelling=tuple(r.as_json() for r in refuels),
        warnings=case.network_warnings,
    )
    return Dispatch(result, tuple(contexts), tuple(checks), tuple(rows), tuple(refuels))


def plan_case(case: Case, progress: Progress | None = None) -> Plan:
    """Plan every stage of `case`; the result is feasible when every stage verifies."""
    return plan_dispatch(case, progress).plan


def _summary(case, stages, contexts, rows, refuels) -> dict[str, Any]:
    """Totals, and the comparison with doing the works conventionally (de-energised)."""
    kept: dict[int, int] = {}
    customer_hours = 0.0
    affected_households = 0
    for plan, ctx in zip(stages, contexts, strict=True):
        cut = ctx.loads_on(ctx.cut_off)
        affected_households = max(affected_households, ctx.households(cut))
        for island in plan.islands:
            if island.supply in (Supply.TRANSFER, Supply.TRUCKS):
                served = [
                    i
                    for i in island.loads
                    if island.supply is Supply.TRANSFER or i in ctx.protected
                ]
                for i in served:
                    kept[i] = ctx.households([i])
                customer_hours += ctx.households(served) * ctx.stage.hours
    energy_kwh = sum(r.energy_kwh for r in rows)
    fuel_l = sum(r.fuel_l for r in rows)
    running = sum(1 for r in rows if r.online)
    return {
        "households_kept_supplied": int(sum(kept.values())),
        "households_affected_conventionally": affected_households,
        "customer_hours_avoided": round(customer_hours, 1),
        "truck_energy_kwh": round(energy_kwh, 1),
        "fuel_l": round(fuel_l, 1),
        "truck_running_hours": running,
        "refuels": len(refuels),
        "stages_verified": sum(1 for s in stages if s.verification.passed),
        "stages": len(stages),
    }
