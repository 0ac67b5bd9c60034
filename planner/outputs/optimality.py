"""The plan's optimality in words, for the terminal, plan.md and the report."""

from __future__ import annotations

from typing import Any

__all__ = ["optimality_text"]


def optimality_text(found: dict[str, Any], trucks_used: int) -> str:
    """One line for engineers: how good the truck count is known to be."""
    lower, chosen = found["trucks_lower_bound"], found["trucks_lower_bound_for_switching"]
    if found["proven_minimal"]:
        return f"{trucks_used} truck(s), proven minimal (no plan can do with fewer)"
    return (
        f"{trucks_used} truck(s); proven lower bound {lower}, lower bound for the switching "
        f"chosen {chosen}; not proven minimal (stages with ties or kept generation leave the "
        "bound open)"
    )
