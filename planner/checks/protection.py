"""Protection and dynamic reserve of truck islands.

Protection: a fault in a truck island is fed by its trucks alone. For the schedule's distinct sets
of online trucks the island's lowest 2-phase fault current (`planner.grid.faults`) is found; the
set with the lowest current at the relays' delay is reported, with the grid-fed value at the same
bus, the largest 3-phase current with every placed truck on, and what earths the island's star
point. With `[protection]` in the case it is a requirement: the at-delay current must reach
`sensitivity x pickup_a` (the hourly commitment keeps enough trucks online for it, the planner
places more when all of them are not enough) and, with `require_earthing`, something must earth
the island. Without `[protection]` the same figures are reported and shortfalls are warnings.

Dynamic reserve: under `reserve = "n-1"` a truck trip puts its output, as a sudden step, on the
trucks left online; the largest step over the schedule is compared with `load_step_percent` of
their rating. Under-frequency shedding of the loads `[protection] shed` allows, largest first,
takes the excess where it can; what is shed is named with its kW.
"""

from __future__ import annotations

import math
import re
from typing import Any

from planner.checks.islands import Island
from planner.core.plan import Violation
from planner.core.refs import ref_for
from planner.grid.context import StageContext
from planner.grid.faults import (
    INVERTER_K,
    FaultLevels,
    at_delay_ka,
    at_delay_mixed_ka,
    grid_min_2ph_ka,
    island_faults,
    island_max_3ph_ka,
)
from planner.grid.limits import TOL, Findings
from planner.grid.powerflow import TruckAt
from planner.inputs.case import Protection, Reserve, TruckType

__all__ = ["KnownLevels", "assess_island", "protection_floor"]

DEFAULT = Protection()


# fault levels of an island by its online trucks' ids, each computed once per stage check
KnownLevels = dict[tuple[str, ...], "FaultLevels | None"]


def _levels(
    ctx: StageContext, island: Island, online: list[TruckAt], known: KnownLevels
) -> FaultLevels | None:
    key = tuple(t.id for t in online)
    if key not in known:
        known[key] = _compute_levels(ctx, island, online)
    return known[key]


def _compute_levels(ctx: StageContext, island: Island, online: list[TruckAt]) -> FaultLevels | None:
    kinds = _kinds(ctx, online)
    assert island.net is not None
    return island_faults(
        island.net,
        online,
        xdss_pu=_per(kinds, "xdss_pu"),
        xds_pu=_per(kinds, "xds_pu"),
        sustained_x_pu=_per(kinds, "sustained_x_pu"),
        power_factor=_per(kinds, "power_factor"),
        inverters=[kind.battery for kind in kinds],
    )


def _kinds(ctx: StageContext, trucks: list[TruckAt]) -> list[TruckType]:
    """Each truck's type: its machine data and limits."""
    return [ctx.case.fleet.machine(t.id, t.kind) for t in trucks]


def _per(kinds: list[TruckType], field: str) -> float | tuple[float, ...]:
    """A machine value of the trucks: one number when they agree, else each truck's own."""
    values = tuple(float(getattr(kind, field)) for kind in kinds)
    return values[0] if len(set(values)) == 1 else values


def _at_delay(
    ctx: StageContext, levels: FaultLevels, delay_s: float, online: list[TruckAt]
) -> float:
    """The current at the relays' delay, each machine's share decaying with its own T'd (a
    battery truck's current does not decay: it has no share of the decaying part)."""
    machines = [(t, k) for t, k in zip(online, _kinds(ctx, online), strict=True) if not k.battery]
    if not machines:
        return levels.sustained_ka
    tds = _per([k for _, k in machines], "tds_s")
    if isinstance(tds, float):
        return at_delay_ka(levels, delay_s, tds)
    return at_delay_mixed_ka(levels, delay_s, tds, [t.rating_kva for t, _ in machines])


def _required_ka(rules: Protection) -> float:
    return rules.sensitivity * rules.pickup_a / 1000.0


def protection_floor(ctx: StageContext, island: Island, known: KnownLevels) -> int:
    """The fewest trucks (the island's first ones, as the commitment brings them online) whose
    fault current at the relays' delay reaches the requirement; all of them when none does."""
    rules = ctx.case.protection
    if rules is None:
        return 1
    for count in range(1, len(island.trucks) + 1):
        online = island.trucks[:count]
        levels = _levels(ctx, island, online, known)
        if levels and _at_delay(ctx, levels, rules.delay_s, online) >= _required_ka(rules):
            return count
    return len(island.trucks)


