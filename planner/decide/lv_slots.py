"""The LV slots of an island left to trucks: distribution transformers an LV truck may take over.

A transformer is a slot of an island when the fleet has LV trucks, the case asks for no n-1
reserve (an island of one truck has none), its MV bus is in the island, and, opened where
`planner.grid.lv_points` says, its LV side is a part of its own (no bus of 1 kV or more, no
other transformer's LV bus) with protected load. The slot's load is that part's protected
design load (and its design energy over the stage, for an LV battery truck); taking the slot
hands it to one LV truck at the transformer's LV bus.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol, TypeVar

from planner.core.plan import IslandPlan
from planner.core.switching import Switching
from planner.decide.mix_needs import LvSlot
from planner.grid.context import StageContext
from planner.grid.lv_points import LV_KV, lv_points
from planner.grid.powerflow import TruckAt
from planner.grid.state import with_switching
from planner.grid.topology import build_graph, islands_of
from planner.inputs.case import Reserve

__all__ = ["island_ids", "lv_slots", "with_lv_opens", "without_failing_lv"]


class _Island(Protocol):
    """An island left to trucks (`planning.IslandInfo`), as these helpers read it."""

    @property
    def buses(self) -> frozenset[int]: ...
    @property
    def lv(self) -> tuple[LvSlot, ...]: ...


Info = TypeVar("Info", bound=_Island)


def lv_slots(
    ctx: StageContext, switching: Switching, islands: Sequence[frozenset[int]]
) -> list[tuple[LvSlot, ...]]:
    """Each island's slots (none when the fleet has no LV trucks or keeps an n-1 reserve)."""
    fleet = ctx.case.fleet
    if fleet.reserve == Reserve.N_1 or not any(t.connects == "lv" for t in fleet.types):
        return [() for _ in islands]
    points = lv_points(ctx.base_net, ctx.case.switching.device)
    inside = frozenset().union(*islands) if islands else frozenset()
    mine = [p for p in points.values() if (p.lone or p.mv_bus in inside) and p.bus in inside]
    if not mine:
        return [() for _ in islands]
    opened = Switching(switching.close, (*switching.open, *(p.opens for p in mine)),
                       switching.in_service)  # fmt: skip
    graph = build_graph(with_switching(ctx.works_net, opened))
    parts = {min(part): part for part in islands_of(graph, inside)}
    part_of = {b: part for part in parts.values() for b in part}
    lv_buses = {p.bus for p in mine}
    vn_kv = ctx.base_net.bus.vn_kv
    out: list[list[LvSlot]] = [[] for _ in islands]
    for point in mine:
        part = part_of.get(point.bus)
        if part is None or part & lv_buses != {point.bus}:
            continue
        if point.lone and part != {point.bus}:
            continue
        if not point.lone and any(float(vn_kv.at[b]) >= LV_KV for b in part):
            continue
        protected = [i for i in ctx.loads_on(part) if i in ctx.protected]
        p_kw, q_kvar = ctx.peak_kw(protected)
        if p_kw <= 0 and q_kvar <= 0:
            continue
        k = next(k for k, buses in enumerate(islands) if point.bus in buses)
        energy = ctx.energy_kwh(protected)  # what an LV battery truck must hold
        out[k].append(LvSlot(point.bus, p_kw, q_kvar, (point.opens,), point.what, energy))
    return [tuple(slots) for slots in out]


def with_lv_opens(
    switching: Switching, slots: Sequence[LvSlot], trucks: Sequence[TruckAt], lv: set[str]
) -> Switching:
    """`switching` with the transformers of the slots LV trucks (ids `lv`) took opened."""
    taken = {t.bus for t in trucks if t.id in lv}
    opens = [ref for slot in slots if slot.bus in taken for ref in slot.opens]
    opens = [ref for ref in opens if ref not in switching.open]
    if not opens:
        return switching
    return Switching(switching.close, (*switching.open, *opens), switching.in_service)


def island_ids(infos: Sequence[_Island], islands: Sequence[IslandPlan], lv: set[str]) -> list[str]:
    """The checked island of each island left to trucks: the one sharing most of its buses
    that holds no LV truck (the LV trucks' islands are their transformers' LV sides)."""
    if not lv:
        by_min_bus = {min(i.buses): i.id for i in islands}
        return [by_min_bus.get(min(info.buses), "?") for info in infos]
    out = []
    for info in infos:
        found = [
            (len(set(i.buses) & info.buses), i.id)
            for i in islands
            if set(i.buses) & info.buses and not set(i.trucks) & lv
        ]
        out.append(max(found)[1] if found else "?")
    return out


def without_failing_lv(
    infos: list[Info],
    islands: Sequence[IslandPlan],
    failing: set[str],
    trucks: Sequence[TruckAt],
    lv: set[str],
) -> tuple[list[Info], str] | None:
    """`infos` without the slots whose LV islands failed verification, and the note; None
    when no LV island failed."""
    buses = {
        t.bus
        for isl in islands
        if isl.id in failing
        for t in trucks
        if t.id in lv and t.id in isl.trucks
    }
    if not buses:
        return None
    kept = [
        dataclasses.replace(i, lv=tuple(s for s in i.lv if s.bus not in buses))  # type: ignore[type-var]
        for i in infos
    ]
    names = ", ".join(s.name for i in infos for s in i.lv if s.bus in buses)
    return kept, f"LV truck island(s) of {names} failed verification; back to the MV trucks"
