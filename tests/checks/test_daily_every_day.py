"""Daily windows checked on every day, and load uncertainty sized for any island (found by a
second reading): the last day's return onto the `[stages.after]` network, each day's cut-over at
that day's load, schedule rows outside the windows refused by validate, an interruption counted
on each day, and an island that is a small part of its feeder held at the chosen quantile."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA, ROOT

DAILY = DATA / "cases" / "daily"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "planner", *args], capture_output=True, text=True, cwd=ROOT
    )


def _plan(case: Path, out: Path) -> dict:
    run = _run("plan", str(case), "--out", str(out))
    assert run.returncode in (0, 1), run.stderr
    return json.loads((out / "plan.json").read_text(encoding="utf-8"))


def _messages(plan: dict) -> list[str]:
    return [v["message"] for s in plan["stages"] for v in s["verification"]["violations"]]


def test_the_last_days_return_onto_the_after_network_is_checked(tmp_path: Path) -> None:
    """`[stages.after]` makes line 28 60 km long: putting it back after the last window leaves
    buses 29-32 far below 0.9 pu (as without `daily`), so the plan is infeasible."""
    plan = _plan(DAILY / "case33bw_daily_after.toml", tmp_path / "out")
    assert plan["feasible"] is False
    found = [m for m in _messages(plan) if "put_back line:#28" in m and "below 0.9 pu" in m]
    assert found and all("2025-07-03T18:" in m for m in found), _messages(plan)


def test_each_days_cut_over_is_solved_at_that_days_load(tmp_path: Path) -> None:
    """A CSV profile at 0.4, but 1.0 from 07:00 to 08:00 on 3 July: that day's cut-over leaves
    682 kW on two 300 kW trucks, which only that day's own load shows."""
    plan = _plan(DAILY / "case33bw_daily_peak_day.toml", tmp_path / "out")
    assert plan["feasible"] is False
    assert any("2025-07-03T07:55" in m and "rating" in m for m in _messages(plan))


@pytest.fixture(scope="module")
def daily_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("daily") / "out"
    _plan(DAILY / "case33bw_daily.toml", out)
    return out / "plan.json"


def test_validate_refuses_schedule_rows_outside_the_windows(daily_plan: Path, tmp_path) -> None:
    """A row at 20:00, outside the 08:00-18:00 window, claiming the trucks online."""
    plan = json.loads(daily_plan.read_text(encoding="utf-8"))
    row = dict(plan["stages"][0]["schedule"][0])
    row["time"] = "2025-07-01T20:00:00+02:00"
    plan["stages"][0]["schedule"].append(row)
    edited = tmp_path / "plan.json"
    edited.write_text(json.dumps(plan), encoding="utf-8")
    run = _run("validate", str(DAILY / "case33bw_daily.toml"), str(edited), "--json")
    report = json.loads(run.stdout)
    assert run.returncode == 1 and report["holds"] is False
    [message] = [v["message"] for v in report["plan_violations"]]
    assert "1 row(s) at times that are no check time" in message
    assert "2025-07-01T20:00:00+02:00" in message
    assert _run("validate", str(DAILY / "case33bw_daily.toml"), str(daily_plan)).returncode == 0


def test_a_daily_interruption_is_counted_on_every_day(daily_plan: Path) -> None:
    """The break-before-make at each window's end happens on each of the three days."""
    stage = json.loads(daily_plan.read_text(encoding="utf-8"))["stages"][0]
    assert stage["interruptions"]
    assert {cut["days"] for cut in stage["interruptions"]} == {3}
    md = (daily_plan.parent / "plan.md").read_text(encoding="utf-8")
    assert "each on every day of the works (3 days):" in md


def test_a_small_island_of_a_large_feeder_holds_the_quantile(tmp_path: Path) -> None:
    """Each load is sized at its own quantile, which bounds every island's total: a plan the
    planner calls feasible holds the chosen quantile in its own scenarios."""
    plan = _plan(DATA / "cases" / "risk" / "case33bw_small_island.toml", tmp_path / "out")
    risk = plan["summary"]["risk"]
    assert plan["feasible"] is False or risk["quantile_held"] is True, risk
    assert risk["stages"][0]["design_factor_max"] == pytest.approx(1.0 + 1.2816 * 0.2, abs=1e-3)
