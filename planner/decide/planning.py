"""Planning a case: per stage, transfer first, then the fewest trucks that verify."""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from planner.checks.stage import StageCheck, StageSetup, check_once
from planner.core.plan import StagePlan, Verification, Violation
from planner.core.refs import ElementRef
from planner.core.switching import Switching
from planner.decide.allocation import (
    IslandNeed,
    kw_bound,
    place_trucks,
    point_costs,
    shortfalls,
    trucks_needed,
)
from planner.decide.fleet import FleetState
from planner.decide.lv_slots import island_ids, lv_slots, with_lv_opens, without_failing_lv
from planner.decide.mix_needs import LvSlot
from planner.decide.search import search_note, stage_search
from planner.decide.transfer import SCREEN_MODELS, candidate_ties, find_transfers
from planner.grid.context import StageContext
from planner.grid.state import with_switching
from planner.grid.topology import build_graph, energised_buses, islands_of
from planner.inputs.case import Reserve
from planner.inputs.demand import StepGroup

__all__ = ["IslandInfo", "Progress", "plan_stage", "truck_islands"]

log = logging.getLogger(__name__)

MAX_ROUNDS = 12
MAX_ALTERNATIVES = 4  # switch sets verified after the first needed more trucks than its bound
ISLAND_KINDS = (
    "truck_overload",
    "vm_min",
    "vm_max",
    "line_loading",
    "trafo_loading",
    "not_converged",
    "reserve",
    "protection",
    "load_step",
    "battery_energy",
)
GRID_KINDS = ("vm_min", "vm_max", "line_loading", "trafo_loading", "not_converged")


@dataclass(frozen=True)
class IslandInfo:
    """An island left to trucks after transfer, with what sizing it needs."""

    buses: frozenset[int]
    design_kw: float
    design_kvar: float
    points: tuple[tuple[int, int, float], ...]
    lower_bound: int
    design_kwh: float = 0.0  # its protected design load summed over the stage's hours
    lv: tuple[LvSlot, ...] = ()  # transformers LV trucks may take over (`decide.lv_slots`)

    @property
    def design_kva(self) -> float:
        return math.hypot(self.design_kw, self.design_kvar)


def truck_islands(ctx: StageContext, switching: Switching) -> list[IslandInfo]:
    """Islands still cut off after `switching` that hold protected load, with their sizing."""
    case = ctx.case
    graph = build_graph(with_switching(ctx.works_net, switching))
    affected = ctx.base_energised - energised_buses(graph)
    out = []
    for buses in islands_of(graph, affected):
        protected = [i for i in ctx.loads_on(buses) if i in ctx.protected]
        p_kw, q_kvar = ctx.peak_kw(protected)
        if p_kw <= 0 and q_kvar <= 0:
            continue
        load_kw: dict[int, float] = {}
        for i, kw in zip(protected, ctx.own_peaks_kw(protected), strict=True):
            load_kw[ctx.load_bus[i]] = load_kw.get(ctx.load_bus[i], 0.0) + kw
        on_island = sorted(p.bus.index for p in case.connection_points if p.bus.index in buses)
        costs = point_costs(graph, buses, on_island, load_kw)
        points = tuple((b, case.bays_at(b), costs.get(b, 0.0)) for b in on_island)
        fleet = case.fleet
        bound = trucks_needed(
            p_kw, q_kvar, fleet.rating_kw, fleet.rating_kva, fleet.reserve == Reserve.N_1
        )
        energy = ctx.energy_kwh(protected)
        out.append(IslandInfo(buses, p_kw, q_kvar, points, bound, energy))
    slots = lv_slots(ctx, switching, [info.buses for info in out])
    return [dataclasses.replace(info, lv=lv) for info, lv in zip(out, slots, strict=True)]


