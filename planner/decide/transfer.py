"""Tie transfer: re-supplying parts of the cut-off islands from neighbouring feeders.

Greedy and AC-checked: in each round every unused tie is tried, whole and with each
sectionalising switch of the island opened; candidates are ranked by the protected (then total)
load they bring back, and the first that passes the grid's AC limits at the screening hours
wins the tie. The best tie is applied and the search repeats on what is still unsupplied.
Closing one tie into a de-energised island keeps a radial network radial.
"""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandapower as pp
import pandas as pd

from planner.core.refs import ElementRef, Namer, ref_for
from planner.core.switching import Switching
from planner.grid.context import StageContext, set_design_loads
from planner.grid.engine import BatchModel, Unsupported
from planner.grid.limits import breached
from planner.grid.powerflow import solve_grid
from planner.grid.state import switched
from planner.grid.topology import build_graph, energised_buses
from planner.inputs.demand import StepGroup

__all__ = [
    "Screen",
    "Transfer",
    "candidate_ties",
    "find_transfers",
    "screening_groups",
    "sectionalisers",
]

log = logging.getLogger(__name__)

FIRST_TRIED = 6  # largest candidates tried one by one before the binary search


@dataclass(frozen=True)
class Transfer:
    tie: ElementRef
    opened: tuple[ElementRef, ...]
    buses: frozenset[int]
    protected_kw: float
    total_kw: float


def candidate_ties(ctx: StageContext) -> list[ElementRef]:
    """Ties the case allows: open switches and out-of-service lines ("auto"), or its list."""
    case, net = ctx.case, ctx.base_net
    works = set(ctx.stage.out_of_service)
    if case.ties is not None:
        return [t for t in case.ties if t not in works]
    ties = []
    sw = net.switch
    for idx in sw.index[~sw.closed.astype(bool) & sw.et.isin(["l", "b"])]:
        ties.append(ref_for(net, "switch", int(idx)))
    in_service_bus = net.bus.in_service.astype(bool)
    for idx in net.line.index[~net.line.in_service.astype(bool)]:
        fb, tb = net.line.at[idx, "from_bus"], net.line.at[idx, "to_bus"]
        if in_service_bus.get(fb, False) and in_service_bus.get(tb, False):
            ties.append(ref_for(net, "line", int(idx)))
    return [t for t in ties if all(t.index != w.index or t.table != w.table for w in works)]


def sectionalisers(
    net: pp.pandapowerNet, buses: frozenset[int], namer: Namer | None = None
) -> list[ElementRef]:
    """Closed switches inside an island (on its lines, or between two of its buses), named by
    `namer` (a stage's, for `net` its base network) else by `ref_for`."""
    name = namer or functools.partial(ref_for, net)
    sw = net.switch
    out = []
    for idx in sw.index[sw.closed.astype(bool)]:
        et, bus, element = sw.at[idx, "et"], int(sw.at[idx, "bus"]), int(sw.at[idx, "element"])
        if bus not in buses:
            continue
        if et == "b" and element in buses:
            out.append(name("switch", int(idx)))
        elif et == "l":
            line = net.line.loc[element]
            if int(line.from_bus) in buses and int(line.to_bus) in buses:
                out.append(name("switch", int(idx)))
    return out


def screening_groups(ctx: StageContext) -> list[StepGroup]:
    groups = list(ctx.demand.groups)
    if len(groups) <= 4:
        return groups
    by_total = max(groups, key=lambda g: float(g.p_mw.sum()))
    by_cut = max(groups, key=lambda g: ctx.load_kw(ctx.loads_on(ctx.cut_off), g)[0])
    return [by_total] if by_total is by_cut else [by_total, by_cut]


class Screen:
    """AC and topology checks of candidate switchings on one scratch copy of the works state."""

    def __init__(self, ctx: StageContext, groups: list[StepGroup]) -> None:
        self.ctx = ctx
        self.groups = groups
        self.net = copy.deepcopy(ctx.works_net)
        self.load_flows = 0

    def energised(self, switching: Switching) -> frozenset[int]:
        with switched(self.net, switching) as net:
            return energised_buses(build_graph(net))

    def problems(self, switching: Switching) -> set[tuple[str, int]] | None:
        """Grid elements outside their limits at the screening hours (None: no solution)."""
        limits = self.ctx.case.limits
        with switched(self.net, switching) as net:
            grid = energised_buses(build_graph(net))
            set_design_loads(net, self.ctx, self.groups[0])
            self.load_flows += len(self.groups)
            try:
                model = BatchModel(net)  # a scratch copy already: its results may change
            except Unsupported:
                return self._problems_per_step(net, grid)
            pos = pd.Index(self.ctx.demand.loads).get_indexer(net.load.index)
            res = model.solve(
                np.array([g.p_mw[pos] for g in self.groups]),
                np.array([g.q_mvar[pos] for g in self.groups]),
            )
        if not res.converged.all():
            return None
        branches = {
            "line": (model.lines, res.line_loading_percent),
            "trafo": (model.trafos, res.trafo_loading_percent),
        }
        return breached(self.ctx.base_net, limits, np.asarray(model.bus_ids), res.vm_pu, branches)

    def _problems_per_step(self, net, grid) -> set[tuple[str, int]] | None:
        limits = self.ctx.case.limits
        found: set[tuple[str, int]] = set()
        for group in self.groups:
            set_design_loads(net, self.ctx, group)
            sol = solve_grid(net, grid)
            if not sol.converged:
                return None
            buses = np.fromiter(sol.vm_pu.keys(), dtype=int, count=len(sol.vm_pu))
            branches = {
                kind: (np.fromiter(values.keys(), dtype=int), np.fromiter(values.values(), float))
                for kind, values in (
                    ("line", sol.line_loading_percent),
                    ("trafo", sol.trafo_loading_percent),
                )
            }
            vm = np.fromiter(sol.vm_pu.values(), dtype=float, count=len(buses))
            found |= breached(self.ctx.base_net, limits, buses, vm, branches)
        return found


