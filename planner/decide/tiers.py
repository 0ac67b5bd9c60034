"""Objectives minimised in turn over one integer program (HiGHS, through scipy's `milp`), each
next one with the ones before held at their optimum: one weighted sum would put the later ones
below the solver's tolerances.

The first objective may be only a linear lower bound of a cost known exactly once a solution is
given (the fuel of trucks sharing an island's load in proportion to their ratings is a ratio of
their counts). Then `cheapest_exact` enumerates the solutions' count vectors (sums over groups of
variables) in the order of the bound, each new one excluded from the next solve, and stops when
the bound of the next one reaches the best exact cost found: no vector left can be cheaper.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

__all__ = ["ENUMERATED", "ENUMERATION_S", "Problem", "cheapest_exact", "lexicographic"]

ENUMERATED = 64  # count vectors tried at most; beyond, the best found so far is kept
ENUMERATION_S = 20.0  # and seconds spent on them at most (each cut makes the next solve larger)
_REL = 1e-7  # how far an objective held at its optimum may move (HiGHS's rounding)


def _slack(value: float) -> float:
    return value + _REL * max(1.0, abs(value))


@dataclass(frozen=True)
class Problem:
    """`lower <= matrix @ x <= upper`, `0 <= x <= bounds`, x integer where `integral` is 1.
    Columns beyond `width` are the exclusion cuts' own (they are not part of a solution)."""

    matrix: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    bounds: np.ndarray
    width: int
    integral: np.ndarray

    def solve(self, objective: np.ndarray) -> np.ndarray | None:
        """A solution minimising `objective` (the first `width` values), or None."""
        result = milp(
            self._padded(objective),
            constraints=LinearConstraint(self.matrix, self.lower, self.upper),
            integrality=self.integral,
            bounds=Bounds(0, self.bounds),
            options={"mip_rel_gap": 0.0},  # the default 1e-4 of a large sum is real money
        )
        if result.status != 0 or result.x is None:
            return None
        return np.asarray(result.x[: self.width])

    def _padded(self, row: np.ndarray) -> np.ndarray:
        return np.r_[row, np.zeros(len(self.bounds) - len(row))]

    def _with(self, rows: np.ndarray, low: np.ndarray, high: np.ndarray) -> Problem:
        return Problem(
            np.vstack([self.matrix, rows]),
            np.r_[self.lower, low],
            np.r_[self.upper, high],
            self.bounds,
            self.width,
            self.integral,
        )

    def hold(self, objective: np.ndarray, value: float) -> Problem:
        """This problem with `objective <= value` (within rounding)."""
        row = self._padded(objective)[None, :]
        return self._with(row, np.array([-np.inf]), np.array([_slack(value)]))

    def fix(self, groups: Sequence[Sequence[int]], counts: Sequence[int]) -> Problem:
        """This problem with each group's sum equal to its count."""
        rows = np.zeros((len(groups), len(self.bounds)))
        for g, group in enumerate(groups):
            rows[g, list(group)] = 1.0
        values = np.asarray(counts, dtype=float)
        return self._with(rows, values, values)

    def excluding(
        self, groups: Sequence[Sequence[int]], caps: Sequence[int], counts: Sequence[int]
    ) -> Problem:
        """This problem without the count vector `counts`: some group's sum is below its count
        (`lo_g` on) or above it (`hi_g` on), two binaries per group."""
        n, g_n = len(self.bounds), len(groups)
        matrix = np.hstack([self.matrix, np.zeros((len(self.matrix), 2 * g_n))])
        rows = np.zeros((2 * g_n + 1, n + 2 * g_n))
        low, high = np.full(2 * g_n + 1, -np.inf), np.full(2 * g_n + 1, np.inf)
        for g, (group, cap, count) in enumerate(zip(groups, caps, counts, strict=True)):
            lo, hi = n + 2 * g, n + 2 * g + 1
            rows[2 * g, list(group)] = 1.0  # sum + (cap - count + 1) lo <= cap
            rows[2 * g, lo] = cap - count + 1
            high[2 * g] = cap
            rows[2 * g + 1, list(group)] = 1.0  # sum - (count + 1) hi >= 0
            rows[2 * g + 1, hi] = -(count + 1)
            low[2 * g + 1] = 0.0
        rows[-1, n:] = 1.0
        low[-1] = 1.0
        return Problem(
            np.vstack([matrix, rows]),
            np.r_[self.lower, low],
            np.r_[self.upper, high],
            np.r_[self.bounds, np.ones(2 * g_n)],
            self.width,
            np.r_[self.integral, np.ones(2 * g_n)],
        )


def lexicographic(problem: Problem, tiers: Sequence[np.ndarray]) -> np.ndarray | None:
    """A solution minimising each tier in turn, the ones before held; None when infeasible."""
    x = None
    for tier in tiers:
        x = problem.solve(tier)
        if x is None:
            return None
        problem = problem.hold(tier, float(tier @ x))
    return x


def cheapest_exact(
    problem: Problem,
    bound: np.ndarray,
    exact: Callable[[np.ndarray], tuple[float, ...]],
    groups: Sequence[Sequence[int]],
    caps: Sequence[int],
) -> tuple[Problem, bool] | None:
    """`problem` fixed to the count vector of least `exact` cost (a tuple compared in order, its
    first entry the cost `bound` bounds from below at every solution), held at that vector's
    least bound, and whether it is proven the cheapest; None when infeasible. Vectors are tried
    in the order of `bound` until the next one's bound reaches the best cost; after
    `ENUMERATED` of them or `ENUMERATION_S` seconds the best found is kept, not proven."""
    best: tuple[tuple[float, ...], list[int], float] | None = None
    search = problem
    started = time.monotonic()
    proven = False
    for _ in range(ENUMERATED):
        if best is not None and time.monotonic() - started > ENUMERATION_S:
            break
        x = search.solve(bound)
        if x is None:
            proven = True
            break
        low = float(bound @ x)
        if best is not None and low > _slack(best[0][0]):
            proven = True
            break
        counts = [round(float(x[list(group)].sum())) for group in groups]
        cost = exact(x)
        key = (round(cost[0], 6), *cost[1:])
        if best is None or key < (round(best[0][0], 6), *best[0][1:]):
            best = (cost, counts, low)
        search = search.excluding(groups, caps, counts)
    if best is None:
        return None
    return problem.fix(groups, best[1]).hold(bound, best[2]), proven
