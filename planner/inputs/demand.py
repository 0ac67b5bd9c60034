"""Design demand: `p_mw × net scaling × case scaling × profile(t) × (1 + margin)` per load."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandapower as pp

from planner.inputs.case import Case, Stage
from planner.inputs.profiles import BUILTIN, hours_of, shape_factor

__all__ = ["Demand", "StepGroup", "design_matrix", "stage_demand"]


@dataclass(frozen=True)
class StepGroup:
    """Hours of a stage that share one load state (same factor for every load)."""

    times: tuple[datetime, ...]
    p_mw: np.ndarray  # design active power per load (order of `Demand.loads`)
    q_mvar: np.ndarray


@dataclass(frozen=True)
class Demand:
    """The design demand of one stage over its hourly time steps."""

    loads: np.ndarray  # load indices
    times: tuple[datetime, ...]
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


def _factors(case: Case, net: pp.pandapowerNet, times: list[datetime]) -> np.ndarray:
    """(n_times, n_loads) profile factors."""
    loads = net.load
    n = len(loads)
    name = case.loads.profile
    if name == "flat":
        return np.ones((len(times), n))
    if case.loads.csv_profile is not None:
        column = np.array([case.loads.csv_profile.factor(t) for t in times])
        return np.repeat(column[:, None], n, axis=1)
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
    return out


def _simbench_factors(net: pp.pandapowerNet, times: list[datetime]) -> np.ndarray:
    """SimBench load profiles (15-min, one year) sampled at `times` by time of year."""
    table = net.profiles["load"]
    steps_per_year = len(table)
    rows = []
    for t in times:
        year_start = t.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        rows.append(int((t - year_start).total_seconds() // 900) % steps_per_year)
    names = [f"{p}_pload" for p in net.load["profile"].astype(str)]
    unique = sorted(set(names))
    # a few profiles shared by thousands of loads: sample the rows, then spread to the loads
    sampled = table.iloc[rows].reindex(columns=unique).fillna(1.0).to_numpy(dtype=float)
    column_of = {name: k for k, name in enumerate(unique)}
    return sampled[:, [column_of[name] for name in names]]


def design_matrix(
    case: Case, net: pp.pandapowerNet, times: list[datetime]
) -> tuple[np.ndarray, np.ndarray]:
    """Design P and Q (MW, Mvar) of every load (columns, net order) at `times` (rows)."""
    factors = _factors(case, net, times)
    loads = net.load
    scale = loads["scaling"].to_numpy(dtype=float) * case.loads.scaling * (1.0 + case.loads.margin)
    active = loads["in_service"].to_numpy(dtype=bool)
    p = loads["p_mw"].to_numpy(dtype=float) * scale * active
    q = loads["q_mvar"].to_numpy(dtype=float) * scale * active
    return factors * p, factors * q


def stage_demand(case: Case, net: pp.pandapowerNet, stage: Stage) -> Demand:
    """Design demand per load at every hour of `stage`, grouped into identical states."""
    times = hours_of(stage.start, stage.end)
    factors = _factors(case, net, times)
    loads = net.load
    base_scale = loads["scaling"].to_numpy(dtype=float) * case.loads.scaling
    base_scale = base_scale * (1.0 + case.loads.margin)
    p_base = loads["p_mw"].to_numpy(dtype=float) * base_scale
    q_base = loads["q_mvar"].to_numpy(dtype=float) * base_scale
    active = loads["in_service"].to_numpy(dtype=bool)
    groups: dict[bytes, list[int]] = {}
    for i in range(len(times)):
        groups.setdefault(factors[i].tobytes(), []).append(i)
    built = []
    for rows in groups.values():
        f = factors[rows[0]]
        built.append(
            StepGroup(tuple(times[r] for r in rows), p_base * f * active, q_base * f * active)
        )
    peak = max(built, key=lambda g: float(g.p_mw.sum()))
    full = float((p_base * active).sum())
    ratio = float(peak.p_mw.sum()) / full if full > 0 else 1.0
    return Demand(loads.index.to_numpy(), tuple(times), tuple(built), peak, ratio)