def merge_truck_islands(ctx: StageContext, switching: Switching) -> tuple[Switching, list[str]]:
    """Close ties between truck islands where one island needs fewer trucks than the two.

    Each island rounds its trucks up on its own; paralleling two islands through a normally-open
    point (a bus coupler, a tie between two cut-off feeders) pools the remainders. A tie is
    closed only if it joins two cut-off islands (nothing becomes grid-fed, no loop forms) and
    the merged lower bound is smaller; verification then decides as for any island.
    """
    notes: list[str] = []
    used = {*switching.close, *switching.in_service}
    while True:
        infos = truck_islands(ctx, switching)
        before = sum(i.lower_bound for i in infos)
        buses = frozenset().union(*(i.buses for i in infos)) if infos else frozenset()
        best: tuple[int, ElementRef] | None = None
        for tie in candidate_ties(ctx):
            if tie in used:
                continue
            trial = switching.with_tie(tie, ())
            merged = truck_islands(ctx, trial)
            merged_buses = frozenset().union(*(i.buses for i in merged)) if merged else frozenset()
            if len(merged) != len(infos) - 1 or merged_buses != buses:
                continue  # joins no two truck islands, or something else changed
            after = sum(i.lower_bound for i in merged)
            if after < before and (best is None or after < best[0]):
                best = (after, tie)
        if best is None:
            return switching, notes
        switching = switching.with_tie(best[1], ())
        used.add(best[1])
        notes.append(
            f"truck islands paralleled through {best[1].text}: "
            f"{before} trucks by lower bound become {best[0]}"
        )


Progress = Callable[[str, int, int], None]


def _stage_progress(
    progress: Progress | None, label: str, total: int
) -> Callable[[int], None] | None:
    """A per-hour callback for one verification run, or None."""
    if progress is None:
        return None
    return lambda hours: progress(label, hours, total)


def plan_stage(
    ctx: StageContext,
    fleet: FleetState | None = None,
    progress: Progress | None = None,
    follow: frozenset[int] = frozenset(),
) -> tuple[StagePlan, StageCheck]:
    """Transfer, then trucks, verified; more trucks where the load flow proves the bound short,
    and the next switch sets of the search where that needs more than a set's bound.

    When full verification finds the grid outside its limits at an hour the transfer screening
    did not look at, that hour joins the screening and the stage is planned again. `follow`
    are connection points a stage starting too soon after this one for a truck to move will
    need: a truck placed there can stay for it, so they are preferred among equals.
    """
    extra_groups: tuple[StepGroup, ...] = ()
    try:
        for _ in range(MAX_ROUNDS):
            plan, check = _plan_with_screening(ctx, extra_groups, fleet, progress, follow)
            grid_times = _grid_times(check)
            more = tuple(
                g
                for g in ctx.demand.groups
                if g.times[0].isoformat() in grid_times and all(g is not h for h in extra_groups)
            )
            if (not plan.switching.close and not plan.switching.in_service) or not more:
                return plan, check
            extra_groups += more
        return plan, check
    finally:
        ctx.memo.pop(SCREEN_MODELS, None)  # the screens' models: megabytes each


def _grid_times(check: StageCheck) -> set[str]:
    """Times at which verification found the grid (not an island) outside its limits."""
    return {v.time for v in check.verification.violations if not v.island and v.kind in GRID_KINDS}


def _searched_switching(
    ctx: StageContext,
    infos: list[IslandInfo],
    extra_groups: tuple[StepGroup, ...],
    progress: Progress | None,
) -> tuple[Switching, str] | None:
    """A switch set of the search that needs fewer trucks than the greedy transfer's (or
    serves protected load it leaves unserved), AC-screened; None when the greedy one stands."""
    search = stage_search(ctx, progress)
    fleet = ctx.case.fleet
    n_1 = fleet.reserve == Reserve.N_1
    unserved = [
        sum(b for _, b, _ in info.points) < max(kw_bound(info.design_kw, fleet.rating_kw, n_1), 1)
        for info in infos
    ]
    unserved_kw = sum(info.design_kw for info, u in zip(infos, unserved, strict=True) if u)
    # trucks of the islands trucks can reach, as a candidate counts them
    greedy = sum(info.lower_bound for info, u in zip(infos, unserved, strict=True) if not u)
    better = search.better_than(greedy, unserved_kw, extra_groups)
    if better is None:
        return None
    note = search_note(better, greedy)
    log.info(note)
    return better.switching, note


