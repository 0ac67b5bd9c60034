"""Design demand: `p_mw × net scaling × case scaling × profile(t) × (1 + margin)` per load
(or the feeder's quantile uplift where larger: `planner.inputs.uncertainty`)."""

from __future__ import annotations

import bisect
import functools
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandapower as pp

from planner.core.errors import CaseError, Problem
from planner.inputs.case import Case, Loads, Stage
from planner.inputs.demand_factors import Basis, profile_factors
from planner.inputs.network import Network
from planner.inputs.profiles import SIMBENCH_STEP, steps_of
from planner.inputs.uncertainty import design_factors
from planner.inputs.windows_daily import window_step_hours

__all__ = [
    "MEMORY_LIMIT_BYTES",
    "Demand",
    "StepGroup",
    "check_times",
    "count_check_times",
    "design_matrix",
    "design_rows",
    "memory_problems",
    "stage_bytes",
    "stage_demand",
    "stage_times",
]

# What planning a stage holds for each check time: its time, load state (a row of profile factors
# per profile column, not per load: `planner.inputs.demand_factors`), hourly results, the
# schedule's rows, and the limits the normal state breaks then. Load flows and their limit checks
# run a block of load states at a time (`planner.checks.solve.ROWS`, `planner.grid.scan`), so
# nothing of size (check times x loads) or (check times x buses) is held. The estimate is
# BYTES_PER_STEP per check time plus BYTES_PER_ELEMENT_STEP per load and bus per check time (the
# normal state's breaches, the switch-set sizing's load per supernode); measured on SimBench
# 1-MVLV-urban-all-0-sw (11,542 loads, 10,458 buses) with year-long stages. A case whose estimate
# passes MEMORY_LIMIT_BYTES is refused before anything is allocated.
BYTES_PER_ELEMENT_STEP = 1
BYTES_PER_STEP = 16_384
MEMORY_LIMIT_BYTES = 2_000_000_000


class StepGroup:
    """Hours of a stage that share one load state (same factor for every load).

    A stage's own groups keep no per-load arrays: each is a row of its demand's profile
    factors, and `p_mw`/`q_mvar` are worked out when asked for (a year of quarter hours at
    10,000 loads would otherwise hold gigabytes). Groups made from arrays keep them."""

    __slots__ = ("_basis", "_p", "_q", "_row", "times")

    def __init__(
        self,
        times: tuple[datetime, ...],
        p_mw: np.ndarray | None = None,
        q_mvar: np.ndarray | None = None,
        *,
        basis: Basis | None = None,
        row: int = 0,
    ) -> None:
        self.times = times
        self._p, self._q, self._basis, self._row = p_mw, q_mvar, basis, row

    @property
    def p_mw(self) -> np.ndarray:
        """Design active power per load (order of `Demand.loads`), MW."""
        if self._p is not None:
            return self._p
        assert self._basis is not None
        return self._basis.p_at(self._row)

    @property
    def q_mvar(self) -> np.ndarray:
        if self._q is not None:
            return self._q
        assert self._basis is not None
        return self._basis.q_at(self._row)

    def __repr__(self) -> str:
        return f"StepGroup({len(self.times)} times from {self.times[0].isoformat()})"


