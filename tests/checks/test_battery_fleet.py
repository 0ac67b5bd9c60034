"""Battery trucks (tests/data/cases/valid/battery_fleet.toml: case33bw's lateral 28-32, 682 kW /
1,070 kVA of design load, for a 3-hour cut-over and the next day for 12 hours; a 2,000 kW diesel
truck and a 1,000 kW battery truck of 2,500 kWh). The planner puts the battery where its energy
lasts; its energy is tracked hour by hour, it burns no fuel, and a plan that runs it past its
energy fails validation naming it; its fault current is an inverter's, checked against
pandapower's own short-circuit calculation set up here."""

from __future__ import annotations

import json
import math

import pandapower as pp
import pandapower.networks as pn
import pandapower.shortcircuit as sc
import pytest
from pandapower.toolbox import select_subnet

import planner
from planner.checks.validation import validate
from planner.dispatch.schedule import to_csv
from planner.grid.context import StageContext
from planner.grid.faults import INVERTER_K, INVERTER_K_MAX, island_faults
from planner.inputs.case import Case
from planner.outputs.facts import facts
from tests.checks.hand_placed import check_with, plan_with, trucks_at
from tests.conftest import DATA

BATTERY = DATA / "cases" / "valid" / "battery_fleet.toml"


@pytest.fixture(scope="module")
def case() -> Case:
    return planner.load_case(BATTERY)


@pytest.fixture(scope="module")
def dispatch(case):  # type: ignore[no-untyped-def]
    return planner.plan_dispatch(case)


def test_the_case_reads_a_battery_type(case) -> None:  # type: ignore[no-untyped-def]
    kind = case.fleet.type_of("BAT-1000-1")
    assert kind is not None and kind.battery and kind.storage_kwh == 2500.0
    assert not case.fleet.machine("MV-2000-1").battery
    # plan.md's and the report's rules and limits say what a battery truck is held to
    assert facts(case)[-1] == (
        "battery trucks",
        "BAT-1000 2,500 kWh each; full at each stage's start and not recharged within it (a "
        "battery is used only where it lasts the stage); no fuel; fault current 1.2 x rated (an "
        "inverter's, without decay)",
    )


def test_the_design_energy_is_the_protected_load_over_the_stages_hours(case) -> None:  # type: ignore[no-untyped-def]
    for stage, hours in ((0, 3), (1, 12)):
        ctx = StageContext.build(case, case.stages[stage])
        protected = [i for i in ctx.loads_on(ctx.cut_off) if i in ctx.protected]
        assert ctx.energy_kwh(protected) == pytest.approx(682.0 * hours, rel=1e-12)


def test_the_planner_puts_the_battery_on_the_short_window_and_diesel_on_the_long(  # type: ignore[no-untyped-def]
    case, dispatch
) -> None:
    data = json.loads(dispatch.plan.to_json())
    assert data["feasible"]
    short, long = data["stages"]
    assert [(t["id"], t["type"], t["rating_kw"]) for t in short["trucks"]] == [
        ("BAT-1000-1", "BAT-1000", 1000.0)
    ]
    # 12 hours of 682 kW is 8,184 kWh: beside the diesel truck the battery would still deliver
    # 4,092 kWh of its 2,500, so it stays out
    assert [(t["id"], t["type"]) for t in long["trucks"]] == [("MV-2000-1", "MV-2000")]
    assert short["verification"]["passed"] and long["verification"]["passed"]
    # the battery's energy left after each hour, 685.2 kW (load and losses) at a time
    assert [row["battery_kwh"] for row in short["schedule"]] == [
        {"BAT-1000-1": 1814.8},
        {"BAT-1000-1": 1129.6},
        {"BAT-1000-1": 444.4},
    ]
    assert [row["fuel_l"] for row in short["schedule"]] == [{"BAT-1000-1": 0.0}] * 3
    assert all("battery_kwh" not in row for row in long["schedule"])  # no battery in it
    assert long["schedule"][0]["fuel_l"] == {"MV-2000-1": 185.0}  # 685.2 kW x 0.27 L/kWh
    report = validate(case, data)
    assert report.passed, [v.message for _, c in report.stages for v in c.verification.violations]


