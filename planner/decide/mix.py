"""The cheapest mix of truck types for the islands of a stage, placed at connection points (a MILP
on scipy's HiGHS).

Trucks of one island share its load in proportion to a weight (their rating), so a truck of type
k carries `P * w_k / W` and `S * w_k / W` where `W` is the summed weight of the island's trucks:
within its kW and kVA exactly when `W >= R_k = max(P * w_k / kw_k, S * w_k / kva_k)`; a battery
truck (`storage_kwh` > 0) also delivers `E * w_k / W` of the island's design energy over the stage
`E` (its design load summed over the stage's hours), within its store exactly when
`W >= E * w_k / storage_k`, the third term of `R_k` (it starts the stage full and is not recharged
in it: a battery that cannot last the stage is not used). With an indicator `y_k` (type k stands
in the island) that is the linear `W >= R_k * y_k`. Under n-1 the island must hold when any truck
trips: `W - w_j >= R_k` for a type j present and a type k left after it trips (k != j present, or
two of k: big-M rows, M = R_k + w_j); it needs two trucks. The energy term stays in R_k there:
the trucks left after a trip at the stage's start carry all of E.

LV trucks and the linear terms of an island's LV slots: `planner.decide.mix_needs`.

Five objectives are minimised in turn (`planner.decide.tiers`), each with the ones before held at
their optimum (one weighted sum would put the later ones below HiGHS's tolerances): money
(`Kind.cost` per truck, mobilisation per truck from the depot, fuel per kWh delivered; without
`[costs]` every truck costs 1), trucks, trucks from the depot rather than ones hired for an
earlier stage (fewest distinct trucks over the works), installed kVA, and placement: points
electrically near the island's load, spread over points, as `planner.decide.allocation` does for
one type. The fuel of trucks sharing an island is a ratio of their counts: the MILP holds a
linear lower bound of it (`phi`) and, when the types' fuel prices differ, the islands' count
vectors are enumerated against it (`tiers.cheapest_exact`). A truck standing at a bus that
cannot leave it in time (`Kind.pinned`) serves only there, and is reused only there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from planner.decide.fleet import FleetState
from planner.decide.island import Island
from planner.decide.mix_needs import (
    Kind,
    LvSlot,
    MixNeed,
    covers,
    fits_slot,
    holds,
    least_weight,
    loaded,
    mix_cost,
    required,
    shared_fuel,
    slot_kwh,
    slots_of,
    terms,
)
from planner.decide.tiers import (
    ENUMERATED,
    ENUMERATION_S,
    Problem,
    cheapest_exact,
    lexicographic,
)
from planner.grid.powerflow import TruckAt
from planner.inputs.case import Fleet, Reserve, TruckType
from planner.inputs.case_costs import Costs

__all__ = [
    "Kind",
    "LvSlot",
    "MixNeed",
    "allocate_mix",
    "holds",
    "largest_first",
    "mix_cost",
    "place_mix",
    "type_prices",
]

log = logging.getLogger(__name__)

CROWDING = 0.5  # secondary cost of each further truck at the same point


def allocate_mix(
    needs: Sequence[MixNeed], kinds: Sequence[Kind]
) -> dict[int, list[tuple[int, str]]] | None:
    """The cheapest trucks for each island: (bus, type name) per truck, an LV truck at its
    slot's bus, or None when no mix of the free trucks at the islands' bays carries them all."""
    slots = [
        (n, need.key, bus, k, cost)
        for n, need in enumerate(needs)
        for bus, bays, cost in need.points
        for k in range(bays)
    ]
    # an LV truck of type k for slot l of island n, where one carries the slot's load
    takes = [
        (n, ell, k)
        for n, need in enumerate(needs)
        for ell, slot in enumerate(slots_of(need))
        for k, kind in enumerate(kinds)
        if fits_slot(need, slot, kind)
    ]
    if not slots and not takes:
        return None if any(loaded(n) for n in needs) else {n.key: [] for n in needs}
    n_x = len(slots) * len(kinds)
    n_y = len(needs) * len(kinds)
    whole = [n for n, need in enumerate(needs) if covers(need)]

    def x(s: int, k: int) -> int:
        return s * len(kinds) + k

    def y(n: int, k: int) -> int:  # type k stands in island n
        return n_x + n * len(kinds) + k

    def y2(n: int, k: int) -> int:  # two or more of type k stand in island n
        return n_x + n_y + n * len(kinds) + k

    def u(t: int) -> int:  # the LV truck `takes[t]`
        return n_x + 2 * n_y + t

    def all_lv(n: int) -> int:  # island n is all handed to LV trucks
        return n_x + 2 * n_y + len(takes) + whole.index(n)

    def fresh(k: int) -> int:  # trucks of type k taken from the depot: not reused
        return n_x + 2 * n_y + len(takes) + len(whole) + k

    pins = [(k, bus, n) for k, kind in enumerate(kinds) for bus, n in kind.pinned]

    def pin(p: int) -> int:  # trucks standing at a bus that serve there
        return n_x + 2 * n_y + len(takes) + len(whole) + len(kinds) + p

    def phi(n: int) -> int:  # fuel bound: island n's energy no battery at its bays delivers
        return n_x + 2 * n_y + len(takes) + len(whole) + len(kinds) + len(pins) + n

    width = n_x + 2 * n_y + len(takes) + len(whole) + len(kinds) + len(pins) + len(needs)
    mv_fuel = sorted({kind.fuel_per_kwh for kind in kinds if not kind.lv})
    diesel_fuel = min((f for f in mv_fuel if f > 0), default=0.0)
    # objectives in five tiers, minimised in turn (each next one with the ones before held at
    # their optimum): money (`Kind.cost`, mobilisation from the depot, fuel: its bound through
    # `phi`), trucks, trucks from the depot (fewest distinct trucks over the works), installed
    # kVA, placement (near the load, spread over points)
    tiers = np.zeros((5, width))
    tiers[2, fresh(0) : fresh(0) + len(kinds)] = 1.0
    for k, kind in enumerate(kinds):
        tiers[0, fresh(k)] = kind.mobilisation
    for n in range(len(needs)):
        tiers[0, phi(n)] = diesel_fuel
    for s, (_, _, _, k_th, cost) in enumerate(slots):
        for k, kind in enumerate(kinds):
            tiers[:, x(s, k)] = kind.cost, 1.0, 0.0, kind.rating_kva, cost + CROWDING * k_th
    for t, (n, ell, k) in enumerate(takes):
        fuel = kinds[k].fuel_per_kwh * slot_kwh(needs[n], needs[n].lv[ell])
        tiers[[0, 1, 3], u(t)] = kinds[k].cost + fuel, 1.0, kinds[k].rating_kva
    upper = np.ones(width)
    for s in range(len(slots)):  # LV trucks stand in no bay
        for k, kind in enumerate(kinds):
            upper[x(s, k)] = 0.0 if kind.lv else 1.0
    for k, kind in enumerate(kinds):
        upper[fresh(k)] = kind.available + sum(n for _, n in kind.pinned)
    for p, (_, _, n) in enumerate(pins):
        upper[pin(p)] = n
    for n in range(len(needs)):
        upper[phi(n)] = np.inf
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
        used = {x(s, k): 1.0 for s in range(len(slots))}
        used.update({u(t): 1.0 for t, take in enumerate(takes) if take[2] == k})
        standing = {pin(p): -1.0 for p, (kp, _, _) in enumerate(pins) if kp == k}
        row({**used, **standing}, -np.inf, kind.available)
        # from the depot unless reused: a hired truck free to move, or one standing where it
        # serves (a standing truck placed elsewhere is a depot truck, mobilised)
        hired = kind.reusable - sum(n for _, n in kind.pinned)
        row({**used, fresh(k): -1.0, **standing}, -np.inf, hired)
    for p, (k, bus, _) in enumerate(pins):  # a standing truck serves only at its own bus
        at_bus = {x(s, k): -1.0 for s, slot in enumerate(slots) if slot[2] == bus}
        for t, (n, ell, k_t) in enumerate(takes):  # an LV truck standing at its slot's bus
            if k_t == k and needs[n].lv[ell].bus == bus:
                at_bus[u(t)] = -1.0
        row({pin(p): 1.0, **at_bus}, -np.inf, 0)
    for n, need in enumerate(needs):
        mine = [s for s, slot in enumerate(slots) if slot[0] == n]
        taken: dict[int, dict[int, float]] = {}  # slot l: its LV trucks' variables
        for t, (n_t, ell, _) in enumerate(takes):
            if n_t == n:
                taken.setdefault(ell, {})[u(t)] = 1.0
        for entries in taken.values():  # one LV truck per transformer
            row(entries, 0, 1)
        mv_count = {x(s, k): 1.0 for s in mine for k in range(len(kinds))}
        lv_count = {v: 1.0 for entries in taken.values() for v in entries}
        fewest_mv = (2 if need.n_1 else 1) if loaded(need) else 0
        row({**mv_count, **lv_count}, max(need.min_trucks, fewest_mv), np.inf)
        if n in whole:  # no MV truck only when every slot is taken
            row({**mv_count, all_lv(n): float(fewest_mv)}, fewest_mv, np.inf)
            for ell in range(len(need.lv)):
                row({all_lv(n): 1.0, **{v: -1.0 for v in taken.get(ell, {})}}, -np.inf, 0)
        else:
            row(mv_count, fewest_mv, np.inf)
        weight = {x(s, k): kind.weight for s in mine for k, kind in enumerate(kinds)}
        for k, kind in enumerate(kinds):
            if kind.lv:
                continue
            for s in mine:  # the type stands in the island: its indicator is on
                row({y(n, k): 1.0, x(s, k): -1.0}, 0, np.inf)
            # a second truck of the type turns the second indicator on
            row({**{x(s, k): 1.0 for s in mine}, y2(n, k): -float(max(len(mine), 1))}, -np.inf, 1)
            if not taken:
                row({**weight, y(n, k): -required(need, kind)}, 0, np.inf)
            for base, per_slot in terms(need, kind) if taken else ():
                # W >= A - sum b_l z_l where the type stands: W + sum b_l z_l - M y >= A - M
                big = base + sum(max(-b, 0.0) for b in per_slot)
                entries = {**weight, y(n, k): -big}
                for ell, b in enumerate(per_slot):
                    for v in taken.get(ell, {}):
                        entries[v] = b
                row(entries, base - big, np.inf)
            if not need.n_1:
                continue
            for j, tripped in enumerate(kinds):  # W - w_j >= R_k when a k stays after a j trips
                if tripped.lv:
                    continue
                big = required(need, kind) + tripped.weight
                pair = [y2(n, k)] if j == k else [y(n, k), y(n, j)]
                entries = {**weight, **{v: -big for v in pair}}
                row(entries, required(need, kind) + tripped.weight - len(pair) * big, np.inf)
    for n, need in enumerate(needs):  # phi_n >= E(z) - what its batteries deliver at most
        energy = {phi(n): 1.0}
        least = least_weight(need, kinds)
        for s, slot in enumerate(slots):
            for k, kind in enumerate(kinds):
                if slot[0] == n and kind.storage_kwh > 0 and not kind.lv:
                    share = need.design_kwh * kind.weight / least if least > 0 else np.inf
                    energy[x(s, k)] = min(kind.storage_kwh, share)
        for t, (n_t, ell, _) in enumerate(takes):
            if n_t == n:
                energy[u(t)] = slot_kwh(need, need.lv[ell])
        row(energy, need.design_kwh, np.inf)
    integral = np.ones(width)
    integral[phi(0) : phi(0) + len(needs)] = 0.0
    problem = Problem(np.array(rows), np.array(low), np.array(high), upper, width, integral)
    order = [  # the tiers that say something, each once
        i
        for i in range(len(tiers))
        if tiers[i].any() and not any(np.array_equal(tiers[i], tiers[j]) for j in range(i))
    ]
    if len(mv_fuel) > 1 and 0 in order:  # the fuel is a ratio: count vectors enumerated
        groups = [
            [x(s, k) for s, slot in enumerate(slots) if slot[0] == n]
            for n in range(len(needs))
            for k, kind in enumerate(kinds)
            if not kind.lv
        ] + [[u(t)] for t in range(len(takes))]

        def exact(xv: np.ndarray) -> tuple[float, ...]:
            """Money with each island's shared fuel (its bound through `phi` taken out)."""
            money = float(tiers[0] @ xv) - diesel_fuel * float(xv[phi(0) : phi(len(needs))].sum())
            for n, need in enumerate(needs):
                chosen = [kind.name for s, slot in enumerate(slots) if slot[0] == n
                          for k, kind in enumerate(kinds) if xv[x(s, k)] > 0.5]  # fmt: skip
                lv = [(ell, kinds[k].name) for t, (n_t, ell, k) in enumerate(takes)
                      if n_t == n and xv[u(t)] > 0.5]  # fmt: skip
                money += shared_fuel(need, kinds, chosen, lv)
            return money, float(tiers[1] @ xv), float(tiers[3] @ xv)

        fixed = cheapest_exact(problem, tiers[0], exact, groups, [len(g) for g in groups])
        if fixed is None:
            return None
        (problem, proven), order = fixed, order[1:]
        if not proven:
            log.warning(
                "the cheapest mix of truck types is not proven: the search over the islands' "
                "counts stopped after %d vectors or %.0f s; the best found is used",
                ENUMERATED,
                ENUMERATION_S,
            )
    result = lexicographic(problem, [tiers[i] for i in order])
    if result is None:
        return None
    out: dict[int, list[tuple[int, str]]] = {need.key: [] for need in needs}
    for s, (_, need_key, bus, _, _) in enumerate(slots):
        for k, kind in enumerate(kinds):
            if result[x(s, k)] > 0.5:
                out[need_key].append((bus, kind.name))
    for t, (n, ell, k) in enumerate(takes):
        if result[u(t)] > 0.5:
            out[needs[n].key].append((needs[n].lv[ell].bus, kinds[k].name))
    return {key: sorted(trucks) for key, trucks in out.items()}