ROWS_PER_BLOCK = 256  # load states summed at a time: bounds the (states, loads) scratch


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
    def basis(self) -> Basis | None:
        """The profile factors every group is a row of (None: a group holds its own values)."""
        basis = self.groups[0]._basis if self.groups else None
        return basis if all(g._basis is basis for g in self.groups) else None

    @functools.cached_property
    def p_matrix(self) -> DemandMatrix:
        """(groups, loads) design active power, MW, as an array-like: `p_matrix[:, pos]` and
        `p_matrix[k]` are made when asked for, never the whole matrix at once."""
        return DemandMatrix(self, q=False)

    @functools.cached_property
    def q_matrix(self) -> DemandMatrix:
        return DemandMatrix(self, q=True)

    def p_block(self, pos: np.ndarray, first: int = 0, stop: int | None = None) -> np.ndarray:
        """`p_matrix[first:stop, pos]`, made without the full matrix."""
        return self._block(pos, first, stop, q=False)

    def q_block(self, pos: np.ndarray, first: int = 0, stop: int | None = None) -> np.ndarray:
        return self._block(pos, first, stop, q=True)

    def _block(self, pos: np.ndarray, first: int, stop: int | None, q: bool) -> np.ndarray:
        return self.block_of(range(len(self.groups))[first:stop], pos, q)

    def block_of(self, rows: Sequence[int], pos: np.ndarray, q: bool = False) -> np.ndarray:
        """(len(rows), len(pos)): the design P (or Q) of the groups `rows` at the loads `pos`."""
        return design_rows([self.groups[k] for k in rows], pos, q)

    def p_sums(self, pos: np.ndarray) -> np.ndarray:
        """(groups,) total design P of the loads at `pos`: `p_matrix[:, pos].sum(axis=1)`,
        summed a block of rows at a time."""
        parts = [
            self.p_block(pos, a, a + ROWS_PER_BLOCK).sum(axis=1)
            for a in range(0, len(self.groups), ROWS_PER_BLOCK)
        ]
        return np.concatenate(parts) if parts else np.zeros(0)


def design_rows(groups: Sequence[StepGroup], pos: np.ndarray, q: bool = False) -> np.ndarray:
    """(len(groups), len(pos)): the design P (or Q) of `groups` at the loads `pos`, each row
    `group.p_mw[pos]` to the bit; made from the groups' profile factors where they share them
    (no full row per group), then in `Basis.block`'s memory order (Fortran's: a sum along a row
    may differ from the row's own sum in the last bit)."""
    pos = np.asarray(pos, dtype=int)
    basis = groups[0]._basis if groups else None
    if basis is None or any(g._basis is not basis for g in groups):
        return np.array([(g.q_mvar if q else g.p_mw)[pos] for g in groups]).reshape(
            len(groups), len(pos)
        )
    return basis.block([g._row for g in groups], pos, q)


class DemandMatrix:
    """`Demand.p_matrix` (or `q_matrix`) without its (groups, loads) values held: indexing with
    `[k]`, `[rows, cols]` (an int, a slice or an index array each) makes just those values, the
    same to the last bit as a full matrix's; `np.asarray` makes the whole matrix."""

    def __init__(self, demand: Demand, q: bool) -> None:
        self.demand, self.q = demand, q
        self.shape = (len(demand.groups), len(demand.loads))
        self.ndim = 2
        self._rows: np.ndarray | None = None
        self._all: np.ndarray | None = None

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        full = self[:, :]
        return full if dtype is None else full.astype(dtype)

    def __getitem__(self, key: object) -> np.ndarray:
        rows, cols = key if isinstance(key, tuple) else (key, slice(None))
        groups = self.demand.groups
        basis = self.demand.basis
        if basis is None:
            full = np.array([g.q_mvar if self.q else g.p_mw for g in groups])
            return full.reshape(self.shape)[rows, cols]
        if self._rows is None:
            self._rows = np.array([g._row for g in groups], dtype=int)
            self._all = (basis.fq if self.q else basis.fp)[self._rows]  # every group's factors
        picked = self._rows[rows]
        pos = np.arange(self.shape[1])[cols]
        every = isinstance(rows, slice) and rows == slice(None)
        gathered = self._all if every else None
        out = basis.block(np.atleast_1d(picked), np.atleast_1d(pos), self.q, gathered)
        if np.ndim(pos) == 0:
            out = out[:, 0]
        return out[0] if np.ndim(picked) == 0 else out


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


def stage_bytes(steps: int, loads: int, buses: int) -> int:
    """The estimated memory a stage of `steps` check times holds on a grid of `loads` loads
    and `buses` buses, beyond the network itself."""
    return steps * ((loads + buses) * BYTES_PER_ELEMENT_STEP + BYTES_PER_STEP)