def _earthing(ctx: StageContext, island: Island) -> str | None:
    """What earths the island's medium-voltage star point: a truck, or a transformer winding
    with an earthed star (YN) on the island's side."""
    for truck, kind in zip(island.trucks, _kinds(ctx, island.trucks), strict=True):
        if kind.mv_earthing == "earthed":
            return f"truck {truck.id}"
    trafo = ctx.base_net.trafo
    for index, row in trafo.iterrows():
        match = re.match(r"^(YN|ZN|Y|D|Z)(yn|zn|y|d|z)", str(row.get("vector_group", "") or ""))
        if match is None or not bool(row["in_service"]):
            continue
        hv_earthed = match.group(1) in ("YN", "ZN") and int(row["hv_bus"]) in island.buses
        lv = int(row["lv_bus"])
        lv_mv = lv in island.buses and float(ctx.base_net.bus.at[lv, "vn_kv"]) >= 1.0
        if hv_earthed or (match.group(2) in ("yn", "zn") and lv_mv):
            return ref_for(ctx.base_net, "trafo", int(index)).text
    return None


def _protection(
    ctx: StageContext, island: Island, hours, known: KnownLevels
) -> tuple[dict[str, Any], list[str]]:
    rules = ctx.case.protection or DEFAULT
    mine = {t.id for t in island.trucks}
    sets: dict[tuple[str, ...], str] = {}
    for hour in hours:
        key = tuple(t for t in hour.online if t in mine)
        if key:
            sets.setdefault(key, hour.time.isoformat())
    if not sets:
        sets[tuple(t.id for t in island.trucks)] = ctx.stage.start.isoformat()
    by_id = {t.id: t for t in island.trucks}
    worst: tuple[float, tuple[str, ...], FaultLevels] | None = None
    for key in sets:
        online = [by_id[t] for t in key]
        levels = _levels(ctx, island, online, known)
        if levels is not None:
            delayed = _at_delay(ctx, levels, rules.delay_s, online)
            if worst is None or delayed < worst[0]:
                worst = (delayed, key, levels)
    if worst is None:
        return {}, ["the island's fault currents could not be computed"]
    delayed, key, levels = worst
    assert island.net is not None
    grid = grid_min_2ph_ka(ctx.base_net, levels.bus)
    earthing = _earthing(ctx, island)
    every = _kinds(ctx, island.trucks)
    xdss, pf = _per(every, "xdss_pu"), _per(every, "power_factor")
    achieved = delayed * 1000.0 / rules.pickup_a
    problems = []
    bus = ref_for(ctx.base_net, "bus", levels.bus).text
    if achieved < rules.sensitivity - TOL:
        problems.append(
            f"2-phase fault at {bus} gives {delayed:.2f} kA at {rules.delay_s:g} s with "
            f"{len(key)} truck(s) online, below {rules.sensitivity:g} x {rules.pickup_a:g} A "
            "(keep more trucks online, use excitation support, or lower the pickup)"
        )
    if earthing is None and ctx.case.protection and rules.require_earthing:
        problems.append("nothing earths the island's star point (add an earthing transformer)")
    passed = None if ctx.case.protection is None else not problems
    return {
        "online": list(key),
        "time": sets[key],
        "fault_bus": levels.bus,
        "ik2_min_subtransient_ka": round(levels.subtransient_ka, 3),
        "ik2_min_transient_ka": round(levels.transient_ka, 3),
        "ik2_min_at_delay_ka": round(delayed, 3),
        "grid_ik2_min_ka": None if grid is None else round(grid, 3),
        "ik3_max_ka": round(
            island_max_3ph_ka(island.net, island.trucks, xdss, pf, [k.battery for k in every]), 3
        ),
        "pickup_a": rules.pickup_a,
        "delay_s": rules.delay_s,
        "sensitivity_achieved": round(achieved, 3),
        "sensitivity_required": rules.sensitivity,
        "required_at_delay_ka": round(_required_ka(rules), 3),
        "earthing": earthing,
        # what each truck's own breaker sees of that fault: a truck relay set like the
        # feeder's would not see it alone
        "truck_share_at_delay_ka": _shares(ctx, [by_id[t] for t in key], delayed, levels.bus),
        "passed": passed,
        "violations": problems,
    }, problems


def _shares(ctx: StageContext, online: list[TruckAt], delayed: float, bus: int) -> dict[str, float]:
    """Each online truck's part of the at-delay fault current (exact for trucks at one bus): a
    battery truck its inverter's k x rated current at the fault bus's voltage, the machines
    the rest in proportion to their kVA."""
    kinds = _kinds(ctx, online)
    vn_kv = float(ctx.base_net.bus.at[bus, "vn_kv"])
    own = {
        t.id: INVERTER_K * t.rating_kva / 1000.0 / (math.sqrt(3) * vn_kv)
        for t, kind in zip(online, kinds, strict=True)
        if kind.battery
    }
    scale = min(1.0, delayed / sum(own.values())) if own else 1.0
    rest = max(delayed - sum(own.values()), 0.0)
    machines = sum(t.rating_kva for t in online if t.id not in own)
    return {
        t.id: round(own[t.id] * scale if t.id in own else rest * t.rating_kva / machines, 3)
        for t in online
    }


