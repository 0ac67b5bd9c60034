"""Table-driven case tests: each valid file loads, each invalid file gives its exact problems."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import planner
from planner.core.errors import CaseError
from planner.inputs.case import Reserve, SgenMode, SwitchingRules
from tests.conftest import DATA

VALID = DATA / "cases" / "valid"
INVALID = DATA / "cases" / "invalid"
EXPECTED = json.loads((INVALID / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_invalid_case_reports_exact_problems(name: str) -> None:
    path = INVALID / f"{name}.toml"
    with pytest.raises(CaseError) as info:
        planner.load_case(path)
    got = [[p.key, p.message] for p in info.value.problems]
    want = [[k, m.replace("{dir}", str(INVALID.resolve()))] for k, m in EXPECTED[name]]
    assert got == want
    assert all(p.file == str(path) for p in info.value.problems)
    assert str(path) in str(info.value)


def test_every_invalid_file_has_expectations() -> None:
    files = {p.stem for p in INVALID.glob("*.toml")}
    assert files == set(EXPECTED)
    assert len(files) >= 30


def test_many_problems_are_reported_at_once() -> None:
    assert len(EXPECTED["many_problems"]) == 5


def test_minimal_case_gets_every_default() -> None:
    case = planner.load_case(VALID / "minimal.toml")
    assert case.limits.vm_min_pu == 0.93 and case.limits.vm_max_pu == 1.07
    assert case.limits.max_line_loading_percent == 100.0
    f = case.fleet
    assert (f.trucks, f.rating_kw, f.power_factor, f.vm_setpoint_pu) == (0, 2000.0, 0.8, 1.0)
    assert (f.min_loading, f.reserve, f.setup_hours) == (0.3, Reserve.NONE, 2.0)
    assert (f.fuel_l_per_kwh, f.tank_l) == (0.27, 1500.0)
    assert f.rating_kva == pytest.approx(2500.0)
    assert case.loads.profile == "flat" and case.loads.scaling == 1.0 and case.loads.margin == 0.1
    assert case.loads.protected == frozenset(case.network.net.load.index)
    assert case.islanded_sgen == SgenMode.TRIP
    assert case.ties is None and case.ties_mode == "auto"
    assert case.connection_points == ()
    assert case.stages[0].hours == 2.0


def test_full_case_reads_every_key() -> None:
    case = planner.load_case(VALID / "full.toml")
    assert case.limits.max_trafo_loading_percent == 95.0
    f = case.fleet
    assert (f.trucks, f.rating_kw, f.power_factor, f.vm_setpoint_pu) == (4, 1000.0, 0.85, 1.02)
    assert (f.min_loading, f.reserve, f.setup_hours, f.fuel_l_per_kwh, f.tank_l) == (
        0.25,
        Reserve.N_1,
        3.0,
        0.3,
        1200.0,
    )
    machine = (f.tanker_l, f.xdss_pu, f.xds_pu, f.xd_pu, f.tds_s, f.sc_support_multiple)
    assert machine == (5000.0, 0.12, 0.2, 1.8, 0.2, 2.5)
    assert (f.excitation, f.mv_earthing, f.load_step_percent) == ("support", "earthed", 40.0)
    assert case.switching == SwitchingRules("CB", 2.0, 8.0, 0.2, 7.5)
    assert case.conventional_outage_hours == 6.0
    rules = case.protection
    assert rules is not None
    assert (rules.pickup_a, rules.delay_s, rules.sensitivity, rules.require_earthing) == (
        400.0,
        0.3,
        1.3,
        True,
    )
    assert isinstance(rules.shed, tuple) and [r.text for r in rules.shed] == ["load:Load R5"]
    assert [(p.bus.index, p.bays) for p in case.connection_points] == [(5, 2), (6, 1)]
    assert case.loads.protected == frozenset({3, 4})
    assert (case.loads.profile, case.loads.scaling, case.loads.margin) == ("commercial", 0.8, 0.15)
    assert case.islanded_sgen == SgenMode.KEEP
    assert [(t.table, t.index) for t in case.ties] == [("switch", 1), ("switch", 2)]
    first, second = case.stages
    assert [(r.table, r.index) for r in first.out_of_service] == [("line", 2), ("switch", 0)]
    assert first.after[0][0].index == 2 and first.after[0][1] == (("length_km", 0.7),)
    assert second.start.isoformat() == "2025-01-02T08:00:00+01:00"


def test_protected_by_column_and_rmu_connection_points() -> None:
    case = planner.load_case(VALID / "protected_column.toml")
    net = case.network.net
    residential = set(net.load.index[net.load.category == "residential"])
    assert case.loads.protected == residential
    rmu = net.bus[net.bus.rmu & (net.bus.rmu_bays > 0)]
    assert {p.bus.index: p.bays for p in case.connection_points} == dict(rmu.rmu_bays)


def test_csv_profile_is_read() -> None:
    case = planner.load_case(VALID / "csv_profile.toml")
    profile = case.loads.csv_profile
    assert profile is not None and profile.factors == (0.5, 0.9, 1.0, 0.8, 0.6)


def test_matpower_network_loads() -> None:
    case = planner.load_case(VALID / "ties_none_matpower.toml")
    assert len(case.network.net.bus) == 9
    assert case.ties == ()


def test_csv_profile_must_cover_the_stages(tmp_path: Path) -> None:
    text = (VALID / "csv_profile.toml").read_text().replace("11:00:00+00:00", "13:00:00+00:00")
    (tmp_path / "c.toml").write_text(text)
    (tmp_path / "profile.csv").write_text((VALID / "profile.csv").read_text())
    with pytest.raises(CaseError) as info:
        planner.load_case(tmp_path / "c.toml")
    [problem] = info.value.problems
    assert problem.key == "loads.profile"
    assert "does not cover stage 0 'S1'" in problem.message


def test_unreadable_case_file(tmp_path: Path) -> None:
    with pytest.raises(CaseError) as info:
        planner.load_case(tmp_path / "missing.toml")
    assert "cannot read case file" in str(info.value)
