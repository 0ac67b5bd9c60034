"""Truck allocation to connection points as a mixed-integer programme (scipy `milp` / HiGHS).

Trucks are counted first: every truck costs 1. A small secondary cost spreads them: a truck at a
point costs more the farther the point is, electrically, from the island's load (load-weighted
impedance distance), and each further truck at the same point costs a little more than the one
before, so trucks spread over good points instead of piling onto one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from planner.decide.fleet import Availability, FleetState
from planner.decide.island import Island
from planner.decide.mix import largest_first, place_mix
from planner.decide.shortfall import shortfalls
from planner.grid.powerflow import TruckAt
from planner.grid.topology import Graph
from planner.inputs.case import Fleet
from planner.inputs.case_costs import Costs

__all__ = [
    "IslandNeed",
    "allocate",
    "best_effort",
    "island_matrix",
    "kw_bound",
    "place_trucks",
    "point_costs",
    "shortfalls",
    "trucks_needed",
]

CROWDING = 0.5  # extra secondary cost of each further truck at the same point
MOVE = 1.0  # extra secondary cost of a truck that drives to its point for the stage
FRESH = 0.5  # cost of a truck from the depot: fewer distinct trucks before fewer moves


@dataclass(frozen=True)
class IslandNeed:
    """An island that trucks must carry: its points (bus, bays, cost 0..1) and truck count."""

    key: int
    points: tuple[tuple[int, int, float], ...]
    trucks: int


def kw_bound(design_kw: float, rating_kw: float, n_1: bool) -> int:
    """Trucks the active power alone needs (kVA left out: cables can supply reactive power),
    one more under n-1: the lower bound a search may prove."""
    need = math.ceil(design_kw / rating_kw - 1e-9) if design_kw > 0 else 0
    return need + (1 if n_1 and need > 0 else 0)


def trucks_needed(
    p_kw: float, q_kvar: float, rating_kw: float, rating_kva: float, n_1: bool
) -> int:
    """Lower bound on trucks for an island: its design load over one truck's limits, kW over
    `rating_kw` and kVA over `rating_kva`, whichever needs more (plus one spare under n-1)."""
    need = max(p_kw / rating_kw, math.hypot(p_kw, q_kvar) / rating_kva)
    if need <= 0:
        return 0
    n = math.ceil(need - 1e-9)
    return n + 1 if n_1 else n


def island_matrix(graph: Graph, buses: frozenset[int]) -> tuple[list[int], Any]:
    """The island's buses (sorted) and its edges weighted by series impedance (ohm)."""
    order = sorted(buses)
    n = len(order)
    members = np.asarray(order, dtype=np.int64)
    ends = graph.buses[graph.edges].astype(np.int64).reshape(-1, 2)  # each edge's two buses
    at = np.searchsorted(members, ends)  # their positions in `order`, where they are in it
    inside = (at < n) & (members[np.minimum(at, max(n - 1, 0))] == ends) if n else at < 0
    keep = inside.all(axis=1)  # edges with both ends on the island, in the graph's order
    weights = np.asarray(graph.edge_ohm, dtype=float)[keep] + 1e-9  # a switch still joins
    return order, coo_matrix((weights, (at[keep, 0], at[keep, 1])), shape=(n, n)).tocsr()


def point_costs(
    graph: Graph, buses: frozenset[int], points: list[int], load_kw: dict[int, float]
) -> dict[int, float]:
    """Load-weighted impedance distance from each point to the island's load, scaled to 0..1."""
    order, matrix = island_matrix(graph, buses)
    pos = {b: i for i, b in enumerate(order)}
    sources = [pos[p] for p in points if p in pos]
    if not sources:
        return {}
    dist = dijkstra(matrix, directed=False, indices=sources)
    weight = np.array([load_kw.get(b, 0.0) for b in order])
    moments = np.where(np.isfinite(dist), dist, 0.0) @ weight
    top = float(moments.max()) if len(moments) else 0.0
    return {p: (float(m) / top if top > 0 else 0.0) for p, m in zip(points, moments, strict=True)}