def place_mix(
    infos: Sequence[Island],
    counts: Sequence[int],
    fleet: Fleet,
    state: FleetState,
    start: datetime,
    follow: frozenset[int] = frozenset(),
    costs: Costs | None = None,
    hours: float = 0.0,
) -> tuple[list[TruckAt], list[str]] | None:
    """Trucks of a mixed fleet for the islands `infos` (at least `counts[k]` for island k),
    the cheapest mix the trucks free by `start` allow (else the whole fleet's, and the timing
    problems that leaves), named by `state`; None when no mix of the fleet carries them.
    With `costs`, the mix is the cheapest in money over a stage of `hours` (`type_prices`)."""
    n_1 = fleet.reserve == Reserve.N_1
    needs = [
        MixNeed(
            k,
            tuple((b, bays, cost - (b in follow)) for b, bays, cost in info.points),
            info.design_kw,
            info.design_kva,
            counts[k],
            n_1,
            info.lv,
            info.design_kvar,
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
                lv=t.connects == "lv",
                reusable=0
                if serving is None
                else serving[t.name or ""][1] + sum(serving[t.name or ""][2].values()),
                pinned=() if serving is None else tuple(sorted(serving[t.name or ""][2].items())),
                storage_kwh=t.storage_kwh,
                **type_prices(t, costs, hours + fleet.setup_hours),
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


def type_prices(kind: TruckType, costs: Costs | None, hours: float) -> dict[str, float]:
    """What a truck of `kind` costs the mix: per truck standing `hours` (its day rate, else
    `[costs] truck_day`, pro rata), per truck from the depot (its mobilisation, else
    `[costs]`'), per kWh it delivers (its fuel at `[costs] fuel_per_l`, none for a battery).
    Without `[costs]` every truck costs 1: the fewest trucks."""
    if costs is None:
        return {"cost": 1.0, "mobilisation": 0.0, "fuel_per_kwh": 0.0}
    day = kind.truck_day if kind.truck_day is not None else costs.truck_day or 0.0
    mobilisation = kind.mobilisation if kind.mobilisation is not None else costs.mobilisation
    fuel = 0.0 if kind.battery else kind.fuel_l_per_kwh * (costs.fuel_per_l or 0.0)
    return {"cost": day * hours / 24.0, "mobilisation": mobilisation or 0.0, "fuel_per_kwh": fuel}


def largest_first(
    fleet: Fleet, buses: Sequence[int], state: FleetState, start: datetime
) -> tuple[list[TruckAt], list[str]]:
    """The fleet's largest MV trucks at `buses` (a best effort where no mix carries the
    islands)."""
    order = sorted((t for t in fleet.types if t.connects != "lv"), key=lambda t: -t.rating_kw)
    types = [t.name or "" for t in order for _ in range(t.trucks)][: len(buses)]
    buses = list(buses)[: len(types)]
    names, timing = state.assign(start, buses, types)
    by_name = {t.name: t for t in fleet.types}
    return [
        TruckAt(n, b, by_name[t].rating_kw, by_name[t].rating_kva, by_name[t])
        for n, b, t in zip(names, buses, types, strict=True)
    ], timing
