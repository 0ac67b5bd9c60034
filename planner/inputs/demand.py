"""Design demand: `p_mw × net scaling × case scaling × profile(t) × (1 + margin)` per load
(or the feeder's quantile uplift where larger: `planner.inputs.uncertainty`)."""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandapower as pp

from planner.core.errors import CaseError, Problem
from planner.inputs.case import Case, Loads, Stage
from planner.inputs.network import Network
from planner.inputs.profiles import (
    BUILTIN,
    SIMBENCH_STEP,
    shape_factors,
    simbench_rows,
    steps_of,
)
from planner.inputs.uncertainty import design_factors
from planner.inputs.windows_daily import window_step_hours

__all__ = [
    "MEMORY_LIMIT_BYTES",
    "Demand",
    "StepGroup",
    "check_times",
    "count_check_times",
    "design_matrix",
    "memory_problems",
    "stage_demand",
    "stage_times",
]

# Planning a stage holds, for every check time, arrays over the loads and buses: profile
# factors, design P and Q, the grouped load states and their matrices, the batched load flow's
# voltages. Measured on SimBench 1-MVLV-urban-all-0-sw (11,542 loads, 10,458 buses): 0.5 MB a
# quarter hour for a week, 0.9 MB for three weeks; the estimate is BYTES_PER_ELEMENT_STEP per
# load and bus per check time, plus BYTES_PER_STEP whatever the grid (times, the schedule's rows,
# results kept for the plan). A case whose estimate passes MEMORY_LIMIT_BYTES is refused before
# anything is allocated.
BYTES_PER_ELEMENT_STEP = 48
BYTES_PER_STEP = 16_384
MEMORY_LIMIT_BYTES = 2_000_000_000


@dataclass(frozen=True)
class StepGroup:
    """Hours of a stage that share one load state (same factor for every load)."""

    times: tuple[datetime, ...]
    p_mw: np.ndarray  # design active power per load (order of `Demand.loads`)
    q_mvar: np.ndarray


@dataclass(frozen=True)
class Demand:
    """The design demand of one stage over its check times (hourly, or finer with the profile)."""

    loads: np.ndarray  # load indices
    times: tuple[datetime, ...]
    step_h: tuple[float, ...]  # how long each time's state holds
    groups: tuple[StepGroup, ...]
    peak: StepGroup  # the group with the largest total active demand
    peak_factor: float  # peak total demand relative to every profile factor at 1.0
    # with `daily` windows, `times` and `groups` are the works' (inside the windows) and these
    # the whole stage's, for its normal state; empty: the same as `groups`
    normal: tuple[StepGroup, ...] = ()

    @property
    def normal_groups(self) -> tuple[StepGroup, ...]:
        """The load states of every check time of the stage, in the windows or not."""
        return self.normal or self.groups

    @functools.cached_property
    def p_matrix(self) -> np.ndarray:
        """(groups, loads) design active power, MW."""
        return np.array([g.p_mw for g in self.groups])

    @functools.cached_property
    def q_matrix(self) -> np.ndarray:
        return np.array([g.q_mvar for g in self.groups])


def check_times(
    case: Case, net: pp.pandapowerNet, start: datetime, end: datetime
) -> list[datetime]:
    """Every time a window is checked at: each hour and each profile row inside it."""
    if case.loads.csv_profile is not None:
        return steps_of(start, end, case.loads.csv_profile.times)
    if case.loads.profile == "simbench" and "load" in getattr(net, "profiles", {}):
        return steps_of(start, end, every=SIMBENCH_STEP)
    return steps_of(start, end)


def stage_times(case: Case, net: pp.pandapowerNet, stage: Stage) -> list[datetime]:
    """Every time a stage's works are checked at: the check times of each of its works windows
    (the whole stage without `daily`; with it, each day's window, its hours counted from the
    window's start)."""
    out: list[datetime] = []
    for start, end in stage.windows:
        out += check_times(case, net, start, end)
    return out