def allocate(
    needs: list[IslandNeed], fleet: int, where: Availability | None = None
) -> dict[int, list[int]] | None:
    """Buses for each island's trucks (one entry per truck), or None when no allocation exists.

    With `where` (the fleet as the stage finds it) a truck standing at a point stays there
    first; others may only go where trucks can reach in time: used trucks that can move, or
    trucks from the depot, which cost `FRESH` each (fewest distinct trucks over the works),
    and every move costs a little (fewest moves).
    """
    slots: list[tuple[int, int, int, float]] = []  # (island key, bus, k-th truck there, cost)
    for need in needs:
        for bus, bays, cost in need.points:
            for k in range(bays):
                slots.append((need.key, bus, k, cost))
    if sum(n.trucks for n in needs) == 0:
        return {n.key: [] for n in needs}
    if not slots:
        return None
    n = len(slots)
    max_bays = max(b for need in needs for _, b, _ in need.points) if slots else 1
    eps = 0.5 / (n * (1.0 + CROWDING * max_bays + MOVE))
    standing = where.standing if where is not None else {}
    # a slot a standing truck fills: 0 none, 1 one that cannot leave, 2 one that could move
    stays = [
        (0 if k >= len(standing.get(bus, ())) else 1 + standing[bus][k]) for _, bus, k, _ in slots
    ]
    c = np.array(
        [
            1.0 + eps * (cost + CROWDING * k + (MOVE if stay == 0 and where else 0.0))
            for (_, _, k, cost), stay in zip(slots, stays, strict=True)
        ]
        + ([FRESH] if where is not None else [])
    )
    width = n + (1 if where is not None else 0)  # the last column: trucks from the depot
    rows: list[np.ndarray] = []
    lower: list[float] = []
    upper: list[float] = []

    def row(values: list[float] | np.ndarray, low: float, high: float) -> None:
        full = np.zeros(width)
        full[: len(values)] = values
        rows.append(full)
        lower.append(low)
        upper.append(high)

    for need in needs:
        row(np.array([1.0 if s[0] == need.key else 0.0 for s in slots]), need.trucks, np.inf)
    row(np.ones(n), 0, fleet)
    if where is not None:  # moves and movable stayers <= used movable trucks + depot trucks
        moving = np.array([1.0 if stay != 1 else 0.0 for stay in stays] + [-1.0])
        row(moving, -np.inf, where.movable_used)
    index = {(s[0], s[1], s[2]): i for i, s in enumerate(slots)}
    for (key, bus, k), i in index.items():
        j = index.get((key, bus, k + 1))
        if j is not None:  # the (k+1)-th truck at a point only after the k-th
            order = np.zeros(n)
            order[i], order[j] = 1.0, -1.0
            row(order, 0, np.inf)
    high = np.ones(width)
    if where is not None:
        high[-1] = where.fresh
    result = milp(
        c,
        constraints=LinearConstraint(np.array(rows), lower, upper),
        integrality=np.ones(width),
        bounds=Bounds(0, high),
    )
    if result.status != 0 or result.x is None:
        return None
    out: dict[int, list[int]] = {need.key: [] for need in needs}
    for value, (key, bus, _, _) in zip(result.x[:n], slots, strict=True):
        if value > 0.5:
            out[key].append(bus)
    return {key: sorted(buses) for key, buses in out.items()}


def best_effort(infos: Sequence[Island], counts: list[int], fleet: int) -> dict[int, list[int]]:
    """Place what the fleet and bays allow, island by island, best points first."""
    left = fleet
    out: dict[int, list[int]] = {}
    for k, (info, n) in enumerate(zip(infos, counts, strict=True)):
        buses: list[int] = []
        for bus, bays, _ in sorted(info.points, key=lambda p: p[2]):
            take = min(bays, n - len(buses), left)
            buses += [bus] * take
            left -= take
        out[k] = buses
    return out


def place_trucks(
    needs: list[IslandNeed],
    infos: Sequence[Island],
    fleet: Fleet,
    state: FleetState,
    start: datetime,
    follow: frozenset[int] = frozenset(),
    costs: Costs | None = None,
    hours: float = 0.0,
) -> tuple[list[TruckAt], list[str], bool]:
    """The trucks for `needs` (the islands `infos`, at least `need.trucks` each), named by
    `state`: the problems of timing, and whether the fleet falls short (then a best effort).
    One type: `allocate`, trucks standing where they are first. A mixed fleet: the cheapest
    mix (`planner.decide.mix`; by `costs` over a stage of `hours` where given), else the
    largest trucks where they fit."""
    counts = [need.trucks for need in needs]
    if fleet.types:
        placed = place_mix(infos, counts, fleet, state, start, follow, costs, hours)
        if placed is not None:
            return placed[0], placed[1], False
        spread = best_effort(infos, counts, fleet.trucks)
        trucks, timing = largest_first(fleet, [b for k in sorted(spread) for b in spread[k]],
                                       state, start)  # fmt: skip
        return trucks, timing, True
    alloc = allocate(needs, fleet.trucks, state.availability(start))
    if alloc is None:  # no placement the fleet can reach in time: the timing is reported
        alloc = allocate(needs, fleet.trucks)
    short = alloc is None
    if alloc is None:
        alloc = best_effort(infos, counts, fleet.trucks)
    buses = [bus for k in range(len(needs)) for bus in alloc.get(k, [])]
    names, timing = state.assign(start, buses)
    trucks = [
        TruckAt(n, b, fleet.rating_kw, fleet.rating_kva) for n, b in zip(names, buses, strict=True)
    ]
    return trucks, timing, short
