"""Collecting limit checks over many load flows: violations (worst per element) and extremes.

A bus's voltage band is the case's `[limits]` narrowed by the network's own `bus.min_vm_pu` /
`bus.max_vm_pu` where those columns hold a number: the tighter of the two applies, so plan and
validate (which both check through `Findings`) honour a network's per-bus limits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandapower as pp
import pandas as pd

from planner.core.plan import Violation
from planner.core.refs import Namer
from planner.grid.engine import BatchModel, BatchResult
from planner.grid.powerflow import GridSolution, TruckAt
from planner.grid.scan import TOL, WORSE_BY, RowScan
from planner.inputs.case import Limits

__all__ = [
    "TOL",
    "WORSE_BY",
    "Exemptions",
    "Extreme",
    "Findings",
    "breached",
    "broken_as_normally",
    "own_voltage_limits",
    "voltage_band",
]

Exemptions = dict[tuple[str, str], dict[str, float]]  # (kind, element) -> {check time: value}
REVERSE_TOL_KW = 0.5  # below the load flow's tolerance on a truck's output


def own_voltage_limits(net: pp.pandapowerNet) -> dict[str, pd.Series]:
    """The network's own `bus.min_vm_pu` / `bus.max_vm_pu` columns, as numbers (NaN: none)."""
    return {
        column: pd.to_numeric(net.bus[column], errors="coerce")  # text: not a limit
        for column in ("min_vm_pu", "max_vm_pu")
        if column in net.bus.columns
    }


