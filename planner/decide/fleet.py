"""Which truck of the fleet goes where, stage after stage.

A truck serves a stage from `setup_hours` before its start (driving, connecting, synchronising)
to its end. It can serve the next stage at the same bus whenever that starts after this one
ends; at another bus only if the gap leaves it `setup_hours`. Trucks are named T1..Tn across the
whole works, so a crew follows one truck through every stage; with a mixed fleet the trucks of
each type are named `<type>-1..n` and a truck is only ever chosen for a place of its own type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from planner.inputs.case import Fleet

__all__ = ["Availability", "FleetState"]


@dataclass(frozen=True)
class Availability:
    """What the fleet offers a stage starting at some time: trucks standing at buses (free by
    then; `movable` if they could also reach another bus), used trucks that can move in time,
    and trucks never used yet (at the depot, free to go anywhere)."""

    standing: dict[int, tuple[bool, ...]]  # bus -> movable flag of each truck standing there
    movable_used: int
    fresh: int


@dataclass
class FleetState:
    """Where each truck of the fleet is and from when it is free, as stages are planned."""

    size: int
    setup_hours: float
    bus: dict[str, int] = field(default_factory=dict)
    free_from: dict[str, datetime] = field(default_factory=dict)
    types: tuple[tuple[str, int], ...] = ()  # a mixed fleet: (type name, trucks) each
    once: frozenset[str] = frozenset()  # types whose trucks serve one stage (batteries)

    @classmethod
    def of(cls, fleet: Fleet) -> FleetState:
        """The fleet at the depot before the works. A battery truck serves one stage: nothing
        recharges it on site, and each stage counts it full."""
        types = tuple((t.name, t.trucks) for t in fleet.types if t.name is not None)
        once = frozenset(t.name for t in fleet.types if t.name is not None and t.battery)
        return cls(fleet.trucks, fleet.setup_hours, types=types, once=once)

    def spent(self, truck: str) -> bool:
        """A battery truck that has served a stage already: it serves no other."""
        return truck in self.bus and self.type_of(truck) in self.once

    @property
    def ids(self) -> list[str]:
        if self.types:
            return [f"{name}-{i + 1}" for name, n in self.types for i in range(n)]
        return [f"T{i + 1}" for i in range(max(self.size, 0))]

    def type_of(self, truck: str) -> str | None:
        """The type of a truck of a mixed fleet (None for a single-type fleet's)."""
        return {f"{name}-{i + 1}": name for name, n in self.types for i in range(n)}.get(truck)

    def by_type(self, start: datetime) -> dict[str, tuple[int, int, dict[int, int]]]:
        """Trucks of each type of a mixed fleet that can serve a stage starting at `start`:
        those free to go anywhere (at the depot, or free and able to reach another bus in
        time), of which hired for earlier stages, and those standing at a bus that cannot
        leave it in time (by bus)."""
        setup = timedelta(hours=self.setup_hours)
        out: dict[str, tuple[int, int, dict[int, int]]] = {n: (0, 0, {}) for n, _ in self.types}
        for truck in self.ids:
            anywhere, hired, pinned = out[self.type_of(truck) or ""]
            if self.spent(truck):
                continue
            if truck not in self.bus:
                out[self.type_of(truck) or ""] = (anywhere + 1, hired, pinned)
            elif self.free_from[truck] + setup <= start:
                out[self.type_of(truck) or ""] = (anywhere + 1, hired + 1, pinned)
            elif self.free_from[truck] <= start:
                pinned[self.bus[truck]] = pinned.get(self.bus[truck], 0) + 1
        return out

    def availability(self, start: datetime) -> Availability:
        setup = timedelta(hours=self.setup_hours)
        standing: dict[int, list[bool]] = {}
        movable_used = 0
        for truck in self.ids:
            if truck not in self.bus:
                continue
            free = self.free_from[truck]
            if free > start:
                continue  # still busy in an overlapping stage
            movable = free + setup <= start
            movable_used += movable
            standing.setdefault(self.bus[truck], []).append(movable)
        return Availability(
            {bus: tuple(sorted(flags)) for bus, flags in standing.items()},
            movable_used,
            sum(1 for t in self.ids if t not in self.bus),
        )

    def assign(
        self, start: datetime, buses: list[int], types: list[str] | None = None
    ) -> tuple[list[str], list[str]]:
        """Truck ids for trucks needed at `buses` from `start` (of the `types` given, one per
        bus, in a mixed fleet), and problems of timing."""
        setup = timedelta(hours=self.setup_hours)
        free = [
            t
            for t in self.ids
            if (t not in self.free_from or self.free_from[t] <= start) and not self.spent(t)
        ]
        chosen: list[str | None] = [None] * len(buses)
        wanted: list[str | None] = list(types) if types else [None] * len(buses)

        def fits(truck: str, i: int) -> bool:
            return wanted[i] is None or self.type_of(truck) == wanted[i]

        for i, bus in enumerate(buses):  # a truck already standing at the bus stays there
            here = [t for t in free if self.bus.get(t) == bus and fits(t, i)]  # least movable
            stay = max(here, key=lambda t: self.free_from[t], default=None)
            if stay is not None:
                chosen[i] = stay
                free.remove(stay)
        problems = []
        for i, bus in enumerate(buses):
            if chosen[i] is not None:
                continue
            movable = sorted(  # a truck already out before one from the depot
                (
                    t
                    for t in free
                    if (t not in self.free_from or self.free_from[t] + setup <= start)
                    and fits(t, i)
                ),
                key=lambda t: t not in self.bus,
            )
            if movable:
                chosen[i] = movable[0]
                free.remove(movable[0])
            else:
                spare = next((t for t in self.ids if t not in chosen and fits(t, i)), None)
                chosen[i] = (
                    spare or f"{wanted[i] or 'T'}{'-' if wanted[i] else ''}{self.size + i + 1}"
                )
                problems.append(
                    f"no truck of the fleet can be at bus {bus} by {start.isoformat()}: every "
                    f"truck is busy less than {self.setup_hours:g} h (setup_hours) before"
                )
        return [c for c in chosen if c is not None], problems

    def commit(self, end: datetime, trucks: list[tuple[str, int]]) -> None:
        for truck_id, bus in trucks:
            self.bus[truck_id] = bus
            self.free_from[truck_id] = end
