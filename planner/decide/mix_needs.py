"""What an island asks of a mix of truck types, checked directly (`holds`), and the linear terms
the MILP of `planner.decide.mix` writes it with.

LV trucks (`Kind.lv`) stand in no island's bays: an island may hand the load of a distribution
transformer (an `LvSlot`) to one LV truck of its own, which then carries just that load in an island
of its own (the transformer opened from its MV side). With `z_l` (slot l is taken) the island's
requirement stays linear: `R_k(z) = max(P(z) * w_k / kw_k, S(z) * w_k / kva_k)` with
`P(z) = P - sum p_l z_l` exact and `S(z) = S - sum r_l z_l` where `r_l` is the slot's load along
the island's (P, Q) less its part across it, an upper bound of |S - sum s_l z_l| that is exact
when the slots' loads have the island's power factor (the usual case) and safe otherwise. A slot
takes an LV type only where one truck carries its load (`p_l <= kw_k`, `s_l <= kva_k`); under n-1
no slot is offered (an island of one truck has no reserve). An island whose slots hold all its
load may need no MV truck at all.

A battery truck (`Kind.storage_kwh` > 0) delivers its share `E * w_k / W` of the island's design
energy over the stage `E`: within its store exactly when `W >= E * w_k / storage_k`, the third
term of `R_k` (it starts the stage full and is not recharged in it). With slots taken the island
keeps `E(z) = E - sum e_l z_l`, linear and exact, `e_l` the slot's design energy (`LvSlot.e_kwh`,
else its share of the island's by kW). An LV battery truck takes a slot only where its store holds
the slot's energy, too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from planner.core.refs import ElementRef

__all__ = [
    "TOL_KW",
    "Kind",
    "LvSlot",
    "MixNeed",
    "covers",
    "fits_slot",
    "holds",
    "island_fuel",
    "least_weight",
    "loaded",
    "mix_cost",
    "required",
    "shared_fuel",
    "slot_kwh",
    "slots_of",
    "terms",
]

TOL_KW = 1e-6  # what an island may keep and still count as all handed to LV trucks


@dataclass(frozen=True)
class Kind:
    """A truck type as allocation sees it: how many are free, its limits, its sharing weight
    and what one costs the plan: `cost` per truck standing in the stage (1 each when the case
    has no `[costs]`: fewest trucks), `mobilisation` per truck from the depot, and
    `fuel_per_kwh` per kWh it delivers (0 for a battery)."""

    name: str
    available: int
    rating_kw: float
    rating_kva: float
    weight: float  # its share of an island's load goes by this (its rating)
    cost: float = 1.0
    lv: bool = False  # connects at a distribution transformer's LV side (an `LvSlot`)
    reusable: int = 0  # trucks hired for earlier stages that can serve here (of those below)
    pinned: tuple[tuple[int, int], ...] = ()  # (bus, trucks): standing there, cannot move
    storage_kwh: float = 0.0  # > 0: a battery truck with this much energy
    mobilisation: float = 0.0
    fuel_per_kwh: float = 0.0


@dataclass(frozen=True)
class LvSlot:
    """A distribution transformer an LV truck may take over (on an MV-only network: the loads of
    one MV bus): the bus the truck feeds, the protected design load it takes from its MV island,
    and what the switching opens to separate it."""

    bus: int
    p_kw: float
    q_kvar: float
    opens: tuple[ElementRef, ...] = ()
    name: str = ""  # how the notes call it: the transformer's or the bus's reference
    e_kwh: float | None = None  # its design energy over the stage; None: its share by kW

    @property
    def s_kva(self) -> float:
        return math.hypot(self.p_kw, self.q_kvar)


@dataclass(frozen=True)
class MixNeed:
    """An island the trucks must carry: its points (bus, bays, cost 0..1), design load, the
    fewest trucks verification allows it, whether it must survive a truck trip, its LV slots,
    and its design energy over the stage (what a battery truck must hold its share of)."""

    key: int
    points: tuple[tuple[int, int, float], ...]
    design_kw: float
    design_kva: float
    min_trucks: int = 0  # MV and LV trucks together
    n_1: bool = False
    lv: tuple[LvSlot, ...] = ()
    design_kvar: float | None = None  # None: the kvar that `design_kva` implies (>= 0)
    design_kwh: float = 0.0

    @property
    def kvar(self) -> float:
        if self.design_kvar is not None:
            return self.design_kvar
        return math.sqrt(max(self.design_kva**2 - self.design_kw**2, 0.0))


def required(
    need: MixNeed,
    kind: Kind,
    p_kw: float | None = None,
    s_kva: float | None = None,
    e_kwh: float | None = None,
) -> float:
    """The summed weight an island needs for a truck of `kind` in it to stay within limits (a
    battery's: within its energy over the stage, too), at the load `p_kw`, `s_kva` and energy
    `e_kwh` when given: what the LV trucks leave it."""
    p_kw = need.design_kw if p_kw is None else p_kw
    s_kva = need.design_kva if s_kva is None else s_kva
    e_kwh = need.design_kwh if e_kwh is None else e_kwh
    return max(
        p_kw * kind.weight / kind.rating_kw,
        s_kva * kind.weight / kind.rating_kva,
        e_kwh * kind.weight / kind.storage_kwh if kind.storage_kwh > 0 else 0.0,
    )


def slot_kwh(need: MixNeed, slot: LvSlot) -> float:
    """A slot's design energy over the stage: its own where known, else the island's share of
    its kW."""
    if slot.e_kwh is not None:
        return slot.e_kwh
    return need.design_kwh * slot.p_kw / need.design_kw if need.design_kw > 0 else 0.0


def fits_slot(need: MixNeed, slot: LvSlot, kind: Kind) -> bool:
    """Whether one truck of the LV type `kind` carries the slot's load alone (a battery: its
    energy over the stage, too)."""
    within = slot.p_kw <= kind.rating_kw + 1e-9 and slot.s_kva <= kind.rating_kva + 1e-9
    if kind.storage_kwh > 0:
        within = within and slot_kwh(need, slot) <= kind.storage_kwh + 1e-9
    return kind.lv and within


def slots_of(need: MixNeed) -> tuple[LvSlot, ...]:
    """The slots an island offers: none under n-1."""
    return () if need.n_1 else need.lv


def terms(need: MixNeed, kind: Kind) -> list[tuple[float, list[float]]]:
    """`R_k(z)` as the max of linear terms `A - sum b_l z_l` over the island's slots."""
    slots = slots_of(need)
    p, q, s = need.design_kw, need.kvar, need.design_kva
    reduce_s = []
    for slot in slots:
        along = (slot.p_kw * p + slot.q_kvar * q) / s if s > 0 else 0.0
        across = (slot.p_kw * q - slot.q_kvar * p) / s if s > 0 else 0.0
        reduce_s.append(along - abs(across))
    per_kw, per_kva = kind.weight / kind.rating_kw, kind.weight / kind.rating_kva
    out = [
        (p * per_kw, [slot.p_kw * per_kw for slot in slots]),
        (s * per_kva, [r * per_kva for r in reduce_s]),
    ]
    if kind.storage_kwh > 0:  # a battery: the energy the island keeps, exact
        per_kwh = kind.weight / kind.storage_kwh
        out.append((need.design_kwh * per_kwh, [slot_kwh(need, sl) * per_kwh for sl in slots]))
    return out


