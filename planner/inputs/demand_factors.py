"""Profile factors of a stage's loads, one column per profile rather than per load.

Thousands of loads share a few profiles (a SimBench grid's 11,542 loads use a few dozen), so the
factors are kept as (check times, profiles) with each load's column: a year of quarter hours
then takes megabytes where a (check times, loads) matrix takes gigabytes. `full` spreads them
to the loads when a caller needs every value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandapower as pp

from planner.inputs.case import Case
from planner.inputs.profiles import BUILTIN, shape_factors, simbench_rows

__all__ = ["Factors", "profile_factors"]


@dataclass(frozen=True)
class Factors:
    """P and Q factors: `p[t, p_col[i]]` is load i's factor of P at time t (likewise Q)."""

    p: np.ndarray  # (times, columns)
    q: np.ndarray
    p_col: np.ndarray  # (loads,) int
    q_col: np.ndarray

    def full(self) -> tuple[np.ndarray, np.ndarray]:
        """(times, loads) factors of P and of Q."""
        return self.p[:, self.p_col], self.q[:, self.q_col]


def profile_factors(case: Case, net: pp.pandapowerNet, times: list[datetime]) -> Factors:
    """The profile factors of `net`'s loads (net order) at `times`."""
    loads = net.load
    n = len(loads)
    zeros = np.zeros(n, dtype=int)
    name = case.loads.profile
    if name == "flat":
        ones = np.ones((len(times), 1))
        return Factors(ones, ones, zeros, zeros)
    if case.loads.csv_profile is not None:
        column = case.loads.csv_profile.factors_at(times)[:, None].astype(float, copy=False)
        return Factors(column, column, zeros, zeros)
    if name == "simbench":
        return _simbench_factors(net, times)
    categories = loads["category"].astype(str).to_numpy() if "category" in loads.columns else None
    shapes = [name] if categories is None else sorted({name, *set(categories) & set(BUILTIN)})
    columns = np.column_stack([shape_factors(shape, times) for shape in shapes])
    if categories is None:
        col = zeros
    else:
        default = shapes.index(name)
        col = np.array([shapes.index(c) if c in BUILTIN else default for c in categories], int)
    return Factors(columns, columns, col, col)


def _simbench_factors(net: pp.pandapowerNet, times: list[datetime]) -> Factors:
    """SimBench load profiles (quarter hours of 2016) at `times`: `*_pload` for P and, where the
    network has it, `*_qload` for Q (else, value by value, the load's P factor)."""
    table = net.profiles["load"]
    rows = simbench_rows(times, len(table))
    profiles = net.load["profile"].astype(str).tolist()
    p_names = [f"{p}_pload" for p in profiles]
    p_unique = sorted(set(p_names))
    # a few profiles shared by thousands of loads: sample the rows, then spread to the loads
    p = table.iloc[rows].reindex(columns=p_unique).to_numpy(dtype=float)
    p[np.isnan(p)] = 1.0
    p_of = {name: k for k, name in enumerate(p_unique)}
    p_col = np.array([p_of[name] for name in p_names], dtype=int)
    # Q falls back to the load's own P factor where missing: a column per (Q, P) profile pair
    pairs = [(f"{prof}_qload", p_of[pn]) for prof, pn in zip(profiles, p_names, strict=True)]
    q_unique = sorted(set(pairs))
    q_names = sorted({qn for qn, _ in q_unique})
    sampled = table.iloc[rows].reindex(columns=q_names).to_numpy(dtype=float)
    q_at = {name: k for k, name in enumerate(q_names)}
    q = np.empty((len(rows), len(q_unique)))
    for k, (qn, pk) in enumerate(q_unique):
        column = sampled[:, q_at[qn]]
        q[:, k] = np.where(np.isnan(column), p[:, pk], column)
    q_of = {pair: k for k, pair in enumerate(q_unique)}
    q_col = np.array([q_of[pair] for pair in pairs], dtype=int)
    return Factors(p, q, p_col, q_col)