def test_a_battery_burns_no_fuel_has_no_tank_and_costs_no_fuel(case, dispatch) -> None:  # type: ignore[no-untyped-def]
    rows = list(dispatch.fleet_hours)
    battery = [r for r in rows if r.truck == "BAT-1000-1"]
    assert all(r.fuel_l == 0.0 and r.tank_l == 0.0 and r.refuel_l == 0.0 for r in battery)
    assert [round(r.battery_kwh, 1) for r in battery if r.status == "online"] == [
        1814.8,
        1129.6,
        444.4,
    ]
    assert {r.battery_kwh for r in battery if r.status == "setup"} == {2500.0}  # starts full
    assert all(r.battery_kwh is None for r in rows if r.truck == "MV-2000-1")
    assert [(r.truck, r.time) for r in dispatch.refuels] == [
        ("MV-2000-1", "2025-07-02T15:00:00+00:00")
    ]
    summary = json.loads(dispatch.plan.to_json())["summary"]
    diesel = sum(r.fuel_l for r in rows if r.truck == "MV-2000-1")
    assert summary["fuel_l"] == round(diesel, 1) == 2220.1  # 12 x 185.0 L
    costs = summary["costs"]
    assert (costs["fuel_l"], costs["fuel"], costs["total"]) == (2220.1, 3330.15, 6330.15)
    text = to_csv(rows).splitlines()
    assert text[0].endswith(",fuel_l,tank_l,refuel_l,battery_kwh")
    online = [line for line in text if line.startswith("2025-07-01T09:00:00+00:00,BAT-1000-1")]
    assert online == [
        "2025-07-01T09:00:00+00:00,BAT-1000-1,online,Cut-over,bus:#30,30,I1,1,685.2,894.2,"
        "90.1,0.0,0.0,0.0,1814.8"
    ]
    first_diesel = next(line for line in text if ",MV-2000-1," in line)
    assert first_diesel.endswith(",0.0,1500.0,0.0,")  # its tank; no battery figure


def test_schedule_csv_has_no_battery_column_without_battery_trucks(case, dispatch) -> None:  # type: ignore[no-untyped-def]
    rows = [r for r in dispatch.fleet_hours if r.truck == "MV-2000-1"]
    assert to_csv(rows).splitlines()[0].endswith(",fuel_l,tank_l,refuel_l")


def test_a_battery_and_a_diesel_truck_share_the_load_and_the_battery_its_part(case) -> None:  # type: ignore[no-untyped-def]
    check = check_with(case, trucks_at(case, "BAT-1000-1", "MV-2000-1"))
    assert check.verification.passed
    # shared by kVA, 1,250 to 2,500: the battery delivers a third, 228.4 kW an hour
    assert [round(h.battery_kwh["BAT-1000-1"], 1) for h in check.hours] == [2271.6, 2043.2, 1814.8]


def test_a_plan_that_runs_the_battery_past_its_energy_fails_validation(  # type: ignore[no-untyped-def]
    case, monkeypatch, cli, tmp_path
) -> None:
    data = plan_with(case, ("BAT-1000-1",), monkeypatch)
    report = validate(case, data)
    assert not report.passed
    short, long = (c.verification for _, c in report.stages)
    assert short.passed
    assert [v.as_json() for v in long.violations] == [
        {
            "kind": "battery_energy",
            "message": "island I1: battery truck BAT-1000-1 runs out of energy in the hour from "
            "2025-07-02T11:00:00+00:00: the stage takes 8,222 kWh of its 2,500 kWh, 5,722 kWh "
            "short",
            "element": "BAT-1000-1",
            "value": 5722.5,
            "limit": 2500.0,
            "island": "I1",
            "time": "2025-07-02T11:00:00+00:00",
        }
    ]
    # the plan's own word: its schedule runs the battery down to nothing at 11:00
    left = [row["battery_kwh"]["BAT-1000-1"] for row in data["stages"][1]["schedule"]]
    assert left[:4] == [1814.8, 1129.6, 444.4, 0.0]
    # `planner validate` on that plan file: exit 1, the violation named
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data))
    result = cli("validate", BATTERY, path)
    assert result.exit_code == 1
    assert "battery truck BAT-1000-1 runs out of energy in the hour from " in result.output
    assert "5,722 kWh short" in result.output


