"""Daily work windows (`daily = "HH:MM-HH:MM"`): the windows, the check times inside them, and a
plan whose works are out only in the window each day, checked by plan and validate alike."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import planner
from planner.inputs.clock import in_zone
from planner.inputs.windows_daily import (
    DailyWindow,
    fits_once,
    read_daily,
    window_step_hours,
)
from tests.conftest import DATA

DAILY = DATA / "cases" / "daily"
CST = timezone(timedelta(hours=8))


def _t(day: int, hour: int, minute: int = 0, tz=CST) -> datetime:  # type: ignore[no-untyped-def]
    return datetime(2025, 5, day, hour, minute, tzinfo=tz)


@pytest.mark.parametrize(
    ("text", "start", "end", "hours"),
    [
        ("08:00-18:00", time(8), time(18), 10.0),
        ("22:00-06:00", time(22), time(6), 8.0),
        ("00:00-23:59", time(0), time(23, 59), 23 + 59 / 60),
        ("07:30-07:15", time(7, 30), time(7, 15), 23.75),
    ],
)
def test_read_daily_accepts_windows(text: str, start: time, end: time, hours: float) -> None:
    window = read_daily(text)
    assert window == DailyWindow(start, end)
    assert isinstance(window, DailyWindow)
    assert window.text == text
    assert window.hours == pytest.approx(hours)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "08:00-08:00",
            "'08:00-08:00' starts and ends at the same time; a window round the clock is a stage "
            "without `daily`",
        ),
        (
            "8:00-18:00",
            "expected a window such as '08:00-18:00' (local time, HH:MM-HH:MM, 00:00 to 23:59), "
            "got '8:00-18:00'",
        ),
        (
            "08:00-24:00",
            "expected a window such as '08:00-18:00' (local time, HH:MM-HH:MM, 00:00 to 23:59), "
            "got '08:00-24:00'",
        ),
        (
            "08:00-18:00\n",
            "expected a window such as '08:00-18:00' (local time, HH:MM-HH:MM, 00:00 to 23:59), "
            "got '08:00-18:00\\n'",
        ),
        (
            8,
            "expected a window such as '08:00-18:00' (local time, HH:MM-HH:MM), got 8",
        ),
    ],
)
def test_read_daily_refuses(value: object, message: str) -> None:
    assert read_daily(value) == message


def test_windows_are_cut_to_the_stage() -> None:
    day = DailyWindow(time(8), time(18))
    # starts inside the first day's window, ends inside the third's
    assert day.windows(_t(13, 10), _t(15, 12)) == [
        (_t(13, 10), _t(13, 18)),
        (_t(14, 8), _t(14, 18)),
        (_t(15, 8), _t(15, 12)),
    ]
    night = DailyWindow(time(22), time(6))
    assert night.windows(_t(13, 6), _t(15, 6)) == [
        (_t(13, 22), _t(14, 6)),
        (_t(14, 22), _t(15, 6)),
    ]
    # the night before the stage reaches into it
    assert night.windows(_t(13, 2), _t(13, 23)) == [
        (_t(13, 2), _t(13, 6)),
        (_t(13, 22), _t(13, 23)),
    ]
    assert fits_once(night, _t(13, 6), _t(14, 6))
    assert not fits_once(night, _t(13, 2), _t(13, 23))
    assert not fits_once(day, _t(13, 8), _t(13, 17))


def test_windows_follow_the_local_time_across_a_daylight_saving_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start = in_zone(datetime(2025, 3, 29, 6, tzinfo=UTC), berlin)  # 07:00 CET
    end = in_zone(datetime(2025, 3, 31, 6, tzinfo=UTC), berlin)  # 08:00 CEST
    windows = DailyWindow(time(8), time(18)).windows(start, end)
    utc = [(a.astimezone(UTC).hour, b.astimezone(UTC).hour) for a, b in windows]
    assert utc == [(7, 17), (6, 16)]  # 08:00-18:00 wall clock on both sides of the change
    assert [a.utcoffset() for a, _ in windows] == [timedelta(hours=1), timedelta(hours=2)]


def test_each_time_holds_until_the_next_or_its_window_end() -> None:
    windows = [(_t(13, 8), _t(13, 18)), (_t(14, 8), _t(14, 18))]
    times = [_t(13, 8), _t(13, 17), _t(13, 17, 30), _t(14, 8), _t(14, 17)]
    assert window_step_hours(times, windows) == [9.0, 0.5, 0.5, 9.0, 1.0]


def test_a_stage_without_daily_is_one_window() -> None:
    case = planner.load_case(str(DAILY / "case33bw_daily.toml"))
    stage = case.stages[0]
    assert stage.daily == DailyWindow(time(8), time(18))
    assert stage.hours == 72.0
    assert stage.works_hours == 30.0
    whole = type(stage)(stage.name, stage.start, stage.end, stage.out_of_service)
    assert whole.windows == ((stage.start, stage.end),)
    assert whole.works_hours == 72.0
    assert whole.daily_notes == ()


@pytest.fixture(scope="module")
def daily_plans(tmp_path_factory):  # type: ignore[no-untyped-def]
    """The plan set of the day and the night variant, written by the CLI once."""
    from click.testing import CliRunner

    from planner.cli import main

    out = {}
    for name in ("case33bw_daily", "case33bw_nightly"):
        folder = tmp_path_factory.mktemp(name)
        result = CliRunner().invoke(
            main, ["plan", str(DAILY / f"{name}.toml"), "--out", str(folder)]
        )
        assert result.exit_code in (0, 1), result.output
        out[name] = folder
    return out


# (case, first window, its end, check times, schedule.csv rows per truck, idle rows per truck)
EXPECTED = {
    "case33bw_daily": ("2025-07-01T08:00:00+02:00", "2025-07-01T18:00:00+02:00", 30, 74, 42),
    "case33bw_nightly": ("2025-07-01T22:00:00+02:00", "2025-07-02T06:00:00+02:00", 24, 74, 48),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_works_are_checked_inside_the_windows_only(daily_plans, name: str) -> None:  # type: ignore[no-untyped-def]
    opens, closes, steps, rows, idle = EXPECTED[name]
    case = planner.load_case(str(DAILY / f"{name}.toml"))
    windows = case.stages[0].windows
    plan = json.loads((daily_plans[name] / "plan.json").read_text())
    stage = plan["stages"][0]
    assert stage["daily"] == case.stages[0].daily.text
    assert stage["verification"]["time_steps"] == steps
    times = [datetime.fromisoformat(h["time"]) for h in stage["schedule"]]
    assert len(times) == steps
    assert all(any(a <= t < b for a, b in windows) for t in times)
    assert any("daily works window" in note for note in stage["notes"])
    # the sequence: the cut-over before the first window, the return after it
    sequence = stage["sequence"]
    assert sequence, "a stage with trucks has a switching sequence"
    whens = [datetime.fromisoformat(s["time"]) for s in sequence]
    first, last = datetime.fromisoformat(opens), datetime.fromisoformat(closes)
    assert all(t < first or t >= last for t in whens)
    assert any(t >= last for t in whens) and any(t < first for t in whens)
    assert whens[-1] < last + timedelta(hours=1)
    # outside the windows the trucks are idle at their bays, with the stage's name
    schedule = list(csv.DictReader(io.StringIO((daily_plans[name] / "schedule.csv").read_text())))
    t1 = [r for r in schedule if r["truck"] == "T1"]
    assert len(t1) == rows
    stage_idle = [r for r in t1 if r["status"] == "idle" and r["stage"]]
    assert len(stage_idle) == idle
    assert all(r["online"] == "0" and r["fuel_l"] == "0.0" for r in stage_idle)
    online_h = sum(1 for r in t1 if r["status"] in ("online", "standby"))
    assert online_h == steps
    assert plan["summary"]["truck_running_hours"] <= 2 * steps
    # the crew sheet: the first day's steps, said to repeat daily
    sheet = list(csv.DictReader(io.StringIO((daily_plans[name] / "switching.csv").read_text())))
    assert sheet[0]["interlock"].startswith(
        f"every day of the works at the same time: 3 window(s) {stage['daily']}, "
    )
    assert "daily, " in (daily_plans[name] / "plan.md").read_text()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_validate_checks_a_daily_plan_as_plan_does(cli, daily_plans, name: str) -> None:  # type: ignore[no-untyped-def]
    case_file = DAILY / f"{name}.toml"
    plan_file = daily_plans[name] / "plan.json"
    written = json.loads(plan_file.read_text())
    result = cli("validate", case_file, plan_file, "--json")
    report = json.loads(result.stdout)
    assert report["holds"] == written["feasible"]
    assert [s["passed"] for s in report["stages"]] == [
        s["verification"]["passed"] for s in written["stages"]
    ]


@pytest.mark.parametrize(
    ("daily", "said"),
    [("09:00-17:00", "'09:00-17:00'"), (None, "none")],
)
def test_validate_refuses_another_daily_window(  # type: ignore[no-untyped-def]
    cli, daily_plans, tmp_path: Path, daily: str | None, said: str
) -> None:
    data = json.loads((daily_plans["case33bw_daily"] / "plan.json").read_text())
    if daily is None:
        del data["stages"][0]["daily"]
    else:
        data["stages"][0]["daily"] = daily
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data))
    result = cli("validate", DAILY / "case33bw_daily.toml", edited)
    assert result.exit_code == 2
    assert (
        "stages[0].daily: the case's stage 'Line 28 out by day' has daily window '08:00-18:00', "
        f"the plan says {said}: plan again for the case's windows"
    ) in result.output
