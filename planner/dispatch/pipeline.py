"""Planning a whole case: stages in time order with one fleet; schedules, fuel, sequences."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from planner.checks.risk import plan_risk
from planner.checks.stage import StageCheck
from planner.checks.validation import profile_sha256
from planner.core.plan import Plan, StagePlan, Supply
from planner.core.version import __version__
from planner.decide.fleet import FleetState
from planner.decide.optimality import optimality, stage_bounds
from planner.decide.planning import Progress, plan_stage
from planner.dispatch.costs import plan_costs
from planner.dispatch.schedule import FleetHour, Refuel, fleet_timeline, stage_schedule
from planner.dispatch.sequence import switching_sequence
from planner.dispatch.tanker import fuel_logistics
from planner.grid.context import StageContext
from planner.inputs.case import Case, Stage
from planner.inputs.windows_daily import window_step_hours

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
    fleet = FleetState.of(case.fleet)
    order = sorted(range(len(case.stages)), key=lambda i: case.stages[i].start)
    done: dict[int, tuple[StagePlan, StageCheck, StageContext]] = {}
    points = frozenset(p.bus.index for p in case.connection_points)
    for at, i in enumerate(order):
        stage = case.stages[i]
        ctx = StageContext.build(case, stage)
        follow = _points_to_stay_for(case, stage, [case.stages[j] for j in order[at + 1 :]], points)
        plan, check = plan_stage(ctx, fleet, progress, follow)
        fleet.commit(stage.end, [(t.id, t.bus) for t in check.trucks])
        if progress:
            progress(f"{stage.name}: switching sequence", 0, 1)
        switching = switching_sequence(ctx, check)
        problems = switching.violations
        verification = plan.verification
        if problems:
            verification = dataclasses.replace(
                verification, passed=False, violations=(*verification.violations, *problems)
            )
        plan = dataclasses.replace(
            plan,
            verification=verification,
            schedule=tuple(stage_schedule(case, stage, check)),
            sequence=tuple(switching.steps),
            interruptions=tuple(switching.interruptions),
        )
        done[i] = (plan, check, ctx)
    stages = [done[i][0] for i in range(len(case.stages))]
    checks = [done[i][1] for i in range(len(case.stages))]
    contexts = [done[i][2] for i in range(len(case.stages))]
    rows, refuels = fleet_timeline(case, list(zip(case.stages, checks, strict=True)))
    summary = _summary(case, stages, contexts, checks, rows, refuels)
    feasible = all(s.verification.passed for s in stages)
    trucks_used = len({t.id for s in stages for t in s.trucks})
    bounds = [stage_bounds(ctx, s.switching) for ctx, s in zip(contexts, stages, strict=True)]
    summary["optimality"] = optimality(trucks_used, feasible, bounds)
    summary["fuel_logistics"] = fuel_logistics(refuels, case.fleet.tanker_l)
    summary["costs"] = plan_costs(
        case, rows, summary["fuel_l"], summary["benefit"]["energy_not_supplied_conventionally_kwh"]
    )
    if case.loads.uncertainty_percent > 0:
        if progress:
            progress(f"risk: {case.loads.scenarios} load scenarios", 0, 1)
        summary["risk"] = plan_risk(case, list(zip(contexts, checks, strict=True)))
    result = Plan(
        planner_version=__version__,
        case_name=case.name,
        case_file=case.file,
        network=case.network.source,
        feasible=feasible,
        trucks_available=case.fleet.trucks,
        trucks_used=trucks_used,
        rating_kw=case.fleet.rating_kw,
        power_factor=case.fleet.power_factor,
        stages=tuple(stages),
        case_sha256=case.sha256,
        network_sha256=case.network.sha256,
        profile_sha256=profile_sha256(case) or "",
        summary=summary,
        refuelling=tuple(r.as_json() for r in refuels),
        warnings=case.network_warnings,
        fleet_types=_types_used(case, stages),
    )
    return Dispatch(result, tuple(contexts), tuple(checks), tuple(rows), tuple(refuels))


def _points_to_stay_for(
    case: Case, stage: Stage, later: list[Stage], points: frozenset[int]
) -> frozenset[int]:
    """Connection points that stages starting within `setup_hours` of `stage`'s end need: a
    truck cannot drive there in time, but one placed there now can stay."""
    setup = timedelta(hours=case.fleet.setup_hours)
    found: set[int] = set()
    for other in later:
        if stage.end <= other.start < stage.end + setup:
            found |= StageContext.cut_off_by(case, other) & points
    return frozenset(found)


def plan_case(case: Case, progress: Progress | None = None) -> Plan:
    """Plan every stage of `case`; the result is feasible when every stage verifies."""
    return plan_dispatch(case, progress).plan


def _summary(case, stages, contexts, checks, rows, refuels) -> dict[str, Any]:
    """Totals, and the benefit against doing the works conventionally (de-energised)."""
    affected_households = max(
        (ctx.households(ctx.loads_on(ctx.cut_off)) for ctx in contexts), default=0
    )
    benefit, kept = _benefit(case, stages, contexts, checks)
    energy_kwh = sum(r.energy_kwh for r in rows)
    fuel_l = sum(r.fuel_l for r in rows)
    running = sum(r.hours for r in rows if r.online)
    return {
        "households_kept_supplied": contexts[0].households(sorted(kept)),
        "households_affected_conventionally": affected_households,
        "customer_hours_avoided": benefit["customer_hours_avoided"],
        "truck_energy_kwh": round(energy_kwh, 1),
        "fuel_l": round(fuel_l, 1),
        "truck_running_hours": round(running, 2),
        "refuels": len(refuels),
        "stages_verified": sum(1 for s in stages if s.verification.passed),
        "stages": len(stages),
        "benefit": benefit,
    }


def _served(island, ctx: StageContext) -> list[int]:
    """Loads an island keeps supplied: all of a transfer, the protected ones of truck islands."""
    if island.supply is Supply.TRANSFER:
        return list(island.loads)
    return [i for i in island.loads if i in ctx.protected]


def _benefit(case: Case, stages, contexts, checks) -> tuple[dict[str, Any], set[int]]:
    """What the plan saves customers, and the loads it keeps supplied in any stage.

    The counterfactual is the conventional way: the works done de-energised, ties transferring
    what they can (as any utility would), so only the customers the trucks carry would have been
    cut off, each for `[benefit] conventional_outage_hours` per stage (default: the stage's
    duration). Counted once per household and stage."""
    has_households = "households" in case.network.net.load.columns
    truck_fed: set[int] = set()
    transferred: set[int] = set()
    customer_hours = 0.0
    peak_kw = 0.0
    energy_kwh = 0.0
    lost_kwh = 0.0  # what the truck-fed customers would not get under the counterfactual
    for plan, ctx, check in zip(stages, contexts, checks, strict=True):
        hours = case.conventional_outage_hours or ctx.stage.works_hours
        stage_kwh = 0.0
        fed = [i for isl in plan.islands if isl.supply is Supply.TRUCKS for i in _served(isl, ctx)]
        moved = [
            i for isl in plan.islands if isl.supply is Supply.TRANSFER for i in _served(isl, ctx)
        ]
        truck_fed.update(fed)
        transferred.update(moved)
        customer_hours += ctx.households(fed) * hours
        peak_kw = max(peak_kw, ctx.peak_kw(fed)[0])
        islands = {isl.id for isl in plan.islands if isl.supply is Supply.TRUCKS}
        durations = window_step_hours([h.time for h in check.hours], ctx.stage.windows)
        for h, step_h in zip(check.hours, durations, strict=True):
            stage_kwh += step_h * sum(kw for i, kw in h.island_load_kw.items() if i in islands)
        energy_kwh += stage_kwh
        lost_kwh += stage_kwh * min(1.0, hours / ctx.stage.works_hours)

    def households(loads: set[int]) -> int | None:
        return contexts[0].households(sorted(loads)) if has_households else None

    return {
        "households_truck_fed": households(truck_fed),
        "households_transferred": households(transferred),
        "conventional_outage_hours": case.conventional_outage_hours,
        "customer_hours_avoided": round(customer_hours, 1) if has_households else None,
        "truck_fed_peak_kw": round(peak_kw, 1),
        "energy_served_kwh": round(energy_kwh, 1),
        "energy_not_supplied_conventionally_kwh": round(lost_kwh, 1),
        "counterfactual": (
            "works done de-energised with the same tie transfers; the truck-fed customers lose "
            + (
                f"supply for {case.conventional_outage_hours:g} h in each stage"
                if case.conventional_outage_hours
                else "supply for the whole of each stage"
            )
        ),
    }, truck_fed | transferred


def _types_used(case: Case, stages: list[StagePlan]) -> tuple[dict[str, Any], ...]:
    """A mixed fleet's types with the distinct trucks of each the plan uses (plan.json's
    `fleet.types`, an added field); nothing for a single-type fleet."""
    used = {t.id for stage in stages for t in stage.trucks}
    return tuple(
        {
            "name": kind.name,
            "trucks_available": kind.trucks,
            "trucks_used": sum(1 for i in kind.ids() if i in used),
            "rating_kw": kind.rating_kw,
            "power_factor": kind.power_factor,
            "connects": kind.connects,
            "storage_kwh": kind.storage_kwh,
        }
        for kind in case.fleet.types
    )