def find_transfers(
    ctx: StageContext, extra_groups: tuple[StepGroup, ...] = ()
) -> tuple[Switching, list[Transfer], int]:
    """Greedy AC-checked transfers; returns the switching, the transfers and AC runs made.

    Candidates are screened at the stage's peak hours plus `extra_groups` (hours where an earlier
    full verification found the grid outside its limits).
    """
    switching = Switching()
    ties = candidate_ties(ctx)
    groups = screening_groups(ctx)
    groups += [g for g in extra_groups if all(g is not h for h in groups)]
    screen = Screen(ctx, groups)
    baseline = screen.problems(switching) or set()
    transfers: list[Transfer] = []
    used: set[ElementRef] = set()
    while True:
        grid = screen.energised(switching)
        if not (ctx.cut_off - grid):
            break
        best: Transfer | None = None
        for tie in ties:
            if tie in used:
                continue
            found = _best_for_tie(screen, switching, tie, grid, baseline)
            if found and (
                best is None
                or (found.protected_kw, found.total_kw) > (best.protected_kw, best.total_kw)
            ):
                best = found
        if best is None:
            break
        transfers.append(best)
        used.add(best.tie)
        switching = switching.with_tie(best.tie, best.opened)
        log.info(
            "transfer via %s (%d buses, %.0f kW)", best.tie.text, len(best.buses), best.total_kw
        )
    return switching, transfers, screen.load_flows


def _best_for_tie(
    screen: Screen,
    switching: Switching,
    tie: ElementRef,
    grid: frozenset[int],
    baseline: set[tuple[str, int]],
) -> Transfer | None:
    """The candidate through `tie` bringing back the most (protected) load that passes."""
    ctx = screen.ctx
    whole = screen.energised(switching.with_tie(tie, ())) - grid
    if not whole or not (whole <= ctx.base_energised):
        return None
    options: list[tuple[tuple[ElementRef, ...], frozenset[int]]] = [((), whole)]
    seen = {whole}
    for s in sectionalisers(ctx.base_net, whole, ctx.namer):
        part = screen.energised(switching.with_tie(tie, (s,))) - grid
        if part and part not in seen and part < whole:
            seen.add(part)
            options.append(((s,), part))
    scored = []
    for opened, buses in options:
        loads = ctx.loads_on(buses)
        protected = [i for i in loads if i in ctx.protected]
        total = ctx.peak_kw(loads)[0]
        if total <= 0:
            continue
        scored.append(Transfer(tie, opened, buses, ctx.peak_kw(protected)[0], total))
    scored.sort(key=lambda t: (-t.protected_kw, -t.total_kw, len(t.opened)))

    def passes(candidate: Transfer) -> bool:
        problems = screen.problems(switching.with_tie(tie, candidate.opened))
        return problems is not None and problems <= baseline

    return _largest_passing(scored, passes)


def _largest_passing(ranked: list[Transfer], passes: Callable[[Transfer], bool]) -> Transfer | None:
    """The first candidate (largest first) that passes, with few AC checks.

    The largest few are tried in order (the whole island, or all but a lateral). Below them,
    the parts cut at successive switches along the feeder are nested, and the smaller a part
    the more likely the neighbour can take it: a binary search finds the boundary.
    """
    head = ranked[:FIRST_TRIED]
    for candidate in head:
        if passes(candidate):
            return candidate
    rest = ranked[FIRST_TRIED:]
    if not rest or not passes(rest[-1]):
        return None
    low, high = 0, len(rest) - 1  # rest[high] passes; look for an earlier one that does
    while low < high:
        middle = (low + high) // 2
        if passes(rest[middle]):
            high = middle
        else:
            low = middle + 1
    return rest[high]
