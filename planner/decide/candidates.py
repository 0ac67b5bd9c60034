"""Candidate connection points of each cut-off island, and which of them the planner would use.

Where the case names connection points (`[[connection_points]]`, or the network's RMU marks
`bus.rmu` / `bus.rmu_bays`), an island's candidates are those in it. An island without any gets
suggestions, so a new user can write a case from `planner inspect`:

- `switchgear`: in-service buses of the island's highest voltage level with a switch at them
  (a bus coupler, or a line or transformer switch at that end): a bay can be opened there;
  the network does not record spare bays, so 1 bay is assumed (check on site);
- `bus`: where the island has no switchgear either, each bus of that level, 1 bay assumed.

At most the `MAX_CANDIDATES` nearest to the island's load centre are listed and offered to the
placement (a large island would otherwise offer thousands of buses).

For each: the protected load downstream of it (kW at the island's design peak; the island rooted
where the works cut it off, the load at and beyond the point), its electrical distance to the
island's load centre (the load-weighted mean series impedance, ohm, from the point to each
protected load's bus: `sum(kW_b x Z(point, b)) / sum(kW_b)`, the measure the truck allocation
spreads trucks by), and
`use`: how many trucks the planner's own placement (`allocation.allocate`, each island at its
lower bound on trucks, within the fleet and bays) puts there.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse.csgraph import breadth_first_order, dijkstra

from planner.core.refs import ref_for
from planner.decide.allocation import IslandNeed, allocate, island_matrix
from planner.grid.context import StageContext
from planner.grid.topology import Graph

__all__ = ["Basis", "Candidate", "CutOff", "candidates_of_stage"]

MIN_MV_KV = 1.0  # trucks connect at medium voltage
MAX_CANDIDATES = 100  # per island, the nearest to its load centre
BATCH = 256  # points whose shortest paths are found at once


class Basis(StrEnum):
    """Why a bus is a candidate."""

    CASE = "case"  # a connection point of the case (or the network's RMU marks)
    SWITCHGEAR = "switchgear"  # a switch at the bus, no RMU mark: 1 bay assumed
    BUS = "bus"  # no switchgear in the island: any bus of its voltage level, 1 bay assumed


@dataclass(frozen=True)
class Candidate:
    bus: str  # element reference, as a case names it
    index: int
    basis: Basis
    bays: int
    downstream_kw: float
    distance_ohm: float
    use: int  # trucks the planner's placement puts here (0: none)

    def as_json(self) -> dict[str, Any]:
        return {
            "bus": self.bus,
            "basis": str(self.basis),
            "bays": self.bays,
            "downstream_kw": round(self.downstream_kw, 1),
            "distance_ohm": round(self.distance_ohm, 4),
            "use": self.use,
        }


@dataclass(frozen=True)
class CutOff:
    """What the placement needs of one cut-off island: its buses, protected loads and trucks."""

    buses: frozenset[int]
    protected: tuple[int, ...]
    trucks: int


def candidates_of_stage(
    ctx: StageContext, graph: Graph, islands: list[CutOff]
) -> list[tuple[Candidate, ...]]:
    """Per island of the stage (same order), its candidates, best first (used, then nearest);
    none for an island without protected load (nothing for trucks to carry)."""
    found = [
        _island_candidates(ctx, graph, island) if island.protected else [] for island in islands
    ]
    needs = [
        IslandNeed(k, tuple((c.index, c.bays, c.distance_ohm) for c in cands), island.trucks)
        for k, (island, cands) in enumerate(zip(islands, found, strict=True))
        if island.trucks > 0 and cands
    ]
    placed = _place(needs, ctx.case.fleet.trucks)
    out = []
    for k, cands in enumerate(found):
        used = placed.get(k, [])
        ranked = [replace(c, use=used.count(c.index)) for c in cands]
        ranked.sort(key=lambda c: (-c.use, c.distance_ohm, c.index))
        out.append(tuple(ranked))
    return out


def _place(needs: list[IslandNeed], fleet: int) -> dict[int, list[int]]:
    """The planner's placement, costs scaled to 0..1 per island, all islands together; where
    the fleet cannot carry them all at once (before any transfer), each island on its own."""
    scaled = []
    for need in needs:
        top = max((cost for _, _, cost in need.points), default=0.0)
        points = tuple((b, n, cost / top if top > 0 else 0.0) for b, n, cost in need.points)
        scaled.append(IslandNeed(need.key, points, need.trucks))
    together = allocate(scaled, fleet) if scaled else {}
    if together is not None:
        return together
    out: dict[int, list[int]] = {}
    for need in scaled:
        out |= allocate([need], fleet) or {}
    return out


def _island_candidates(ctx: StageContext, graph: Graph, island: CutOff) -> list[Candidate]:
    net = ctx.base_net
    given = {p.bus.index: p.bays for p in ctx.case.connection_points if p.bus.index in island.buses}
    if given:
        chosen, basis = given, Basis.CASE
    else:
        level = _top_level(ctx, island.buses)
        switched = _switchgear_buses(ctx) & level
        chosen = dict.fromkeys(sorted(switched or level), 1)
        basis = Basis.SWITCHGEAR if switched else Basis.BUS
    if not chosen:
        return []
    kw_at = _protected_kw_by_bus(ctx, island.protected)
    mean = _mean_distances(graph, island.buses, list(chosen), kw_at)
    nearest = sorted(chosen, key=lambda b: (mean[b], b))[:MAX_CANDIDATES]
    below = _downstream_kw(ctx, graph, island.buses, kw_at)
    return [
        Candidate(ref_for(net, "bus", bus).text, bus, basis, chosen[bus], below[bus], mean[bus], 0)
        for bus in nearest
    ]


def _top_level(ctx: StageContext, buses: frozenset[int]) -> set[int]:
    """In-service buses of the island at its highest nominal voltage (medium voltage or above)."""
    bus = ctx.base_net.bus.loc[sorted(buses)]
    bus = bus[bus.in_service.to_numpy(dtype=bool) & (bus.vn_kv.to_numpy(dtype=float) >= MIN_MV_KV)]
    if bus.empty:
        return set()
    top = float(bus.vn_kv.max())
    return {int(i) for i in bus.index[bus.vn_kv.to_numpy(dtype=float) >= top - 1e-9]}


def _switchgear_buses(ctx: StageContext) -> set[int]:
    """Buses with a switch at them: a switch's own bus, and the other bus of a bus coupler."""
    sw = ctx.base_net.switch
    if sw.empty:
        return set()
    found = {int(b) for b in sw.bus}
    found |= {int(e) for e in sw.element[sw.et == "b"]}
    return found


