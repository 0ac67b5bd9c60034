"""Times as instants, local hours in the case's `timezone`: the load at every hour of a day with a
daylight-saving change, SimBench rows and CSV profiles across it, and a zone name checked."""

from __future__ import annotations

import copy
import json
import pickle
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

import planner
from planner.core.errors import CaseError
from planner.inputs.clock import ZonedOffset, in_zone, local, step_hours, steps_of
from planner.inputs.demand import stage_demand
from planner.inputs.profiles import BUILTIN, load_csv_profile, simbench_rows

BERLIN = ZoneInfo("Europe/Berlin")
CET = timezone(timedelta(hours=1))
CEST = timezone(timedelta(hours=2))
WEEKEND = BUILTIN["residential"][1]  # 30 Mar and 26 Oct 2025 are Sundays


def _case(tmp_path: Path, start: str, end: str, zone: str | None, profile: str = "residential"):  # type: ignore[no-untyped-def]
    head = f"timezone = {json.dumps(zone)}\n" if zone is not None else ""
    text = (
        f'{head}[case]\nname = "dst"\nnetwork = "pandapower:case33bw"\n[fleet]\ntrucks = 0\n'
        f'[loads]\nprofile = "{profile}"\nmargin = 0.0\n[transfer]\nties = "none"\n'
        f'[[stages]]\nname = "day"\nstart = {start}\nend = {end}\nout_of_service = []\n'
    )
    path = tmp_path / "case.toml"
    path.write_text(text)
    return planner.load_case(path)


def _factors(case) -> list[tuple[str, float]]:  # type: ignore[no-untyped-def]
    """(time as written, total design load / total p_mw) at every check time of the stage."""
    demand = stage_demand(case, case.network.net, case.stages[0])
    full = float(case.network.net.load.p_mw.sum())
    at = {t: round(float(g.p_mw.sum()) / full, 9) for g in demand.groups for t in g.times}
    assert step_hours(demand.times, case.stages[0].end) == list(demand.step_h)
    return [(t.isoformat(), at[t]) for t in demand.times]


def test_spring_forward_day_has_23_hours_each_at_its_local_hour(tmp_path: Path) -> None:
    case = _case(
        tmp_path, "2025-03-30T00:00:00+01:00", "2025-03-31T00:00:00+02:00", "Europe/Berlin"
    )
    rows = _factors(case)
    local_hours = [0, 1, *range(3, 24)]  # 02:00 to 03:00 does not happen that night
    assert len(rows) == 23
    assert [time for time, _ in rows] == [
        f"2025-03-30T{h:02d}:00:00{'+01:00' if h < 2 else '+02:00'}" for h in local_hours
    ]
    assert [factor for _, factor in rows] == [WEEKEND[h] for h in local_hours]
    demand = stage_demand(case, case.network.net, case.stages[0])
    assert demand.step_h == (1.0,) * 23


def test_fall_back_day_has_25_hours_and_02_00_twice(tmp_path: Path) -> None:
    case = _case(
        tmp_path, "2025-10-26T00:00:00+02:00", "2025-10-27T00:00:00+01:00", "Europe/Berlin"
    )
    rows = _factors(case)
    local_hours = [0, 1, 2, 2, *range(3, 24)]
    offsets = ["+02:00"] * 3 + ["+01:00"] * 22
    assert [time for time, _ in rows] == [
        f"2025-10-26T{h:02d}:00:00{o}" for h, o in zip(local_hours, offsets, strict=True)
    ]
    assert [factor for _, factor in rows] == [WEEKEND[h] for h in local_hours]


def test_without_a_zone_the_hour_is_read_as_written(tmp_path: Path) -> None:
    # the same instants, no timezone: every hour keeps +01:00 and is read at that clock
    case = _case(tmp_path, "2025-03-30T00:00:00+01:00", "2025-03-30T23:00:00+01:00", None)
    rows = _factors(case)
    assert [time[11:] for time, _ in rows] == [f"{h:02d}:00:00+01:00" for h in range(23)]
    assert [factor for _, factor in rows] == list(WEEKEND[:23])


@pytest.mark.parametrize(
    ("zone", "message"),
    [
        (
            "Europe/Berln",
            "not a time zone this machine knows (IANA tz database, e.g. 'Europe/Berlin'), "
            "got 'Europe/Berln'",
        ),
        (
            "../../etc/passwd",
            "not a time zone name such as 'Europe/Berlin' (IANA tz database), "
            "got '../../etc/passwd'",
        ),
        (
            "Europe/Berlin\x1b[2J",
            "not a time zone name such as 'Europe/Berlin' (IANA tz database), "
            "got 'Europe/Berlin\\x1b[2J'",
        ),
    ],
)
def test_a_zone_that_is_not_one_is_refused(tmp_path: Path, zone: str, message: str) -> None:
    with pytest.raises(CaseError) as caught:
        _case(tmp_path, "2025-03-30T00:00:00+01:00", "2025-03-30T06:00:00+02:00", zone)
    assert [(p.key, p.message) for p in caught.value.problems] == [("timezone", message)]


def test_a_zone_given_as_a_number_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "case.toml"
    _case(tmp_path, "2025-03-30T00:00:00+01:00", "2025-03-30T06:00:00+02:00", None)
    path.write_text("timezone = 1\n" + path.read_text())
    with pytest.raises(CaseError) as caught:
        planner.load_case(path)
    assert [(p.key, p.message) for p in caught.value.problems] == [
        ("timezone", "expected a string, got int 1")
    ]


