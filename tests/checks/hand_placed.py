"""Trucks placed by hand, for the mixed-fleet and battery-truck tests: the fleet's trucks at one
bus, each with its own type; a stage checked with them; a whole plan made with them in every
stage (the pipeline's schedule, sequence and fuel as written) instead of the search's."""

from __future__ import annotations

import json
from typing import Any

import pytest

import planner
from planner.checks.stage import StageCheck, StageSetup, check_stage
from planner.core.plan import StagePlan
from planner.dispatch import pipeline
from planner.grid.context import StageContext
from planner.grid.powerflow import TruckAt
from planner.inputs.case import Case

BUS = 30  # case33bw's bus 30, on the lateral 28-32 both fleet cases cut off


def trucks_at(case: Case, *ids: str, bus: int = BUS) -> tuple[TruckAt, ...]:
    """The fleet's trucks `ids` at `bus`, each with its own type."""
    out = []
    for truck_id in ids:
        kind = case.fleet.type_of(truck_id)
        assert kind is not None
        out.append(TruckAt(truck_id, bus, kind.rating_kw, kind.rating_kva, kind))
    return tuple(out)


def check_with(case: Case, trucks: tuple[TruckAt, ...], stage: int = 0) -> StageCheck:
    """The check of stage `stage` of `case` with `trucks` and no switching."""
    ctx = StageContext.build(case, case.stages[stage])
    return check_stage(ctx, StageSetup(trucks=trucks))


def plan_with(case: Case, ids: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """plan.json of `case` with the trucks `ids` placed by hand at `BUS` in every stage."""

    def by_hand(ctx, fleet=None, progress=None, follow=frozenset()):  # type: ignore[no-untyped-def]
        check = check_stage(ctx, StageSetup(trucks=trucks_at(case, *ids)))
        stage = ctx.stage
        plan = StagePlan(
            stage.name, stage.start.isoformat(), stage.end.isoformat(), stage.out_of_service,
            check.setup.switching, tuple(check.trucks), tuple(check.islands),
            ctx.peak_kw(ctx.loads_on(ctx.cut_off))[0], ctx.demand.peak_factor,
            case.loads.margin, check.verification,
        )  # fmt: skip
        return plan, check

    monkeypatch.setattr(pipeline, "plan_stage", by_hand)
    return json.loads(planner.plan_case(case).to_json())
