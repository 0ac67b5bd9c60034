"""The region's trucks over time: which window each job of a programme runs in, and which trucks.

A job holds its plan's trucks from `buffer_h` (travel plus its own set-up) before its first
stage starts to its last stage's end: two jobs may share a truck exactly when these intervals
(half-open) do not overlap, i.e. the gap leaves travel plus the receiving job's set-up. The
choice of windows is a MILP (scipy `milp`, HiGHS, no optimality gap) solved lexicographically,
one solve per objective with the earlier optima held as constraints:

1. fewest jobs left unplaced;
2. among those, the jobs left out those of the highest `priority` numbers (the sum over unplaced
   jobs of `PRIORITY_CAP - priority` is minimised: when the fleet is short, a lower number runs);
3. fewest trucks at the peak (never more than the region owns);
4. earliest: the smallest sum of the chosen windows' starts after each job's first candidate.

The trucks committed at any instant are at most the peak, and intervals are an interval graph,
so giving each job, in order of its interval's start, the lowest-numbered trucks free by then
(`truck_ids`) never needs more than the peak (greedy interval colouring is optimal).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

__all__ = [
    "PRIORITY_CAP",
    "FleetChoice",
    "JobOptions",
    "Option",
    "assignment_problems",
    "choose_windows",
    "fleet_use",
    "truck_ids",
]

PRIORITY_CAP = 1001  # priorities are 0..1000: a job's weight when left unplaced is the cap minus it


@dataclass(frozen=True)
class Option:
    """One candidate window of a job, planned: times in hours on a common clock (UTC epoch)."""

    offset_hours: float
    start_h: float  # the first stage's start
    end_h: float  # the last stage's end
    trucks: int


@dataclass(frozen=True)
class JobOptions:
    priority: int
    buffer_h: float  # travel plus the job's set-up: trucks are committed this long before start
    options: tuple[Option, ...]  # the windows it may run in (planned feasible, within the fleet)


@dataclass(frozen=True)
class FleetChoice:
    chosen: tuple[int | None, ...]  # index into each job's options; None: unplaced
    peak: int
    objectives: tuple[float, float, float, float]  # the four levels, as the docstring orders them
    trucks: tuple[tuple[int, ...], ...]  # 1-based region truck numbers of each job


def interval(job: JobOptions, option: Option) -> tuple[float, float]:
    """When a job's trucks are committed to it in `option`: [start - buffer, end)."""
    return option.start_h - job.buffer_h, option.end_h


def objectives(
    jobs: list[JobOptions], chosen: list[int | None]
) -> tuple[float, float, float, float]:
    """The four levels of a choice (for checking a solve, and for a brute force)."""
    unplaced = [j for j, c in zip(jobs, chosen, strict=True) if c is None]
    spans = [
        (*interval(j, j.options[c]), j.options[c].trucks)
        for j, c in zip(jobs, chosen, strict=True)
        if c is not None
    ]
    early = sum(
        j.options[c].start_h - min(o.start_h for o in j.options)
        for j, c in zip(jobs, chosen, strict=True)
        if c is not None
    )
    return (
        float(len(unplaced)),
        float(sum(PRIORITY_CAP - j.priority for j in unplaced)),
        float(_peak(spans)[0]),
        round(early, 6),
    )


def choose_windows(jobs: list[JobOptions], trucks: int) -> FleetChoice:
    """The lexicographically best window per job within `trucks` (see the module docstring)."""
    cols: list[tuple[int, int]] = [
        (j, o) for j, job in enumerate(jobs) for o in range(len(job.options))
    ]
    n_x, n_j = len(cols), len(jobs)
    n = n_x + n_j + 1  # x per option, u per job, the peak
    spans = [(*interval(jobs[j], jobs[j].options[o]), jobs[j].options[o].trucks) for j, o in cols]
    points = np.array(sorted({a for a, _, k in spans if k > 0}), dtype=float)
    entries: list[tuple[int, int, float]] = [(j, c, 1.0) for c, (j, _) in enumerate(cols)]
    entries += [(j, n_x + j, 1.0) for j in range(n_j)]
    for c, (a, b, k) in enumerate(spans):  # the points in [a, b): a slice of the sorted points
        if k > 0:
            first, stop = np.searchsorted(points, [a, b], side="left")
            entries += [(n_j + p, c, float(k)) for p in range(int(first), int(stop))]
    entries += [(n_j + p, n - 1, -1.0) for p in range(len(points))]
    r, c_, v = zip(*entries, strict=True) if entries else ((), (), ())
    a_mat = coo_matrix((v, (r, c_)), shape=(n_j + len(points), n))
    low = np.concatenate([np.ones(n_j), np.full(len(points), -np.inf)])
    high = np.concatenate([np.ones(n_j), np.zeros(len(points))])
    rows = [LinearConstraint(a_mat.tocsr(), low, high)]
    upper = np.ones(n)
    upper[n - 1] = trucks
    bounds = Bounds(np.zeros(n), upper)
    levels = []
    c1 = np.zeros(n)
    c1[n_x : n_x + n_j] = 1.0
    levels.append((c1, 0.5))
    c2 = np.zeros(n)
    c2[n_x : n_x + n_j] = [PRIORITY_CAP - job.priority for job in jobs]
    levels.append((c2, 0.5))
    c3 = np.zeros(n)
    c3[n - 1] = 1.0
    levels.append((c3, 0.5))
    c4 = np.zeros(n)
    for c, (j, o) in enumerate(cols):
        c4[c] = jobs[j].options[o].start_h - min(x.start_h for x in jobs[j].options)
    levels.append((c4, 1e-6))
    x: np.ndarray | None = None
    for cost, slack in levels:
        result = milp(
            cost,
            constraints=rows,
            integrality=np.ones(n),
            bounds=bounds,
            options={"mip_rel_gap": 0.0},
        )
        if result.x is None:  # every job unplaced and a zero peak always fit: never infeasible
            raise RuntimeError(f"the window MILP found no solution: {result.message}")
        x = np.round(result.x)
        best = float(cost @ x)
        rows.append(LinearConstraint(cost.reshape(1, -1), -np.inf, best + slack))
    assert x is not None
    chosen: list[int | None] = [None] * n_j
    for c, (j, o) in enumerate(cols):
        if x[c] > 0.5:
            chosen[j] = o
    return FleetChoice(
        tuple(chosen), int(x[n - 1]), objectives(jobs, chosen), truck_ids(jobs, chosen)
    )


