"""Why no allocation of trucks exists, in words: islands without connection points, too few
bays, too small a fleet, and by how much (kW or kVA, whichever binds).

A mixed fleet's messages count only the trucks that can serve an island the way they say: its
MV trucks, the largest first, as many as its bays hold, and LV trucks only at the transformers it
may hand over (an `LvSlot` one LV truck carries, `mix_needs.fits_slot`, as the mix decides), never
an LV truck at a bay nor one counted as an MV truck of the largest rating.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from planner.core.plan import Violation
from planner.decide.island import Island
from planner.decide.mix_needs import Kind, LvSlot, MixNeed, fits_slot, slots_of
from planner.inputs.case import Fleet, Reserve

__all__ = ["shortfalls"]


def _label(info: Island, island_id: str) -> str:
    return f"island {island_id} ({len(info.buses)} buses, {info.design_kw:,.0f} kW design peak)"


def _short_by(
    p_kw: float, s_kva: float, cap_kw: float, cap_kva: float, rating_kw: float, rating_kva: float
) -> str:
    """How far trucks of `cap_kw`, `cap_kva` fall short of a design load, in the binding unit
    (the one that needs more trucks of `rating_kw`, `rating_kva`)."""
    short_kw, short_kva = p_kw - cap_kw, s_kva - cap_kva
    if short_kw <= 0 and short_kva <= 0:
        return "its load fits, but its other checks (reserve, protection, limits) need one more"
    if short_kw / rating_kw >= short_kva / rating_kva:
        return f"short by {short_kw:,.0f} kW"
    return f"short by {short_kva:,.0f} kVA"


def shortfalls(
    infos: Sequence[Island],
    counts: list[int],
    fleet_spec: Fleet,
    ids: list[str],
) -> list[Violation]:
    """Why no allocation exists: islands without points, too few bays, too small a fleet."""
    if fleet_spec.types:
        return _mixed_shortfalls(infos, counts, fleet_spec, ids)
    fleet, rating_kw, rating_kva = fleet_spec.trucks, fleet_spec.rating_kw, fleet_spec.rating_kva
    out = [v for info, island in zip(infos, ids, strict=True) if (v := _no_point(info, island))]
    for info, n, island in zip(infos, counts, ids, strict=True):
        bays = sum(b for _, b, _ in info.points)
        if info.points and bays < n:
            short = _short_by(
                info.design_kw, info.design_kva, bays * rating_kw, bays * rating_kva,
                rating_kw, rating_kva,
            )  # fmt: skip
            text = f"needs {n} trucks, its connection points have {bays} bays: {short}"
            out.append(_shortfall(info, island, text, bays, n))
    need = sum(counts)
    if need > fleet:
        if len(infos) == 1:
            info = infos[0]
            short_text = _short_by(
                info.design_kw, info.design_kva, fleet * rating_kw, fleet * rating_kva,
                rating_kw, rating_kva,
            )  # fmt: skip
            text = f"needs {need} trucks, {fleet} available: {short_text}"
            out.append(_shortfall(info, ids[0], text, fleet, need))
        else:
            listed = ", ".join(f"{i} {n}" for i, n in zip(ids, counts, strict=True))
            out.append(
                Violation(
                    "shortfall",
                    f"the stage needs {need} trucks ({listed}), "
                    f"{fleet} available: short by {need - fleet}",
                    value=fleet,
                    limit=need,
                )
            )
    return out


def _no_point(info: Island, island: str) -> Violation | None:
    """The island has no connection point: nothing can carry its protected load."""
    if info.points:
        return None
    text = (
        f"{_label(info, island)} has no connection point for trucks: its protected load "
        "cannot be supplied"
    )
    return Violation("shortfall", text, island=island, value=round(info.design_kw, 1), limit=0.0)


def _shortfall(info: Island, island: str, text: str, value: int, limit: int) -> Violation:
    return Violation(
        "shortfall", f"{_label(info, island)} {text}", island=island, value=value, limit=limit
    )


def _mixed_shortfalls(
    infos: Sequence[Island], counts: list[int], fleet: Fleet, ids: list[str]
) -> list[Violation]:
    """`shortfalls` for a mixed fleet, counting only trucks that can serve an island: its MV
    trucks, the largest first, as many as its bays hold, and LV trucks at the transformers it
    may hand over (`mix_needs.fits_slot`, as the mix does), never an LV truck at a bay."""
    n_1 = fleet.reserve == Reserve.N_1
    mv = sorted((t for t in fleet.types if t.connects != "lv"), key=lambda t: -t.rating_kw)
    mv_trucks = [t for t in mv for _ in range(t.trucks)]
    lv_trucks = [
        Kind(t.name or "", 1, t.rating_kw, t.rating_kva, t.rating_kva, lv=True,
             storage_kwh=t.storage_kwh)
        for t in fleet.types if t.connects == "lv" for _ in range(t.trucks)
    ]  # fmt: skip
    needs = [
        MixNeed(k, i.points, i.design_kw, i.design_kva, n, n_1, i.lv, i.design_kvar, i.design_kwh)
        for k, (i, n) in enumerate(zip(infos, counts, strict=True))
    ]
    out = [v for info, island in zip(infos, ids, strict=True) if (v := _no_point(info, island))]
    for info, need, island in zip(infos, needs, ids, strict=True):
        if not info.points:
            continue
        bays = sum(b for _, b, _ in info.points)
        at_bays, taken = mv_trucks[:bays], _lv_taken([need], lv_trucks)
        p_kw = info.design_kw - sum(s.p_kw for s in taken)
        s_kva = (
            math.hypot(p_kw, need.kvar - sum(s.q_kvar for s in taken)) if taken else info.design_kva
        )
        cap_kw, cap_kva = sum(t.rating_kw for t in at_bays), sum(t.rating_kva for t in at_bays)
        count = len(at_bays) + len(taken)
        if count >= need.min_trucks and p_kw <= cap_kw + 1e-6 and s_kva <= cap_kva + 1e-6:
            continue
        short = _short_by(p_kw, s_kva, cap_kw, cap_kva, fleet.rating_kw, fleet.rating_kva)
        words = _in_words(len(at_bays), len(mv_trucks), bays, cap_kw)
        if taken:
            where = "a transformer" if len(taken) == 1 else f"{len(taken)} transformers"
            words += (
                f" and {_n(len(taken), 'LV truck')} at {where} it may hand over "
                f"({sum(s.p_kw for s in taken):,.0f} kW)"
            )
        elif lv_trucks:
            words += (
                f"; no LV truck (the fleet has {len(lv_trucks)}) can take over a transformer of it"
            )
        text = f"needs {need.min_trucks} trucks, {count} can serve it: {words}: {short}"
        out.append(_shortfall(info, island, text, count, need.min_trucks))
    usable = len(mv_trucks) + len(lv := _lv_taken(needs, lv_trucks))
    if len(infos) > 1 and sum(counts) > usable:
        listed = ", ".join(f"{i} {n}" for i, n in zip(ids, counts, strict=True))
        text = (
            f"the stage needs {sum(counts)} trucks ({listed}), {usable} can serve them "
            f"({len(mv_trucks)} MV, {len(lv)} LV at transformers they may hand over): short by "
            f"{sum(counts) - usable}"
        )
        out.append(Violation("shortfall", text, value=usable, limit=sum(counts)))
    return out


def _in_words(mv: int, fleet: int, bays: int, kw: float) -> str:
    """The MV trucks counted for an island: all the fleet's, or as many as its bays hold."""
    if fleet <= bays:
        return f"the fleet's {_n(mv, 'MV truck')} at its {_n(bays, 'bay')} ({kw:,.0f} kW)"
    return f"{_n(mv, 'MV truck')} of the fleet's {fleet}, as many as its bays hold ({kw:,.0f} kW)"


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _lv_taken(needs: Sequence[MixNeed], trucks: Sequence[Kind]) -> list[LvSlot]:
    """The islands' LV slots the LV trucks `trucks` (one each) can take together, the most kW:
    slots greedily by kW, each taken where a matching of trucks to the slots taken so far
    still exists (an augmenting path; the greedy is exact on this transversal matroid)."""
    slots = sorted(
        ((need, slot) for need in needs for slot in slots_of(need)), key=lambda x: -x[1].p_kw
    )
    owner: dict[int, int] = {}  # truck -> the slot it takes

    def augment(s: int, seen: set[int]) -> bool:
        for t, kind in enumerate(trucks):
            if t not in seen and fits_slot(*slots[s], kind):
                seen.add(t)
                if t not in owner or augment(owner[t], seen):
                    owner[t] = s
                    return True
        return False

    return [slot for s, (_, slot) in enumerate(slots) if augment(s, set())]
