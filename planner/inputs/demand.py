"""Design demand: `p_mw × net scaling × case scaling × profile(t) × (1 + margin)` per load."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandapower as pp

from planner.inputs.case import Case, Stage
from planner.inputs.profiles import (
    BUILTIN,
    SIMBENCH_STEP,
    shape_factor,
    simbench_rows,
    step_hours,
    steps_of,
)

__all__ = ["Demand", "StepGroup", "check_times", "design_matrix", "stage_demand"]


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
    out = np.empty((len(times), n))
    for i, t in enumerate(times):
        default = shape_factor(name, t)
        if categories is None:
            out[i, :] = default
        else:
            out[i, :] = [shape_factor(c, t) if c in BUILTIN else default for c in categories]
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
    scale = loads["scaling"].to_numpy(dtype=float) * case.loads.scaling * (1.0 + case.loads.margin)
    active = loads["in_service"].to_numpy(dtype=bool)
    p = loads["p_mw"].to_numpy(dtype=float) * scale * active
    q = loads["q_mvar"].to_numpy(dtype=float) * scale * active
    return fp * p, fq * q


def stage_demand(case: Case, net: pp.pandapowerNet, stage: Stage) -> Demand:
    """Design demand per load at every check time of `stage` (each hour, and each profile row
    inside the stage where the profile is finer), grouped into identical states."""
    times = check_times(case, net, stage.start, stage.end)
    fp, fq = _factors(case, net, times)
    loads = net.load
    base_scale = loads["scaling"].to_numpy(dtype=float) * case.loads.scaling
    base_scale = base_scale * (1.0 + case.loads.margin)
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
        tuple(step_hours(times, stage.end)),
        tuple(built),
        peak,
        ratio,
    )
