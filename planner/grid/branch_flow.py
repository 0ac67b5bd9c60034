"""Power through a line, transformer or load of a state the batched engine solved, read from
the engine's bus voltages: what pandapower's `res_line`, `res_trafo` and `res_load` hold after a
`runpp` of the same state, without running it.

A branch's end power is pandapower's own formula, `S_f = V_f conj(Yf V)` (and `Yt` at the other
end), on the model's branch admittance rows. An auxiliary bus pandapower adds (the open end of a
line behind an open switch) carries no injection, so its voltage follows from its neighbours'.
What the engine's solution does not tell (a branch it does not model, a three-winding
transformer, a bus-bus switch with an impedance) raises `NotDerived`: pandapower is asked then.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandapower as pp

from planner.grid.engine import BatchModel, BatchResult

__all__ = ["EngineFlows", "EngineRow", "NotDerived"]


class NotDerived(Exception):
    """The engine's solution does not tell this flow: pandapower's load flow must."""


@dataclass(frozen=True)
class EngineRow:
    """One solved time step of a batched-engine result with the network state it models (`net`:
    branch ends, loads in service) and the loads it was solved at (MW, Mvar, `net`'s load
    order, zero for a load out of service)."""

    net: pp.pandapowerNet
    model: BatchModel
    vm_pu: np.ndarray  # (buses,) in the model's bus order
    va_degree: np.ndarray
    load_p_mw: np.ndarray
    load_q_mvar: np.ndarray

    @classmethod
    def of(
        cls,
        net: pp.pandapowerNet,
        model: BatchModel,
        res: BatchResult,
        row: int,
        p_mw: np.ndarray,
        q_mvar: np.ndarray,
    ) -> EngineRow:
        """Row `row` of `res` (solved at loads `p_mw`, `q_mvar`: (rows, loads))."""
        assert res.va_degree is not None
        return cls(net, model, res.vm_pu[row], res.va_degree[row], p_mw[row], q_mvar[row])


class EngineFlows:
    """Flows of one `EngineRow`, read as `planner.grid.devices.across_kva` reads pandapower's
    result tables (MW, Mvar)."""

    def __init__(self, row: EngineRow) -> None:
        self.row = row
        self._v: dict[int, complex | None] = {}

    def end_flow(self, table: str, index: int, bus: int) -> tuple[float, float]:
        """P and Q into branch `index` of `table` at its end at `bus` (the other end's when
        `bus` is neither, as pandapower's result columns are read)."""
        model, net = self.row.model, self.row.net
        if table == "line":
            ids, (yf, yt, _, _), ends = model.lines, model.line_y, ("from_bus", "to_bus")
        elif table == "trafo":
            ids, (yf, yt, _, _), ends = model.trafos, model.trafo_y, ("hv_bus", "lv_bus")
        else:
            raise NotDerived(f"{table} is not a two-ended branch of the model")
        hit = np.flatnonzero(ids == index)
        if not len(hit):
            raise NotDerived(f"{table} {index} is not in the model (out of service, not energised)")
        r = int(hit[0])  # its row of the table's own Yf and Yt rows
        first, second = (int(net[table].at[index, c]) for c in ends)
        f, t = self._terminals(yf, r, self._position(first), self._position(second))
        at_first = first == bus
        y = yf if at_first else yt
        own = f if at_first else t
        current = sum((value * self._voltage(j) for j, value in _entries(y, r)), 0j)
        s = self._voltage(own) * current.conjugate() * model.base_mva
        return float(s.real), float(s.imag)

    def load_flow(self, index: int) -> tuple[float, float]:
        """P and Q of load `index` (voltage-independent: its design P and Q, as solved); none
        where its bus is not energised."""
        load = self.row.net.load
        if self._position(int(load.at[index, "bus"])) is None:
            return 0.0, 0.0
        pos = load.index.get_loc(index)
        return float(self.row.load_p_mw[pos]), float(self.row.load_q_mvar[pos])

    def switch_flow(self, index: int) -> tuple[float, float] | None:
        """A bus-bus switch: None (pandapower fuses its buses, its flow is not known) unless it
        has an impedance, a branch the engine's model does not name."""
        sw = self.row.net.switch
        if "z_ohm" in sw.columns and float(sw.at[index, "z_ohm"]) > 0:
            raise NotDerived(f"switch {index} is an impedance")
        return None

    def _position(self, bus: int) -> int | None:
        """The model's internal bus of `bus` (None where it is not energised)."""
        hit = np.flatnonzero(self.row.model.bus_ids == bus)
        return int(self.row.model.bus_pos[hit[0]]) if len(hit) else None

    def _terminals(self, yf, r: int, first: int | None, second: int | None) -> tuple[int, int]:
        """Row `r` of a table's `yf` rows: its internal from and to buses, given its ends' buses
        (an end behind an open switch is an auxiliary bus of pandapower's)."""
        cols = {j for j, _ in _entries(yf, r)}
        if first is not None and first == second:
            if cols == {first}:
                return first, first
            raise NotDerived("both ends on one internal bus")
        if len(cols) != 2:
            raise NotDerived(f"branch row {r} has {len(cols)} terminals")
        if first in cols:
            return first, next(iter(cols - {first}))
        if second in cols:
            return next(iter(cols - {second})), second
        raise NotDerived(f"branch row {r}: neither end energised")

    def _voltage(self, k: int) -> complex:
        """The complex voltage (pu) of internal bus `k`."""
        if k not in self._v:
            self._v[k] = self._known(k)
            if self._v[k] is None:
                self._v[k] = self._auxiliary(k)
        value = self._v[k]
        if value is None:
            raise NotDerived(f"internal bus {k}: voltage not known")
        return value

    def _known(self, k: int) -> complex | None:
        hit = np.flatnonzero(self.row.model.bus_pos == k)
        if not len(hit):
            return None
        i = int(hit[0])
        angle = math.radians(float(self.row.va_degree[i]))
        return complex(float(self.row.vm_pu[i]) * complex(math.cos(angle), math.sin(angle)))

    def _auxiliary(self, k: int) -> complex | None:
        """An auxiliary bus without injection: `sum_j Y_kj V_j = 0` gives its voltage from its
        neighbours' (None where one of them is not known either)."""
        model = self.row.model
        if k in model.ref or k in model.pv_bus or model.s_other[k] != 0:
            return None
        own, other = 0j, 0j
        for j, value in _entries(model.ybus, k):
            if j == k:
                own += value
                continue
            vj = self._known(j)
            if vj is None:
                return None
            other += value * vj
        return -other / own if own != 0 else None


def _entries(matrix, row: int) -> list[tuple[int, complex]]:
    """The stored (column, value) entries of one row of a CSR matrix."""
    cut = slice(matrix.indptr[row], matrix.indptr[row + 1])
    return list(zip(matrix.indices[cut].tolist(), matrix.data[cut].tolist(), strict=True))