def _dynamic(ctx: StageContext, island: Island, hours) -> tuple[dict[str, Any], list[str]]:
    """The largest sudden step on the trucks left online, and what shedding would take it."""
    fleet = ctx.case.fleet
    rules = ctx.case.protection
    by_id = {t.id: t for t in island.trucks}
    steps = {t.id: fleet.machine(t.id, t.kind).load_step_percent for t in island.trucks}
    uniform = len(set(steps.values())) <= 1

    def allowed(ids: list[str]) -> float:  # % of their rating the trucks `ids` take at once
        if uniform or not ids:
            return next(iter(steps.values())) if steps else fleet.load_step_percent
        rating = sum(by_id[t].rating_kw for t in ids)
        return sum(steps[t] * by_id[t].rating_kw for t in ids) / rating

    def worse(p: float, lim: float) -> bool:  # than the worst step so far
        return p > percent if uniform else p / lim > percent / limit

    event, step_kw, percent, at = None, 0.0, 0.0, None
    limit = allowed(list(by_id))
    if hours:  # the island forms: its trucks, ramped to carry its load, pick up the losses too
        first = hours[0]
        online = [t for t in first.online if t in by_id]
        carried = sum(max(first.truck_kw.get(t, 0.0), 0.0) for t in online)
        losses = max(carried - first.island_load_kw.get(island.id, carried), 0.0)
        rating = sum(by_id[t].rating_kw for t in online)
        if rating > 0 and losses > 0:
            event, step_kw, percent, at = "island forms", losses, losses / rating * 100, first
            limit = allowed(online)
    if fleet.reserve == Reserve.N_1:
        for hour in hours:
            online = [t for t in hour.online if t in by_id]
            if len(online) < 2:
                continue
            for trip in online:
                left = [t for t in online if t != trip]
                rest = sum(by_id[t].rating_kw for t in left)
                p_kw = max(hour.truck_kw.get(trip, 0.0), 0.0)
                if worse(p_kw / rest * 100.0, allowed(left)):
                    event, step_kw, percent, at = f"trip {trip}", p_kw, p_kw / rest * 100, hour
                    limit = allowed(left)
    shed: list[dict[str, Any]] = []
    shed_kw = 0.0
    if at is not None and percent > limit + TOL and rules is not None:
        rest = step_kw / percent * 100.0
        need = step_kw - limit / 100.0 * rest
        for load, kw in _sheddable(ctx, island, at):
            if shed_kw >= need:
                break
            shed.append({"load": ref_for(ctx.base_net, "load", load).text, "kw": round(kw, 1)})
            shed_kw += kw
    remaining = percent * (1.0 - (shed_kw / step_kw if step_kw > 0 else 0.0))
    problems = []
    if remaining > limit + TOL:
        problems.append(
            f"{event} at {at.time.isoformat() if at else ''} puts a {step_kw:,.0f} kW step "
            f"({percent:.0f} % of the trucks left) on them, above {limit:g} %"
            + (f" even after shedding {shed_kw:,.0f} kW" if shed else "")
        )
    return {
        "event": event,
        "time": at.time.isoformat() if at else None,
        "largest_step_kw": round(step_kw, 1),
        "step_percent": round(percent, 1),
        "limit_percent": limit,
        "shed": shed,
        "shed_kw": round(shed_kw, 1),
        "passed": not problems if rules is not None else None,
    }, problems


def _sheddable(ctx: StageContext, island: Island, hour) -> list[tuple[int, float]]:
    """Loads of the island `[protection] shed` lets under-frequency relays drop, largest first,
    with their design kW at `hour`."""
    rules = ctx.case.protection
    if rules is None or rules.shed == "none":
        return []
    if rules.shed == "unprotected":
        allowed = [i for i in ctx.loads_on(island.buses) if i not in ctx.protected]
    else:
        allowed = [r.index for r in rules.shed] if isinstance(rules.shed, tuple) else []
    served = [i for i in island.served if i in allowed]
    group = next(g for g in ctx.demand.groups if hour.time in g.times)
    loads = [(i, ctx.load_kw([i], group)[0]) for i in served]
    return sorted(loads, key=lambda item: -item[1])


def assess_island(
    ctx: StageContext, island: Island, hours, findings: Findings, known: KnownLevels
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Protection and dynamic reserve of a truck island; with `[protection]` in the case its
    shortfalls are violations of the stage. `known` holds the levels `protection_floor` found."""
    protection, problems = _protection(ctx, island, hours, known)
    dynamic, steps = _dynamic(ctx, island, hours)
    if ctx.case.protection is not None:
        for text in problems:
            findings.add(Violation("protection", f"island {island.id}: {text}", island=island.id))
        for text in steps:
            findings.add(Violation("load_step", f"island {island.id}: {text}", island=island.id))
    dynamic["violations"] = steps
    if not math.isfinite(protection.get("ik2_min_at_delay_ka", 0.0)):
        protection["ik2_min_at_delay_ka"] = None
    return protection, dynamic
