"""Battery trucks' energy through a stage, hour by hour as verification solved them.

A battery truck (`storage_kwh` > 0) starts each stage full and is not recharged within it (nor
swapped): each check time takes its solved kW for as long as the time's state holds (an hour, a
profile row, at most to its works window's end), through every window of the stage. A battery
that would run empty within the stage is a `battery_energy` violation naming the truck, the
check time it runs out in and the kWh it is short by the stage's end.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from planner.checks.findings import HourResult
from planner.checks.islands import Island
from planner.core.plan import Violation
from planner.grid.context import StageContext
from planner.grid.limits import TOL, Findings

__all__ = ["batteries_once", "track_batteries"]


def track_batteries(
    ctx: StageContext, islands: Sequence[Island], hours: list[HourResult], findings: Findings
) -> list[HourResult]:
    """`hours` (in time order) with each battery truck's energy left after each of them; a
    battery that runs empty within the stage is recorded in `findings`."""
    fleet = ctx.case.fleet
    batteries = [
        (island.id, truck.id, kind.storage_kwh)
        for island in islands
        for truck in island.trucks
        if (kind := fleet.machine(truck.id, truck.kind)).battery
    ]
    if not batteries:
        return hours
    held = dict(zip(ctx.demand.times, ctx.demand.step_h, strict=True))
    left = {truck: storage for _, truck, storage in batteries}
    empty: dict[str, str] = {}  # truck -> the check time it runs out in
    out = []
    for hour in hours:
        shown = {}
        for _, truck, _ in batteries:
            left[truck] -= max(hour.truck_kw.get(truck, 0.0), 0.0) * held.get(hour.time, 0.0)
            if left[truck] < -TOL and truck not in empty:
                empty[truck] = hour.time.isoformat()
            shown[truck] = max(left[truck], 0.0)
        out.append(dataclasses.replace(hour, battery_kwh=shown))
    for island, truck, storage in batteries:
        if truck not in empty:
            continue
        short = -left[truck]
        message = (
            f"island {island}: battery truck {truck} runs out of energy in the hour from "
            f"{empty[truck]}: the stage takes {storage + short:,.0f} kWh of its "
            f"{storage:,.0f} kWh, {short:,.0f} kWh short"
        )
        findings.add(
            Violation(
                "battery_energy",
                message,
                truck,
                round(short, 1),
                storage,
                island=island,
                time=empty[truck],
            )
        )
    return out


def batteries_once(case: Any, setups: Sequence[tuple[int, Any]]) -> list[Violation]:
    """A plan's battery trucks that serve more than one stage: each stage's check counts a
    battery full at its start and nothing recharges it on site, so one that serves a second
    stage is not shown to last (a `battery_energy` violation per such truck)."""
    stages: dict[str, list[str]] = {}
    for k, setup in sorted(setups, key=lambda item: case.stages[item[0]].start):
        for truck in setup.trucks:
            if case.fleet.machine(truck.id, truck.kind).battery:
                stages.setdefault(truck.id, []).append(case.stages[k].name)
    return [
        Violation(
            "battery_energy",
            f"battery truck {truck} serves {len(names)} stages ({', '.join(map(repr, names))}): "
            "nothing recharges it between them, and each stage is checked with it full",
            truck,
        )
        for truck, names in stages.items()
        if len(names) > 1
    ]