@dataclass
class _Attempt:
    """One switch set with the fewest trucks verification let it have."""

    switching: Switching
    infos: list[IslandInfo]
    notes: list[str]
    counts: list[int]
    ids: list[str]
    check: StageCheck
    verification: Verification

    @property
    def rank(self) -> tuple[bool, int]:
        return (not self.verification.passed, sum(self.counts))


def _with_trucks(
    ctx: StageContext,
    switching: Switching,
    notes: list[str],
    fleet_state: FleetState,
    progress: Progress | None,
    follow: frozenset[int],
    cap: int | None = None,
) -> _Attempt:
    """Trucks for `switching`'s islands from their bound up, more where verification fails
    (given up, failed, once `cap` trucks would be needed: another switch set does as well)."""
    stage, fleet = ctx.stage, ctx.case.fleet
    infos = truck_islands(ctx, switching)
    notes = list(notes)
    counts = [info.lower_bound for info in infos]
    ids = [f"island at bus {min(i.buses)}" for i in infos]
    check: StageCheck | None = None
    extra_violations: list[Violation] = []
    base = switching
    for _ in range(MAX_ROUNDS):
        needs = [
            IslandNeed(
                k, tuple((b, bays, cost - (b in follow)) for b, bays, cost in info.points), n
            )
            for k, (info, n) in enumerate(zip(infos, counts, strict=True))
        ]
        trucks, timing, short = place_trucks(
            needs, infos, fleet, fleet_state, stage.start, follow, ctx.case.costs, stage.hours
        )
        if short:
            extra_violations = shortfalls(infos, counts, fleet, ids)
        step = _stage_progress(
            progress, f"{stage.name}: verifying {len(trucks)} truck(s)", len(ctx.demand.times)
        )
        lv = {t.id for t in trucks if fleet.machine(t.id, t.kind).connects == "lv"}
        switching = with_lv_opens(base, [s for i in infos for s in i.lv], trucks, lv)
        check = check_once(ctx, StageSetup(switching, tuple(trucks)), step)
        ids = island_ids(infos, check.islands, lv)
        if extra_violations:
            extra_violations = shortfalls(infos, counts, fleet, ids)
            break
        if check.verification.passed:
            break
        failing = {
            v.island for v in check.verification.violations if v.kind in ISLAND_KINDS and v.island
        }
        handed_back = without_failing_lv(infos, check.islands, failing, trucks, lv)
        if handed_back is not None:  # an LV island failed: its transformer back to MV trucks
            infos, note = handed_back
            notes.append(note)
            continue
        grown = False
        for k, island in enumerate(ids):
            if island in failing:
                kinds = sorted(
                    {v.kind for v in check.verification.violations if v.island == island}
                )
                notes.append(
                    f"island {island}: {counts[k]} truck(s) (lower bound "
                    f"{infos[k].lower_bound}) failed verification ({', '.join(kinds)}); "
                    "adding one"
                )
                counts[k] += 1
                grown = True
        if not grown or (cap is not None and sum(counts) >= cap):
            break
    assert check is not None
    verification = check.verification
    extra_violations += [Violation("fleet_timing", text) for text in timing]
    if extra_violations:
        verification = dataclasses.replace(
            verification, passed=False, violations=(*extra_violations, *verification.violations)
        )
    return _Attempt(switching, infos, notes, counts, ids, check, verification)


