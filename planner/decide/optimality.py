"""How good a plan's truck count is: lower bounds, and whether the plan meets a proven one.

Two bounds per stage. The *switching bound* is the planner's own sizing for the switching it
chose: each truck island's protected design load over one truck's kW and kVA (plus one under
n-1). The *proven bound* holds whatever anyone switches, and is only given for stages with no
tie the case allows: the cut-off islands are then fixed, and each must get at least its
protected design kW over `rating_kw` in trucks (trucks never absorb power, losses only add;
kVA is left out because cables in the island may supply reactive power, and a stage whose
islands keep their generation gets no proven bound). The works need at least the largest
stage's proven bound in distinct trucks, since a stage's trucks are all out at once.
"""

from __future__ import annotations

import math
from typing import Any

from planner.core.switching import Switching
from planner.decide.planning import truck_islands
from planner.decide.transfer import candidate_ties
from planner.grid.context import StageContext
from planner.inputs.case import Reserve, SgenMode

__all__ = ["SEARCHED", "optimality", "stage_bounds"]

SEARCHED = (
    "per stage in time order: AC-screened tie transfers (greedy, sectionaliser cuts by bisection), "
    "truck islands paralleled where that saves trucks, a MILP placement of the fewest trucks "
    "(trucks standing at a point stay, moves only where setup_hours allow, points a stage "
    "starting too soon after needs preferred), more trucks where hour-by-hour verification fails"
)


def stage_bounds(ctx: StageContext, switching: Switching) -> tuple[int | None, int]:
    """The stage's proven bound (None when ties or kept generation leave it open) and the
    bound for the switching it was planned with."""
    if not ctx.cut_off:
        return 0, 0
    chosen = sum(info.lower_bound for info in truck_islands(ctx, switching))
    case = ctx.case
    if candidate_ties(ctx) or case.islanded_sgen is SgenMode.KEEP:
        return None, chosen
    spare = 1 if case.fleet.reserve is Reserve.N_1 else 0
    proven = 0
    for info in truck_islands(ctx, Switching()):
        need = math.ceil(info.design_kw / case.fleet.rating_kw - 1e-9)
        proven += need + spare if need > 0 else 0
    return proven, chosen


def optimality(
    trucks_used: int, feasible: bool, bounds: list[tuple[int | None, int]]
) -> dict[str, Any]:
    """`summary.optimality` of a plan from its stages' bounds."""
    proven = [b for b, _ in bounds if b is not None]
    lower = max(proven, default=0)
    chosen = max((c for _, c in bounds), default=0)
    return {
        "trucks_lower_bound": lower,
        "trucks_lower_bound_for_switching": chosen,
        "proven_minimal": bool(feasible and trucks_used == lower),
        "stages_with_proven_bound": len(proven),
        "searched": SEARCHED,
    }
