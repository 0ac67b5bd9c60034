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

from planner.checks.solve import loads_array
from planner.core.refs import ElementRef, Namer, ref_for
from planner.core.switching import Switching
from planner.grid.context import StageContext, set_design_loads
from planner.grid.engine import BatchModel, Unsupported
from planner.grid.limits import breached
from planner.grid.powerflow import solve_grid
from planner.grid.state import switched
from planner.grid.switch_topology import Contraction, Sectionalisers, Topology, works_topology
from planner.grid.topology import build_graph, energised_buses
from planner.inputs.demand import ROWS_PER_BLOCK, StepGroup

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
# memo keys: each switching's limits broken at its screening hours; the latest 64 models (MBs)
SCREENS, SCREEN_MODELS = "transfer_screens", "transfer_screen_models"
SCREENING_GROUPS = "transfer_screening_groups"  # and the load states they are screened at
KEPT_MODELS = 64


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
    sw = net.switch
    open_switches = sw.index[~sw.closed.astype(bool) & sw.et.isin(["l", "b"])]
    ties = [ref_for(net, "switch", int(idx)) for idx in open_switches]
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
    return [name("switch", i) for i in Sectionalisers(net).inside(buses)]


def screening_groups(ctx: StageContext) -> list[StepGroup]:
    """The load states a screen solves (once per stage): the peaks of total and cut-off load."""
    groups = list(ctx.demand.groups)
    if len(groups) <= 4:
        return groups
    if SCREENING_GROUPS not in ctx.memo:
        pos = ctx._positions(ctx.loads_on(ctx.cut_off))  # as `load_kw` of the cut-off loads
        by_cut = max(groups, key=lambda g: float(g.p_mw[pos].sum() * 1000.0))
        peak = ctx.demand.peak  # the first group of the largest total, as `by_cut` is found
        ctx.memo[SCREENING_GROUPS] = [peak] if peak is by_cut else [peak, by_cut]
    return list(ctx.memo[SCREENING_GROUPS])


