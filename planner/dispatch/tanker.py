"""Fuel logistics: the plan's refuels grouped into tanker rounds.

A tanker of `[fleet] tanker_l` litres leaves full and refuels trucks in time order. A round
serves refuels of one calendar day (local time of the stage) that fall within `ROUND_HOURS` of
its first stop, while its load lasts: a refuel that does not fit in what is left starts the next
round (only a refuel larger than a whole tanker is split over rounds). Written to plan.json as
`summary.fuel_logistics`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from planner.dispatch.schedule import Refuel

__all__ = ["ROUND_HOURS", "TankerRound", "fuel_logistics", "tanker_rounds"]

ROUND_HOURS = 2.0  # a round's stops lie within this many hours of its first


@dataclass(frozen=True)
class Stop:
    truck: str
    time: str
    location: str
    litres: float


@dataclass(frozen=True)
class TankerRound:
    day: str  # YYYY-MM-DD, local time of the stage
    number: int  # 1, 2, ... within the day
    stops: tuple[Stop, ...]

    @property
    def litres(self) -> float:
        return sum(s.litres for s in self.stops)

    @property
    def trucks(self) -> list[str]:
        return sorted({s.truck for s in self.stops}, key=lambda t: (len(t), t))

    def as_json(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "round": self.number,
            "first_stop": self.stops[0].time,
            "last_stop": self.stops[-1].time,
            "litres": round(self.litres, 1),
            "trucks": self.trucks,
            "stops": [
                {"truck": s.truck, "time": s.time, "location": s.location, "litres": s.litres}
                for s in self.stops
            ],
        }


def tanker_rounds(refuels: list[Refuel] | tuple[Refuel, ...], tanker_l: float) -> list[TankerRound]:
    """The rounds that deliver `refuels` with a tanker of `tanker_l` litres (see module doc)."""
    window = timedelta(hours=ROUND_HOURS)
    ordered = sorted(refuels, key=lambda r: (r.time, len(r.truck), r.truck))
    rounds: list[TankerRound] = []
    stops: list[Stop] = []
    left, opened, day, number = 0.0, datetime.min, "", 0

    def close() -> None:
        if stops:
            rounds.append(TankerRound(day, number, tuple(stops)))
            stops.clear()

    for refuel in ordered:
        when = datetime.fromisoformat(refuel.time)
        need = round(refuel.litres, 1)
        if stops and (when.strftime("%Y-%m-%d") != day or when - opened > window):
            close()
            left = 0.0
        while need > 0:
            if left <= 0 or (need > left and need <= tanker_l):
                close()
                if when.strftime("%Y-%m-%d") != day:
                    day, number = when.strftime("%Y-%m-%d"), 0
                number += 1
                left, opened = tanker_l, when
            given = round(min(need, left), 1)
            stops.append(Stop(refuel.truck, refuel.time, refuel.location, given))
            need = round(need - given, 1)
            left = round(left - given, 1)
    close()
    return rounds


def fuel_logistics(refuels: list[Refuel] | tuple[Refuel, ...], tanker_l: float) -> dict[str, Any]:
    """plan.json's `summary.fuel_logistics`: the tanker, its rule, the rounds and daily totals."""
    rounds = tanker_rounds(refuels, tanker_l)
    days: dict[str, dict[str, Any]] = {}
    for r in rounds:
        d = days.setdefault(r.day, {"day": r.day, "rounds": 0, "litres": 0.0, "trucks": set()})
        d["rounds"] += 1
        d["litres"] += r.litres
        d["trucks"] |= set(r.trucks)
    return {
        "tanker_l": tanker_l,
        "rule": (
            f"a full tanker per round; a round serves one day's refuels within {ROUND_HOURS:g} h "
            "of its first stop, in time order, while its load lasts (a refuel that does not fit "
            "starts the next round)"
        ),
        "rounds_total": len(rounds),
        "litres_total": round(sum(r.litres for r in rounds), 1),
        "days": [
            {
                "day": d["day"],
                "rounds": d["rounds"],
                "litres": round(d["litres"], 1),
                "trucks": sorted(d["trucks"], key=lambda t: (len(t), t)),
            }
            for d in days.values()
        ],
        "rounds": [r.as_json() for r in rounds],
    }
