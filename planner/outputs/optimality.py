"""The plan's optimality in words, for the terminal, plan.md and the report."""

from __future__ import annotations

from typing import Any

__all__ = ["optimality_text"]


def optimality_text(found: dict[str, Any], trucks_used: int) -> str:
    """One line for engineers: how good the truck count is known to be, and over what."""
    lower, chosen = found["trucks_lower_bound"], found["trucks_lower_bound_for_switching"]
    searches = found.get("search") or []
    limits = sorted({s.get("max_operations") for s in searches if s.get("closes")})
    within = (
        f" within switch sets of at most {'/'.join(str(n) for n in limits)} operations"
        if limits
        else ""
    )
    if found["proven_minimal"]:
        if within:
            return (
                f"{trucks_used} truck(s), proven minimal{within} (every such switch set "
                "searched: none lets a plan do with fewer)"
            )
        return f"{trucks_used} truck(s), proven minimal (no plan can do with fewer)"
    if any(not s.get("exhaustive", True) for s in searches):
        why = "the search over switch sets was cut short"
    elif lower < trucks_used and searches:
        why = "a switch set that passes the AC screen leaves fewer trucks by its load bound"
    else:
        why = "kept generation leaves the bound open"
    return (
        f"{trucks_used} truck(s); proven lower bound {lower}{within}, lower bound for the "
        f"switching chosen {chosen}; not proven minimal ({why})"
    )