def _alternatives(
    ctx: StageContext,
    greedy: tuple[Switching, list[str]],
    tried: list[Switching],
    cap: int | None,
    extra_groups: tuple[StepGroup, ...],
) -> Iterator[tuple[Switching, list[str], int]]:
    """Switch sets to verify after the first needed more trucks than its bound: the greedy
    transfer's (if its bound is below `cap`), then the search's that pass the screen, fewest
    trucks by bound first."""
    if greedy[0] not in tried:
        bound = sum(i.lower_bound for i in truck_islands(ctx, greedy[0]))
        if cap is None or bound < cap:
            yield greedy[0], greedy[1], bound
    for candidate in stage_search(ctx).alternatives(tried, extra_groups):
        yield candidate.switching, [search_note(candidate, None)], candidate.trucks


def _plan_with_screening(
    ctx: StageContext,
    extra_groups: tuple[StepGroup, ...],
    fleet_state: FleetState | None,
    progress: Progress | None,
    follow: frozenset[int],
) -> tuple[StagePlan, StageCheck]:
    case, stage = ctx.case, ctx.stage
    fleet = case.fleet
    fleet_state = fleet_state or FleetState.of(fleet)
    switching, transfers, _ = (
        find_transfers(ctx, extra_groups) if ctx.cut_off else (Switching(), [], 0)
    )
    notes = [
        f"transfer via {t.tie.text}"
        + (f" with {', '.join(o.text for o in t.opened)} opened" if t.opened else "")
        + f": {len(t.buses)} buses, {t.total_kw:,.0f} kW"
        for t in transfers
    ]
    switching, merges = merge_truck_islands(ctx, switching)
    notes += merges
    greedy = (switching, list(notes))
    infos = truck_islands(ctx, switching)
    if ctx.cut_off:
        found = _searched_switching(ctx, infos, extra_groups, progress)
        if found is not None:
            switching, note = found
            notes = [note]
    args = (fleet_state, progress, follow)
    best = _with_trucks(ctx, switching, notes, *args)
    if (
        ctx.cut_off
        and best.rank > (False, sum(i.lower_bound for i in best.infos))
        and not _grid_times(best.check)
    ):
        # verification needed more trucks than the switch set's bound (or failed) with the
        # grid within its limits (else the hours join the screening first: `plan_stage`):
        # the next switch sets that could do better are verified in turn
        tried = [switching]
        first = sum(best.counts) if best.verification.passed else None
        for other, more, bound in _alternatives(ctx, greedy, tried, first, extra_groups):
            cap = sum(best.counts) if best.verification.passed else None
            if (cap is not None and bound >= cap) or len(tried) > MAX_ALTERNATIVES:
                break
            attempt = _with_trucks(ctx, other, more, *args, cap=cap)
            tried.append(other)
            if attempt.verification.passed and attempt.rank < best.rank:
                attempt.notes.append(
                    f"{sum(attempt.counts)} truck(s) verified with this switch set, against "
                    + (f"{sum(best.counts)}" if best.verification.passed else "a failed plan")
                    + " with the one tried before"
                )
                best = attempt
    switching, infos, notes, counts = best.switching, best.infos, best.notes, best.counts
    ids, check, verification = best.ids, best.check, best.verification
    for k, info in enumerate(infos):
        if counts[k] > info.lower_bound and verification.passed:
            notes.append(
                f"island {ids[k]}: the lower bound of {info.lower_bound} truck(s) "
                f"({info.design_kw:,.0f} kW, {info.design_kva:,.0f} kVA design) was not enough "
                f"by load flow; {counts[k]} verified"
            )
    affected_loads = ctx.loads_on(ctx.cut_off)
    return StagePlan(
        name=stage.name,
        start=stage.start.isoformat(),
        end=stage.end.isoformat(),
        out_of_service=stage.out_of_service,
        switching=switching,
        trucks=tuple(check.trucks),
        islands=tuple(check.islands),
        design_peak_kw=ctx.peak_kw(affected_loads)[0],
        peak_factor=ctx.demand.peak_factor,
        margin=case.loads.margin,
        verification=verification,
        notes=(*notes, *stage.daily_notes),
        daily=stage.daily.text if stage.daily else None,
    ), check