def covers(need: MixNeed) -> bool:
    """Whether the island's slots hold all its load (it may then need no MV truck)."""
    slots = slots_of(need)
    p = need.design_kw - sum(s.p_kw for s in slots)
    q = need.kvar - sum(s.q_kvar for s in slots)
    return bool(slots) and p <= TOL_KW and math.hypot(p, q) <= TOL_KW


def holds(
    need: MixNeed,
    kinds: Sequence[Kind],
    chosen: Sequence[str],
    lv: Sequence[tuple[int, str]] = (),
) -> bool:
    """Whether trucks of the types `chosen` carry `need` (directly, not linearised) with the
    slots `lv` (slot index, LV type) taken over: each LV truck carries its slot's load (and
    energy) alone, each of the others is within its limits at its share of what is left, a
    battery within its energy too (and under n-1 with any one of them tripped)."""
    by_name = {k.name: k for k in kinds}
    trucks = [by_name[name] for name in chosen]
    if len(trucks) + len(lv) < need.min_trucks or any(t.lv for t in trucks):
        return False
    taken = [i for i, _ in lv]
    if len(set(taken)) < len(taken) or (lv and need.n_1):
        return False
    if not all(0 <= i < len(need.lv) and fits_slot(need, need.lv[i], by_name[n]) for i, n in lv):
        return False
    p_kw = need.design_kw - sum(need.lv[i].p_kw for i in taken)
    q_kvar = need.kvar - sum(need.lv[i].q_kvar for i in taken)
    e_kwh = need.design_kwh - sum(slot_kwh(need, need.lv[i]) for i in taken)
    s_kva = need.design_kva if not lv else math.hypot(p_kw, q_kvar)
    if (p_kw <= 0 and s_kva <= 0) or (lv and p_kw <= TOL_KW and s_kva <= TOL_KW):
        return True
    if not trucks or (need.n_1 and len(trucks) < 2):
        return False
    total = sum(t.weight for t in trucks)
    fits = all(total >= required(need, t, p_kw, s_kva, e_kwh) - 1e-9 for t in trucks)
    if not need.n_1:
        return fits
    for j, tripped in enumerate(trucks):
        rest = [t for i, t in enumerate(trucks) if i != j]
        if not all(total - tripped.weight >= required(need, t) - 1e-9 for t in rest):
            return False
    return fits


