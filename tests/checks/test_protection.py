"""Protection and dynamic reserve of truck islands: IEC 60909 fault currents against the relays,
earthing, the largest sudden load step; a requirement when the case has `[protection]`."""

from __future__ import annotations

import json
import math

import pandapower as pp
import pytest

from planner.grid.faults import at_delay_ka, island_faults, island_max_3ph_ka
from planner.grid.powerflow import TruckAt
from tests.conftest import CASES

CASE33 = (CASES / "case33bw_trucks.toml").read_text()


def _one_line_island() -> pp.pandapowerNet:
    net = pp.create_empty_network()
    b0, b1 = pp.create_bus(net, 10.0), pp.create_bus(net, 10.0)
    pp.create_line_from_parameters(
        net, b0, b1, 2.0, r_ohm_per_km=0.2, x_ohm_per_km=0.1, c_nf_per_km=0.0, max_i_ka=0.4
    )
    pp.create_load(net, b1, p_mw=1.0)
    return net


def test_fault_currents_of_a_one_line_island_by_hand() -> None:
    """One 2,000 kW / 2,500 kVA truck at 10 kV, 2 km of 0.2 + j0.1 ohm/km line to the far bus."""
    truck = [TruckAt("T1", 0, 2000.0, 2500.0)]
    levels = island_faults(
        _one_line_island(), truck, xdss_pu=0.15, xds_pu=0.25, sustained_x_pu=2.0, power_factor=0.8
    )
    assert levels is not None and levels.bus == 1  # the far end is the lowest
    z_base = 10.0**2 / 2.5  # ohm on the truck's kVA base
    k_g = 1.1 / (1 + 0.15 * 0.6)  # IEC 60909 generator correction, cos phi 0.8
    r_line = 0.4 * (1 + 0.004 * (80.0 - 20.0))  # minimum case: lines at 80 degC

    def two_phase(x_pu: float, k: float = 1.0) -> float:  # c = 1.0, R_G = 0.07 X_G
        z = complex(0.07 * x_pu * z_base * k + r_line, x_pu * z_base * k + 0.2)
        return 10.0 / (2 * abs(z))

    assert levels.subtransient_ka == pytest.approx(two_phase(0.15, k_g), rel=1e-6)
    assert levels.transient_ka == pytest.approx(two_phase(0.25), rel=1e-6)
    assert levels.sustained_ka == pytest.approx(two_phase(2.0), rel=1e-6)
    # at the relay's delay: I(t) = Ik + (I'k - Ik) exp(-t / T'd)
    expected = two_phase(2.0) + (two_phase(0.25) - two_phase(2.0)) * math.exp(-0.5 / 0.15)
    assert at_delay_ka(levels, 0.5, 0.15) == pytest.approx(expected, rel=1e-9)
    assert at_delay_ka(levels, 0.5, 0.15) == pytest.approx(0.0773, abs=1e-4)
    # switchgear duty: 3-phase, maximum case (c = 1.1) at the truck's terminals
    z_g = complex(0.07 * 0.15 * z_base, 0.15 * z_base) * k_g
    assert island_max_3ph_ka(_one_line_island(), truck, 0.15, 0.8) == pytest.approx(
        1.1 * 10.0 / (math.sqrt(3) * abs(z_g)), rel=1e-6
    )


def _protected(pickup_a: float, extra: str = "") -> str:
    text = CASE33.replace("rating_kw = 500.0", f'rating_kw = 500.0\nexcitation = "support"{extra}')
    return text.replace("[transfer]", f"[protection]\npickup_a = {pickup_a}\n\n[transfer]")


def _plan(cli, tmp_path, text: str, name: str = "case"):  # type: ignore[no-untyped-def]
    case = tmp_path / f"{name}.toml"
    case.write_text(text)
    result = cli("plan", case, "--out", tmp_path / name)
    return case, result, json.loads((tmp_path / name / "plan.json").read_text())


