"""Hourly unit commitment of the trucks placed in an island.

Online trucks must carry the island within their kW and kVA ratings (with one spare under
`n-1`); among the counts that do, the planner keeps as many online as `min_loading` allows,
which gives the most spinning reserve and the lowest loading, and takes trucks off at night
when each would otherwise run below `min_loading` (wet stacking). Where even the fewest trucks
that can carry the load run below `min_loading`, the hour is reported.
"""

from __future__ import annotations

import math

__all__ = ["online_count"]


def online_count(
    served_kw: float,
    served_kvar: float,
    placed: int,
    rating_kw: float,
    rating_kva: float,
    min_loading: float,
    n_1: bool,
) -> tuple[int, bool]:
    """Trucks to run for the served load, and whether `min_loading` is kept with that many.

    A truck's loading is the tighter of kW over `rating_kw` and kVA over `rating_kva`, so the
    load needs `max(P / rating_kw, S / rating_kva)` trucks' worth of capacity.
    """
    if placed == 0:
        return 0, True
    need = max(served_kw / rating_kw, math.hypot(served_kw, served_kvar) / rating_kva, 0.0)
    fewest = max(1, math.ceil(need - 1e-9)) + (1 if n_1 else 0)
    fewest = min(fewest, placed)
    most = math.floor(need / min_loading + 1e-9) if min_loading > 0 else placed
    count = min(max(most, fewest), placed)
    kept = need / count >= min_loading - 1e-9
    return count, kept
