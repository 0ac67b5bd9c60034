"""The cheapest mix of truck types for the islands of a stage, placed at connection points (a MILP
on scipy's HiGHS).

Trucks of one island share its load in proportion to a weight (their rating), so a truck of type
k carries `P * w_k / W` and `S * w_k / W` where `W` is the summed weight of the island's trucks:
within its kW and kVA exactly when `W >= R_k = max(P * w_k / kw_k, S * w_k / kva_k)`; a battery
truck (`storage_kwh` > 0) also delivers `E * w_k / W` of the island's design energy over the stage
`E` (its design load summed over the stage's hours), within its store exactly when
`W >= E * w_k / storage_k`, the third term of `R_k` (it starts the stage full and is not recharged
in it: a battery that cannot last the stage is not used). With an
indicator `y_k` (type k stands in the island) that is the linear `W >= R_k * y_k`. Under n-1 the
island must hold when any truck trips: `W - w_j >= R_k` for a type j present and a type k left
after it trips (k != j present, or two of k: big-M rows, M = R_k + w_j); it needs two trucks. The
energy term stays in R_k there: the trucks left after a trip at the stage's start carry all of E.

Each truck costs its type's cost (fewest trucks: 1 each, then least installed kVA as a tie-break),
plus a small secondary cost that prefers points electrically near the island's load and spreads
trucks over points, as `planner.decide.allocation` does for one type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from planner.decide.fleet import FleetState
from planner.grid.powerflow import TruckAt
from planner.inputs.case import Fleet, Reserve

__all__ = ["Kind", "MixNeed", "allocate_mix", "holds", "largest_first", "mix_cost", "place_mix"]

CROWDING = 0.5  # secondary cost of each further truck at the same point


@dataclass(frozen=True)
class Kind:
    """A truck type as allocation sees it: how many are free, its limits, its sharing weight
    and what one costs the plan."""

    name: str
    available: int
    rating_kw: float
    rating_kva: float
    weight: float  # its share of an island's load goes by this (its rating)
    cost: float = 1.0
    reusable: int = 0  # trucks hired for earlier stages that can serve here (of those below)
    pinned: tuple[tuple[int, int], ...] = ()  # (bus, trucks): standing there, cannot move
    storage_kwh: float = 0.0  # > 0: a battery truck with this much energy


@dataclass(frozen=True)
class MixNeed:
    """An island the trucks must carry: its points (bus, bays, cost 0..1), design load, the
    fewest trucks verification allows it, whether it must survive a truck trip, and its design
    energy over the stage (what a battery truck must hold its share of)."""

    key: int
    points: tuple[tuple[int, int, float], ...]
    design_kw: float
    design_kva: float
    min_trucks: int = 0
    n_1: bool = False
    design_kwh: float = 0.0


def _required(need: MixNeed, kind: Kind) -> float:
    """The summed weight an island needs for a truck of `kind` in it to stay within limits
    (a battery's: within its energy over the stage, too)."""
    return max(
        need.design_kw * kind.weight / kind.rating_kw,
        need.design_kva * kind.weight / kind.rating_kva,
        need.design_kwh * kind.weight / kind.storage_kwh if kind.storage_kwh > 0 else 0.0,
    )


def holds(need: MixNeed, kinds: Sequence[Kind], chosen: Sequence[str]) -> bool:
    """Whether trucks of the types `chosen` carry `need` (directly, not linearised): each
    within its limits at its share, and under n-1 with any one of them tripped."""
    by_name = {k.name: k for k in kinds}
    trucks = [by_name[name] for name in chosen]
    if len(trucks) < need.min_trucks:
        return False
    if need.design_kw <= 0 and need.design_kva <= 0:
        return True
    if not trucks or (need.n_1 and len(trucks) < 2):
        return False
    total = sum(t.weight for t in trucks)
    fits = all(total >= _required(need, t) - 1e-9 for t in trucks)
    if not need.n_1:
        return fits
    for j, tripped in enumerate(trucks):
        rest = [t for i, t in enumerate(trucks) if i != j]
        if not all(total - tripped.weight >= _required(need, t) - 1e-9 for t in rest):
            return False
    return fits


def mix_cost(kinds: Sequence[Kind], chosen: Sequence[str]) -> tuple[float, float]:
    """What trucks of the types `chosen` cost, and their installed kVA (the tie-break)."""
    by_name = {k.name: k for k in kinds}
    return (
        round(sum(by_name[n].cost for n in chosen), 9),
        round(sum(by_name[n].rating_kva for n in chosen), 6),
    )


def allocate_mix(
    needs: Sequence[MixNeed], kinds: Sequence[Kind]
) -> dict[int, list[tuple[int, str]]] | None:
    """The cheapest trucks for each island: (bus, type name) per truck, or None when no mix of
    the free trucks at the islands' bays carries them all."""
    slots = [
        (n, need.key, bus, k, cost)
        for n, need in enumerate(needs)
        for bus, bays, cost in need.points
        for k in range(bays)
    ]
    if not slots:
        return None if any(_loaded(n) for n in needs) else {n.key: [] for n in needs}
    n_x = len(slots) * len(kinds)
    n_y = len(needs) * len(kinds)

    def x(s: int, k: int) -> int:
        return s * len(kinds) + k

    def y(n: int, k: int) -> int:  # type k stands in island n
        return n_x + n * len(kinds) + k

    def y2(n: int, k: int) -> int:  # two or more of type k stand in island n
        return n_x + n_y + n * len(kinds) + k

    def fresh(k: int) -> int:  # trucks of type k taken from the depot: not reused
        return n_x + 2 * n_y + k

    pins = [(k, bus, n) for k, kind in enumerate(kinds) for bus, n in kind.pinned]

    def pin(p: int) -> int:  # trucks standing at a bus that serve there
        return n_x + 2 * n_y + len(kinds) + p

    width = n_x + 2 * n_y + len(kinds) + len(pins)
    # costs in four tiers that never trade against each other: the types' costs, then trucks
    # from the depot (fewest distinct trucks over the works), then the installed kVA, then
    # placement; each tier's whole is below one unit of the tier above
    max_bays = max(b for need in needs for _, b, _ in need.points)
    cheapest = min(kind.cost for kind in kinds)
    per_fresh = 0.5 * cheapest / len(slots)
    per_kva = 0.5 * per_fresh / (len(slots) * max(k.rating_kva for k in kinds))
    eps = 0.5 * per_kva / (len(slots) * (1.0 + CROWDING * max_bays))
    c = np.zeros(width)
    c[fresh(0) : fresh(0) + len(kinds)] = per_fresh
    for s, (_, _, _, k_th, cost) in enumerate(slots):
        for k, kind in enumerate(kinds):
            c[x(s, k)] = kind.cost + per_kva * kind.rating_kva + eps * (cost + CROWDING * k_th)
    rows: list[np.ndarray] = []
    low: list[float] = []
    high: list[float] = []

    def row(entries: dict[int, float], lo: float, hi: float) -> None:
        full = np.zeros(width)
        for j, v in entries.items():
            full[j] += v
        rows.append(full)
        low.append(lo)
        high.append(hi)

    index = {(need_key, bus, k_th): s for s, (_, need_key, bus, k_th, _) in enumerate(slots)}
    for s, (_, need_key, bus, k_th, _) in enumerate(slots):
        row({x(s, k): 1.0 for k in range(len(kinds))}, 0, 1)  # one truck per bay
        after = index.get((need_key, bus, k_th + 1))
        if after is not None:  # the (k+1)-th bay of a point only after the k-th
            entries = {x(s, k): 1.0 for k in range(len(kinds))}
            entries.update({x(after, k): -1.0 for k in range(len(kinds))})
            row(entries, 0, np.inf)
    for k, kind in enumerate(kinds):  # trucks free to go anywhere, and those standing
        standing = {pin(p): -1.0 for p, (kp, _, _) in enumerate(pins) if kp == k}
        row({**{x(s, k): 1.0 for s in range(len(slots))}, **standing}, -np.inf, kind.available)
        row({**{x(s, k): 1.0 for s in range(len(slots))}, fresh(k): -1.0}, -np.inf, kind.reusable)
    for p, (k, bus, _) in enumerate(pins):  # a standing truck serves only at its own bus
        at_bus = {x(s, k): -1.0 for s, slot in enumerate(slots) if slot[2] == bus}
        row({pin(p): 1.0, **at_bus}, -np.inf, 0)
    for n, need in enumerate(needs):
        mine = [s for s, slot in enumerate(slots) if slot[0] == n]
        count = {x(s, k): 1.0 for s in mine for k in range(len(kinds))}
        fewest = max(need.min_trucks, (2 if need.n_1 else 1) if _loaded(need) else 0)
        row(count, fewest, np.inf)
        weight = {x(s, k): kind.weight for s in mine for k, kind in enumerate(kinds)}
        for k, kind in enumerate(kinds):
            for s in mine:  # the type stands in the island: its indicator is on
                row({y(n, k): 1.0, x(s, k): -1.0}, 0, np.inf)
            # a second truck of the type turns the second indicator on
            row({**{x(s, k): 1.0 for s in mine}, y2(n, k): -float(len(mine))}, -np.inf, 1)
            row({**weight, y(n, k): -_required(need, kind)}, 0, np.inf)
            if not need.n_1:
                continue
            for j, tripped in enumerate(kinds):  # W - w_j >= R_k when a k stays after a j trips
                big = _required(need, kind) + tripped.weight
                pair = [y2(n, k)] if j == k else [y(n, k), y(n, j)]
                entries = {**weight, **{v: -big for v in pair}}
                row(entries, _required(need, kind) + tripped.weight - len(pair) * big, np.inf)
    result = milp(
        c,
        constraints=LinearConstraint(np.array(rows), low, high),
        integrality=np.ones(width),
        bounds=Bounds(
            0,
            np.r_[
                np.ones(n_x + 2 * n_y),
                [k.available + sum(n for _, n in k.pinned) for k in kinds],
                [n for _, _, n in pins],
            ],
        ),
        options={"mip_rel_gap": 1e-12},  # the tie-breaks are far below HiGHS's default gap
    )
    if result.status != 0 or result.x is None:
        return None
    out: dict[int, list[tuple[int, str]]] = {need.key: [] for need in needs}
    for s, (_, need_key, bus, _, _) in enumerate(slots):
        for k, kind in enumerate(kinds):
            if result.x[x(s, k)] > 0.5:
                out[need_key].append((bus, kind.name))
    return {key: sorted(trucks) for key, trucks in out.items()}


def _loaded(need: MixNeed) -> bool:
    return need.design_kw > 0 or need.design_kva > 0


class Island(Protocol):
    """What placing a mix reads of an island left to trucks (`planning.IslandInfo`)."""

    @property
    def design_kw(self) -> float: ...
    @property
    def design_kva(self) -> float: ...
    @property
    def design_kwh(self) -> float: ...
    @property
    def points(self) -> tuple[tuple[int, int, float], ...]: ...


def place_mix(
    infos: Sequence[Island],
    counts: Sequence[int],
    fleet: Fleet,
    state: FleetState,
    start: datetime,
    follow: frozenset[int] = frozenset(),
) -> tuple[list[TruckAt], list[str]] | None:
    """Trucks of a mixed fleet for the islands `infos` (at least `counts[k]` for island k),
    the cheapest mix the trucks free by `start` allow (else the whole fleet's, and the timing
    problems that leaves), named by `state`; None when no mix of the fleet carries them."""
    n_1 = fleet.reserve == Reserve.N_1
    needs = [
        MixNeed(
            k,
            tuple((b, bays, cost - (b in follow)) for b, bays, cost in info.points),
            info.design_kw,
            info.design_kva,
            counts[k],
            n_1,
            info.design_kwh,
        )
        for k, info in enumerate(infos)
    ]
    free = state.by_type(start)
    mix = None
    for serving in (free, None):  # else the whole fleet, and the timing problems that leaves
        kinds = [
            Kind(
                t.name or "",
                t.trucks if serving is None else serving[t.name or ""][0],
                t.rating_kw,
                t.rating_kva,
                t.rating_kva,
                reusable=0
                if serving is None
                else serving[t.name or ""][1] + sum(serving[t.name or ""][2].values()),
                pinned=() if serving is None else tuple(sorted(serving[t.name or ""][2].items())),
                storage_kwh=t.storage_kwh,
            )
            for t in fleet.types
        ]
        mix = allocate_mix(needs, kinds)
        if mix is not None:
            break
    if mix is None:
        return None
    placed = [truck for k in range(len(infos)) for truck in mix[k]]
    names, timing = state.assign(start, [b for b, _ in placed], [t for _, t in placed])
    by_name = {t.name: t for t in fleet.types}
    trucks = [
        TruckAt(n, b, by_name[t].rating_kw, by_name[t].rating_kva, by_name[t])
        for n, (b, t) in zip(names, placed, strict=True)
    ]
    return trucks, timing


def largest_first(
    fleet: Fleet, buses: Sequence[int], state: FleetState, start: datetime
) -> tuple[list[TruckAt], list[str]]:
    """The fleet's largest trucks at `buses` (a best effort where no mix carries the islands)."""
    order = sorted(fleet.types, key=lambda t: -t.rating_kw)
    types = [t.name or "" for t in order for _ in range(t.trucks)][: len(buses)]
    buses = list(buses)[: len(types)]
    names, timing = state.assign(start, buses, types)
    by_name = {t.name: t for t in fleet.types}
    return [
        TruckAt(n, b, by_name[t].rating_kw, by_name[t].rating_kva, by_name[t])
        for n, b, t in zip(names, buses, types, strict=True)
    ], timing