def voltage_band(
    net: pp.pandapowerNet, limits: Limits, buses: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The voltage band (lowest, highest pu) of each of `buses`: the case's limits, narrowed
    by the network's own `min_vm_pu` / `max_vm_pu` where given. Every check of a bus voltage
    against its limits uses this band."""
    return _band(own_voltage_limits(net), limits, buses)


def _band(
    own: dict[str, pd.Series], limits: Limits, buses: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    low = np.full(len(buses), float(limits.vm_min_pu))
    high = np.full(len(buses), float(limits.vm_max_pu))
    if not own or not len(buses):
        return low, high
    # each column's values at `buses` (`reindex`: NaN where a bus has none), positions looked
    # up once for both: both columns are the bus table's
    at = next(iter(own.values())).index.get_indexer(buses)
    for column, band, tighter in (("min_vm_pu", low, np.fmax), ("max_vm_pu", high, np.fmin)):
        given = own.get(column)
        if given is not None:
            values = np.append(given.to_numpy(dtype=float), np.nan)  # position -1: NaN, none
            band[:] = tighter(band, values[at])
    return low, high


def breached(
    net: pp.pandapowerNet,
    limits: Limits,
    buses: np.ndarray,
    vm_pu: np.ndarray,
    branches: dict[str, tuple[np.ndarray, np.ndarray]],
) -> set[tuple[str, int]]:
    """The elements outside their limits (by more than `TOL`) in any of the solved states:
    `vm_pu` is (states, buses), `branches` maps "line"/"trafo" to (ids, loading % as (states,
    ids)). Screens use it; verification goes through `Findings`, with the same band."""
    lo, hi = voltage_band(net, limits, buses)
    vm = np.atleast_2d(vm_pu)
    found = {("bus", int(b)) for b in buses[((vm < lo - TOL) | (vm > hi + TOL)).any(axis=0)]}
    ceiling = {
        "line": limits.max_line_loading_percent,
        "trafo": limits.max_trafo_loading_percent,
    }
    for kind, (ids, loading) in branches.items():
        over = (np.atleast_2d(loading) > ceiling[kind] + TOL).any(axis=0)
        found |= {(kind, int(i)) for i in np.asarray(ids)[over]}
    return found


@dataclass(frozen=True)
class Extreme:
    """The worst value of a quantity, where and when it occurred."""

    value: float
    element: str
    time: str

    def as_json(self) -> dict[str, Any]:
        return {"value": round(self.value, 5), "element": self.element, "time": self.time}


@dataclass
class Findings:
    """Everything a stage's load flows found: violations (one per kind and element) and extremes."""

    net: pp.pandapowerNet
    limits: Limits
    violations: dict[tuple[str, str], Violation] = field(default_factory=dict)
    min_vm: Extreme | None = None
    max_vm: Extreme | None = None
    max_line: Extreme | None = None
    max_trafo: Extreme | None = None
    max_truck: Extreme | None = None
    unserved_kw: float = 0.0
    load_flows: int = 0
    min_loading_hours: list[str] = field(default_factory=list)
    # limits the network's normal state already breaks, (kind, element) -> {check time: value
    # there}: at those times, broken no further, not counted against a state; kept in
    # `preexisting` (and reported as such). Broken at another time, or further, they count.
    exempt: Exemptions = field(default_factory=dict)
    preexisting: dict[tuple[str, str], Violation] = field(default_factory=dict)
    # when given, every time each element breaks its limit is recorded here (`normal_exemptions`)
    breaches: Exemptions | None = None
    _own_band: dict[str, pd.Series] | None = field(default=None, init=False, repr=False)
    # how elements of `net` are named in messages (`Namer`: each table's names scanned once);
    # a stage passes its context's, shared by all its findings
    namer: Namer | None = field(default=None, repr=False)

    def ref(self, table: str, index: int) -> str:
        """The reference text of an element of `net` (`ref_for`)."""
        if self.namer is None:
            self.namer = Namer(self.net)
        return self.namer(table, index).text

    def add(self, v: Violation, higher_is_worse: bool = True) -> None:
        """Keep the worst violation per (kind, element, island)."""
        key = (v.kind, f"{v.element}|{v.island}")
        old = self.violations.get(key)
        if old is None or (
            old.value is not None
            and v.value is not None
            and v.value != old.value
            and (v.value > old.value) == higher_is_worse
        ):
            self.violations[key] = v

    def bus_band(self, buses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The voltage band (lowest, highest pu) of each of `buses` (see `voltage_band`)."""
        if self._own_band is None:
            self._own_band = own_voltage_limits(self.net)
        return _band(self._own_band, self.limits, buses)

    def _extreme(self, name: str, value: float, element: str, when: str, low: bool) -> None:
        old = getattr(self, name)
        if old is None or (value < old.value if low else value > old.value):
            setattr(self, name, Extreme(value, element, when))

    def observe_trucks(
        self,
        trucks: list[TruckAt],
        p_kw: dict[str, float],
        q_kvar: dict[str, float],
        island: str,
        when: str,
    ) -> dict[str, float]:
        """Check solved truck outputs against 0..`rating_kw` and the kVA rating; their loading."""
        out = {}
        for truck in trucks:
            if truck.id in p_kw:
                out[truck.id] = self.observe_truck(
                    truck, p_kw[truck.id], q_kvar.get(truck.id, 0.0), island, when
                )
        return out

    def observe_truck(
        self, truck: TruckAt, p_kw: float, q_kvar: float, island: str, when: str
    ) -> float:
        """One truck's solved output: its loading, an overload (naming the limit it breaks) and
        reverse power (a truck never absorbs active power)."""
        loading = truck.loading_percent(p_kw, q_kvar)
        self._extreme("max_truck", loading, truck.id, when, low=False)
        where = f"island {island}: " if island else ""
        if loading > 100.0 + TOL:
            kva = math.hypot(p_kw, q_kvar)
            if p_kw / truck.rating_kw >= kva / truck.rating_kva:
                what = f"{p_kw:,.0f} kW, {loading:.1f} % of its {truck.rating_kw:,.0f} kW rating"
            else:
                what = f"{kva:,.0f} kVA, {loading:.1f} % of its {truck.rating_kva:,.0f} kVA rating"
            self.add(
                Violation(
                    "truck_overload",
                    f"{where}truck {truck.id} at {what}",
                    truck.id,
                    round(loading, 2),
                    100.0,
                    island,
                    when,
                )
            )
        if p_kw < -REVERSE_TOL_KW:
            self.add(
                Violation(
                    "truck_reverse_power",
                    f"{where}truck {truck.id} would absorb {-p_kw:,.0f} kW "
                    "(a truck cannot take active power)",
                    truck.id,
                    round(p_kw, 1),
                    0.0,
                    island,
                    when,
                ),
                higher_is_worse=False,
            )
        return loading

    def check(self, sol: GridSolution, where: str, when: str, island: str = "") -> None:
        """Voltage and loading limits of one solved state."""

        def arrays(values: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
            ids = np.fromiter(values.keys(), dtype=int, count=len(values))
            data = np.fromiter(values.values(), dtype=float, count=len(values))
            return ids, data[None, :]

        buses, vm = arrays(sol.vm_pu)
        lines, line = arrays(sol.line_loading_percent)
        trafos, trafo = arrays(sol.trafo_loading_percent)
        self.check_batch(buses, vm, lines, line, trafos, trafo, [when], where, island)

    def check_result(
        self,
        model: BatchModel,
        res: BatchResult,
        rows: list[int],
        whens: list[str],
        where: str,
        island: str = "",
    ) -> None:
        """`check_batch` on rows of a batched-engine result, `whens[i]` the time of `rows[i]`."""
        scan = self.scan_rows(where, island)
        self.feed_result(scan, model, res, rows, whens)
        scan.finish()

    def check_batch(
        self,
        buses: np.ndarray,
        vm: np.ndarray,
        lines: np.ndarray,
        line_loading: np.ndarray,
        trafos: np.ndarray,
        trafo_loading: np.ndarray,
        whens: list[str],
        where: str,
        island: str = "",
    ) -> None:
        """`check` for many time steps at once: arrays are (steps, elements)."""
        scan = RowScan(self, where, island)
        scan.feed(buses, vm, lines, line_loading, trafos, trafo_loading, whens)
        scan.finish()

    def scan_rows(self, where: str, island: str = "") -> RowScan:
        """`check_batch` over rows given a block at a time (`RowScan.feed`, then `finish`)."""
        return RowScan(self, where, island)

    def feed_result(
        self, scan: RowScan, model: BatchModel, res: BatchResult, rows: list[int],
        whens: list[str],
    ) -> None:  # fmt: skip
        """`check_result`'s rows of one block of a batch, into `scan`."""
        if not rows:
            return
        every = len(rows) == len(res.converged) and np.array_equal(rows, np.arange(len(rows)))

        def taken(values: np.ndarray) -> np.ndarray:  # all rows, as they are: no copy
            return values if every else values[rows]

        scan.feed(
            model.bus_ids,
            taken(res.vm_pu),
            model.lines,
            taken(res.line_loading_percent),
            model.trafos,
            taken(res.trafo_loading_percent),
            whens,
        )

    def sorted_violations(self) -> tuple[Violation, ...]:
        return tuple(
            sorted(self.violations.values(), key=lambda v: (v.kind, v.island, v.element, v.time))
        )

    def worst_json(self) -> dict[str, Any]:
        out = {}
        for name in ("min_vm", "max_vm", "max_line", "max_trafo", "max_truck"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value.as_json()
        return out


def broken_as_normally(v: Violation, normal: dict[tuple[str, str], float | None]) -> bool:
    """Whether `v` is a limit the normal state breaks as badly (values rounded alike)."""
    if (v.kind, v.element) not in normal:
        return False
    was = normal[(v.kind, v.element)]
    if v.value is None or was is None:
        return v.value is None and was is None
    slack = WORSE_BY[v.kind in ("vm_min", "vm_max")]
    return v.value >= was - slack if v.kind == "vm_min" else v.value <= was + slack
