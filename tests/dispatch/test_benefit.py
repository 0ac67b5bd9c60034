"""summary.benefit: the conventional counterfactual, and kW/kWh where households are unknown."""

from __future__ import annotations

import json

import pytest

from tests.conftest import CASES


def test_benefit_without_household_figures_is_kw_and_kwh(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = (CASES / "case33bw_trucks.toml").read_text()
    text += "\n[benefit]\nconventional_outage_hours = 8.0\n"
    case = tmp_path / "case.toml"
    case.write_text(text)
    result = cli("plan", case, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    b = plan["summary"]["benefit"]
    assert b["households_truck_fed"] is None and b["customer_hours_avoided"] is None
    assert b["conventional_outage_hours"] == 8.0
    [stage] = plan["stages"]
    [island] = [i for i in stage["islands"] if i["supply"] == "trucks"]
    # hourly rows: the energy served is the solved island load summed over the stage's hours
    served = sum(sum(row["island_load_kw"].values()) for row in stage["schedule"])
    assert b["energy_served_kwh"] == pytest.approx(served, abs=0.5)
    assert b["truck_fed_peak_kw"] == pytest.approx(island["design_peak_kw"], abs=0.1)
    assert "supply for 8 h in each stage" in b["counterfactual"]
    assert f"benefit: {b['truck_fed_peak_kw']:,.0f} kW peak carried by trucks" in result.output
    assert "kWh kept supplied by trucks (no household figures)" in result.output
    md = (tmp_path / "out" / "plan.md").read_text()
    assert "- Benefit: " in md and "counterfactual: works done de-energised" in md


def test_benefit_hours_must_be_positive(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    case = tmp_path / "case.toml"
    case.write_text(
        (CASES / "case33bw_trucks.toml").read_text()
        + "\n[benefit]\nconventional_outage_hours = 0\n"
    )
    result = cli("check", case)
    assert result.exit_code == 2
    assert "benefit.conventional_outage_hours: must be greater than 0, got 0" in result.output