def _independent(buses: list[int], gens: list[tuple], sgens: list[tuple], fault: str, case: str):  # type: ignore[no-untyped-def]
    """pandapower's IEC 60909 currents of the island on `buses` of case33bw, fed by generators
    (bus, kVA, x in pu, cos phi) and current sources (bus, kVA, k), set up here."""
    net = pn.case33bw()
    island = select_subnet(net, buses)
    island.ext_grid.drop(island.ext_grid.index, inplace=True)
    island.load.drop(island.load.index, inplace=True)
    island.line["endtemp_degree"] = 80.0
    for n, (bus, kva, x, cos_phi) in enumerate(gens):
        vn, sn = float(island.bus.at[bus, "vn_kv"]), kva / 1000.0
        pp.create_gen(
            island, bus, p_mw=0.0, vm_pu=1.0, sn_mva=sn, vn_kv=vn, xdss_pu=x,
            rdss_ohm=0.07 * x * vn**2 / sn, cos_phi=cos_phi, slack=n == 0,
        )  # fmt: skip
    for bus, kva, k in sgens:
        pp.create_sgen(island, bus, p_mw=0.0, sn_mva=kva / 1000.0, k=k, current_source=True)
    sc.calc_sc(island, fault=fault, case=case, branch_results=False)
    return {int(b): float(v) for b, v in island.res_bus_sc.ikss_ka.items()}


def test_the_battery_feeds_a_fault_as_an_inverter_beside_a_diesel_truck(case) -> None:  # type: ignore[no-untyped-def]
    check = check_with(case, trucks_at(case, "BAT-1000-1", "MV-2000-1"))
    p = check.islands[0].protection
    buses = list(check.islands[0].buses)
    battery = [(30, 1250.0, INVERTER_K)]

    def minimum(x: float, cos_phi: float) -> dict[int, float]:
        # pandapower counts current sources in its maximum case only: the machine's minimum
        # currents plus the current sources' term (maximum case with them, less without)
        gen = [(30, 2500.0, x, cos_phi)]
        machine = _independent(buses, gen, [], "2ph", "min")
        both = _independent(buses, gen, battery, "2ph", "max")
        alone = _independent(buses, gen, [], "2ph", "max")
        return {b: machine[b] + both[b] - alone[b] for b in machine}

    # the diesel truck: x''d 0.15 at cos phi 0.8; x'd 0.25 and xd 2.0 entered as x / c_max
    sub, tr, sus = minimum(0.15, 0.8), minimum(0.25 / 1.1, 1.0), minimum(2.0 / 1.1, 1.0)
    bus = min(sub, key=sub.__getitem__)
    assert p["fault_bus"] == bus == 29
    assert p["ik2_min_subtransient_ka"] == round(sub[bus], 3) == 0.646
    assert p["ik2_min_transient_ka"] == round(tr[bus], 3) == 0.433
    # only the machine's part decays, with its T'd of 0.15 s; the battery's holds
    assert p["ik2_min_at_delay_ka"] == round(
        sus[bus] + (tr[bus] - sus[bus]) * math.exp(-0.5 / 0.15), 3
    )
    # the battery's term at the fault bus: 1.2 x 1,250 kVA at 12.66 kV, less what flows into
    # the machine; at its own bus exactly its 68.4 A
    at_30 = (
        minimum(0.15, 0.8)[30]
        - _independent(buses, [(30, 2500.0, 0.15, 0.8)], [], "2ph", "min")[30]
    )
    assert at_30 == pytest.approx(INVERTER_K * 1.25 / (math.sqrt(3) * 12.66), rel=1e-9)
    # switchgear duty: the maximum case, every truck on, the battery at 1.5 x rated
    duty = _independent(
        buses, [(30, 2500.0, 0.15, 0.8)], [(30, 1250.0, INVERTER_K_MAX)], "3ph", "max"
    )
    assert p["ik3_max_ka"] == round(max(duty.values()), 3) == 0.912
    assert p["truck_share_at_delay_ka"] == {"MV-2000-1": 0.06, "BAT-1000-1": 0.068}
    # unrounded, the fault module on the island as selected here
    levels = island_faults(
        select_subnet(pn.case33bw(), buses),
        list(trucks_at(case, "MV-2000-1", "BAT-1000-1")),
        xdss_pu=0.15, xds_pu=0.25, sustained_x_pu=2.0, power_factor=0.8, inverters=[False, True],
    )  # fmt: skip
    assert levels is not None and levels.bus == 29
    assert levels.subtransient_ka == pytest.approx(sub[29], rel=1e-9)
    assert levels.transient_ka == pytest.approx(tr[29], rel=1e-9)
    assert levels.sustained_ka == pytest.approx(sus[29], rel=1e-9)


