"""The reference case with its double-circuit stage in a daytime window (issue 18): what the
planner makes of it, as found (not forced).

The cut-over stage ("Qiao A and B out") is the only one that cuts load off; with `daily =
"08:00-18:00"` its works are out 13 x 10 h instead of 312 h round the clock, and sizing uses the
worst hour inside the window (12:00, lower than the 19:00 evening peak). That lowers the load
bound to 5 trucks, but the planner still places 6: with 2 trucks an island's 2-phase fault
current at 0.5 s is below the relays' 1.5 x 600 A (`[protection]`), so each island keeps 3.
The daily return to normal happens at 18:00, into the evening load, and is checked then.
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
    # six trucks, three per truck island: protection, not load, keeps the third
    assert plan.trucks_used == 6
    assert {i.id: len(i.trucks) for i in stage.islands if i.trucks} == {"I4": 3, "I5": 3}
    assert "island I5: 2 truck(s) (lower bound 2) failed verification (protection); adding one" in (
        stage.notes
    )
    assert plan.summary["optimality"]["trucks_lower_bound"] == 5
    # the trucks run only in the window: 130 h each
    assert plan.summary["truck_running_hours"] == 780.0
    # the first day's return to normal at 18:00 meets the evening load
    sequence = [v.message for v in stage.verification.violations if v.kind == "sequence"]
    tie = (
        "switching step 15 (open switch:Tie F3-F5) at 2025-05-13T18:00:00+08:00: grid: "
        "line:Tie cable F6 Yumin East - F4 Xincheng loaded 100.1 %, above 100 % (at "
    )
    # every day's return is solved at that day's own 18:00: the tie cable overloads on each
    # day the evening load is as high (the residential weekday shape), named by its day
    days = sorted(m.removeprefix(tie)[:10] for m in sequence if m.startswith(tie))
    assert days[0] == "2025-05-13" and len(days) == len(set(days)) >= 2
    assert (
        "switching step 22 (close switch:F2 Yumin II RMU Y2-1 out) at "
        "2025-05-13T18:35:00+08:00: joins I5 and grid, which are separately fed, with a LBS "
        "that cannot synchronise"
    ) in sequence
    assert not plan.feasible
