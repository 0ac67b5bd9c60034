"""Profile factors of a stage's loads, one column per profile rather than per load.

Thousands of loads share a few profiles (a SimBench grid's 11,542 loads use a few dozen), so the
factors are kept as (check times, profiles) with each load's column: a year of quarter hours
then takes megabytes where a (check times, loads) matrix takes gigabytes. `full` spreads them
to the loads when a caller needs every value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandapower as pp

from planner.inputs.case import Case
from planner.inputs.profiles import BUILTIN, shape_factors, simbench_rows

__all__ = ["Basis", "Factors", "profile_factors"]


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


@dataclass(frozen=True)
class Basis:
    """Design demand kept compactly: per load a base value and a profile column, per check time
    a row of the profiles' factors. A load's design P at row `r` is `p_pre * fp[r, p_col] *
    p_post` (in that order, so the values are those of a full matrix to the last bit)."""

    fp: np.ndarray  # (rows, profile columns)
    fq: np.ndarray
    p_col: np.ndarray  # (loads,) the column of each load
    q_col: np.ndarray
    p_pre: np.ndarray  # (loads,)
    q_pre: np.ndarray
    post: np.ndarray | None  # (loads,) multiplied last, or None

    def p_at(self, row: int, pos: np.ndarray | slice = slice(None)) -> np.ndarray:
        out = self.p_pre[pos] * self.fp[row][self.p_col[pos]]
        return out if self.post is None else out * self.post[pos]

    def q_at(self, row: int, pos: np.ndarray | slice = slice(None)) -> np.ndarray:
        out = self.q_pre[pos] * self.fq[row][self.q_col[pos]]
        return out if self.post is None else out * self.post[pos]

    def block(
        self,
        rows: Sequence[int] | np.ndarray,
        pos: np.ndarray,
        q: bool = False,
        gathered: np.ndarray | None = None,
    ) -> np.ndarray:
        """(len(rows), len(pos)): the values of `p_at` (or `q_at`) of each row, at `pos`
        (`gathered`: the factor rows `rows` picked already). Made as `matrix[:, pos]` of a full
        matrix is, in its memory order too, so sums along a row add in the same order."""
        f, col, pre = (self.fq, self.q_col, self.q_pre) if q else (self.fp, self.p_col, self.p_pre)
        picked = f[np.asarray(rows, dtype=int)] if gathered is None else gathered
        out = pre[pos] * picked[:, col[pos]]
        return out if self.post is None else out * self.post[pos]

    def key(self, row: int) -> bytes:
        """Equal for two rows exactly when every load's factors are equal."""
        if not len(self.p_col):
            return b""
        return self.fp[row].tobytes() + self.fq[row].tobytes()


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


def _sorted_codes(values: np.ndarray) -> tuple[list[str], np.ndarray]:
    """`np.unique(values, return_inverse=True)` of strings, by hashing (a sort of thousands of
    strings per call costs as much as the rest of a step's load states); every character
    counts, as in numpy's comparison (pandas' own hashing stops at a NUL)."""
    names = values.tolist()
    found = sorted(dict.fromkeys(names))
    rank = {name: r for r, name in enumerate(found)}
    codes = np.fromiter(map(rank.__getitem__, names), dtype=np.intp, count=len(names))
    return [str(name) for name in found], codes


def _simbench_factors(net: pp.pandapowerNet, times: list[datetime]) -> Factors:
    """SimBench load profiles (quarter hours of 2016) at `times`: `*_pload` for P and, where the
    network has it, `*_qload` for Q (else, value by value, the load's P factor)."""
    table = net.profiles["load"]
    rows = simbench_rows(times, len(table))
    # a few profiles shared by thousands of loads: each worked out once, then spread to the loads
    profiles, of_load = _sorted_codes(net.load["profile"].astype(str).to_numpy())
    p_names = [f"{p}_pload" for p in profiles]
    p_unique = sorted(set(p_names))
    p = table.iloc[rows].reindex(columns=p_unique).to_numpy(dtype=float)
    p[np.isnan(p)] = 1.0
    p_of = {name: k for k, name in enumerate(p_unique)}
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
    p_col = np.array([p_of[name] for name in p_names], dtype=int)[of_load]
    q_col = np.array([q_of[pair] for pair in pairs], dtype=int)[of_load]
    return Factors(p, q, p_col, q_col)
