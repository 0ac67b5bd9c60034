"""Dispatch over time: commitment, fleet moves, schedule.csv, fuel and switching sequences."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest

from planner.checks.commitment import online_count
from planner.decide.fleet import FleetState
from planner.dispatch.schedule import to_csv
from planner.outputs.reports import crew_orders
from tests.conftest import CASES

CST = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    ("p_kw", "q_kvar", "placed", "n_1", "expected"),
    [
        # load at the trucks' own power factor (0.8): kW and kVA bind alike (2000 kW, 2500 kVA)
        (10240, 7680, 6, False, (6, True)),  # evening peak, 12,800 kVA: all six
        (3360, 2520, 6, False, (5, True)),  # night, 4,200 kVA: 6 would run at 28 %, 5 keep 34 %
        (480, 360, 6, False, (1, False)),  # one truck below 30 %: reported
        (3360, 2520, 6, True, (5, True)),  # n-1: at least ceil(4200/2500)+1 = 3
        (6080, 4560, 4, True, (4, True)),
        (0, 0, 3, False, (1, False)),
        # unity power factor: the 2,000 kW engine binds, not the 2,500 kVA alternator
        (2200, 0, 6, False, (3, True)),  # 1.1 trucks' worth of kW: 2 needed, 3 keep 37 %
        (4100, 0, 3, False, (3, True)),  # 4,100 kVA fits 2 trucks' kVA, not their 4,000 kW
        (700, 0, 6, False, (1, True)),  # 35 % of 2,000 kW (28 % of the kVA) keeps min_loading
        (-300, 100, 2, False, (1, False)),  # generation exceeds load: one truck, reported
    ],
)
def test_online_count(p_kw, q_kvar, placed, n_1, expected) -> None:  # type: ignore[no-untyped-def]
    assert online_count(p_kw, q_kvar, placed, 2000.0, 2500.0, 0.3, n_1) == expected


def test_fleet_keeps_a_truck_at_its_bus_and_needs_setup_time_to_move() -> None:
    fleet = FleetState(size=2, setup_hours=2.0)
    day = datetime(2025, 5, 13, 6, tzinfo=CST)
    ids, problems = fleet.assign(day, [7, 8])
    assert ids == ["T1", "T2"] and problems == []
    fleet.commit(day + timedelta(hours=10), [("T1", 7), ("T2", 8)])
    later = day + timedelta(hours=11)  # one hour after: staying is fine, moving is not
    ids, problems = fleet.assign(later, [8, 7])
    assert ids == ["T2", "T1"] and problems == []
    ids, problems = fleet.assign(later, [9])
    assert len(problems) == 1 and "setup_hours" in problems[0]
    ids, problems = fleet.assign(day + timedelta(hours=12), [9])
    assert problems == []


def test_reference_schedule_two_weeks_hourly(planned) -> None:  # type: ignore[no-untyped-def]
    from planner.dispatch.pipeline import plan_dispatch

    case, _ = planned("dashiqiao")
    dispatch = plan_dispatch(case)
    works = dispatch.plan.stages[1]
    assert len(works.schedule) == 312 == works.verification.time_steps
    online = [len(h["online"]) for h in works.schedule]
    assert max(online) == 6
    by_hour = {datetime.fromisoformat(h["time"]).hour: len(h["online"]) for h in works.schedule}
    assert by_hour[19] == 6
    # every online truck within 0..rating_kw and its kVA; as many run as keep min_loading (30 %
    # of the tighter limit, which for these loads is the engine's kW): all six, even at night
    fleet = case.fleet
    for h in works.schedule:
        for t in h["online"]:
            kw = h["truck_kw"][t]
            s = (kw**2 + h["truck_kvar"][t] ** 2) ** 0.5
            assert 0.0 <= kw <= fleet.rating_kw * (1 + 1e-9)
            assert s <= fleet.rating_kva * (1 + 1e-9)
            assert max(kw / fleet.rating_kw, s / fleet.rating_kva) >= fleet.min_loading - 1e-6
    assert works.verification.passed

    rows = list(csv.DictReader(io.StringIO(to_csv(list(dispatch.fleet_hours)))))
    trucks = {r["truck"] for r in rows}
    assert trucks == {f"T{i}" for i in range(1, 7)}
    hours = {r["time"] for r in rows}
    assert len(rows) == 6 * len(hours)
    # schedule.csv sums agree with the island loads hour by hour, within the reported losses
    kw: dict[tuple[str, str], float] = defaultdict(float)
    for r in rows:
        if r["online"] == "1":
            kw[(r["time"], r["island"])] += float(r["p_kw"])
    for h in works.schedule:
        for island, load in h["island_load_kw"].items():
            losses = h["island_losses_kw"][island]
            assert 0 <= losses < 0.03 * load
            assert kw[(h["time"], island)] == pytest.approx(load + losses, abs=0.1 * 6)
    # fuel: energy x fuel_l_per_kwh; tanks never below the 10 % reserve nor above full
    for r in rows:
        assert float(r["fuel_l"]) == pytest.approx(
            float(r["p_kw"]) * 0.27 * (r["online"] == "1"), abs=0.06
        )
        assert 150.0 - 1e-6 <= float(r["tank_l"]) <= 1500.0 + 1e-6
    refuels = dispatch.plan.refuelling
    assert refuels and all(r["litres"] > 0 for r in refuels)
    assert dispatch.plan.summary["refuels"] == len(refuels)
    total_fuel = sum(float(r["fuel_l"]) for r in rows)
    assert dispatch.plan.summary["fuel_l"] == pytest.approx(total_fuel, abs=0.05 * len(rows))
    # the conventional comparison
    s = dispatch.plan.summary
    assert s["households_kept_supplied"] == 6424
    # the counterfactual is the works done de-energised with the same ties: only the 5,396
    # truck-fed households would lose supply, for the whole 312-hour stage (no [benefit] hours)
    b = s["benefit"]
    assert (b["households_truck_fed"], b["households_transferred"]) == (5396, 1028)
    assert b["conventional_outage_hours"] is None
    assert s["customer_hours_avoided"] == b["customer_hours_avoided"] == pytest.approx(5396 * 312)

    text = crew_orders(case, dispatch)
    assert "| T1 | bus:RMU Y1-3 |" in text and "## Refuelling" not in text
    # fuel: tanker rounds (6,000 L tanker) replace the row-by-row refuels
    logistics = s["fuel_logistics"]
    assert (logistics["tanker_l"], logistics["rounds_total"]) == (6000.0, 144)
    assert logistics["litres_total"] == pytest.approx(sum(r["litres"] for r in refuels), abs=1)
    assert logistics["days"][0] == {
        "day": "2025-05-13",
        "rounds": 8,
        "litres": 34473.0,
        "trucks": ["T1", "T2", "T3", "T4", "T5", "T6"],
    }
    assert "| 2025-05-13 | 8 | 34,473 L | T1, T2, T3, T4, T5, T6 |" in text
    assert (
        "| 2025-05-13 | 2 | 10:00 | 1,165 L | T6 at bus:RMU Y2-5 1,165 L |" in text
    )  # T6's refuel did not fit in round 1's 6,000 L after five others
    # the switching sheet: the works stage's trucks synchronised before the feeders open
    assert (
        "| 15 | 2025-05-13 05:30 | 5 | open | F2 Yumin II breaker (CB) | substation Qiaonan 10 "
        "kV section II, bay to line F2 Yumin II cable 1 | breaks 2 kW, then 0 kW across | "
        "1.038 pu at the device; network 0.986-1.038 pu | step 14 done; T1, T2, T3, T4, T5, T6 "
        "synchronised |  |"
    ) in text
    assert (
        "| T1 | bus:RMU Y1-3 | 2025-05-13 04:00 | 2025-05-13 04:20 | 312 h | 86 | 99,233 L | "
        "2025-05-26 06:45 | 2025-05-26 20:00 |"
    ) in text


def test_every_switching_step_is_checked_and_holds(planned) -> None:  # type: ignore[no-untyped-def]
    for name in (
        "dashiqiao",
        "oberrhein_transfer",
        "oberrhein_transfer_and_trucks",
        "case33bw_trucks",
    ):
        _, plan = planned(name)
        for stage in plan.stages:
            assert stage.sequence, (name, stage.name)  # at least the works go out and back
            for step in stage.sequence:
                assert step["checked"] is True and step["holds"] is True, (name, step)
                solved = step["solved"]
                assert len(solved["at"]) in (1, 2) and solved["min_vm_pu"] is not None
                assert solved["max_truck_kw"] <= 2000.0 + 1e-6


def test_reference_sequence_is_make_before_break_and_timed(planned) -> None:  # type: ignore[no-untyped-def]
    _, plan = planned("dashiqiao")
    stage = plan.stages[1]
    steps = stage.sequence
    actions = [(s["action"], s["element"]) for s in steps]
    connects = [i for i, a in enumerate(actions) if a[0] == "connect_truck"]
    closes = [i for i, a in enumerate(actions) if a[0] == "close" and "Tie" in a[1]]
    opens = [i for i, a in enumerate(actions) if a[0] == "open" and "breaker" in a[1]]
    first_take_out = next(i for i, a in enumerate(actions) if a[0] == "take_out")
    assert len(connects) == 6 and max(connects) < min(closes)
    assert max(closes) < min(opens) < max(opens) < first_take_out
    # every truck is connected before the stage and disconnected after it
    assert sorted(a[1] for a in actions if a[0] == "disconnect_truck") == [
        f"T{i}" for i in range(1, 7)
    ]
    # five minutes apart, the start steps ending at the stage's start, the end steps from its end
    start = datetime.fromisoformat(stage.start)
    end = datetime.fromisoformat(stage.end)
    times = [datetime.fromisoformat(s["time"]) for s in steps]
    before = [t for t in times if t < start]
    assert before[-1] == start - timedelta(minutes=5)
    assert all(b - a == timedelta(minutes=5) for a, b in itertools.pairwise(before))
    assert times[len(before)] == end
    # each island re-joins the grid at its feeder breaker, synchronised within the limits
    joins = [s for s in steps if s.get("joins") and "grid" in s["joins"] and s["action"] == "close"]
    assert sorted(tuple(s["joins"]) for s in joins) == [("I4", "grid"), ("I5", "grid")]
    for s in joins:
        assert s["device"] == "CB"
        # the trucks' setpoint is moved to match the grid side before the breaker closes
        assert s["sync"]["dv_percent"] < 0.5 and s["sync"]["df_hz"] == 0.0
        assert 1.0 < s["sync"]["vm_setpoint_pu"] <= 1.07
    # the sectionalising breakers open with the trucks ramped up: next to nothing flows
    assert all(steps[i]["across_kw"] < 20.0 for i in opens)
    assert stage.interruptions == () and stage.outage_free


def test_a_boundary_without_a_breaker_is_an_honest_interruption(planned, cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, plan = planned("case33bw_trucks")
    stage = plan.stages[0]
    assert [s["action"] for s in stage.sequence] == [
        "connect_truck", "connect_truck", "take_out", "shut_down_island", "put_back",
        "disconnect_truck", "disconnect_truck",
    ]  # fmt: skip
    [cut] = stage.interruptions
    assert cut["step"] == 4 and cut["kw"] == pytest.approx(682.0) and cut["minutes"] == 5.0
    assert not stage.outage_free and stage.verification.passed
    # with breakers at the works (the case says so), the island re-joins without a break
    text = (CASES / "case33bw_trucks.toml").read_text()
    case = tmp_path / "cb.toml"
    case.write_text(
        text.replace(
            "[[stages]]", '[switching]\ndevice = "CB"\nstep_minutes = 10.0\n\n[[stages]]', 1
        )
    )
    result = cli("plan", case, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "NOT OUTAGE-FREE" not in result.output
    data = json.loads((tmp_path / "out" / "plan.json").read_text())["stages"][0]
    assert data["interruptions"] == [] and data["outage_free"] is True
    back = next(s for s in data["sequence"] if s["action"] == "put_back")
    assert back["device"] == "CB" and back["joins"] == ["I1", "grid"]
    times = [datetime.fromisoformat(s["time"]) for s in data["sequence"]]
    assert times[1] - times[0] == timedelta(minutes=10)


def test_plan_writes_all_outputs(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = cli("plan", CASES / "case33bw_trucks.toml", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    names = ("plan.json", "schedule.csv", "plan.md", "report.html", "switching.csv", "plan.xlsx")
    for name in (*names, "map.geojson"):  # case33bw has geodata for every bus
        assert (tmp_path / name).stat().st_size > 0
        assert f"wrote {tmp_path / name}" in result.output
    data = json.loads((tmp_path / "plan.json").read_text())
    assert len(data["stages"][0]["schedule"]) == 12
    assert "verifying 2 truck(s)" in result.output or "verifying 2 truck(s)" in result.stderr
    md = (tmp_path / "plan.md").read_text()
    assert "## Stage 1: Line 28 out" in md
    assert "| synchronise | truck T1 breaker (CB) | RMU at bus #30, truck bay |" in md
    assert "**Not outage-free:** 1 break-before-make transfer(s)" in md
    assert "- sheet step 6 (plan step 4): 682 kW off for 5 min" in md
    sheet = (tmp_path / "switching.csv").read_text().splitlines()
    assert len(sheet) == 10 and sheet[0].startswith("stage,step,time,duration_min,action,")
