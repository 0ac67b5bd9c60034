"""The batched engine's numerical core: the implicit Z-bus iteration over a chunk of time steps.

With the slack voltages fixed, the PQ-bus voltages of every time step satisfy
`Y_pp V = conj(S / V) - Y_ps V_s`. `Y_pp` is factorised once (`factorise`); each iteration is
one sparse solve with a right-hand side per time step (`iterate`). Its error shrinks by the
ratio of the voltage drops to the voltage each iteration (a few hundredths in distribution
grids), so the start decides the count: the voltages at no load (the transformers' phase shifts
in them) or a neighbouring time step's solution. Full chunks of a grid whose factors have wide
levels solve them a level at a time (`planner.grid.sweeps`), in the sweeps' own bus order.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.sparse import csc_matrix, csr_matrix
from scipy.sparse.linalg import SuperLU, splu

from planner.grid.sweeps import Sweeps

__all__ = ["factorise", "iterate", "solved"]

SLACK = 20.0  # the largest change that may stop the iteration, in tolerances


def factorise(y_pp: csr_matrix) -> SuperLU:
    """The LU factors of `Y_pp`: a fill-reducing order of the symmetric pattern (an admittance
    matrix's is: `MMD_AT_PLUS_A`; its triangular solves measured 5-9 % faster than `MMD_ATA`'s at
    10,000 buses), the diagonal kept as the pivot unless it is under a tenth of its column's
    largest entry (an admittance matrix's diagonal dominates: no pivoting, no fill from it), and
    no supernodes (a grid's factors are too thin for them: the triangular solves run a third
    faster column by column)."""
    return splu(
        csc_matrix(y_pp), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.1, relax=1,
        panel_size=1,
    )  # fmt: skip


def iterate(
    y_pp: SuperLU | Sweeps, rhs_s: np.ndarray, s_pq: np.ndarray, start: np.ndarray, tol: float,
    max_iter: int, mismatch: float,
) -> tuple[np.ndarray, int, np.ndarray]:  # fmt: skip
    """The PQ-bus voltages (PQ buses, T) at the injections `s_pq` (PQ buses, T; pu), `rhs_s`
    the slack voltages' term `Y_ps V_s`, from `start` (PQ buses,; or each time step's, (PQ
    buses, T)), solved with `y_pp`, SuperLU's factors of `Y_pp` or their `Sweeps` (then in the
    sweeps' bus order and C order inside, in the order given outside): iterated until no
    voltage is further than about `tol` from the solution and the power mismatch at every bus
    is under `mismatch` (at most `max_iter` times); the iterations made, and which time steps'
    mismatch is under `mismatch` at the end (`_mismatch_met`).

    The error left after an iteration is its change times `r / (1 - r)`, `r` the rate the
    changes shrink at; where that rate is under a half, a change up to `tol (1 - r) / r` is
    small enough, else (slow, or before the third iteration) the change must be under `tol`
    itself. The rate is the larger of the last two ratios of changes, and a change over
    `SLACK` times `tol` never stops it: a rate seen too low (a transient, or time steps
    converging at different speeds) leaves at most that many tolerances. The work is done in
    buffers kept across iterations: a chunk of a 10,000-bus grid allocated afresh each time
    costs as much as the arithmetic on it."""
    rows = y_pp.rows if isinstance(y_pp, Sweeps) else None
    if rows is not None:  # in the sweeps' own bus order, C order, and back at the end
        s_pq, rhs_s, start = s_pq[rows], rhs_s[rows], start[rows]
    order: Literal["C", "F"] = "F" if rows is None else "C"
    s_conj = np.asarray(np.conj(s_pq), order=order)
    x = np.empty(s_conj.shape, complex, order=order)
    x[:] = start if start.ndim == 2 else start[:, None]
    work = np.empty_like(x)
    spare = np.empty_like(x) if rows is not None else None  # the change, where solved in place
    slack_rows = np.nonzero(rhs_s)[0]  # the buses next to a slack: few
    rhs_rows = rhs_s[slack_rows, None]
    iterations, last, ratio = 0, 0.0, 1.0
    met = np.zeros(s_pq.shape[1], dtype=np.bool_)  # max_iter 0: none
    while iterations < max_iter:
        iterations += 1
        np.divide(s_conj, np.conjugate(x, out=work), out=work)  # conj(S / V)
        work[slack_rows] -= rhs_rows
        new = y_pp.solve(work)
        change = work if spare is None else spare
        np.subtract(new, x, out=change)
        old, x = x, new
        if spare is not None:  # the voltages before are free after this iteration
            work = old
        step = _largest_part(change)
        # the larger of the last two rates: a transient (or a fast column's) ratio never alone
        before, ratio = ratio, (step / last if last else 1.0)
        rate, last = max(ratio, before), step
        small = tol * min((1.0 - rate) / rate, SLACK) if 0.0 < rate < 0.5 else tol
        if _below(change, small, step) or iterations == max_iter:
            met = _mismatch_met(s_pq, change, old, mismatch)
            if met.all():
                break
    if rows is not None:
        x, moved = np.empty_like(x), x
        x[rows] = moved
    return x, iterations, met


def _mismatch_met(s: np.ndarray, change: np.ndarray, before: np.ndarray, tol: float):
    """Which time steps' power mismatch is under `tol` at every bus, from the last iteration's
    `change` of the voltages it started from (`before`): an iteration meets the currents
    `conj(S / before)` exactly, so the power at its voltages is `S (before + change) / before`
    and the mismatch `S change / before` (what `solved` computes from the admittance matrix).
    Worked out in `change`'s own memory (the iteration overwrites it next): no temporaries."""
    np.multiply(s, change, out=change)  # in this order: a product's last bit depends on it
    np.divide(change, before, out=change)
    return np.abs(change).max(axis=0, initial=0.0) < tol


def _largest_part(change: np.ndarray) -> float:
    """The largest real or imaginary part of `change` (complex, Fortran or C order) in
    magnitude."""
    parts = change.T.view(float) if change.flags.f_contiguous else change.view(float)
    return max(float(parts.max(initial=0.0)), -float(parts.min(initial=0.0)))


def _below(change: np.ndarray, tol: float, largest: float | None = None) -> bool:
    """Whether every entry of `change` (complex, Fortran or C order) is below `tol` in magnitude:
    decided from its real and imaginary parts (their `largest`) where they settle it (no
    magnitudes taken)."""
    largest = _largest_part(change) if largest is None else largest
    if largest >= tol or largest * np.sqrt(2.0) < tol:
        return largest < tol
    return float(np.abs(change).max()) < tol


def solved(y_rows: csr_matrix, v: np.ndarray, rows: np.ndarray, s: np.ndarray, tol: float):
    """Which time steps of `v` (n, T) meet the injections `s` (n, T, pu) at the buses `rows`
    (`y_rows` their rows of the admittance matrix): power mismatch under `tol` at every one."""
    mismatch = np.conjugate(y_rows @ v)  # in place from here: no temporaries
    np.multiply(v[rows], mismatch, out=mismatch)
    np.subtract(mismatch, s[rows], out=mismatch)
    return np.abs(mismatch).max(axis=0, initial=0.0) < tol
