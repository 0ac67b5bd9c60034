"""The plan's costs in words, the same in the terminal, plan.md and the report."""

from __future__ import annotations

from typing import Any

__all__ = ["costs_text"]


def _money(currency: str, amount: float) -> str:
    return f"{currency} {amount:,.0f}" if currency else f"{amount:,.0f}"


def costs_text(summary: dict[str, Any]) -> str | None:
    """One line: the total and its parts, and what the plan avoids customers; None without
    `[costs]` in the case."""
    c = summary.get("costs")
    if not c:
        return None
    cur = c["currency"]
    text = (
        f"{_money(cur, c['total'])} (rental {_money(cur, c['rental'])} for "
        f"{c['truck_days']} truck-day{'s' if c['truck_days'] != 1 else ''}, mobilisation "
        f"{_money(cur, c['mobilisation'])} for {c['trucks_hired']} "
        f"truck{'s' if c['trucks_hired'] != 1 else ''}, fuel {_money(cur, c['fuel'])} for "
        f"{c['fuel_l']:,.0f} l)"
    )
    if c["customer_cost_avoided"] is not None:
        text += (
            f"; customer cost avoided {_money(cur, c['customer_cost_avoided'])} "
            f"({c['energy_not_supplied_conventionally_kwh']:,.0f} kWh not supplied "
            f"conventionally), net {_money(cur, c['net_benefit'])}"
        )
    if c["not_given"]:
        text += f"; not costed: {', '.join(c['not_given'])}"
    return text
