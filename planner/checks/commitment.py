"""Hourly unit commitment of the trucks placed in an island.

Online trucks must carry the island within their kVA rating (with one spare under `n-1`); among
the counts that do, the planner keeps as many online as `min_loading` allows, which gives the
most spinning reserve and the lowest loading, and takes trucks off at night when each would
otherwise run below `min_loading` (wet stacking). Where even the fewest trucks that can carry
the load run below `min_loading`, the hour is reported.
"""

from __future__ import annotations

import math

__all__ = ["online_count"]


def online_count(
    served_kva: float,
    placed: int,
    rating_kva: float,
    min_loading: float,
    n_1: bool,
) -> tuple[int, bool]:
    """Trucks to run for `served_kva`, and whether `min_loading` is kept with that many."""
    if placed == 0:
        return 0, True
    fewest = max(1, math.ceil(served_kva / rating_kva - 1e-9)) + (1 if n_1 else 0)
    fewest = min(fewest, placed)
    if min_loading > 0:
        most = math.floor(served_kva / (min_loading * rating_kva) + 1e-9)
    else:
        most = placed
    count = min(max(most, fewest), placed)
    kept = served_kva / (count * rating_kva) >= min_loading - 1e-9
    return count, kept
