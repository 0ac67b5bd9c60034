"""Checks at every profile row: quarter-hour CSV profiles, SimBench's quarter hours and its
reactive profiles, read at the right 2016 date for other years."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

import planner
from planner.grid.context import StageContext
from planner.inputs.profiles import simbench_day, simbench_rows, step_hours, steps_of
from tests.conftest import DATA

CEST = timezone(timedelta(hours=2))
SAFETY = DATA / "cases" / "safety"


def test_check_times_include_every_profile_row_inside_the_window() -> None:
    start = datetime(2025, 8, 5, 7, tzinfo=CEST)
    end = start + timedelta(hours=2)
    rows = [start - timedelta(minutes=15), start + timedelta(minutes=20), end]
    times = steps_of(start, end, rows)
    assert [t.strftime("%H:%M") for t in times] == ["07:00", "07:20", "08:00"]
    assert step_hours(times, end) == pytest.approx([20 / 60, 40 / 60, 1.0])
    quarters = steps_of(start, end, every=timedelta(minutes=15))
    assert len(quarters) == 8 and step_hours(quarters, end) == pytest.approx([0.25] * 8)


def _row(day: date, hour: int = 0, minute: int = 0) -> int:
    """The SimBench row (quarter hours from 1 Jan 2016) of a 2016 day and time."""
    return (day - date(2016, 1, 1)).days * 96 + hour * 4 + minute // 15


@pytest.mark.parametrize(
    ("when", "day_2016"),
    [
        (datetime(2016, 1, 5, 0, 15), date(2016, 1, 5)),  # 2016 reads its own dates
        (datetime(2025, 5, 12, 8, 0, tzinfo=CEST), date(2016, 5, 16)),  # Mon of ISO week 20
        (datetime(2025, 8, 5, 12, 15, tzinfo=CEST), date(2016, 8, 9)),  # Tue of ISO week 32
        (datetime(2021, 1, 1, 0, 0), date(2016, 12, 30)),  # Fri of week 53 (of 2020) reads 52
        (datetime(2025, 1, 1, 6, 0), date(2016, 1, 6)),  # Wed of ISO week 1
        (datetime(2025, 12, 28, 0, 0), date(2016, 12, 25)),  # Sun of week 52: 1 Jan 2017 - 7 d
        (datetime(2029, 12, 31, 23, 45), date(2016, 1, 4)),  # Mon of ISO week 1 of 2030
        (datetime(2024, 2, 29, 12, 0), date(2016, 3, 3)),  # Thu of ISO week 9
    ],
)
def test_simbench_rows_keep_the_weekday_in_the_same_iso_week_of_2016(
    when: datetime, day_2016: date
) -> None:
    assert day_2016.weekday() == when.weekday()
    assert simbench_day(when.date()) == day_2016
    assert simbench_rows([when], 35136) == [_row(day_2016, when.hour, when.minute)]


def test_a_quarter_hour_peak_sizes_the_trucks(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = cli("plan", SAFETY / "quarter_hour.toml", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "feasible, 3 of 4 trucks used" in result.output
    assert "48 time steps" in result.output
    stage = json.loads((tmp_path / "out" / "plan.json").read_text())["stages"][0]
    assert stage["verification"]["time_steps"] == 48
    rows = {r["time"][11:16]: r for r in stage["schedule"]}
    assert len(rows) == 48 and "12:15" in rows and "12:30" in rows
    peak = rows["12:15"]
    # 1,127 kW of design load (and losses) on three 500 kW trucks; none above its rating
    assert sum(peak["truck_kw"].values()) == pytest.approx(1127, abs=15)
    for row in stage["schedule"]:
        assert all(0 <= kw <= 500.0 for kw in row["truck_kw"].values())
    assert sum(rows["12:00"]["truck_kw"].values()) == pytest.approx(0.6 * 1127, abs=10)
    # fuel follows the quarter hour: the 12:15 row holds for 15 minutes
    assert peak["fuel_l"]["T1"] == pytest.approx(peak["truck_kw"]["T1"] * 0.25 * 0.27, abs=0.1)
    # 48 rows of a quarter hour are 12 hours online, not 48
    md = (tmp_path / "out" / "plan.md").read_text()
    assert "| T1 | bus:Bus 5 | 5 | I1 | 12 | 2,742 | 740 |" in md


def test_simbench_checks_quarter_hours_and_follows_the_reactive_profile(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = (
        '[case]\nname = "sb"\nnetwork = "simbench:1-MV-rural--0-sw"\n[fleet]\ntrucks = 0\n'
        '[loads]\nprofile = "simbench"\nmargin = 0.0\n[transfer]\nties = "none"\n'
        '[[stages]]\nname = "s"\nstart = 2016-03-01T10:00:00+01:00\n'
        "end = 2016-03-01T11:00:00+01:00\nout_of_service = []\n"
    )
    path = tmp_path / "sb.toml"
    path.write_text(text)
    case = planner.load_case(path)
    ctx = StageContext.build(case, case.stages[0])
    assert [t.strftime("%H:%M") for t in ctx.demand.times] == ["10:00", "10:15", "10:30", "10:45"]
    net = ctx.base_net
    table = net.profiles["load"]
    row = (datetime(2016, 3, 1) - datetime(2016, 1, 1)).days * 96 + 10 * 4 + 1  # 10:15
    group = next(g for g in ctx.demand.groups if ctx.demand.times[1] in g.times)
    k = int(np.flatnonzero(net.load.q_mvar.to_numpy() != 0)[0])
    profile = str(net.load.profile.iloc[k])
    scale = float(net.load.scaling.iloc[k])
    assert group.p_mw[k] == pytest.approx(
        net.load.p_mw.iloc[k] * scale * table[f"{profile}_pload"].iloc[row]
    )
    assert group.q_mvar[k] == pytest.approx(
        net.load.q_mvar.iloc[k] * scale * table[f"{profile}_qload"].iloc[row]
    )
