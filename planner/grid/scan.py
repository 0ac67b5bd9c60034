"""Limit checks of many time steps fed a block of rows at a time, with the result of one pass.

A year of quarter hours on a 10,000-bus grid is 35,040 x 10,458 voltages: too many to hold
at once. `RowScan` keeps, per element, only what the findings need (its worst value and when,
its worst value at a time that counts against the state, the times it breaks its limit) and
reports at `finish` exactly what one pass over all rows reports: the same extremes, violations,
pre-existing limits and breaches, ties resolved to the earliest row alike.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from planner.core.plan import Violation

if TYPE_CHECKING:
    from planner.grid.limits import Findings

__all__ = ["TOL", "WORSE_BY", "QuantityScan", "RowScan"]

TOL = 1e-6
# how much further than the normal state a state must break a limit the normal state already
# breaks for it to count (a reading's resolution): loading (percentage points), voltage (pu)
WORSE_BY = {False: 0.5, True: 0.001}


@dataclass
class QuantityScan:
    """One quantity (bus voltage low or high, line or trafo loading) over blocks of rows."""

    table: str  # "bus", "line", "trafo"
    ids: np.ndarray
    extreme: str  # the `Findings` extreme it updates
    kind: str  # the violation kind
    limit: np.ndarray  # per element
    low: bool  # lower is worse
    worst: np.ndarray | None = None  # (elements,) worst value over the rows seen
    worst_when: list[str] = field(default_factory=list)
    # j: the times it breaks its limit and its values then (for `Findings.breaches`), kept as
    # a list of the shared time strings and an array of doubles: a year of them is millions
    broken: dict[int, tuple[list[str], array[float]]] = field(default_factory=dict)
    counted: dict[int, tuple[float, str]] = field(default_factory=dict)  # j: worst that counts

    def feed(self, f: Findings, values: np.ndarray, whens: Sequence[str]) -> None:
        """Rows `values` (rows, elements) at `whens`, after every row fed before."""
        low, limit = self.low, self.limit
        pick = np.argmin if low else np.argmax
        if values.shape[0] == 1:  # one row (a switching step's): its values are the worst
            t, j = 0, int(pick(values[0]))
            rows, here = np.zeros(values.shape[1], dtype=np.intp), values[0]
        else:
            rows = pick(values, axis=0)
            here = values[rows, np.arange(values.shape[1])]
            t, j = _first_of_worst(here, rows, int(pick(here)))
        ref = f.ref(self.table, int(self.ids[j]))
        f._extreme(self.extreme, float(values[t, j]), ref, whens[t], low=low)
        if self.worst is None:
            self.worst = here.copy()
            one = len(whens) == 1
            self.worst_when = [whens[0]] * len(here) if one else [whens[r] for r in rows.tolist()]
        else:
            better = np.nonzero(here < self.worst if low else here > self.worst)[0]
            self.worst[better] = here[better]
            for k, r in zip(better.tolist(), rows[better].tolist(), strict=True):
                self.worst_when[k] = whens[r]
        past = here < limit - TOL if low else here > limit + TOL
        if f.breaches is None and not f.exempt:  # every breach counts: its worst is `here`'s
            for k, r in zip(np.flatnonzero(past).tolist(), rows[past].tolist(), strict=True):
                value, old = float(here[k]), self.counted.get(k)
                if old is None or (value < old[0] if low else value > old[0]):
                    self.counted[k] = (value, whens[r])
            return
        slack = WORSE_BY[self.table == "bus"]
        digits = 5 if self.table == "bus" else 2
        for k in np.nonzero(past)[0].tolist():
            own = float(limit[k])
            column = values[:, k]
            broken = np.nonzero(column < own - TOL if low else column > own + TOL)[0].tolist()
            if f.breaches is not None:
                times, kept = self.broken.setdefault(k, ([], array("d")))
                times.extend(whens[r] for r in broken)
                kept.extend(round(float(column[r]), digits) for r in broken)
            ref = f.ref(self.table, int(self.ids[k]))
            normal = f.exempt.get((self.kind, ref), {})
            counted = [
                r
                for r in broken
                if whens[r] not in normal
                or (
                    column[r] < normal[whens[r]] - slack
                    if low
                    else column[r] > normal[whens[r]] + slack
                )
            ]
            if counted:
                r = counted[int(pick(column[counted]))]
                value = float(column[r])
                old = self.counted.get(k)
                if old is None or (value < old[0] if low else value > old[0]):
                    self.counted[k] = (value, whens[r])

    def finish(self, f: Findings, where: str, island: str) -> None:
        """Report each element past its limit over all rows fed, once (as `Findings._scan`)."""
        if self.worst is None:
            return
        low, limit = self.low, self.limit
        past = self.worst < limit - TOL if low else self.worst > limit + TOL
        digits = 5 if self.table == "bus" else 2
        for j in np.nonzero(past)[0].tolist():
            own = float(limit[j])
            ref = f.ref(self.table, int(self.ids[j]))
            if f.breaches is not None:
                times, kept = self.broken.pop(j, ([], array("d")))
                f.breaches.setdefault((self.kind, ref), {}).update(zip(times, kept, strict=True))
            if j not in self.counted:  # broken only when, and as badly as, the normal state
                value, when = float(self.worst[j]), self.worst_when[j]
                message = _message(self.table, where, ref, value, own, low)
                violation = Violation(
                    self.kind, message, ref, round(value, digits), own, island, when
                )
                f.preexisting[(self.kind, ref)] = violation
                continue
            value, when = self.counted[j]
            message = _message(self.table, where, ref, value, own, low)
            violation = Violation(self.kind, message, ref, round(value, digits), own, island, when)
            f.add(violation, higher_is_worse=not low)


def _first_of_worst(here: np.ndarray, rows: np.ndarray, j: int) -> tuple[int, int]:
    """The row and column `pick(values)` finds over the whole block (the first in row order
    of the worst value, NaN first of all), from each column's worst `here`, the first row it
    is found at `rows` and the column `j` that `pick(here)` finds: no second pass over the
    block."""
    worst = here[j]
    tied = np.flatnonzero(np.isnan(here) if np.isnan(worst) else here == worst)
    t = int(rows[tied].min())
    return t, int(tied[rows[tied] == t][0])


def _message(table: str, where: str, ref: str, value: float, own: float, low: bool) -> str:
    if table == "bus":
        side = "below" if low else "above"
        return f"{where}: {ref} at {value:.4f} pu, {side} {own:g} pu"
    return f"{where}: {ref} loaded {value:.1f} %, above {own:g} %"


class RowScan:
    """`Findings.check_batch` over rows fed in blocks: `feed` each block, then `finish`."""

    def __init__(self, f: Findings, where: str, island: str = "") -> None:
        self.f, self.where, self.island = f, where, island
        self.quantities: list[QuantityScan] | None = None

    def feed(
        self,
        buses: np.ndarray,
        vm: np.ndarray,
        lines: np.ndarray,
        line_loading: np.ndarray,
        trafos: np.ndarray,
        trafo_loading: np.ndarray,
        whens: Sequence[str],
    ) -> None:
        """A block of rows (arrays are (rows, elements)); the elements the same every block."""
        if not len(whens):
            return
        blocks = (vm, vm, line_loading, trafo_loading)
        if self.quantities is None:
            f, limits = self.f, self.f.limits
            floor, ceiling = f.bus_band(buses)
            line_max = np.full(len(lines), float(limits.max_line_loading_percent))
            trafo_max = np.full(len(trafos), float(limits.max_trafo_loading_percent))
            self.quantities = [
                QuantityScan("bus", buses, "min_vm", "vm_min", floor, True),
                QuantityScan("bus", buses, "max_vm", "vm_max", ceiling, False),
                QuantityScan("line", lines, "max_line", "line_loading", line_max, False),
                QuantityScan("trafo", trafos, "max_trafo", "trafo_loading", trafo_max, False),
            ]
        for quantity, values in zip(self.quantities, blocks, strict=True):
            if values.size:
                quantity.feed(self.f, values, whens)

    def finish(self) -> None:
        for quantity in self.quantities or ():
            quantity.finish(self.f, self.where, self.island)
        self.quantities = None
