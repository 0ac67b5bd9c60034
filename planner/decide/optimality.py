"""How good a plan's truck count is: lower bounds, and whether the plan meets a proven one.

Two bounds per stage. The *switching bound* is the planner's own sizing for the switching it
chose: each truck island's protected design load over one truck's kW and kVA (plus one under
n-1). The *proven bound* holds for every plan whose switch set is within what the search
enumerated (`decide/search.py`): every switch set of at most the operation limit that keeps the
energised network radial and loses no customer. Each such set needs at least its truck islands'
protected design kW over `rating_kw` in trucks (trucks never absorb power, losses only add;
kVA is left out because cables in an island may supply reactive power); a set whose grid fails
the AC screen at the peak hours cannot be part of a plan. The smallest bound among the sets
that pass, and the plan's own switching, is the stage's proven bound; it is given only when the
enumeration was exhaustive, and not for a stage whose islands keep their generation. The works
need at least the largest stage's proven bound in distinct trucks, since a stage's trucks are
all out at once.
"""

from __future__ import annotations

from typing import Any

from planner.checks.normal_state import normal_exemptions
from planner.core.switching import Switching
from planner.decide.allocation import kw_bound
from planner.decide.planning import truck_islands
from planner.decide.search import stage_search
from planner.decide.switchsets import MAX_OPERATIONS
from planner.grid.context import StageContext
from planner.inputs.case import Reserve, SgenMode

__all__ = ["SEARCHED", "optimality", "stage_bounds"]

SEARCHED = (
    "per stage: every switch set of at most {limit} operations (closing ties the case allows, "
    "opening sectionalisers of the cut-off area and switches within one branch of a tie's far "
    "end) that keeps the energised network radial and loses no customer, ranked by the trucks "
    "its islands need at least and AC-screened at the peak hours where it could beat the plan "
    "in hand (the greedy tie transfer and truck islands paralleled where that saves trucks are "
    "tried first); then a MILP placement of the fewest trucks (trucks standing at a point stay, "
    "moves only where setup_hours allow, points a stage starting too soon after needs "
    "preferred), more trucks where hour-by-hour verification fails, and the next switch sets "
    "by bound verified in turn when the first needs more trucks than its bound or fails"
)

Bound = tuple[int | None, int, dict[str, Any] | None]


def stage_bounds(ctx: StageContext, switching: Switching) -> Bound:
    """The stage's proven bound (None when the search was cut short, kept generation leaves it
    open or the normal state breaks limits already), the bound for the switching it was
    planned with, and what was searched."""
    if not ctx.cut_off:
        return 0, 0, None
    infos = truck_islands(ctx, switching)
    chosen = sum(info.lower_bound for info in infos)
    case = ctx.case
    if case.islanded_sgen is SgenMode.KEEP:
        return None, chosen, None
    n_1 = case.fleet.reserve is Reserve.N_1
    chosen_kw = sum(kw_bound(info.design_kw, case.fleet.rating_kw, n_1) for info in infos)
    search = stage_search(ctx)
    if normal_exemptions(ctx):
        # the screens count limits the normal state already breaks, verification does not:
        # a cheaper switch set the screen refused might verify, so nothing is proven
        return None, chosen, search.searched()
    return search.proven_bound(chosen_kw), chosen, search.searched()


def optimality(
    trucks_used: int,
    feasible: bool,
    bounds: list[Bound] | list[tuple[int | None, int]],
) -> dict[str, Any]:
    """`summary.optimality` of a plan from its stages' bounds."""
    proven = [b[0] for b in bounds if b[0] is not None]
    searches = [b[2] for b in bounds if len(b) > 2 and b[2] is not None]
    limits = sorted({s["max_operations"] for s in searches}) or [MAX_OPERATIONS]
    lower = max(proven, default=0)
    chosen = max((b[1] for b in bounds), default=0)
    return {
        "trucks_lower_bound": lower,
        "trucks_lower_bound_for_switching": chosen,
        "proven_minimal": bool(feasible and trucks_used == lower),
        "stages_with_proven_bound": len(proven),
        "searched": SEARCHED.format(limit="/".join(str(n) for n in limits)),
        "search": searches,
    }