def count_check_times(
    start: datetime, end: datetime, rows: Sequence[datetime] = (), every: timedelta | None = None
) -> int:
    """How many times `steps_of` gives for a window (at most; rows on the hour count twice),
    counted without making them."""
    span = (end - start).total_seconds()
    count = max(math.ceil(span / 3600.0), 1)
    if every is not None:  # hours start on the window's start, so they are among these steps
        count = max(count, math.ceil(span / every.total_seconds()))
    if rows:
        count += bisect.bisect_left(rows, end) - bisect.bisect_right(rows, start)
    return count


def memory_problems(
    case_stages: Sequence[tuple[str, Stage]], network: Network, loads: Loads
) -> list[tuple[str, str]]:
    """(key, message) for each stage whose check times would need more than MEMORY_LIMIT_BYTES,
    and for the stages together; empty when the case fits."""
    net = network.net
    elements = len(net.load) + len(net.bus)
    rows = loads.csv_profile.times if loads.csv_profile is not None else ()
    every = SIMBENCH_STEP if loads.profile == "simbench" and network.is_simbench else None
    problems = []
    total = 0
    for key, stage in case_stages:
        steps = count_check_times(stage.start, stage.end, rows, every)
        total += steps
        need = steps * (elements * BYTES_PER_ELEMENT_STEP + BYTES_PER_STEP)
        if need > MEMORY_LIMIT_BYTES:
            why = (
                "SimBench profiles are checked every quarter hour"
                if every is not None
                else "the CSV profile's rows inside it are check times too"
                if rows
                else "it is checked every hour"
            )
            problems.append(
                (
                    key,
                    f"stage {stage.name!r} needs about {_gigabytes(need)} for {steps:,} time "
                    f"steps x {len(net.load):,} loads and {len(net.bus):,} buses ({why}); the "
                    f"limit is {_gigabytes(MEMORY_LIMIT_BYTES)}: split the stage into shorter "
                    "stages",
                )
            )
    if not problems and total * BYTES_PER_STEP > MEMORY_LIMIT_BYTES:
        problems.append(
            (
                "stages",
                f"the stages together need about {_gigabytes(total * BYTES_PER_STEP)} for "
                f"{total:,} time steps; the limit is {_gigabytes(MEMORY_LIMIT_BYTES)}: plan "
                "fewer or shorter stages per case",
            )
        )
    return problems


def _gigabytes(size: float) -> str:
    if size >= 1e9:
        return f"{size / 1e9:,.1f} GB"
    return f"{size / 1e6:,.1f} MB" if size >= 1e6 else f"{size / 1e3:,.0f} kB"


def _factors(
    case: Case, net: pp.pandapowerNet, times: list[datetime]
) -> tuple[np.ndarray, np.ndarray]:
    """(n_times, n_loads) profile factors of P and of Q."""
    loads = net.load
    n = len(loads)
    name = case.loads.profile
    if name == "flat":
        ones = np.ones((len(times), n))
        return ones, ones
    if case.loads.csv_profile is not None:
        column = case.loads.csv_profile.factors_at(times)
        matrix = np.repeat(column[:, None], n, axis=1)
        return matrix, matrix
    if name == "simbench":
        return _simbench_factors(net, times)
    categories = loads["category"].astype(str).to_numpy() if "category" in loads.columns else None
    shapes = [name] if categories is None else sorted({name, *set(categories) & set(BUILTIN)})
    columns = np.column_stack([shape_factors(shape, times) for shape in shapes])
    if categories is None:
        out = np.repeat(columns, n, axis=1)
    else:
        default = shapes.index(name)
        out = columns[:, [shapes.index(c) if c in BUILTIN else default for c in categories]]
    return out, out


