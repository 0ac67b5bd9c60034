"""The plan's benefit in words, the same in the terminal, plan.md and the report."""

from __future__ import annotations

from typing import Any

__all__ = ["benefit_text", "customer_hours_text"]


def customer_hours_text(summary: dict[str, Any]) -> str:
    """Customer-hours avoided, or the kWh kept supplied on networks without household figures."""
    b = summary["benefit"]
    if b["customer_hours_avoided"] is None:
        return f"{b['energy_served_kwh']:,.0f} kWh kept supplied by trucks (no household figures)"
    return f"{b['customer_hours_avoided']:,.0f} customer-hours avoided"


def benefit_text(summary: dict[str, Any]) -> str:
    """Who the trucks and transfers keep supplied, what that avoids, and against what."""
    b = summary["benefit"]
    if b["households_truck_fed"] is None:
        who = f"{b['truck_fed_peak_kw']:,.0f} kW peak carried by trucks"
    else:
        who = (
            f"{b['households_truck_fed']:,} households carried by trucks, "
            f"{b['households_transferred']:,} transferred"
        )
    return f"{who}; {customer_hours_text(summary)} (counterfactual: {b['counterfactual']})"
