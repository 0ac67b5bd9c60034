"""Voltage-controlled (PV) buses in the batched engine: trucks paralleled with the grid.

A truck paralleled with the grid holds its bus at the fleet's setpoint with the reactive power
its kVA leaves. In the engine's Z-bus iteration each PV bus is a PQ bus whose reactive injection
is corrected every iteration by the sensitivity of the bus voltages to it (dV/dQ, the imaginary
part of the impedance matrix between the PV buses, near a flat voltage); a bus whose correction
would pass its limit is held at the limit and its voltage floats, as pandapower's
`enforce_q_lims` does. Generators at one bus share its reactive power as pandapower does.
"""

from __future__ import annotations

import numpy as np

__all__ = ["reactive_correction", "share_by_range"]


def reactive_correction(
    dv_dq: np.ndarray, error: np.ndarray, q: np.ndarray, q_lim: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The PV buses' reactive injections `q` (buses, T) corrected towards their setpoints
    (`error`: setpoint minus voltage, pu) within +-`q_lim`; returns them and which buses are
    inside their limits (those hold the setpoint). A bus without reactive range takes no part:
    its voltage error must not pull the others' corrections."""
    out, free = q.copy(), q_lim > 0  # a bus without reactive range (no truck there) is no PV bus
    out[~free] = 0.0
    for t in range(q.shape[1]):  # buses past a limit are held there, the others corrected
        inside = free[:, t].copy()
        while inside.any():
            step = np.linalg.solve(dv_dq[np.ix_(inside, inside)], error[inside, t])
            wanted = q[inside, t] + step
            lim = q_lim[inside, t]
            out[inside, t] = np.clip(wanted, -lim, lim)
            past = np.abs(wanted) > lim
            if not past.any():
                break
            rows = np.nonzero(inside)[0][past]
            inside[rows], free[rows, t] = False, False
    return out, free


def share_by_range(q_bus: np.ndarray, bus_of_gen: np.ndarray, q_max: np.ndarray) -> np.ndarray:
    """Each generator's reactive power (T, gens) from its bus's total `q_bus` (buses, T), in
    proportion to the generators' reactive ranges +-`q_max` (T, gens), as pandapower
    (pypower's pfsoln) shares it."""
    span = np.zeros_like(q_bus)
    np.add.at(span, bus_of_gen, 2.0 * q_max.T)
    low = -q_max.T
    low_total = np.zeros_like(q_bus)
    np.add.at(low_total, bus_of_gen, low)
    frac = (q_bus - low_total) / (span + np.finfo(float).eps)
    return (low + frac[bus_of_gen] * 2.0 * q_max.T).T
