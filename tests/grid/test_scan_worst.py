"""`QuantityScan.feed` finds a block's worst value in one pass over it: the row and column it
reports must be those of numpy's own search of the whole block (first in row order, NaN first),
ties and NaNs included."""

import numpy as np
import pytest

from planner.grid.scan import _first_of_worst


def _blocks() -> list[np.ndarray]:
    rng = np.random.default_rng(16)
    out = []
    for _ in range(400):
        rows, cols = int(rng.integers(2, 7)), int(rng.integers(1, 9))
        block = rng.integers(0, 4, size=(rows, cols)).astype(float)  # many ties
        if rng.random() < 0.3:
            block[rng.random((rows, cols)) < 0.15] = np.nan
        if rng.random() < 0.2:
            block[block == 0] = -0.0  # signed zeros tie with zeros
        out.append(block)
    return out


@pytest.mark.parametrize("pick", [np.argmax, np.argmin])
def test_one_pass_finds_what_a_search_of_the_block_finds(pick):
    blocks = _blocks()
    assert sum(np.isnan(b).any() for b in blocks) > 50  # the NaN case is exercised
    for block in blocks:
        rows = pick(block, axis=0)
        here = block[rows, np.arange(block.shape[1])]
        expected = tuple(int(x) for x in np.unravel_index(pick(block), block.shape))
        assert _first_of_worst(here, rows, int(pick(here))) == expected, block


def test_worst_found_late_in_an_earlier_column_loses_to_an_earlier_row():
    block = np.array([[1.0, 5.0], [5.0, 0.0]])  # 5 in column 1 at row 0, column 0 at row 1
    rows = np.argmax(block, axis=0)
    here = block[rows, [0, 1]]
    assert int(np.argmax(here)) == 0  # column order alone would say (1, 0)
    assert _first_of_worst(here, rows, 0) == (0, 1)