def mix_cost(kinds: Sequence[Kind], chosen: Sequence[str]) -> tuple[float, int, float]:
    """What trucks of the types `chosen` cost (`Kind.cost` each), how many they are and their
    installed kVA: compared in that order."""
    by_name = {k.name: k for k in kinds}
    return (
        round(sum(by_name[n].cost for n in chosen), 9),
        len(chosen),
        round(sum(by_name[n].rating_kva for n in chosen), 6),
    )


def shared_fuel(need: MixNeed, kinds: Sequence[Kind], chosen: Sequence[str],
                lv: Sequence[tuple[int, str]] = ()) -> float:  # fmt: skip
    """The fuel money over the stage of an island's trucks at its bays (`chosen`), sharing what
    the LV trucks `lv` (slot index, type) leave in proportion to their weights."""
    by_name = {k.name: k for k in kinds}
    left = need.design_kwh - sum(slot_kwh(need, need.lv[i]) for i, _ in lv)
    total = sum(by_name[n].weight for n in chosen)
    if total <= 0:
        return 0.0
    return left * sum(by_name[n].weight * by_name[n].fuel_per_kwh for n in chosen) / total


def island_fuel(need: MixNeed, kinds: Sequence[Kind], chosen: Sequence[str],
                lv: Sequence[tuple[int, str]] = ()) -> float:  # fmt: skip
    """The fuel money over the stage of all an island's trucks: each LV truck delivers its
    slot's design energy, the others share the rest (`shared_fuel`)."""
    by_name = {k.name: k for k in kinds}
    own = sum(by_name[n].fuel_per_kwh * slot_kwh(need, need.lv[i]) for i, n in lv)
    return own + shared_fuel(need, kinds, chosen, lv)


def least_weight(need: MixNeed, kinds: Sequence[Kind]) -> float:
    """A lower bound on the summed weight of any mix of MV trucks that carries `need`: each type
    standing needs at least the kW its share of what the LV trucks could leave at most takes.
    A battery delivers `E * w / W` of the island's energy, at most `E * w / least_weight`."""
    left_kw = max(need.design_kw - sum(slot.p_kw for slot in slots_of(need)), 0.0)
    weights = [left_kw * k.weight / k.rating_kw for k in kinds if not k.lv and k.rating_kw > 0]
    return min(weights, default=0.0)


def loaded(need: MixNeed) -> bool:
    return need.design_kw > 0 or need.design_kva > 0
