"""A stage's fixed context: its network before and after the works, and its design demand."""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandapower as pp
import pandas as pd

from planner.core.refs import Namer
from planner.grid.state import apply_works, stage_base_net
from planner.grid.topology import Graph, build_graph, energised_buses
from planner.inputs.case import Case, Stage
from planner.inputs.demand import ROWS_PER_BLOCK, Demand, StepGroup, stage_demand

__all__ = ["StageContext", "set_design_loads"]


@dataclass(frozen=True)
class StageContext:
    """Everything about a stage that does not depend on the plan, computed once."""

    case: Case
    stage: Stage
    base_net: pp.pandapowerNet
    works_net: pp.pandapowerNet
    base_graph: Graph
    base_energised: frozenset[int]
    works_energised: frozenset[int]
    demand: Demand
    load_bus: dict[int, int]
    protected: frozenset[int]

    @classmethod
    def build(cls, case: Case, stage: Stage) -> StageContext:
        base, works = _nets(case, stage)
        base_graph = build_graph(base)
        loads = base.load
        return cls(
            case=case,
            stage=stage,
            base_net=base,
            works_net=works,
            base_graph=base_graph,
            base_energised=energised_buses(base_graph),
            works_energised=energised_buses(build_graph(works)),
            demand=stage_demand(case, base, stage),
            load_bus={int(i): int(b) for i, b in zip(loads.index, loads.bus, strict=True)},
            protected=case.loads.protected,
        )

    @staticmethod
    def cut_off_by(case: Case, stage: Stage) -> frozenset[int]:
        """The buses `stage`'s works cut off, without building its whole context."""
        base, works = _nets(case, stage)
        return energised_buses(build_graph(base)) - energised_buses(build_graph(works))

    @functools.cached_property
    def namer(self) -> Namer:
        """How elements of `base_net` are named in messages: each table's names scanned once
        for the stage (its networks are copies of `base_net`, the same names)."""
        return Namer(self.base_net)

    @functools.cached_property
    def memo(self) -> dict[str, Any]:
        """What the checks compute from this fixed context alone (the normal state's breaches),
        kept by the function that computes it so that a stage's planning, its bounds and its
        risk solve it once."""
        return {}

    @property
    def cut_off(self) -> frozenset[int]:
        """Buses the works cut off from every source."""
        return self.base_energised - self.works_energised

    @functools.cached_property
    def _load_buses(self) -> tuple[np.ndarray, np.ndarray]:
        """The loads of `load_bus` in index order, and the bus of each."""
        ids = np.array(sorted(self.load_bus), dtype=np.int64)
        return ids, np.array([self.load_bus[int(i)] for i in ids], dtype=np.int64)

    def loads_on(self, buses: frozenset[int] | set[int]) -> list[int]:
        """The loads at `buses`, in index order."""
        ids, at = self._load_buses
        if not len(ids) or not buses:
            return []
        wanted = np.fromiter(buses, dtype=np.int64, count=len(buses))
        return [int(i) for i in ids[np.isin(at, wanted)]]

    @functools.cached_property
    def _load_index(self) -> pd.Index:
        return pd.Index(self.demand.loads)

    @functools.cached_property
    def _group_hours(self) -> np.ndarray:
        """Hours each of the demand's step groups holds over the stage (`energy_kwh`)."""
        held = dict(zip(self.demand.times, self.demand.step_h, strict=True))
        return np.array([sum(held[t] for t in g.times) for g in self.demand.groups])

    @functools.cached_property
    def _load_lookup(self) -> np.ndarray | None:
        """Position in `demand.loads` by load index (-1: none), or None when the indices are
        not few distinct non-negative numbers (then `pd.Index.get_indexer` answers)."""
        ids = np.asarray(self.demand.loads, dtype=np.int64)
        if not len(ids) or ids.min() < 0 or ids.max() >= 4 * len(ids) + 1024:
            return None
        if len(np.unique(ids)) != len(ids):
            return None
        table = np.full(int(ids.max()) + 1, -1, dtype=int)
        table[ids] = np.arange(len(ids))
        return table

    def _positions(self, loads: list[int]) -> np.ndarray:
        """Positions of `loads` in `demand.loads` (-1 for one it does not hold), as
        `pd.Index.get_indexer` gives them, by one array lookup."""
        table = self._load_lookup
        if table is None:
            return np.asarray(self._load_index.get_indexer(loads), dtype=int)
        wanted = np.asarray(loads, dtype=np.int64).reshape(-1)
        inside = (wanted >= 0) & (wanted < len(table))
        if inside.all():
            return table[wanted]
        out = np.full(len(wanted), -1, dtype=int)
        out[inside] = table[wanted[inside]]
        return out

    def load_kw(self, loads: list[int], group: StepGroup) -> tuple[float, float]:
        pos = self._positions(loads)
        return float(group.p_mw[pos].sum() * 1000.0), float(group.q_mvar[pos].sum() * 1000.0)

    def peak_kw(self, loads: list[int]) -> tuple[float, float]:
        """Largest design P over the stage's time steps, and the Q at that step."""
        if not loads:
            return 0.0, 0.0
        pos = self._positions(loads)
        p = self.demand.p_sums(pos)
        k = int(np.argmax(p))
        if p[k] <= 0:
            return 0.0, 0.0
        return float(p[k] * 1000.0), float(self.demand.groups[k].q_mvar[pos].sum() * 1000.0)

    def own_peaks_kw(self, loads: list[int]) -> list[float]:
        """Each of `loads`' own largest design P over the stage's time steps (kW, 0 where it is
        never positive): `peak_kw([i])[0]` of each, from one pass over the demand."""
        pos = self._positions(loads)
        assert (pos >= 0).all(), "a load the stage's demand does not hold"
        return self._own_peaks_kw[pos].tolist()

    @functools.cached_property
    def _own_peaks_kw(self) -> np.ndarray:
        every = np.arange(len(self.demand.loads))
        peak = np.full(every.size, -np.inf)
        for first in range(0, len(self.demand.groups), ROWS_PER_BLOCK):
            block = self.demand.p_block(every, first, first + ROWS_PER_BLOCK)
            peak = np.maximum(peak, block.max(axis=0, initial=-np.inf))
        return np.where(peak > 0, peak * 1000.0, 0.0)

    def energy_kwh(self, loads: list[int]) -> float:
        """The design energy of `loads` over the stage: each check time's design P for as long
        as its state holds (`Demand.step_h`: an hour, a profile row, at most to its window's
        end), summed over the stage's works hours."""
        if not loads:
            return 0.0
        pos = self._positions(loads)
        return float(self._group_hours @ self.demand.p_sums(pos) * 1000.0)

    def households(self, loads: list[int]) -> int:
        column = self.base_net.load.get("households")
        if column is None:
            return 0
        return int(np.nansum(column.reindex(loads).to_numpy(dtype=float)))


def set_design_loads(net: pp.pandapowerNet, ctx: StageContext, group: StepGroup) -> None:
    """Put the design load of one time step on `net` (indices of the stage's network)."""
    pos = pd.Index(ctx.demand.loads).get_indexer(net.load.index)
    net.load["p_mw"] = group.p_mw[pos]
    net.load["q_mvar"] = group.q_mvar[pos]
    net.load["scaling"] = 1.0


def _nets(case: Case, stage: Stage) -> tuple[pp.pandapowerNet, pp.pandapowerNet]:
    """The network as `stage` finds it, and as its works leave it."""
    base = stage_base_net(case, stage)
    works = copy.deepcopy(base)
    apply_works(works, stage)
    return base, works
