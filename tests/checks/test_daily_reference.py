"""The reference case with its double-circuit stage in a daytime window (issue 18): what the
planner makes of it, as found (not forced).

The cut-over stage ("Qiao A and B out") is the only one that cuts load off; with `daily =
"08:00-18:00"` its works are out 13 x 10 h instead of 312 h round the clock, and sizing uses the
worst hour inside the window (12:00, lower than the 19:00 evening peak). That lowers the load
bound to 5 trucks. The first switch set still needs 6 (with 2 trucks an island's 2-phase fault
current at 0.5 s is below the relays' 1.5 x 600 A, `[protection]`, so each of its two islands
keeps 3); the next switch set, verified in turn (issue 15), carries the area as one island
of 5 trucks, feasible but not outage-free: each day's return re-joins the island
break-before-make.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

import planner
from tests.conftest import CASES, ROOT

STAGE = "Qiao A and B out: double-circuit relocation"


def daytime_case(folder: Path) -> Path:
    """cases/dashiqiao.toml with the double-circuit stage in a 08:00-18:00 window."""
    text = (CASES / "dashiqiao.toml").read_text()
    network = (ROOT / "networks" / "dashiqiao.json").resolve()
    text = text.replace('network = "../networks/dashiqiao.json"', f'network = "{network}"')
    marker = "end = 2025-05-26T06:00:00+08:00\n"
    assert text.count(marker) == 1
    text = text.replace(marker, marker + 'daily = "08:00-18:00"\n')
    path = folder / "dashiqiao_daytime.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def daytime(tmp_path_factory):  # type: ignore[no-untyped-def]
    case = planner.load_case(str(daytime_case(tmp_path_factory.mktemp("daytime"))))
    return case, planner.plan_case(case)


def test_daytime_window_plan_of_the_reference_case(daytime) -> None:  # type: ignore[no-untyped-def]
    case, plan = daytime
    stage = next(s for s in plan.stages if s.name == STAGE)
    assert stage.daily == "08:00-18:00"
    windows = next(s for s in case.stages if s.name == STAGE).windows
    assert len(windows) == 13
    assert stage.verification.time_steps == 130
    times = [datetime.fromisoformat(h["time"]) for h in stage.schedule]
    assert all(any(a <= t < b for a, b in windows) for t in times)
    # the first switch set needs six trucks (with two, an island's fault current is below the
    # relays' pickup, so each of its two islands keeps three); the
    # search's next set, verified in turn, carries the cut-off area as one island of five
    assert plan.trucks_used == 5 and plan.feasible
    assert {i.id: len(i.trucks) for i in stage.islands if i.trucks} == {"I2": 5}
    assert "5 truck(s) verified with this switch set, against 6 with the one tried before" in (
        stage.notes
    )
    assert plan.summary["optimality"]["trucks_lower_bound"] == 5
    assert plan.summary["optimality"]["proven_minimal"] is True
    # the trucks run only in the window: 130 h each
    assert plan.summary["truck_running_hours"] == 650.0
    # but it is not outage-free: each day's return re-joins the island where no device can
    # synchronise, so it is made break-before-make, every one of the 13 days
    assert stage.verification.passed and not stage.outage_free
    assert [(i["step"], i["kw"], i["minutes"], i["days"]) for i in stage.interruptions] == [
        (16, 5088.6, 25.0, 13),
        (16, 5316.3, 30.0, 13),
        (17, 2623.5, 30.0, 13),
    ]