def test_a_stage_time_with_another_offset_than_the_zone_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CaseError) as caught:
        _case(tmp_path, "2025-07-01T08:00:00+01:00", "2025-07-01T18:00:00+02:00", "Europe/Berlin")
    assert [(p.key, p.message) for p in caught.value.problems] == [
        (
            "stages[0].start",
            "2025-07-01T08:00:00+01:00 is not a local time of Europe/Berlin: the offset there "
            "at that instant is +02:00 (2025-07-01T09:00:00+02:00)",
        )
    ]


def test_simbench_rows_follow_the_local_clock_across_the_change() -> None:
    start = in_zone(datetime(2025, 3, 30, 1, 45, tzinfo=CET), BERLIN)
    times = steps_of(start, start + timedelta(minutes=45), every=timedelta(minutes=15))
    assert [local(t).strftime("%H:%M") for t in times] == ["01:45", "03:00", "03:15"]
    # Sunday 30 Mar 2025 (ISO week 13) reads Sunday 3 Apr 2016 (day 93), at 01:45, 03:00, 03:15
    assert simbench_rows(times, 35136) == [93 * 96 + 7, 93 * 96 + 12, 93 * 96 + 13]


def test_a_csv_profile_in_utc_is_looked_up_by_instant(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "time,factor\n"
        "2025-03-30T00:00:00Z,0.5\n"  # 01:00 CET
        "2025-03-30T00:30:00Z,0.6\n"  # 01:30 CET
        "2025-03-30T01:00:00Z,0.7\n"  # 03:00 CEST
        "2025-03-30T02:00:00Z,0.8\n"  # 04:00 CEST
    )
    profile = load_csv_profile(path)
    assert not isinstance(profile, str)
    start = in_zone(datetime(2025, 3, 30, 1, tzinfo=CET), BERLIN)
    times = steps_of(start, start + timedelta(hours=3), profile.times)
    assert [t.isoformat()[11:] for t in times] == [
        "01:00:00+01:00",
        "01:30:00+01:00",
        "03:00:00+02:00",
        "04:00:00+02:00",
    ]
    assert profile.factors_at(times).tolist() == [0.5, 0.6, 0.7, 0.8]
    # before the first row reads the first row; between rows, the row before
    early = datetime(2025, 3, 29, 23, 59, tzinfo=UTC)
    assert profile.factors_at([early, times[1] + timedelta(minutes=29)]).tolist() == [0.5, 0.6]


def test_as_of_lookup_matches_a_row_by_row_search() -> None:
    rng = np.random.default_rng(7)
    start = datetime(2025, 1, 1, tzinfo=CET)
    minutes = np.cumsum(rng.integers(1, 90, size=500))
    times = tuple(start + timedelta(minutes=int(m)) for m in minutes)
    factors = tuple(float(f) for f in rng.uniform(0, 2, size=500))
    profile = planner.inputs.profiles.CsvProfile(Path("p.csv"), times, factors)
    wanted = [
        start + timedelta(minutes=int(m)) for m in rng.integers(0, int(minutes[-1]) + 60, 300)
    ]
    slow = [factors[max([i for i, t in enumerate(times) if t <= w], default=0)] for w in wanted]
    assert profile.factors_at(wanted).tolist() == slow


def test_zoned_times_survive_copies_and_pickles() -> None:
    when = in_zone(datetime(2025, 10, 26, 2, 30, tzinfo=CET), BERLIN)
    assert isinstance(when.tzinfo, ZonedOffset) and when.isoformat() == "2025-10-26T02:30:00+01:00"
    for again in (pickle.loads(pickle.dumps(when)), copy.deepcopy(when)):
        assert again == when and again.tzinfo is when.tzinfo
    # adding hours keeps the instant exact: 1 h after 02:30 CET is 03:30 CET, local 03:30
    later = when + timedelta(hours=1)
    assert (later - when) == timedelta(hours=1) and local(later).strftime("%H:%M") == "03:30"
    assert local(when - timedelta(hours=1)).isoformat() == "2025-10-26T02:30:00+02:00"


def test_a_plan_across_the_change_solves_each_local_hour(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "case.toml"
    path.write_text(
        'format = "planner.case/1"\ntimezone = "Europe/Berlin"\n[case]\nname = "dst"\n'
        'network = "pandapower:case33bw"\n[fleet]\ntrucks = 1\n[[connection_points]]\n'
        'bus = "bus:#30"\n[loads]\nprofile = "residential"\nmargin = 0.0\n[transfer]\n'
        'ties = "none"\n[[stages]]\nname = "S1"\nstart = 2025-03-30T00:00:00+01:00\n'
        'end = 2025-03-31T00:00:00+02:00\nout_of_service = ["line:#28"]\n'
    )
    result = cli("plan", path, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    stage = json.loads((tmp_path / "out" / "plan.json").read_text())["stages"][0]
    assert stage["verification"]["time_steps"] == 23
    kw = {row["time"]: sum(row["truck_kw"].values()) for row in stage["schedule"]}
    local_hours = [0, 1, *range(3, 24)]
    assert list(kw) == [
        f"2025-03-30T{h:02d}:00:00{'+01:00' if h < 2 else '+02:00'}" for h in local_hours
    ]
    # the truck follows the local clock: its peak at 19:00 CEST, its least at 04:00 CEST
    assert max(kw, key=kw.__getitem__) == "2025-03-30T19:00:00+02:00"
    assert min(kw, key=kw.__getitem__) == "2025-03-30T04:00:00+02:00"
    assert cli("validate", path, tmp_path / "out" / "plan.json").exit_code == 0
