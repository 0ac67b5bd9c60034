"""Triangular solves of an admittance matrix's LU factors a level at a time, for many time steps.

SuperLU's solve (`zbus.factorise`) works through the factors one column of the right-hand side
at a time, one bus at a time: at 10,000 buses and 16 time steps it takes about 4 ms. A radial
grid's factors are a forest: a bus's row of `L` holds buses below it, its row of `U` buses
above it. Ordered by height (a bus one level above the highest bus its row of `L` holds), every
bus of one level depends only on levels solved before it, so a whole level is one sparse
product into a contiguous block of rows, every time step at once (C order: a bus's time steps
side by side). Forty-six levels each way take under 2 ms there.

The sweeps run in their own bus order (`rows`): a caller permutes once per chunk of time steps
(`zbus.iterate`), not per solve. They exist only where SuperLU kept the diagonal as its pivots
(`perm_r` equal to `perm_c`: the same order for equations and voltages) and the factors keep
the level structure, and pay only where the levels are wide (a few dozen buses each at least:
a deep, narrow forest is solved faster by SuperLU); `Sweeps.of` is None otherwise and the
caller keeps SuperLU's solve.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.linalg import SuperLU

try:  # `Y += A @ X` into a block of rows in place (no temporaries): scipy's own kernel of `@`
    from scipy.sparse._sparsetools import csr_matvecs
except ImportError:  # pragma: no cover - a scipy that moved it: the public product, a copy more
    csr_matvecs = None

__all__ = ["Sweeps"]

_Block = tuple[int, int, np.ndarray, np.ndarray, np.ndarray]  # rows a:b, CSR of what they take


class Sweeps:
    """Forward and backward substitution of SuperLU factors by levels (`of` builds them)."""

    def __init__(self, rows: np.ndarray, forward: list[_Block], backward: list[_Block],
                 inverse_diagonal: np.ndarray) -> None:  # fmt: skip
        self.rows = rows  # sweep position -> row of the factorised matrix
        self.forward = forward  # per level taking rows, lowest first: minus L's entries below it
        self.backward = backward  # per level, highest first: minus U's right of it, by U's pivot
        self.inverse_diagonal = inverse_diagonal  # (n, 1): one over U's diagonal
        self.shape = (len(rows), len(rows))

    @classmethod
    def of(cls, lu: SuperLU, wide: float = 0.0) -> Sweeps | None:
        """The sweeps of `lu`'s factors, or None where they do not apply (rows pivoted, or a
        row of a factor that reaches its own level) or do not pay (levels of fewer than `wide`
        rows on average: a deep, narrow forest, where SuperLU's solve is faster)."""
        n = lu.shape[0]
        if not n or not np.array_equal(lu.perm_r, lu.perm_c):
            return None
        diagonal = lu.U.diagonal()
        if not np.all(diagonal != 0) or not np.all(lu.L.diagonal() == 1.0):
            return None
        height = _heights(csr_matrix(lu.L))
        if n < wide * (int(height.max()) + 1):
            return None
        order = np.argsort(height, kind="stable")
        at = np.empty(n, dtype=np.intp)
        at[order] = np.arange(n)
        lower = _off_diagonal(lu.L, at, np.full(n, -1.0))  # L's diagonal is ones
        upper = _off_diagonal(lu.U, at, -1.0 / diagonal)
        height = height[order]
        starts = np.searchsorted(height, np.arange(int(height[-1]) + 2))
        forward: list[_Block] = []
        backward: list[_Block] = []
        for a, b in zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True):
            below = _rows(lower, a, b, 0)
            above = _rows(upper, a, b, b)
            if (below[3] >= a).any() or (above[3] < 0).any():  # not a level structure
                return None
            if len(below[4]):
                forward.append(below)
            backward.append(above)
        backward.reverse()
        rows = np.argsort(lu.perm_r)[order]
        return cls(rows, forward, backward, (1.0 / diagonal[order])[:, None])

    def solve(self, b: np.ndarray) -> np.ndarray:
        """`b` (n, T; C order, in `rows` order) overwritten with the solution, and returned."""
        if b.ndim != 2 or b.shape[0] != self.shape[0] or not b.flags.c_contiguous:
            raise ValueError(
                f"a C-ordered right-hand side ({self.shape[0]}, T) only, not {b.shape}"
            )
        steps = b.shape[1]
        for a, c, indptr, indices, data in self.forward:  # rows a:c take the rows before a
            _add_product(c - a, a, steps, indptr, indices, data, b[:a], b[a:c])
        n = b.shape[0]
        # every row scaled once: a level's product reads rows after it (final already) and
        # adds to its own rows only, so this equals scaling each level before its product (to
        # the bit where each row is one inner loop of T >= 2 steps: the engine's chunks)
        b *= self.inverse_diagonal
        for a, c, indptr, indices, data in self.backward:  # ... the rows after c
            if len(data):
                _add_product(c - a, n - c, steps, indptr, indices, data, b[c:], b[a:c])
        return b


def _add_product(n_rows, n_cols, steps, indptr, indices, data, x: np.ndarray, out: np.ndarray):
    """`out += A @ x`, `A` the (n_rows, n_cols) CSR matrix of `indptr`, `indices`, `data`."""
    if csr_matvecs is not None:
        csr_matvecs(n_rows, n_cols, steps, indptr, indices, data, x.ravel(), out.ravel())
    else:  # a scipy without `csr_matvecs` (tests/grid/test_sweeps.py takes this path)
        out += csr_matrix((data, indices, indptr), shape=(n_rows, n_cols)) @ x


def _heights(lower: csr_matrix) -> np.ndarray:
    """Each row's level: one above the highest row its row of `lower` takes (0 if none)."""
    indptr, indices = lower.indptr.tolist(), lower.indices.tolist()
    height = [0] * lower.shape[0]
    for i in range(lower.shape[0]):
        top = -1
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            if j < i and height[j] > top:
                top = height[j]
        height[i] = top + 1
    return np.asarray(height, dtype=np.intp)


def _off_diagonal(m, at: np.ndarray, scale: np.ndarray) -> csr_matrix:
    """`m`'s entries off its diagonal, each times its row's `scale`, rows and columns moved to
    positions `at`."""
    coo = m.tocoo()
    keep = coo.row != coo.col
    row, col = coo.row[keep], coo.col[keep]
    out = csr_matrix((coo.data[keep] * scale[row], (at[row], at[col])), shape=m.shape)
    out.sum_duplicates()
    return out


def _rows(m: csr_matrix, a: int, b: int, first: int) -> _Block:
    """Rows `a:b` of `m` as CSR arrays, columns counted from `first`."""
    lo, hi = m.indptr[a], m.indptr[b]
    indptr = (m.indptr[a : b + 1] - lo).astype(m.indices.dtype)
    return a, b, indptr, m.indices[lo:hi] - first, m.data[lo:hi]