def truck_ids(jobs: list[JobOptions], chosen: list[int | None]) -> tuple[tuple[int, ...], ...]:
    """Region truck numbers (1-based) per job: in order of the intervals' starts, each job the
    lowest-numbered trucks free by its start (greedy interval colouring, optimal)."""
    order = sorted(
        (j for j, c in enumerate(chosen) if c is not None),
        key=lambda j: (interval(jobs[j], jobs[j].options[chosen[j]])[0], j),  # type: ignore[index]
    )
    free_at: dict[int, float] = {}  # truck number -> when its last job ends
    out: list[tuple[int, ...]] = [() for _ in jobs]
    for j in order:
        option = jobs[j].options[chosen[j]]  # type: ignore[index]
        start, end = interval(jobs[j], option)
        picked: list[int] = []
        number = 1
        while len(picked) < option.trucks:
            if free_at.get(number, -math.inf) <= start:
                picked.append(number)
            number += 1
        for number in picked:
            free_at[number] = end
        out[j] = tuple(picked)
    return tuple(out)


def assignment_problems(
    spans: list[tuple[str, float, float, tuple[int, ...]]], trucks: int
) -> list[str]:
    """What is wrong with an assignment of trucks `(job, committed from, to, truck numbers)`:
    a truck beyond the region's, or one committed to two jobs at once (gap too short)."""
    problems: list[str] = []
    by_truck: dict[int, list[tuple[float, float, str]]] = {}
    for name, a, b, numbers in spans:
        for number in numbers:
            if not 1 <= number <= trucks:
                problems.append(f"{name}: truck R{number} is not one of the region's {trucks}")
            by_truck.setdefault(number, []).append((a, b, name))
    for number, held in sorted(by_truck.items()):
        held.sort()
        busy_until, holder = -math.inf, ""
        for a, b, name in held:
            if a < busy_until:
                problems.append(
                    f"truck R{number}: {name} needs it {busy_until - a:g} h before {holder} "
                    "releases it"
                )
            if b > busy_until:
                busy_until, holder = b, name
    return problems


def fleet_use(
    spans: list[tuple[float, float, int]],
) -> tuple[int, list[int], int, float | None]:
    """Trucks committed per hour: `(first hour, counts, peak, when)`. An hour's count is the
    most committed at any instant within it (so the peak is the hourly counts' highest); `when`
    is the first instant of the peak (None without trucks)."""
    used = [(a, b, k) for a, b, k in spans if k > 0 and b > a]
    if not used:
        return 0, [], 0, None
    first = math.floor(min(a for a, _, _ in used))
    last = math.ceil(max(b for _, b, _ in used))
    points = np.array(sorted({*range(first, last), *(a for a, _, _ in used)}), dtype=float)
    a_arr = np.array([a for a, _, _ in used])
    b_arr = np.array([b for _, b, _ in used])
    k_arr = np.array([k for _, _, k in used])
    inside = (a_arr[None, :] <= points[:, None]) & (points[:, None] < b_arr[None, :])
    counts = inside.astype(int) @ k_arr
    hourly = [0] * (last - first)
    for t, count in zip(points, counts, strict=True):
        h = math.floor(t) - first
        hourly[h] = max(hourly[h], int(count))
    peak = int(counts.max())
    return first, hourly, peak, float(points[int(np.argmax(counts))])


def _peak(spans: list[tuple[float, float, int]]) -> tuple[int, float | None]:
    _, _, peak, when = fleet_use(spans)
    return peak, when