def test_an_island_of_batteries_alone_sees_k_times_their_rated_current(case) -> None:  # type: ignore[no-untyped-def]
    check = check_with(case, trucks_at(case, "BAT-1000-1"))
    p = check.islands[0].protection
    rated_ka = 1.25 / (math.sqrt(3) * 12.66)  # 1,250 kVA at 12.66 kV: 57.0 A
    # no voltage source: every ampere the inverter gives flows into the fault, at any bus, and
    # it does not decay
    assert p["ik2_min_subtransient_ka"] == p["ik2_min_transient_ka"] == p["ik2_min_at_delay_ka"]
    assert p["ik2_min_at_delay_ka"] == round(INVERTER_K * rated_ka, 3) == 0.068
    assert p["ik3_max_ka"] == round(INVERTER_K_MAX * rated_ka, 3) == 0.086
    assert p["online"] == ["BAT-1000-1"] and p["sensitivity_achieved"] == 0.114
    # the same figure as pandapower gives for the current source beside a machine, at its bus
    beside = _independent(
        list(check.islands[0].buses), [(30, 2500.0, 0.15, 0.8)], [(30, 1250.0, INVERTER_K)],
        "3ph", "max",
    )  # fmt: skip
    alone = _independent(list(check.islands[0].buses), [(30, 2500.0, 0.15, 0.8)], [], "3ph", "max")
    assert beside[30] - alone[30] == pytest.approx(INVERTER_K * rated_ka, rel=1e-9)


def test_a_battery_is_not_recharged_between_daily_windows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The second stage as two daily windows of 3 hours: 6 hours of 682 kW, 4,092 kWh over the
    stage, more than the battery holds (it would last one window): the diesel truck carries it;
    the 3-hour cut-over still runs on the battery."""
    text = BATTERY.read_text().replace(
        'end = 2025-07-02T20:00:00+00:00\nout_of_service = ["line:#28"]',
        'end = 2025-07-03T11:00:00+00:00\nout_of_service = ["line:#28"]\ndaily = "08:00-11:00"',
    )
    path = tmp_path / "case.toml"
    path.write_text(text)
    case = planner.load_case(path)
    ctx = StageContext.build(case, case.stages[1])
    protected = [i for i in ctx.loads_on(ctx.cut_off) if i in ctx.protected]
    assert ctx.energy_kwh(protected) == pytest.approx(682.0 * 6, rel=1e-12)
    data = json.loads(planner.plan_case(case).to_json())
    assert [[t["id"] for t in stage["trucks"]] for stage in data["stages"]] == [
        ["BAT-1000-1"],
        ["MV-2000-1"],
    ]
    # the battery through both windows: full at the first, nothing left in the second
    check = check_with(case, trucks_at(case, "BAT-1000-1"), 1)
    assert [round(h.battery_kwh["BAT-1000-1"], 1) for h in check.hours] == [
        1814.8, 1129.6, 444.4, 0.0, 0.0, 0.0,
    ]  # fmt: skip
    (violation,) = check.verification.violations
    assert (violation.kind, violation.time, violation.value) == (
        "battery_energy",
        "2025-07-03T08:00:00+00:00",
        1611.2,
    )


def test_a_battery_truck_serves_one_stage(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two back-to-back stages: the battery serves the first and the diesel truck the second
    (nothing recharges it on site, and each stage's check counts it full); a plan that keeps
    the battery for both fails `validate`, naming it."""
    from tests.conftest import DATA

    case_path = DATA / "cases" / "valid" / "battery_two_stages.toml"
    case = planner.load_case(case_path)
    plan = planner.plan_case(case)
    assert plan.feasible
    assert [[t.id for t in s.trucks] for s in plan.stages] == [["BAT-1000-1"], ["MV-2000-1"]]
    data = plan.as_json()
    second = data["stages"][1]
    second["trucks"][0] |= {"id": "BAT-1000-1", "rating_kw": 1000.0, "type": "BAT-1000"}
    for row in second["schedule"]:
        row["truck_kw"] = {"BAT-1000-1": row["truck_kw"]["MV-2000-1"]}
        row["truck_kvar"] = {"BAT-1000-1": row["truck_kvar"]["MV-2000-1"]}
    for step in second["sequence"]:
        if step["element"] == "MV-2000-1":
            step["element"] = "BAT-1000-1"
    data["fleet"]["trucks_used"] = 1
    told = tmp_path / "plan.json"
    told.write_text(json.dumps(data))
    result = cli("validate", case_path, told)
    assert result.exit_code == 1, result.output
    assert (
        "battery_energy: battery truck BAT-1000-1 serves 2 stages ('A', 'B'): nothing recharges "
        "it between them, and each stage is checked with it full"
    ) in result.output