def _protected_kw_by_bus(ctx: StageContext, protected: tuple[int, ...]) -> dict[int, float]:
    """Each bus's protected design load at the island's peak time step (kW)."""
    if not protected:
        return {}
    pos = pd.Index(ctx.demand.loads).get_indexer(list(protected))
    p = ctx.demand.p_matrix[:, pos]
    peak = p[int(np.argmax(p.sum(axis=1)))] * 1000.0
    out: dict[int, float] = {}
    for load, kw in zip(protected, peak, strict=True):
        out[ctx.load_bus[load]] = out.get(ctx.load_bus[load], 0.0) + float(kw)
    return out


def _mean_distances(
    graph: Graph, buses: frozenset[int], points: list[int], kw_at: dict[int, float]
) -> dict[int, float]:
    """Each point's load-weighted mean series-impedance distance (ohm) to the island's protected
    load; the shortest paths are found a batch of points at a time to bound memory."""
    order, matrix = island_matrix(graph, buses)
    pos = {b: i for i, b in enumerate(order)}
    weights = np.array([kw_at.get(b, 0.0) for b in order])
    total = float(weights.sum())
    out: dict[int, float] = {}
    for start in range(0, len(points), BATCH):
        batch = points[start : start + BATCH]
        dist = dijkstra(matrix, directed=False, indices=[pos[p] for p in batch])
        dist = np.atleast_2d(np.where(np.isfinite(dist), dist, 0.0))
        for p, moment in zip(batch, dist @ weights, strict=True):
            out[p] = float(moment) / total if total > 0 else 0.0
    return out


def _downstream_kw(
    ctx: StageContext, graph: Graph, buses: frozenset[int], kw_at: dict[int, float]
) -> dict[int, float]:
    """Each bus's protected kW at and beyond it, the island rooted where the works cut it off
    (the lowest of its buses that the normal network joins to a bus outside the island)."""
    order, matrix = island_matrix(graph, buses)
    base = ctx.base_graph
    inside = np.isin(base.buses, order)
    roots: set[int] = set()
    if len(base.edges):
        ends = inside[base.edges]  # (m, 2): which end of each normal branch is in the island
        for near, far in ((0, 1), (1, 0)):
            cross = ends[:, near] & ~ends[:, far]
            roots |= {int(base.buses[i]) for i in base.edges[cross, near]}
    pos = {b: i for i, b in enumerate(order)}
    visit, parent = breadth_first_order(
        matrix, pos[min(roots) if roots else order[0]], directed=False
    )
    total = np.array([kw_at.get(b, 0.0) for b in order])
    for node in visit[::-1]:  # leaves first: each bus adds its subtree to its parent's
        if parent[node] >= 0:
            total[parent[node]] += total[node]
    return {b: float(total[i]) for i, b in enumerate(order)}
