"""Which truck of the fleet goes where, stage after stage.

A truck serves a stage from `setup_hours` before its start (driving, connecting, synchronising)
to its end. It can serve the next stage at the same bus whenever that starts after this one
ends; at another bus only if the gap leaves it `setup_hours`. Trucks are named T1..Tn across the
whole works, so a crew follows one truck through every stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = ["FleetState"]


@dataclass
class FleetState:
    """Where each truck of the fleet is and from when it is free, as stages are planned."""

    size: int
    setup_hours: float
    bus: dict[str, int] = field(default_factory=dict)
    free_from: dict[str, datetime] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        return [f"T{i + 1}" for i in range(max(self.size, 0))]

    def assign(self, start: datetime, buses: list[int]) -> tuple[list[str], list[str]]:
        """Truck ids for trucks needed at `buses` from `start`, and problems of timing."""
        setup = timedelta(hours=self.setup_hours)
        free = [t for t in self.ids if t not in self.free_from or self.free_from[t] <= start]
        chosen: list[str | None] = [None] * len(buses)
        for i, bus in enumerate(buses):  # a truck already standing at the bus stays there
            stay = next((t for t in free if self.bus.get(t) == bus), None)
            if stay is not None:
                chosen[i] = stay
                free.remove(stay)
        problems = []
        for i, bus in enumerate(buses):
            if chosen[i] is not None:
                continue
            movable = [
                t for t in free if t not in self.free_from or self.free_from[t] + setup <= start
            ]
            if movable:
                chosen[i] = movable[0]
                free.remove(movable[0])
            else:
                spare = next((t for t in self.ids if t not in chosen), None)
                chosen[i] = spare or f"T{self.size + i + 1}"
                problems.append(
                    f"no truck of the fleet can be at bus {bus} by {start.isoformat()}: every "
                    f"truck is busy less than {self.setup_hours:g} h (setup_hours) before"
                )
        return [c for c in chosen if c is not None], problems

    def commit(self, end: datetime, trucks: list[tuple[str, int]]) -> None:
        for truck_id, bus in trucks:
            self.bus[truck_id] = bus
            self.free_from[truck_id] = end