def _simbench_factors(
    net: pp.pandapowerNet, times: list[datetime]
) -> tuple[np.ndarray, np.ndarray]:
    """SimBench load profiles (quarter hours of 2016) at `times`: `*_pload` for P and, where the
    network has it, `*_qload` for Q."""
    table = net.profiles["load"]
    rows = simbench_rows(times, len(table))
    profiles = net.load["profile"].astype(str)

    def sample(suffix: str, fallback: np.ndarray | None) -> np.ndarray:
        names = [f"{p}_{suffix}" for p in profiles]
        unique = sorted(set(names))
        # a few profiles shared by thousands of loads: sample the rows, then spread to the loads
        sampled = table.iloc[rows].reindex(columns=unique).to_numpy(dtype=float)
        column_of = {name: k for k, name in enumerate(unique)}
        out = sampled[:, [column_of[name] for name in names]]
        missing = np.isnan(out)
        if missing.any():
            out[missing] = 1.0 if fallback is None else fallback[missing]
        return out

    p = sample("pload", None)
    return p, sample("qload", p)


def design_matrix(
    case: Case, net: pp.pandapowerNet, times: list[datetime]
) -> tuple[np.ndarray, np.ndarray]:
    """Design P and Q (MW, Mvar) of every load (columns, net order) at `times` (rows)."""
    fp, fq = _factors(case, net, times)
    loads = net.load
    scale = loads["scaling"].to_numpy(dtype=float) * case.loads.scaling * design_factors(case, net)
    active = loads["in_service"].to_numpy(dtype=bool)
    p = loads["p_mw"].to_numpy(dtype=float) * scale * active
    q = loads["q_mvar"].to_numpy(dtype=float) * scale * active
    return fp * p, fq * q


def stage_demand(case: Case, net: pp.pandapowerNet, stage: Stage) -> Demand:
    """Design demand per load at every check time of `stage` (each hour, and each profile row
    inside the stage where the profile is finer), grouped into identical states."""
    too_big = memory_problems([("stages", stage)], case.network, case.loads)
    if too_big:  # a case built by hand rather than read by load_case
        raise CaseError([Problem(case.file, key, message) for key, message in too_big])
    times = stage_times(case, net, stage)
    fp, fq = _factors(case, net, times)
    loads = net.load
    base_scale = loads["scaling"].to_numpy(dtype=float) * case.loads.scaling
    base_scale = base_scale * design_factors(case, net)
    p_base = loads["p_mw"].to_numpy(dtype=float) * base_scale
    q_base = loads["q_mvar"].to_numpy(dtype=float) * base_scale
    active = loads["in_service"].to_numpy(dtype=bool)
    groups: dict[bytes, list[int]] = {}
    for i in range(len(times)):
        groups.setdefault(fp[i].tobytes() + fq[i].tobytes(), []).append(i)
    built = []
    for rows in groups.values():
        f, g = fp[rows[0]], fq[rows[0]]
        built.append(
            StepGroup(tuple(times[r] for r in rows), p_base * f * active, q_base * g * active)
        )
    peak = max(built, key=lambda g: float(g.p_mw.sum()))
    full = float((p_base * active).sum())
    ratio = float(peak.p_mw.sum()) / full if full > 0 else 1.0
    return Demand(
        loads.index.to_numpy(),
        tuple(times),
        tuple(window_step_hours(times, stage.windows)),
        tuple(built),
        peak,
        ratio,
        _normal_groups(case, net, stage),
    )


def _normal_groups(case: Case, net: pp.pandapowerNet, stage: Stage) -> tuple[StepGroup, ...]:
    """For a stage with `daily` windows: the design load at every check time of the whole stage
    (the network's normal state holds outside the windows), grouped; empty without `daily`."""
    if stage.daily is None:
        return ()
    times = check_times(case, net, stage.start, stage.end)
    p, q = design_matrix(case, net, times)
    groups: dict[bytes, list[int]] = {}
    for i in range(len(times)):
        groups.setdefault(p[i].tobytes() + q[i].tobytes(), []).append(i)
    return tuple(
        StepGroup(tuple(times[r] for r in rows), p[rows[0]], q[rows[0]]) for rows in groups.values()
    )
