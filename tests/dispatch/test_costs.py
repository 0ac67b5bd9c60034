"""summary.costs (#18): rental, mobilisation and fuel add up from the case's figures."""

from __future__ import annotations

import csv
import json
import math
from datetime import datetime, timedelta

import pytest

from tests.conftest import CASES

COSTS = """
[benefit]
conventional_outage_hours = 6.0

[costs]
truck_day = 1800.0
mobilisation = 950.0
fuel_per_l = 1.45
currency = "EUR"
value_of_lost_load_per_kwh = 12.0
"""


def _plan(cli, tmp_path, extra: str):  # type: ignore[no-untyped-def]
    tmp_path.mkdir(exist_ok=True)
    case = tmp_path / "case.toml"
    case.write_text((CASES / "case33bw_trucks.toml").read_text() + extra)
    result = cli("plan", case, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    return json.loads((tmp_path / "out" / "plan.json").read_text()), result


def test_costs_add_up_from_the_schedule_and_the_case(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    plan, result = _plan(cli, tmp_path, COSTS)
    costs = plan["summary"]["costs"]
    # recomputed from schedule.csv: hire from the first set-up hour to the end of the last hour
    # at a stage, plus setup_hours to drive back, in started days
    rows = list(csv.DictReader((tmp_path / "out" / "schedule.csv").open()))
    hired: dict[str, list[datetime]] = {}
    for row in rows:
        if row["status"] in ("setup", "online", "standby"):
            t = datetime.fromisoformat(row["time"])
            hired.setdefault(row["truck"], []).append(t)
    setup_h = 2.0  # the fleet default
    days = {
        truck: math.ceil(
            (max(ts) + timedelta(hours=1) + timedelta(hours=setup_h) - min(ts)) / timedelta(days=1)
        )
        for truck, ts in hired.items()
    }
    assert len(days) == plan["fleet"]["trucks_used"] == 2
    assert costs["truck_days"] == sum(days.values())
    assert costs["rental"] == pytest.approx(1800.0 * sum(days.values()))
    assert costs["mobilisation"] == pytest.approx(950.0 * 2)
    fuel_l = sum(float(row["fuel_l"]) for row in rows)
    assert costs["fuel_l"] == pytest.approx(fuel_l, abs=0.05 * len(rows) + 0.1)  # rounded cells
    assert costs["fuel"] == pytest.approx(1.45 * plan["summary"]["fuel_l"], abs=0.01)
    total = costs["rental"] + costs["mobilisation"] + costs["fuel"]
    assert costs["total"] == pytest.approx(total, abs=0.01)
    # the counterfactual: the truck-fed customers lose 6 of the stage's 12 hours
    served = plan["summary"]["benefit"]["energy_served_kwh"]
    lost = costs["energy_not_supplied_conventionally_kwh"]
    assert lost == pytest.approx(served * 6 / 12, abs=0.1)
    assert costs["customer_cost_avoided"] == pytest.approx(
        12.0 * costs["energy_not_supplied_conventionally_kwh"], abs=0.01
    )
    assert costs["net_benefit"] == pytest.approx(costs["customer_cost_avoided"] - total, abs=0.01)
    assert costs["currency"] == "EUR" and costs["not_given"] == []
    assert f"costs: EUR {costs['total']:,.0f}" in result.output
    md = (tmp_path / "out" / "plan.md").read_text()
    assert f"EUR {costs['rental']:,.0f}" in md and "customer cost avoided" in md
    html = (tmp_path / "out" / "report.html").read_text()
    assert f"EUR {costs['total']:,.0f}" in html


def test_a_case_without_costs_has_none_and_missing_figures_cost_nothing(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    plan, _ = _plan(cli, tmp_path, "")
    assert plan["summary"].get("costs") is None
    plan, _ = _plan(cli, tmp_path / "b", '\n[costs]\ntruck_day = 1000.0\ncurrency = "CNY"\n')
    costs = plan["summary"]["costs"]
    assert costs["rental"] == pytest.approx(1000.0 * costs["truck_days"])
    assert costs["mobilisation"] == 0 and costs["fuel"] == 0
    assert costs["customer_cost_avoided"] is None and costs["net_benefit"] is None
    assert costs["not_given"] == ["mobilisation", "fuel_per_l", "value_of_lost_load_per_kwh"]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("truck_day = -5.0", "costs.truck_day: must be 0 or more, got -5.0"),
        ("fuel_per_l = 1e12", "costs.fuel_per_l: must be at most 1e+09, got 1000000000000.0"),
        ('currency = "EUR\\u001b[31m"', "costs.currency: expected a currency code"),
        ("rental = 3.0", "costs.rental: unknown key"),
        ('truck_day = "cheap"', "costs.truck_day: expected a number"),
    ],
)
def test_bad_costs_are_refused_naming_the_key(cli, tmp_path, table: str, message: str) -> None:  # type: ignore[no-untyped-def]
    case = tmp_path / "case.toml"
    case.write_text((CASES / "case33bw_trucks.toml").read_text() + f"\n[costs]\n{table}\n")
    result = cli("check", case)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "\x1b" not in result.output
