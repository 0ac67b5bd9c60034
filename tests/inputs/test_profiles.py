"""Load profiles: built-in shapes, CSV and per-category factors at the design load."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

import planner
from planner.grid.context import StageContext
from planner.inputs.profiles import BUILTIN, hours_of, shape_factor
from tests.conftest import CASES, DATA

CST = timezone(timedelta(hours=8))


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_builtin_shapes_peak_at_exactly_one(name: str) -> None:
    weekday, weekend = BUILTIN[name]
    assert len(weekday) == len(weekend) == 24
    assert max(max(weekday), max(weekend)) == 1.0
    assert min(weekday) > 0.2 and min(weekend) > 0.2


def test_weekday_and_weekend_differ() -> None:
    monday = datetime(2025, 5, 12, 11, tzinfo=CST)
    sunday = datetime(2025, 5, 18, 11, tzinfo=CST)
    assert shape_factor("commercial", monday) == 1.0
    assert shape_factor("commercial", sunday) == 0.70
    assert shape_factor("residential", datetime(2025, 5, 12, 19, tzinfo=CST)) == 1.0
    assert shape_factor("residential", datetime(2025, 5, 12, 3, tzinfo=CST)) == 0.33
    assert shape_factor("flat", sunday) == 1.0


def test_hours_of_a_window() -> None:
    start = datetime(2025, 5, 12, 6, 30, tzinfo=CST)
    assert len(hours_of(start, start + timedelta(hours=12))) == 12
    assert len(hours_of(start, start + timedelta(minutes=20))) == 1


def test_per_category_design_load_in_the_reference_case() -> None:
    case = planner.load_case(CASES / "dashiqiao.toml")
    stage = case.stages[1]
    ctx = StageContext.build(case, stage)
    net = ctx.base_net
    at = {t: g for g in ctx.demand.groups for t in g.times}
    evening = at[datetime(2025, 5, 13, 19, tzinfo=CST)]
    noon = at[datetime(2025, 5, 13, 11, tzinfo=CST)]
    flats = int(net.load.index[net.load.name == "Yumin I estate A"][0])
    market = int(net.load.index[net.load.name == "Qiaonan market"][0])
    pos = {int(i): k for k, i in enumerate(ctx.demand.loads)}
    # residential peaks in the evening, commercial at noon; design = p_mw x 1.1 x factor
    assert evening.p_mw[pos[flats]] == pytest.approx(0.95 * 1.1 * 1.0)
    assert noon.p_mw[pos[flats]] == pytest.approx(0.95 * 1.1 * 0.58)
    assert noon.p_mw[pos[market]] == pytest.approx(1.20 * 1.1 * 1.0)
    assert evening.p_mw[pos[market]] == pytest.approx(1.20 * 1.1 * 0.55)
    # 312 hours, but only weekday and weekend hours differ: at most 48 load states to solve
    assert len(ctx.demand.times) == 312 and len(ctx.demand.groups) <= 48


def test_csv_profile_factors() -> None:
    case = planner.load_case(DATA / "cases" / "valid" / "csv_profile.toml")
    ctx = StageContext.build(case, case.stages[0])
    totals = [round(float(g.p_mw.sum()) / ctx.demand.peak.p_mw.sum(), 6) for g in ctx.demand.groups]
    assert sorted(totals) == [0.8, 0.9, 1.0]
    assert ctx.demand.peak_factor == pytest.approx(1.0)
    assert np.allclose(ctx.demand.peak.p_mw, case.network.net.load.p_mw * 1.1)


def test_profile_names_are_coded_as_numpy_sorts_them():
    """`_simbench_factors` groups loads by profile name by hashing: the names and codes must be
    `np.unique`'s, every character counting (NULs inside a name, lone surrogates, accents),
    for numpy's strings and pandas' objects alike."""
    from planner.inputs.demand_factors import _sorted_codes

    rng = np.random.default_rng(47)
    alphabet = ["a", "b", "H0", "-", "é", "\x00", "\x01", "\ud800", "\U0010ffff", " "]
    cases = [np.array([], dtype=str), np.array(["a", "a\x00b"]), np.array(["a\x00b", "a", "a\x01"])]
    for _ in range(300):
        names = ["".join(rng.choice(alphabet, size=rng.integers(0, 4))) for _ in range(20)]
        cases.append(np.array(names))
        cases.append(np.array(names, dtype=object))  # as pandas' `astype(str)` gives them
    for values in cases:
        expected, inverse = np.unique(values, return_inverse=True)
        names, codes = _sorted_codes(values)
        assert names == [str(v) for v in expected], values
        assert codes.tolist() == inverse.ravel().tolist(), values
