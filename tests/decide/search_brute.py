"""An independent brute force for the search tests: the fewest trucks any plan can have.

Every set of at most `operations` switch toggles near the cut-off area (any switch whose bus,
or whose line's far bus, lies within `hops` branches of it; one switch per line, as toggling
either end of a line is the same network) is judged on the test's own branch list (a
union-find, not the planner's topology): the energised network must lose nobody the works
leave supplied and gain no loop against the network before the works. Sets are taken in order
of the trucks their cut-off islands need by kW and kVA (each network state once, with the
fewest toggles); for each, pandapower's own
`runpp` at the design load (every load at `p_mw * scaling * case scaling * (1 + margin)`, the
flat profile) must keep the energised grid within the case's voltage band and line and
transformer limits (elements already outside them in the works state excepted), and then the
fewest trucks, from that bound up and spread over the islands every way, whose placement at
the connection points passes the planner's hour-by-hour verification is the set's count. The
smallest count wins; sets whose bound cannot beat it are never load-flowed.
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandapower as pp

from planner.checks.stage import StageSetup, check_stage
from planner.core.refs import ref_for
from planner.core.switching import Switching
from planner.grid.context import StageContext
from planner.grid.powerflow import TruckAt

__all__ = ["Minimum", "brute_force_minimum"]

EXTRA = 2  # trucks beyond a set's bound tried before the set is given up


@dataclass(frozen=True)
class Minimum:
    trucks: int
    switching: Switching
    sets: int  # switch sets judged by topology
    load_flows: int


def _edges(net: pp.pandapowerNet) -> dict[tuple[str, int], tuple[int, int]]:
    """Every branch: lines and transformers in service (before switches), bus couplers."""
    out: dict[tuple[str, int], tuple[int, int]] = {}
    for i, row in net.line.iterrows():
        if row.in_service:
            out[("line", int(i))] = (int(row.from_bus), int(row.to_bus))
    for i, row in net.trafo.iterrows():
        if row.in_service:
            out[("trafo", int(i))] = (int(row.hv_bus), int(row.lv_bus))
    for i, row in net.switch.iterrows():
        if row.et == "b":
            out[("switch", int(i))] = (int(row.bus), int(row.element))
    return out


class _Graph:
    """The network's branches and which switches open them; components for a switch state
    (scipy's connected components on the branch list: thousands of sets a second)."""

    def __init__(self, net: pp.pandapowerNet) -> None:
        edges = _edges(net)
        self.keys = list(edges)
        buses = [int(b) for b in net.bus.index[net.bus.in_service.astype(bool)]]
        self.pos = {b: k for k, b in enumerate(buses)}
        self.buses = np.array(buses)
        keep = [k for k, key in enumerate(self.keys) if all(b in self.pos for b in edges[key])]
        self.keys = [self.keys[k] for k in keep]
        self.ends = np.array([[self.pos[b] for b in edges[key]] for key in self.keys]).reshape(
            -1, 2
        )
        where = {key: k for k, key in enumerate(self.keys)}
        self.switch_edges: dict[int, list[int]] = {}
        for i, row in net.switch.iterrows():
            kind = {"l": "line", "t": "trafo", "b": "switch"}.get(row.et)
            key = (kind, int(i)) if row.et == "b" else (kind, int(row.element))
            if key in where:
                self.switch_edges[int(i)] = [where[key]]
        self.source = np.zeros(len(buses), dtype=bool)
        for b in net.ext_grid.bus[net.ext_grid.in_service.astype(bool)]:
            self.source[self.pos[int(b)]] = True

    def state(self, closed: dict[int, bool]) -> tuple[np.ndarray, np.ndarray]:
        """The live branches and the energised buses (as a mask over `buses`)."""
        live = np.ones(len(self.keys), dtype=bool)
        opened = [e for sw, edges in self.switch_edges.items() if not closed[sw] for e in edges]
        live[opened] = False
        labels = self._labels(live)
        return live, np.isin(labels, labels[self.source])

    def _labels(self, live: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
        """Component labels of the buses over the live branches (with both ends in `keep`):
        a union-find, faster than a sparse matrix on networks of a hundred buses."""
        parent = list(range(len(self.buses)))

        def root(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for a, b in self.ends[live].tolist():
            if keep is None or (keep[a] and keep[b]):
                ra, rb = root(a), root(b)
                if ra != rb:
                    parent[ra] = rb
        return np.array([root(a) for a in range(len(parent))])

    def loops(self, live: np.ndarray, nodes: np.ndarray) -> int:
        """Independent loops among `nodes` (a bus mask): edges - nodes + components."""
        e = self.ends[live]
        edges = int((nodes[e[:, 0]] & nodes[e[:, 1]]).sum())
        labels = self._labels(live, nodes)
        return edges - int(nodes.sum()) + len(np.unique(labels[nodes]))

    def islands(self, live: np.ndarray, dead: np.ndarray) -> list[set[int]]:
        """The buses of each connected part of the `dead` buses."""
        labels = self._labels(live, dead)
        out: dict[int, set[int]] = {}
        for k in np.flatnonzero(dead):
            out.setdefault(int(labels[k]), set()).add(int(self.buses[k]))
        return list(out.values())


def _near(net: pp.pandapowerNet, area: set[int], hops: int) -> set[int]:
    g = nx.Graph()
    g.add_nodes_from(int(b) for b in net.bus.index)
    g.add_edges_from(_edges(net).values())
    for _, row in net.line.iterrows():  # out-of-service lines too: ties may be such lines
        g.add_edge(int(row.from_bus), int(row.to_bus))
    near = set(area)
    for _ in range(hops):
        near |= {n for b in near for n in g.neighbors(b)}
    return near


def _toggles(net: pp.pandapowerNet, near: set[int], works: set[tuple[str, int]]) -> list[int]:
    """One switch per branch near the area (an open one first: closing it is the tie)."""
    per: dict[tuple[str, int], int] = {}
    for i, row in net.switch.sort_values("closed", kind="stable").iterrows():
        if row.et == "l":
            line = net.line.loc[row.element]
            ends = {int(line.from_bus), int(line.to_bus)}
            key = ("line", int(row.element))
        elif row.et == "t":
            trafo = net.trafo.loc[row.element]
            ends = {int(trafo.hv_bus), int(trafo.lv_bus)}
            key = ("trafo", int(row.element))
        else:
            ends = {int(row.bus), int(row.element)}
            key = ("switch", int(i))
        if ends & near and key not in works and key not in per:
            per[key] = int(i)
    return sorted(per.values())


def _protected_per_bus(ctx: StageContext) -> dict[int, tuple[float, float]]:
    """Each bus's protected design kW and kvar (the flat profile)."""
    case, load = ctx.case, ctx.works_net.load
    factor = case.loads.scaling * (1 + case.loads.margin)
    out: dict[int, tuple[float, float]] = {}
    for i, row in load.iterrows():
        if not row.in_service or int(i) not in ctx.protected:
            continue
        p, q = out.get(int(row.bus), (0.0, 0.0))
        scale = float(row.scaling) * factor * 1e3
        out[int(row.bus)] = (p + float(row.p_mw) * scale, q + float(row.q_mvar) * scale)
    return out


def _needs(
    ctx: StageContext, islands: list[set[int]], per_bus: dict[int, tuple[float, float]]
) -> list[tuple[set[int], int]]:
    """Each cut-off island with protected load and the trucks its kW and kVA need."""
    fleet = ctx.case.fleet
    out = []
    for island in islands:
        p_kw = sum(per_bus.get(b, (0.0, 0.0))[0] for b in island)
        q_kvar = sum(per_bus.get(b, (0.0, 0.0))[1] for b in island)
        if p_kw <= 0:
            continue
        need = max(
            math.ceil(p_kw / fleet.rating_kw - 1e-9),
            math.ceil(math.hypot(p_kw, q_kvar) / fleet.rating_kva - 1e-9),
        )
        out.append((set(island), need + (1 if fleet.reserve.value == "n-1" else 0)))
    return out


def _grid_within_limits(ctx: StageContext, net: pp.pandapowerNet, fed: set[int]) -> set | None:
    """Elements outside the case's limits at the design load (None: no solution)."""
    limits, case = ctx.case.limits, ctx.case
    net = copy.deepcopy(net)
    factor = case.loads.scaling * (1 + case.loads.margin)
    net.load["p_mw"] *= factor
    net.load["q_mvar"] *= factor
    try:
        pp.runpp(net)
    except pp.LoadflowNotConverged:
        return None
    out: set = set()
    vm = net.res_bus.vm_pu[sorted(fed)]
    lo = net.bus.get("min_vm_pu")
    hi = net.bus.get("max_vm_pu")
    for bus, v in vm.items():
        low = limits.vm_min_pu
        high = limits.vm_max_pu
        if lo is not None and not math.isnan(lo.at[bus]):
            low = max(low, float(lo.at[bus]))
        if hi is not None and not math.isnan(hi.at[bus]):
            high = min(high, float(hi.at[bus]))
        if v < low - 1e-9 or v > high + 1e-9:
            out.add(("bus", int(bus)))
    for i, v in net.res_line.loading_percent.fillna(0).items():
        if v > limits.max_line_loading_percent + 1e-9:
            out.add(("line", int(i)))
    for i, v in net.res_trafo.loading_percent.fillna(0).items():
        if v > limits.max_trafo_loading_percent + 1e-9:
            out.add(("trafo", int(i)))
    return out


def _verified(ctx, switching, needs, points) -> int | None:  # type: ignore[no-untyped-def]
    """The fewest trucks, from the islands' bounds up, whose placement verifies."""
    fleet = ctx.case.fleet
    base = [k for _, k in needs]
    slots = [[b for b in sorted(isl) for _ in range(points.get(b, 0))] for isl, _ in needs]
    for extra in range(EXTRA + 1):
        for add in itertools.product(range(extra + 1), repeat=len(needs)):
            if sum(add) != extra:
                continue
            counts = [k + a for k, a in zip(base, add, strict=True)]
            if sum(counts) > fleet.trucks or any(
                len(s) < k for s, k in zip(slots, counts, strict=True)
            ):
                continue
            choices = [
                sorted(set(itertools.combinations(s, k)))
                for s, k in zip(slots, counts, strict=True)
            ]
            for choice in itertools.product(*choices):
                buses = [b for group in choice for b in group]
                trucks = tuple(
                    TruckAt(f"B{i}", b, fleet.rating_kw, fleet.rating_kva)
                    for i, b in enumerate(buses)
                )
                if check_stage(ctx, StageSetup(switching, trucks)).verification.passed:
                    return sum(counts)
    return None


def brute_force_minimum(
    ctx: StageContext, operations: int = 3, hops: int = 2, allowed: set[int] | None = None
) -> Minimum | None:
    """The fewest trucks of any switch set of at most `operations` toggles near the stage's
    cut-off area (`allowed`: only these switches may close; None: the case's ties, any open
    switch for "auto"), or None."""
    if allowed is None and ctx.case.ties is not None:
        allowed = {r.index for r in ctx.case.ties if r.table == "switch"}
    net = ctx.works_net
    graph = _Graph(net)
    base_graph = _Graph(ctx.base_net)
    assert list(base_graph.pos) == list(graph.pos)
    base_live, _ = base_graph.state(
        {int(i): bool(c) for i, c in ctx.base_net.switch.closed.items()}
    )
    start = {int(i): bool(c) for i, c in net.switch.closed.items()}
    works_fed = graph.state(start)[1]
    works = {(r.table, r.index) for r in ctx.stage.out_of_service}
    near = _near(ctx.base_net, set(ctx.cut_off), hops)
    toggles = [s for s in _toggles(net, near, works) if allowed is None or start[s] or s in allowed]
    points = {p.bus.index: p.bays for p in ctx.case.connection_points}
    cut = np.isin(graph.buses, sorted(ctx.cut_off))
    ranked = []
    sets = 0
    seen: set[bytes] = set()
    per_bus = _protected_per_bus(ctx)
    for n in range(operations + 1):
        for toggled in itertools.combinations(toggles, n):
            sets += 1
            closed = dict(start)
            for s in toggled:
                closed[s] = not closed[s]
            live, fed = graph.state(closed)
            key = live.tobytes()
            if key in seen:  # the same network with fewer toggles was judged already
                continue
            seen.add(key)
            if (works_fed & ~fed).any() or graph.loops(live, fed) > base_graph.loops(
                base_live, fed
            ):
                continue
            needs = _needs(ctx, graph.islands(live, cut & ~fed), per_bus)
            if any(sum(points.get(b, 0) for b in isl) < k for isl, k in needs):
                continue
            fed_buses = {int(b) for b in graph.buses[fed]}
            ranked.append((sum(k for _, k in needs), n, toggled, needs, fed_buses))
    ranked.sort(key=lambda r: (r[0], r[1]))
    works_buses = {int(b) for b in graph.buses[works_fed]}
    baseline = _grid_within_limits(ctx, net, works_buses) or set()
    best: Minimum | None = None
    flows = 1
    for bound, _, toggled, needs, fed in ranked:
        if best is not None and bound >= best.trucks:
            break
        trial = copy.deepcopy(net)
        for s in toggled:
            trial.switch.at[s, "closed"] = not trial.switch.at[s, "closed"]
        flows += 1
        problems = _grid_within_limits(ctx, trial, fed)
        if problems is None or not problems <= baseline:
            continue
        refs = [ref_for(ctx.base_net, "switch", s) for s in toggled]
        switching = Switching(
            tuple(r for r in refs if not start[r.index]), tuple(r for r in refs if start[r.index])
        )
        trucks = _verified(ctx, switching, needs, points)
        if trucks is not None and (best is None or trucks < best.trucks):
            best = Minimum(trucks, switching, sets, flows)
    if best is not None:
        best = Minimum(best.trucks, best.switching, sets, flows)
    return best
