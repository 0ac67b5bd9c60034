"""Hourly unit commitment of the trucks placed in an island.

Online trucks must carry the island within their kW and kVA ratings (with one spare under
`n-1`); among the counts that do, the planner keeps as many online as `min_loading` allows,
which gives the most spinning reserve and the lowest loading, and takes trucks off at night
when each would otherwise run below `min_loading` (wet stacking). Where even the fewest trucks
that can carry the load run below `min_loading`, the hour is reported.

Trucks of different ratings (a mixed fleet) come online largest first, as the island lists them;
online trucks share the load in proportion to their kVA, so each runs at the island's kVA over
their summed kVA, and at kW over its own kW rating in proportion: the count is the fewest whose
most loaded truck stays within its limits (without the largest, under `n-1`) and the most whose
least loaded truck keeps `min_loading`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["commit", "online_count"]


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


def commit(
    served_kw: float,
    served_kvar: float,
    ratings: Sequence[tuple[float, float]],
    min_loading: float,
    n_1: bool,
) -> tuple[int, bool]:
    """`online_count` for trucks of the given `(rating_kw, rating_kva)`, largest first: the
    first `count` of them run. Equal ratings give exactly `online_count`'s answer."""
    placed = len(ratings)
    if placed == 0 or all(r == ratings[0] for r in ratings):
        kw, kva = ratings[0] if ratings else (1.0, 1.0)
        return online_count(served_kw, served_kvar, placed, kw, kva, min_loading, n_1)
    s_kva = math.hypot(served_kw, served_kvar)

    def loadings(first: int, count: int) -> list[float]:  # of trucks[first:count], shared by kVA
        on = ratings[first:count]
        total_kva = sum(kva for _, kva in on)
        return [max(served_kw * kva / total_kva / kw, s_kva / total_kva, 0.0) for kw, kva in on]

    start = 1 if n_1 else 0  # under n-1 the rest must carry the island without the largest
    fewest = next(
        (k for k in range(start + 1, placed + 1) if max(loadings(start, k)) <= 1.0 + 1e-9),
        placed,
    )
    most = max(
        (k for k in range(1, placed + 1) if min(loadings(0, k)) >= min_loading - 1e-9), default=0
    )
    count = min(max(most, fewest), placed)
    return count, min(loadings(0, count)) >= min_loading - 1e-9
