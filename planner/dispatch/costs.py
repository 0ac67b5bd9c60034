"""What the plan costs: truck rental, mobilisation and fuel, and the customer cost it avoids.

Rules (a test recomputes them from schedule rows):
- a truck is hired from the first hour it sets up for a stage until the end of the last stage it
  stands in plus `setup_hours` to drive back; rental is `truck_day` per started day of that hire;
- `mobilisation` is charged once per truck hired (to the works and back);
- a truck type's own `truck_day` and `mobilisation` (`[[fleet.types]]`) replace `[costs]`' for
  its trucks;
- with `daily` works windows the trucks run only inside them (schedule rows `online`): fuel and
  running hours count those hours only, while rental stays per started day of the whole hire,
  the nights the trucks stand idle at their bays included (they are not driven back each day);
- fuel is the plan's fuel (`summary.fuel_l`) at `fuel_per_l`;
- the customer cost avoided is `value_of_lost_load_per_kwh` times the energy the truck-fed
  customers would not have been supplied under the counterfactual of `summary.benefit`: each
  stage's truck-served energy, scaled by `conventional_outage_hours` over the stage's duration
  when `[benefit]` gives it (at most the whole stage).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from planner.dispatch.schedule import FleetHour
from planner.inputs.case import Case

__all__ = ["hire_days", "plan_costs"]

_HIRED = ("setup", "online", "standby")  # statuses of a truck at (or going to) a stage
_DAY = timedelta(days=1)
_OWN_PRICES = ("truck_day", "mobilisation")  # a truck type may give its own


def _own(case: Case, truck: str, key: str) -> bool:
    """Whether the truck's type gives its own price `key`."""
    kind = case.fleet.type_of(truck)
    return kind is not None and getattr(kind, key) is not None


def hire_days(rows: Sequence[FleetHour], setup_hours: float) -> dict[str, int]:
    """Started days of hire per truck, from its first set-up hour to its return to the depot."""
    first: dict[str, datetime] = {}
    last: dict[str, datetime] = {}
    for row in rows:
        if row.status not in _HIRED:
            continue
        end = row.time + timedelta(hours=row.hours)
        first[row.truck] = min(first.get(row.truck, row.time), row.time)
        last[row.truck] = max(last.get(row.truck, end), end)
    back = timedelta(hours=setup_hours)
    return {
        truck: max(1, math.ceil((last[truck] + back - first[truck]) / _DAY - 1e-9))
        for truck in sorted(first, key=lambda s: (len(s), s))
    }


def plan_costs(
    case: Case, rows: Sequence[FleetHour], fuel_l: float, lost_kwh: float
) -> dict[str, Any] | None:
    """`summary.costs`, or None when the case has no `[costs]`."""
    costs = case.costs
    if costs is None:
        return None
    days = hire_days(rows, case.fleet.setup_hours)
    truck_days = sum(days.values())
    day_rate: dict[str, float] = {}
    per_truck: dict[str, float] = {}
    for truck in days:  # a type's own prices before [costs]'
        kind = case.fleet.type_of(truck)
        own_day = None if kind is None else kind.truck_day
        own_mob = None if kind is None else kind.mobilisation
        day_rate[truck] = own_day if own_day is not None else costs.truck_day or 0.0
        per_truck[truck] = own_mob if own_mob is not None else costs.mobilisation or 0.0
    # each part in cents, so that the parts as written add up to the totals as written
    rental = round(sum(n * day_rate[truck] for truck, n in days.items()), 2)
    mobilisation = round(sum(per_truck.values()), 2)
    fuel = round(fuel_l * (costs.fuel_per_l or 0.0), 2)
    total = round(rental + mobilisation + fuel, 2)
    avoided = (
        None
        if costs.value_of_lost_load_per_kwh is None
        else round(lost_kwh * costs.value_of_lost_load_per_kwh, 2)
    )
    return {
        "currency": costs.currency,
        "truck_days": truck_days,
        "trucks_hired": len(days),
        "rental": rental,
        "mobilisation": mobilisation,
        "fuel_l": round(fuel_l, 1),
        "fuel": fuel,
        "total": total,
        "energy_not_supplied_conventionally_kwh": round(lost_kwh, 1),
        "customer_cost_avoided": avoided,
        "net_benefit": None if avoided is None else round(avoided - total, 2),
        "not_given": [  # a price neither [costs] nor every hired truck's type gives
            key
            for key in ("truck_day", "mobilisation", "fuel_per_l", "value_of_lost_load_per_kwh")
            if getattr(costs, key) is None
            and not (key in _OWN_PRICES and days and all(_own(case, t, key) for t in days))
        ],
    }