class Screen:
    """AC and topology checks of candidate switchings on one scratch copy of the works state.

    Topology is answered on arrays made once (`switch_topology.Topology` of the works state,
    contracted to the elements a transfer may switch: open switches, lines out of service,
    and the switches of the buses the works state leaves dead), not by a graph per candidate.
    """

    def __init__(self, ctx: StageContext, groups: list[StepGroup]) -> None:
        self.ctx = ctx
        self.groups = groups
        self.load_flows = 0

    @functools.cached_property
    def net(self) -> pp.pandapowerNet:
        """The scratch copy (made when first needed: a screen answered from the stage's memo
        needs none)."""
        return copy.deepcopy(self.ctx.works_net)

    @functools.cached_property
    def topology(self) -> Topology:
        return works_topology(self.ctx)  # the state of `net` between screens

    @functools.cached_property
    def _contraction(self) -> tuple[Contraction, frozenset[int], frozenset[int]]:
        """The contracted works state, and the switch and line positions it leaves variable."""
        topo = self.topology
        fed = topo.energised(topo.state(Switching())[1])
        bus = self.net.switch.bus.to_numpy().astype(np.int64)
        inside = (bus >= 0) & (bus < len(topo.pos))
        node = np.full(len(bus), -1, dtype=np.int64)
        node[inside] = topo.pos[bus[inside]]
        dead = (node < 0) | ~fed[np.maximum(node, 0)]
        switches = np.flatnonzero(dead | ~topo.closed)
        lines = np.flatnonzero(~topo.line_on)
        return (
            Contraction(topo, switches, lines),
            frozenset(switches.tolist()),
            frozenset(lines.tolist()),
        )

    def node_mask(self, buses: frozenset[int] | set[int]) -> np.ndarray:
        """`buses` as a mask over the topology's nodes (buses out of service left out)."""
        topo = self.topology
        return np.isin(topo.buses, np.fromiter(buses, dtype=np.int64, count=len(buses)))

    def fed(self, switching: Switching) -> np.ndarray:
        """The topology's nodes energised with `switching` applied, as a mask."""
        topo = self.topology
        contraction, switches, lines = self._contraction
        varies = all(
            r.table == "switch" and topo.switch_pos.get(r.index, -1) in switches
            for r in (*switching.close, *switching.open)
        ) and all(
            r.table == "line" and topo.line_pos.get(r.index, -1) in lines
            for r in switching.in_service
        )
        if not varies:  # an element the contraction holds fixed: the network's own graph
            with switched(self.net, switching) as net:
                return self.node_mask(energised_buses(build_graph(net)))
        return contraction.components(*topo.switched(switching))[2][contraction.sn]

    def energised(self, switching: Switching) -> frozenset[int]:
        return frozenset(self.topology.buses[self.fed(switching)].tolist())

    @functools.cached_property
    def base_energised(self) -> np.ndarray:
        return self.node_mask(self.ctx.base_energised)

    @functools.cached_property
    def sections(self) -> Sectionalisers:
        """The closed switches of the stage's base network, for `sectionalisers` of islands."""
        return Sectionalisers(self.ctx.base_net)

    @functools.cached_property
    def loads(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The stage's loads in index order (as `loads_on` lists them): their topology node
        (-1: none), whether each is protected, and its position in the demand."""
        ctx = self.ctx
        ids, at = ctx._load_buses
        pos = self.topology.pos
        inside = (at >= 0) & (at < len(pos))
        node = np.full(len(ids), -1, dtype=np.int64)
        node[inside] = pos[at[inside]]
        protected = np.isin(ids, np.fromiter(ctx.protected, dtype=np.int64))
        return ids, node, protected, ctx._positions(ids.tolist())

    def problems(self, switching: Switching) -> set[tuple[str, int]] | None:
        """Grid elements outside their limits at the screening hours (None: no solution).

        The answer is kept in the stage's memo by the switching and the hours, with the model of
        the switching (its admittance matrix does not depend on the load; it is built at the
        stage's first screening hour, as any screen of the stage builds it): a second screening
        of the stage (`plan_stage` adds hours to it) builds no model again. The hours are solved
        together, as always: its last bits depend on the batch (iterated until all converge)."""
        answers = self.ctx.memo.setdefault(SCREENS, {})
        key = (switching, tuple(g.times[0].isoformat() for g in self.groups))
        self.load_flows += len(self.groups)
        if key not in answers:
            found = [p for p in self._solve(switching, self.groups) if p is not None]
            answers[key] = set().union(*found) if len(found) == len(self.groups) else None
        answer = answers[key]
        return None if answer is None else set(answer)

    def _solve(
        self, switching: Switching, groups: list[StepGroup]
    ) -> list[set[tuple[str, int]] | None]:
        """Each of `groups`' limits broken with `switching` (None: no solution)."""
        limits = self.ctx.case.limits
        models = self.ctx.memo.setdefault(SCREEN_MODELS, {})
        key = (switching, self.groups[0].times[0].isoformat())  # the hour its loads are at
        model = models.get(key)
        if model is None:
            with switched(self.net, switching) as net:
                set_design_loads(net, self.ctx, self.groups[0])
                try:
                    model = BatchModel(net)  # a scratch copy already: its results may change
                except Unsupported:
                    grid = energised_buses(build_graph(net))
                    return [self._problems_per_step(net, grid, [g]) for g in groups]
            while len(models) >= KEPT_MODELS:
                del models[next(iter(models))]
            models[key] = model
        res = model.solve(*loads_array(self.ctx.works_net, self.ctx, groups), angles=False)
        bus_ids = np.asarray(model.bus_ids)
        found: list[set[tuple[str, int]] | None] = []
        for k in range(len(groups)):
            at = slice(k, k + 1)
            branches = {
                "line": (model.lines, res.line_loading_percent[at]),
                "trafo": (model.trafos, res.trafo_loading_percent[at]),
            }
            found.append(
                breached(self.ctx.base_net, limits, bus_ids, res.vm_pu[at], branches)
                if res.converged[k]
                else None
            )
        return found

    def _problems_per_step(self, net, grid, groups) -> set[tuple[str, int]] | None:
        limits = self.ctx.case.limits
        found: set[tuple[str, int]] = set()
        for group in groups:
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
    cut = screen.node_mask(ctx.cut_off)
    # a cut-off bus the works take out of service is never supplied again: search on as before
    cut_outside = int(cut.sum()) < len(ctx.cut_off)
    while True:
        grid = screen.fed(switching)
        if not cut_outside and not (cut & ~grid).any():
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
    grid: np.ndarray,
    baseline: set[tuple[str, int]],
) -> Transfer | None:
    """The candidate through `tie` bringing back the most (protected) load that passes
    (`grid`: the nodes `switching` energises)."""
    ctx, topo = screen.ctx, screen.topology
    whole = screen.fed(switching.with_tie(tie, ())) & ~grid
    if not whole.any() or (whole & ~screen.base_energised).any():
        return None
    options: list[tuple[tuple[ElementRef, ...], np.ndarray]] = [((), whole)]
    seen = {whole.tobytes()}
    size = int(whole.sum())
    for index in screen.sections.inside_mask(whole, topo.pos):
        s = ctx.namer("switch", index)
        part = screen.fed(switching.with_tie(tie, (s,))) & ~grid
        key = part.tobytes()
        if key in seen or not part.any() or (part & ~whole).any() or int(part.sum()) >= size:
            continue
        seen.add(key)
        options.append(((s,), part))
    scored = []
    for (opened, buses), total, protected in zip(options, *_peaks(screen, options), strict=True):
        if total <= 0:
            continue
        members = frozenset(topo.buses[buses].tolist())
        scored.append(Transfer(tie, opened, members, protected, total))
    scored.sort(key=lambda t: (-t.protected_kw, -t.total_kw, len(t.opened)))

    def passes(candidate: Transfer) -> bool:
        problems = screen.problems(switching.with_tie(tie, candidate.opened))
        return problems is not None and problems <= baseline

    return _largest_passing(scored, passes)


def _peaks(
    screen: Screen, options: list[tuple[tuple[ElementRef, ...], np.ndarray]]
) -> tuple[list[float], list[float]]:
    """`ctx.peak_kw(...)[0]` of each option's loads and of its protected loads, to the bit:
    the first option (the whole island) holds every other's loads, so each sum is taken over
    columns of the whole's design P (its values, in the same order, as `p_sums` makes them)."""
    ctx = screen.ctx
    _, node, protected, pos = screen.loads
    held = [(node >= 0) & buses[np.maximum(node, 0)] for _, buses in options]
    whole = held[0]
    subsets: dict[bytes, int] = {}
    columns: list[np.ndarray] = []
    which: list[tuple[int, int]] = []
    for mask in held:
        pair = []
        for chosen in (mask, mask & protected):
            cols = np.flatnonzero(chosen[whole])
            key = cols.tobytes()
            if key not in subsets:
                subsets[key] = len(columns)
                columns.append(cols)
            pair.append(subsets[key])
        which.append((pair[0], pair[1]))
    best: list[float | None] = [None] * len(columns)
    at = pos[whole]
    for first in range(0, len(ctx.demand.groups), ROWS_PER_BLOCK):
        block = ctx.demand.p_block(at, first, first + ROWS_PER_BLOCK)
        for k, cols in enumerate(columns):
            if not len(cols):
                continue
            top = block[:, cols].sum(axis=1).max()  # NaN wins, as with argmax
            held_top = best[k]
            best[k] = top if held_top is None else np.maximum(held_top, top)
    value = [0.0 if b is None or b <= 0 else float(b * 1000.0) for b in best]
    return [value[t] for t, _ in which], [value[p] for _, p in which]


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