def test_protection_places_and_keeps_online_the_trucks_its_fault_current_needs(
    cli, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    # the load alone takes two 500 kW trucks; a 100 A pickup at 0.5 s (x 1.5) needs three
    _, result, plain = _plan(
        cli,
        tmp_path,
        _protected(100.0).split("[protection]")[0]
        + "[transfer]"
        + _protected(100.0).split("[transfer]")[1],
        "plain",
    )
    assert plain["fleet"]["trucks_used"] == 2
    case, result, plan = _plan(cli, tmp_path, _protected(100.0))
    assert result.exit_code == 0, result.output
    assert plan["fleet"]["trucks_used"] == 3
    stage = plan["stages"][0]
    assert all(len(row["online"]) == 3 for row in stage["schedule"])  # kept online every hour
    [island] = stage["islands"]
    p = island["protection"]
    assert p["passed"] is True and p["online"] == ["T1", "T2", "T3"]
    assert p["ik2_min_at_delay_ka"] >= 0.15 and p["sensitivity_achieved"] >= 1.5
    assert p["required_at_delay_ka"] == 0.15 and p["pickup_a"] == 100.0
    assert p["ik2_min_subtransient_ka"] > p["ik2_min_transient_ka"] > p["ik2_min_at_delay_ka"]
    assert p["grid_ik2_min_ka"] > p["ik2_min_subtransient_ka"]
    shares = p["truck_share_at_delay_ka"]
    assert sorted(shares) == ["T1", "T2", "T3"]
    assert sum(shares.values()) == pytest.approx(p["ik2_min_at_delay_ka"], abs=0.002)
    md = (tmp_path / "case" / "plan.md").read_text()
    assert "Protection of the truck islands" in md and "| passes |" in md
    # validate checks the same: the plan holds; without its third truck it does not
    assert cli("validate", case, tmp_path / "case" / "plan.json").exit_code == 0
    stage["trucks"] = stage["trucks"][:2]
    plan["fleet"]["trucks_used"] = 2
    edited = tmp_path / "two.json"
    edited.write_text(json.dumps(plan))
    refused = cli("validate", case, edited)
    assert refused.exit_code == 1
    assert "island I1: 2-phase fault at bus:#" in refused.output
    assert "with 2 truck(s) online, below 1.5 x 100 A" in refused.output


def test_without_a_protection_section_the_figures_are_warnings(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, result, plan = _plan(cli, tmp_path, CASE33)
    assert result.exit_code == 0
    assert "warning: island I1 protection: 2-phase fault at bus:#29 gives 0.03 kA at 0.5 s" in (
        result.output
    )
    p = plan["stages"][0]["islands"][0]["protection"]
    assert p["passed"] is None and p["violations"] and p["earthing"] is None
    assert plan["stages"][0]["verification"]["passed"] is True
    # without n-1 the largest step is the island forming: the trucks, ramped to carry its load,
    # pick up its losses when the boundary opens
    dynamic = plan["stages"][0]["islands"][0]["dynamic"]
    first = plan["stages"][0]["schedule"][0]
    losses = sum(first["truck_kw"].values()) - first["island_load_kw"]["I1"]
    assert dynamic["event"] == "island forms" and dynamic["time"] == first["time"]
    assert dynamic["largest_step_kw"] == pytest.approx(losses, abs=0.2)
    assert dynamic["step_percent"] == pytest.approx(losses / 1000.0 * 100, abs=0.05)


def test_earthing_is_found_or_required(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, _, plan = _plan(cli, tmp_path, _protected(50.0, '\nmv_earthing = "earthed"'), "earthed")
    assert plan["stages"][0]["islands"][0]["protection"]["earthing"] == "truck T1"
    text = _protected(50.0).replace("pickup_a = 50.0", "pickup_a = 50.0\nrequire_earthing = true")
    _, result, plan = _plan(cli, tmp_path, text, "unearthed")
    assert result.exit_code == 1
    assert "island I1: nothing earths the island's star point" in result.output


def test_a_truck_trip_is_a_load_step_the_schedule_shows(planned) -> None:  # type: ignore[no-untyped-def]
    _, plan = planned("case33bw_reserve")
    [stage] = plan.stages
    [island] = stage.islands
    dynamic = island.dynamic
    assert dynamic is not None and dynamic["event"].startswith("trip T")
    tripped = dynamic["event"].split()[1]
    row = next(r for r in stage.schedule if r["time"] == dynamic["time"])
    assert dynamic["largest_step_kw"] == pytest.approx(row["truck_kw"][tripped], abs=0.1)
    rest = 500.0 * (len(row["online"]) - 1)
    assert dynamic["step_percent"] == pytest.approx(
        dynamic["largest_step_kw"] / rest * 100, abs=0.1
    )
    assert dynamic["limit_percent"] == 50.0 and dynamic["shed"] == []
