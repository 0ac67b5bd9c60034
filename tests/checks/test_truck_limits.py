"""Trucks run within 0..rating_kw and their kVA in every check; validate checks across stages."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandapower as pp
import pandapower.networks as pn
import pytest

from planner.grid.limits import Findings
from planner.grid.powerflow import TruckAt, truck_loading_percent
from planner.inputs.case import Limits
from tests.conftest import CASES

CASE33 = (CASES / "case33bw_trucks.toml").read_text()


def _plan(cli, tmp_path: Path, text: str) -> tuple[Path, dict]:  # type: ignore[no-untyped-def,type-arg]
    case = tmp_path / "case.toml"
    case.write_text(text)
    result = cli("plan", case, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    return case, json.loads((tmp_path / "out" / "plan.json").read_text())


def test_loading_is_the_tighter_of_kw_and_kva() -> None:
    assert truck_loading_percent(1970.0, 0.0, 2000.0, 2500.0) == pytest.approx(98.5)
    assert truck_loading_percent(1600.0, 1200.0, 2000.0, 2500.0) == pytest.approx(80.0)
    assert truck_loading_percent(2128.0, 430.0, 2000.0, 2040.8) == pytest.approx(106.4)
    assert truck_loading_percent(1000.0, 2000.0, 2000.0, 2500.0) == pytest.approx(
        math.hypot(1000, 2000) / 25
    )


def test_overload_names_the_limit_and_reverse_power_is_a_violation() -> None:
    findings = Findings(pn.case33bw(), Limits())
    truck = TruckAt("T1", 30, 2000.0, 2500.0)
    findings.observe_truck(truck, 2128.0, 430.0, "I1", "2025-07-01T12:00:00+00:00")
    findings.observe_truck(TruckAt("T2", 30, 2000.0, 2500.0), 1600.0, 2000.0, "I1", "t")
    findings.observe_truck(TruckAt("T3", 30, 2000.0, 2500.0), -1026.0, 300.0, "I1", "t")
    messages = [v.message for v in findings.sorted_violations()]
    assert "island I1: truck T1 at 2,128 kW, 106.4 % of its 2,000 kW rating" in messages
    assert "island I1: truck T2 at 2,561 kVA, 102.4 % of its 2,500 kVA rating" in messages
    assert (
        "island I1: truck T3 would absorb 1,026 kW (a truck cannot take active power)" in messages
    )
    reverse = next(v for v in findings.sorted_violations() if v.kind == "truck_reverse_power")
    assert (reverse.value, reverse.limit, reverse.element) == (-1026.0, 0.0, "T3")


def test_the_engine_rating_binds_when_the_load_power_factor_is_higher(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """600 kW trucks with a 1,200 kVA alternator: the lateral's 1,070 kVA fits one truck's kVA,
    its 682 kW does not fit one truck's kW, so two are planned and no row exceeds 600 kW."""
    text = CASE33.replace("rating_kw = 500.0", "rating_kw = 600.0\npower_factor = 0.5")
    case, plan = _plan(cli, tmp_path, text)
    assert plan["fleet"]["trucks_used"] == 2
    [stage] = plan["stages"]
    assert stage["verification"]["passed"]
    rows = [
        (kw, row["truck_kvar"][t]) for row in stage["schedule"] for t, kw in row["truck_kw"].items()
    ]
    assert rows and all(0.0 <= kw <= 600.0 + 1e-6 for kw, _ in rows)
    assert all(math.hypot(kw, kvar) <= 1200.0 + 1e-6 for kw, kvar in rows)
    peak = max(truck_loading_percent(kw, kvar, 600.0, 1200.0) for kw, kvar in rows)
    assert peak == pytest.approx(stage["verification"]["max_truck_loading_percent"], abs=0.01)
    # one truck is refused by validate, naming the kW limit
    stage["trucks"] = stage["trucks"][:1]
    plan["fleet"]["trucks_used"] = 1
    edited = tmp_path / "one_truck.json"
    edited.write_text(json.dumps(plan))
    result = cli("validate", case, edited)
    assert result.exit_code == 1
    assert "% of its 600 kW rating" in result.output


def test_kept_generation_is_curtailed_rather_than_absorbed(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """2 MW of generation kept inside a 682 kW island: the trucks never run below 0 kW; the
    surplus over the island's lowest load is curtailed and reported."""
    net = pn.case33bw()
    pp.create_sgen(net, 31, p_mw=2.0, q_mvar=0.0, name="PV 31")
    pp.to_json(net, str(tmp_path / "net.json"))
    text = CASE33.replace('"pandapower:case33bw"', '"net.json"')
    text += '\n[generation]\nislanded_sgen = "keep"\n'
    case, plan = _plan(cli, tmp_path, text)
    [stage] = plan["stages"]
    assert stage["verification"]["passed"], stage["verification"]["violations"]
    assert all(kw >= -0.5 for row in stage["schedule"] for kw in row["truck_kw"].values())
    [island] = [i for i in stage["islands"] if i["supply"] == "trucks"]
    assert island["curtailed_sgen_kw"] == pytest.approx(2000.0 - island["design_peak_kw"], abs=0.2)
    assert cli("validate", case, tmp_path / "out" / "plan.json").exit_code == 0


def test_a_truck_cannot_move_between_stages_faster_than_setup_hours(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    second = (
        '\n[[stages]]\nname = "Line 28 out again"\nstart = 2025-07-01T21:00:00+00:00\n'
        'end = 2025-07-02T06:00:00+00:00\nout_of_service = ["line:#28"]\n'
    )
    case, plan = _plan(cli, tmp_path, CASE33 + second)
    first, later = plan["stages"]
    assert [t["bus"] for t in first["trucks"]] == [t["bus"] for t in later["trucks"]]
    assert cli("validate", case, tmp_path / "out" / "plan.json").exit_code == 0
    truck = later["trucks"][0]
    truck["bus"] = 32 if truck["bus"] == 30 else 30
    truck["connection_point"] = f"bus:#{truck['bus']}"
    edited = tmp_path / "moved.json"
    edited.write_text(json.dumps(plan))
    result = cli("validate", case, edited)
    assert result.exit_code == 1
    assert f"fleet_timing: truck {truck['id']} moves from bus " in result.output
    assert "in 1 h; a move takes setup_hours = 2 h" in result.output
