"""Hourly dispatch: each stage's schedule, and per truck where it is, what it runs and its fuel.

Fuel is `fuel_l_per_kwh` times the energy a truck delivers in the hour. A tank starts full
(`tank_l`); a truck is refuelled in place, to full, before an hour that would take its tank
below the 10 % kept in reserve (each truck with its own type's figures in a mixed fleet).
A battery truck (`storage_kwh` > 0) burns no fuel and has no tank (0 L, never refuelled); its
rows give the energy it has left (`battery_kwh`, as verification tracked it: full at each
stage's start), a column schedule.csv has only when the fleet has battery trucks.
Outside its stages a truck is at the depot, setting up
(`setup_hours` before its stage starts) or standing by at its last bay. Outside a stage's
`daily` windows its trucks are disconnected and stand idle at their bays:
status `idle` with the stage's name, no fuel burnt; each window's end is listed, then the hours.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from planner.checks.stage import StageCheck
from planner.core.text import for_csv_cell
from planner.grid.powerflow import truck_loading_percent
from planner.inputs.case import Case, Stage, TruckType
from planner.inputs.windows_daily import in_windows, window_step_hours

__all__ = ["FleetHour", "Refuel", "fleet_timeline", "stage_schedule", "to_csv"]

RESERVE_SHARE = 0.1
CSV_COLUMNS = (
    "time",
    "truck",
    "status",
    "stage",
    "location",
    "bus",
    "island",
    "online",
    "p_kw",
    "q_kvar",
    "loading_percent",
    "fuel_l",
    "tank_l",
    "refuel_l",
)


def _durations(stage: Stage, check: StageCheck) -> dict[datetime, float]:
    """How long each checked time of a stage holds (an hour, or a profile row's quarter; at
    most to the end of its works window)."""
    times = [h.time for h in check.hours]
    return dict(zip(times, window_step_hours(times, stage.windows), strict=True))


def _off_window(stage: Stage, grid: datetime) -> set[datetime]:
    """The times a schedule lists outside a stage's `daily` windows: each window's end, and the
    hours of the grid from `grid` that fall in the stage but in no window."""
    if stage.daily is None:
        return set()
    windows = stage.windows
    out = {end for _, end in windows if end < stage.end}
    t = grid + timedelta(hours=math.ceil((stage.start - grid) / timedelta(hours=1)))
    while t < stage.end:
        if not in_windows(t, windows):
            out.add(t)
        t += timedelta(hours=1)
    return out


def stage_schedule(case: Case, stage: Stage, check: StageCheck) -> list[dict[str, Any]]:
    """One entry per check time (every profile row): trucks online, their kW/kvar, island loads
    and the voltage range."""
    fleet = case.fleet
    out = []
    durations = _durations(stage, check)
    for hour in check.hours:
        duration = durations[hour.time]
        entry: dict[str, Any] = {
            "time": hour.time.isoformat(),
            "online": list(hour.online),
            "truck_kw": {t: round(v, 1) for t, v in sorted(hour.truck_kw.items())},
            "truck_kvar": {t: round(v, 1) for t, v in sorted(hour.truck_kvar.items())},
            "fuel_l": {
                t: round(max(v, 0.0) * duration * _fuel_l_per_kwh(fleet.machine(t)), 1)
                for t, v in sorted(hour.truck_kw.items())
            },
            "island_load_kw": {i: round(v, 1) for i, v in sorted(hour.island_load_kw.items())},
            "island_losses_kw": {i: round(v, 2) for i, v in sorted(hour.island_losses_kw.items())},
            "min_vm_pu": None if math.isnan(hour.min_vm_pu) else round(hour.min_vm_pu, 5),
            "max_vm_pu": None if math.isnan(hour.max_vm_pu) else round(hour.max_vm_pu, 5),
        }
        if hour.battery_kwh:  # an added field: stages without battery trucks as before
            entry["battery_kwh"] = {t: round(v, 1) for t, v in sorted(hour.battery_kwh.items())}
        out.append(entry)
    return out


@dataclass(frozen=True)
class FleetHour:
    """One truck in one hour of the works."""

    time: datetime
    truck: str
    status: str  # depot | setup | online | standby | idle
    stage: str
    location: str
    bus: int | None
    island: str
    online: bool
    p_kw: float
    q_kvar: float
    loading_percent: float
    fuel_l: float
    tank_l: float
    refuel_l: float
    energy_kwh: float
    hours: float = 1.0  # how long this row holds (a quarter hour with a quarter-hour profile)
    battery_kwh: float | None = None  # a battery truck's energy left at the row's end


def _fuel_l_per_kwh(kind: TruckType) -> float:
    """What a truck burns per kWh: a battery truck nothing."""
    return 0.0 if kind.battery else kind.fuel_l_per_kwh


@dataclass(frozen=True)
class Refuel:
    truck: str
    time: str
    location: str
    litres: float

    def as_json(self) -> dict[str, Any]:
        return {
            "truck": self.truck,
            "time": self.time,
            "location": self.location,
            "litres": round(self.litres, 1),
        }


def fleet_timeline(
    case: Case, stages: list[tuple[Stage, StageCheck]]
) -> tuple[list[FleetHour], list[Refuel]]:
    """Every used truck, every hour from the first set-up to the end of the works."""
    fleet = case.fleet
    setup = timedelta(hours=fleet.setup_hours)
    used = sorted({t.id for _, c in stages for t in c.trucks}, key=lambda s: (len(s), s))
    if not used:
        return [], []
    ordered = sorted(stages, key=lambda sc: sc[0].start)
    first = min(s.start for s, c in ordered if c.trucks) - setup
    last = max(s.end for s, _ in ordered)
    times = {h.time for _, c in ordered for h in c.hours}
    t = first
    while t < last:  # hours between stages, on the grid of the first set-up
        if not any(s.start <= t < s.end for s, _ in ordered):
            times.add(t)
        t += timedelta(hours=1)
    off: dict[datetime, Stage] = {}  # times in a stage outside its daily windows
    for stage, _ in ordered:
        off |= dict.fromkeys(_off_window(stage, first), stage)
    times |= set(off)
    per_hour: dict[tuple[str, datetime], tuple[Stage, StageCheck, Any]] = {}
    durations: dict[datetime, float] = {}
    listed = sorted(times)
    for now, then in zip(listed, [*listed[1:], last], strict=True):
        if now in off:  # until the next listed time: the next window, or the next hour
            durations[now] = (min(then, off[now].end) - now).total_seconds() / 3600.0
    for stage, check in ordered:
        durations |= _durations(stage, check)
        for hour in check.hours:
            for truck in check.trucks:
                per_hour[(truck.id, hour.time)] = (stage, check, hour)
    rows: list[FleetHour] = []
    refuels: list[Refuel] = []
    for truck_id in used:
        kind = fleet.machine(truck_id)  # its type's tank, fuel use and ratings
        tank_l = 0.0 if kind.battery else kind.tank_l  # a battery truck has no tank
        tank = tank_l
        charge = kind.storage_kwh if kind.battery else None
        where: tuple[str, int | None, str] = ("depot", None, "")
        for t in sorted(times):
            status, stage_name, online, p, q, duration = "depot", "", False, 0.0, 0.0, 1.0
            hit = _hour_at(per_hour, truck_id, t)
            if hit is not None:
                stage, check, hour = hit
                truck = next(x for x in check.trucks if x.id == truck_id)
                where = (truck.connection_point, truck.bus, truck.island)
                stage_name = stage.name
                online = truck_id in hour.online
                status = "online" if online else "standby"
                p, q = hour.truck_kw.get(truck_id, 0.0), hour.truck_kvar.get(truck_id, 0.0)
                duration = durations[t]
                if charge is not None:
                    charge = hour.battery_kwh.get(truck_id, charge)
            elif t in off and _placed(off[t], ordered, truck_id) is not None:
                # outside the daily window: disconnected, idle at its bay, no fuel burnt
                truck = _placed(off[t], ordered, truck_id)
                status, stage_name, duration = "idle", off[t].name, durations[t]
                where = (truck.connection_point, truck.bus, truck.island)
            else:
                upcoming = _next_use(ordered, truck_id, t)
                if upcoming is not None and upcoming[0].start - setup <= t < upcoming[0].start:
                    status, stage_name = "setup", upcoming[0].name
                    where = (upcoming[1].connection_point, upcoming[1].bus, upcoming[1].island)
                elif where[0] != "depot":
                    status = "idle"
            energy = max(p, 0.0) * duration if online else 0.0
            fuel = energy * _fuel_l_per_kwh(kind)
            refuel = 0.0
            if online and not kind.battery and tank - fuel < RESERVE_SHARE * tank_l:
                refuel = tank_l - tank
                tank = tank_l
                refuels.append(Refuel(truck_id, t.isoformat(), where[0], refuel))
            tank -= fuel
            rows.append(
                FleetHour(
                    t,
                    truck_id,
                    status,
                    stage_name,
                    where[0],
                    where[1],
                    where[2] if hit else "",
                    online,
                    p,
                    q,
                    truck_loading_percent(p, q, kind.rating_kw, kind.rating_kva),
                    fuel,
                    tank,
                    refuel,
                    energy,
                    duration,
                    charge,
                )
            )
    rows.sort(key=lambda r: (r.time, len(r.truck), r.truck))
    refuels.sort(key=lambda r: (r.time, len(r.truck), r.truck))
    return rows, refuels


def _hour_at(per_hour, truck_id: str, t: datetime):
    return per_hour.get((truck_id, t))


def _placed(stage: Stage, ordered, truck_id: str):
    """The truck `truck_id` as `stage` places it, or None."""
    for other, check in ordered:
        if other is stage:
            return next((x for x in check.trucks if x.id == truck_id), None)
    return None


def _next_use(ordered, truck_id: str, t: datetime):
    for stage, check in ordered:
        if stage.start > t:
            for truck in check.trucks:
                if truck.id == truck_id:
                    return stage, truck
    return None


def to_csv(rows: list[FleetHour]) -> str:
    """schedule.csv: one row per truck per hour; names from the case as inert cells. With
    battery trucks an added last column `battery_kwh` (their energy left; empty for others)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    batteries = any(r.battery_kwh is not None for r in rows)
    writer.writerow(CSV_COLUMNS + (("battery_kwh",) if batteries else ()))
    for r in rows:
        charge = [] if not batteries else ["" if r.battery_kwh is None else f"{r.battery_kwh:.1f}"]
        writer.writerow(
            [
                r.time.isoformat(),
                for_csv_cell(r.truck),
                for_csv_cell(r.status),
                for_csv_cell(r.stage),
                for_csv_cell(r.location),
                "" if r.bus is None else r.bus,
                for_csv_cell(r.island),
                int(r.online),
                f"{r.p_kw:.1f}",
                f"{r.q_kvar:.1f}",
                f"{r.loading_percent:.1f}",
                f"{r.fuel_l:.1f}",
                f"{r.tank_l:.1f}",
                f"{r.refuel_l:.1f}",
                *charge,
            ]
        )
    return buffer.getvalue()