def memory_problems(
    case_stages: Sequence[tuple[str, Stage]], network: Network, loads: Loads
) -> list[tuple[str, str]]:
    """(key, message) for each stage whose check times would need more than MEMORY_LIMIT_BYTES,
    and for the stages together; empty when the case fits."""
    net = network.net
    rows = loads.csv_profile.times if loads.csv_profile is not None else ()
    every = SIMBENCH_STEP if loads.profile == "simbench" and network.is_simbench else None
    problems = []
    total = 0
    for key, stage in case_stages:
        steps = count_check_times(stage.start, stage.end, rows, every)
        total += steps
        need = stage_bytes(steps, len(net.load), len(net.bus))
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


def design_matrix(
    case: Case, net: pp.pandapowerNet, times: list[datetime]
) -> tuple[np.ndarray, np.ndarray]:
    """Design P and Q (MW, Mvar) of every load (columns, net order) at `times` (rows)."""
    fp, fq = profile_factors(case, net, times).full()
    p, q = _design_base(case, net)
    return fp * p, fq * q


def _design_base(case: Case, net: pp.pandapowerNet) -> tuple[np.ndarray, np.ndarray]:
    """Each load's design P and Q with every profile factor at 1.0 (zero out of service)."""
    loads = net.load
    scale = loads["scaling"].to_numpy(dtype=float) * case.loads.scaling * design_factors(case, net)
    active = loads["in_service"].to_numpy(dtype=bool)
    p = loads["p_mw"].to_numpy(dtype=float) * scale * active
    q = loads["q_mvar"].to_numpy(dtype=float) * scale * active
    return p, q


def stage_demand(case: Case, net: pp.pandapowerNet, stage: Stage) -> Demand:
    """Design demand per load at every check time of `stage` (each hour, and each profile row
    inside the stage where the profile is finer), grouped into identical states."""
    too_big = memory_problems([("stages", stage)], case.network, case.loads)
    if too_big:  # a case built by hand rather than read by load_case
        raise CaseError([Problem(case.file, key, message) for key, message in too_big])
    times = stage_times(case, net, stage)
    f = profile_factors(case, net, times)
    loads = net.load
    base_scale = loads["scaling"].to_numpy(dtype=float) * case.loads.scaling
    base_scale = base_scale * design_factors(case, net)
    p_base = loads["p_mw"].to_numpy(dtype=float) * base_scale
    q_base = loads["q_mvar"].to_numpy(dtype=float) * base_scale
    active = loads["in_service"].to_numpy(dtype=bool)
    basis = Basis(f.p, f.q, f.p_col, f.q_col, p_base, q_base, active)
    groups: dict[bytes, list[int]] = {}
    for i in range(len(times)):
        groups.setdefault(basis.key(i), []).append(i)
    built = [
        StepGroup(tuple(times[r] for r in rows), basis=basis, row=rows[0])
        for rows in groups.values()
    ]
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
    (the network's normal state holds outside the windows), grouped by equal values; empty
    without `daily`."""
    if stage.daily is None:
        return ()
    times = check_times(case, net, stage.start, stage.end)
    f = profile_factors(case, net, times)
    p, q = _design_base(case, net)
    basis = Basis(f.p, f.q, f.p_col, f.q_col, p, q, None)
    # equal factors give equal values; unequal ones may too (a load at zero): compare values,
    # by digest, each distinct row of factors once
    by_factors: dict[bytes, bytes] = {}
    groups: dict[bytes, list[int]] = {}
    for i in range(len(times)):
        key = basis.key(i)
        if key not in by_factors:
            values = basis.p_at(i).tobytes() + basis.q_at(i).tobytes()
            by_factors[key] = hashlib.blake2b(values, digest_size=32).digest()
        groups.setdefault(by_factors[key], []).append(i)
    return tuple(
        StepGroup(tuple(times[r] for r in rows), basis=basis, row=rows[0])
        for rows in groups.values()
    )
