"""The case's optional `[costs]` table: what trucks, their mobilisation and fuel cost, and what
an interruption costs customers (the value of lost load)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from planner.inputs import schema
from planner.inputs.schema import Reader

__all__ = ["Costs", "read_costs"]

_COSTS = {"truck_day", "mobilisation", "fuel_per_l", "currency", "value_of_lost_load_per_kwh"}
_MONEY = schema.all_of(schema.non_negative, schema.at_most(1e9))
_CURRENCY = re.compile(r"[A-Za-z$€£¥]{1,8}")


@dataclass(frozen=True)
class Costs:
    """Prices in `currency`; a figure the case does not give is None and costs nothing."""

    truck_day: float | None = None  # rental per truck per started day of hire
    mobilisation: float | None = None  # per truck hired: to the works and back
    fuel_per_l: float | None = None
    currency: str = ""
    value_of_lost_load_per_kwh: float | None = None  # what customers lose per kWh not supplied


def read_costs(r: Reader, data: dict[str, Any]) -> Costs | None:
    """`[costs]`, or None when the case has no such table (its plan then has no `costs`)."""
    if "costs" not in data:
        return None
    table = r.table(data, "costs", "costs", _COSTS)
    if table is None:
        return None
    figures = {
        key: r.value(table, key, "costs", float, None, _MONEY)
        for key in sorted(_COSTS - {"currency"})
    }
    currency = r.value(table, "currency", "costs", str, "")
    if currency and not _CURRENCY.fullmatch(currency):
        r.error(
            "costs.currency",
            "expected a currency code or sign of 1-8 letters (EUR, CNY, $), "
            f"got {schema.shown(currency)}",
        )
        currency = ""
    return Costs(currency=currency or "", **figures)
