"""Each load's own peak over a stage, for every load at once (`StageContext.own_peaks_kw`): the
very floats `peak_kw([load])` gives one load at a time, on hourly and quarter-hourly stages."""

from __future__ import annotations

import pytest

import planner
from planner.grid.context import StageContext
from tests.conftest import CASES, DATA

STAGES = [
    (CASES / "dashiqiao.toml", 1),  # hourly, a day profile
    (CASES / "oberrhein_transfer_and_trucks.toml", 0),
    (DATA / "cases" / "search" / "mvlv_line13.toml", 0),  # a SimBench MV/LV grid
    (CASES / "simbench_mv_urban.toml", 0),  # SimBench's own quarter-hour profiles
]


@pytest.mark.parametrize(("case_file", "stage"), STAGES, ids=lambda v: getattr(v, "stem", v))
def test_each_loads_own_peak_is_its_peak_alone(case_file, stage: int) -> None:  # type: ignore[no-untyped-def]
    case = planner.load_case(str(case_file))
    ctx = StageContext.build(case, case.stages[stage])
    loads = [int(i) for i in ctx.demand.loads]
    peaks = ctx.own_peaks_kw(loads)
    assert peaks == [ctx.peak_kw([i])[0] for i in loads]
    assert max(peaks) > 0 and min(peaks) >= 0.0
    assert ctx.own_peaks_kw(loads[::-1][:5]) == peaks[::-1][:5]
