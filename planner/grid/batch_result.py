"""What the batched engine (`planner.grid.engine.BatchModel.solve`) returns: per time step
and element, the voltages, branch loadings and source outputs of a batch of load states."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

__all__ = ["BatchResult"]


@dataclass(frozen=True)
class BatchResult:
    """Results per time step (rows) and element (columns, in the model's element order)."""

    converged: np.ndarray  # (T,)
    vm_pu: np.ndarray  # (T, buses)
    line_loading_percent: np.ndarray  # (T, lines)
    trafo_loading_percent: np.ndarray  # (T, trafos)
    slack_p_mw: np.ndarray  # (T, slacks)
    slack_q_mvar: np.ndarray
    truck_p_mw: np.ndarray  # (T, trucks) for PQ trucks; the slack truck is in slack_p_mw
    truck_q_mvar: np.ndarray
    iterations: int
    va_degree: np.ndarray | None = None  # (T, buses), as pandapower's res_bus.va_degree
    pv_q_mvar: np.ndarray | None = None  # (T, PV generators): their reactive power

    @classmethod
    def stacked(cls, parts: list[BatchResult]) -> BatchResult:
        """The results of consecutive chunks of time steps as one (one chunk as it is, not
        copied); a field no part has (None) stays None."""
        if len(parts) == 1:
            return parts[0]
        rows = {f.name: [getattr(p, f.name) for p in parts] for f in fields(cls)}
        stacked: dict[str, Any] = {
            "converged": np.concatenate(rows.pop("converged")),
            "iterations": max(rows.pop("iterations")),
        }
        for name, values in rows.items():  # (T, elements) each
            stacked[name] = None if values[0] is None else np.vstack(values)
        return cls(**stacked)

    def outputs_kw(self, row: int, ids: list[str]) -> tuple[dict[str, float], dict[str, float]]:
        """kW and kvar of the trucks `ids` online at time step `row`: the slack truck first,
        then the model's PQ trucks in order."""
        slack, *others = ids
        p_kw = {slack: float(self.slack_p_mw[row, 0]) * 1000.0}
        q_kvar = {slack: float(self.slack_q_mvar[row, 0]) * 1000.0}
        for j, truck in enumerate(others):
            p_kw[truck] = float(self.truck_p_mw[row, j]) * 1000.0
            q_kvar[truck] = float(self.truck_q_mvar[row, j]) * 1000.0
        return p_kw, q_kvar
