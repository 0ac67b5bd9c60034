"""Limits broken before the works (`planner check`), and a network's own per-bus voltage limits
honoured by check, plan and validate through the one checking path (`grid.limits.Findings`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandapower.networks as pn
import pytest

from planner.grid.limits import Findings, voltage_band
from planner.inputs.case import Limits
from tests.conftest import CASES, DATA

INSPECT = DATA / "cases" / "inspect"
WHEN = "in the normal state at 2025-07-01 08:00 (its worst check time before stage 'Line 28 out')"


def test_check_warns_of_limits_broken_in_the_normal_state(cli) -> None:  # type: ignore[no-untyped-def]
    """Line 0 rated 150 A carries 232.8 A; bus 17's own 0.95 pu floor (the case allows 0.90)."""
    result = cli("check", INSPECT / "broken_normally.toml")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"  warning   line:#0 at 155.2 % of 100 % {WHEN}" in lines
    assert f"  warning   bus:#17 at 0.9036 pu, below its 0.95 pu limit, {WHEN}" in lines
    checked = json.loads(cli("check", INSPECT / "broken_normally.toml", "--json").stdout)
    assert [(f["kind"], f["element"], f["value"], f["limit"]) for f in checked["normal_state"]] == [
        ("line_loading", "line:#0", 155.23, 100.0),
        ("vm_min", "bus:#17", 0.90356, 0.95),
    ]
    assert checked["normal_state"][0]["time"] == "2025-07-01T08:00:00+00:00"
    assert checked["normal_state"][0]["stage"] == "Line 28 out"
    assert [f["message"] for f in checked["normal_state"]] == [
        w for w in checked["warnings"] if "normal state" in w
    ]


@pytest.mark.parametrize("name", ["case33bw_trucks", "dashiqiao"])
def test_check_is_quiet_about_a_sound_normal_state(cli, name: str) -> None:  # type: ignore[no-untyped-def]
    checked = json.loads(cli("check", CASES / f"{name}.toml", "--json").stdout)
    assert checked["normal_state"] == []
    assert not [w for w in checked["warnings"] if "normal state" in w]


def test_a_bus_band_is_the_tighter_of_the_case_and_the_bus() -> None:
    net = pn.case33bw()  # its own limits: 0.9-1.1 pu, bus 0 1.0-1.0
    net.bus.loc[5, "max_vm_pu"] = np.nan  # not given: the case's limit
    net.bus.loc[6, "min_vm_pu"] = 0.97
    low, high = Findings(net, Limits(vm_min_pu=0.93, vm_max_pu=1.07)).bus_band(
        np.array([0, 5, 6, 7])
    )
    assert low.tolist() == [1.0, 0.93, 0.97, 0.93]
    assert high.tolist() == [1.0, 1.07, 1.07, 1.07]
    # the same band for any other check of voltages (transfer screening, voltage matching)
    band = voltage_band(net, Limits(vm_min_pu=0.93, vm_max_pu=1.07), np.array([0, 5, 6, 7]))
    assert [b.tolist() for b in band] == [low.tolist(), high.tolist()]
    net = pn.create_cigre_network_mv()  # no such columns: the case's limits
    low, high = Findings(net, Limits()).bus_band(np.array([1, 2]))
    assert low.tolist() == [0.93, 0.93] and high.tolist() == [1.07, 1.07]


def test_a_tight_bus_limit_of_the_network_is_broken_in_plan_and_validate(
    cli,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    """Bus 31's own max_vm_pu of 0.99 (the case allows 1.07): the trucks hold the lateral at
    1.0 pu, so no plan holds, and validate finds the same."""
    case = INSPECT / "tight_bus_limit.toml"
    result = cli("plan", case, "--out", tmp_path / "out", "--json")
    assert result.exit_code == 1
    [stage] = json.loads(result.stdout)["stages"]
    [broken] = [v for v in stage["violations"] if v["kind"] == "vm_max"]
    assert (broken["element"], broken["value"], broken["limit"]) == ("bus:#31", 1.00019, 0.99)
    assert broken["message"] == "island I1: bus:#31 at 1.0002 pu, above 0.99 pu"
    result = cli("validate", case, tmp_path / "out" / "plan.json", "--json")
    assert result.exit_code == 1
    [stage] = json.loads(result.stdout)["stages"]
    assert [(v["kind"], v["element"], v["limit"]) for v in stage["violations"]] == [
        ("vm_max", "bus:#31", 0.99)
    ]


def test_limits_broken_in_the_normal_state_are_not_counted_against_a_state() -> None:
    """`normal_exemptions` (every check time of the stage, batched) gives what the normal state
    breaks; a `Findings` given them keeps those as `preexisting`, not as violations, while a
    state breaks them no further (to the digits the normal value is known to); other elements,
    and those broken further, count."""
    from planner.checks.normal_state import normal_exemptions
    from planner.grid.context import StageContext
    from planner.grid.powerflow import GridSolution
    from planner.inputs.case_file import load_case

    case = load_case(INSPECT / "broken_normally.toml")
    ctx = StageContext.build(case, case.stages[0])
    exempt = normal_exemptions(ctx)
    assert sorted(exempt) == [("line_loading", "line:#0"), ("vm_min", "bus:#17")]
    line, bus = exempt[("line_loading", "line:#0")], exempt[("vm_min", "bus:#17")]
    when = max(line, key=line.__getitem__)  # the worst check time, for both
    assert line[when] == pytest.approx(155.23) and bus[when] == pytest.approx(0.90356)
    findings = Findings(ctx.base_net, case.limits, exempt=exempt)
    findings.check(GridSolution(True, {17: 0.90356, 18: 0.89}, {0: 155.0}, {}), "grid", when)
    assert sorted(findings.preexisting) == [("line_loading", "line:#0"), ("vm_min", "bus:#17")]
    assert [(v.kind, v.element, v.value) for v in findings.violations.values()] == [
        ("vm_min", "bus:#18", 0.89)
    ]
    # broken further than the normal state breaks them: the state's doing, counted
    worse = Findings(ctx.base_net, case.limits, exempt=exempt)
    worse.check(GridSolution(True, {17: 0.9024, 18: 0.95}, {0: 155.75}, {}), "grid", when)
    assert worse.preexisting == {}
    assert sorted((v.kind, v.element, v.value) for v in worse.violations.values()) == [
        ("line_loading", "line:#0", 155.75),
        ("vm_min", "bus:#17", 0.9024),
    ]
    # further by less than a reading's resolution (0.5 %-points, 0.001 pu): as badly
    within = Findings(ctx.base_net, case.limits, exempt=exempt)
    within.check(GridSolution(True, {17: 0.9027}, {0: 155.7}, {}), "grid", when)
    assert sorted(within.preexisting) == [("line_loading", "line:#0"), ("vm_min", "bus:#17")]
    assert within.violations == {}
    # broken as badly, but at a time the normal state does not break it: counted
    other = Findings(ctx.base_net, case.limits, exempt=exempt)
    other.check(GridSolution(True, {17: 0.95}, {0: 150.0}, {}), "grid", "2099-01-01T00:00:00+00:00")
    assert other.preexisting == {}
    assert [(v.kind, v.element, v.value) for v in other.violations.values()] == [
        ("line_loading", "line:#0", 150.0)
    ]


def test_a_bus_band_looks_each_bus_up_as_reindexing_does() -> None:
    """`_band` looks the buses' positions up once for both columns: the band must be what
    reindexing each column gives, a bus the table lacks or a text value taking the case's."""
    from planner.grid.limits import _band, own_voltage_limits

    rng = np.random.default_rng(47)
    limits = Limits(vm_min_pu=0.93, vm_max_pu=1.07)
    for _ in range(50):
        net = pn.case33bw()
        net.bus.index = rng.permutation(1000)[: len(net.bus)]  # ids neither dense nor sorted
        net.bus["min_vm_pu"] = rng.choice([0.9, 0.95, np.nan], size=len(net.bus))
        net.bus["max_vm_pu"] = rng.choice([1.1, 1.05, np.nan], size=len(net.bus)).astype(object)
        net.bus.iloc[0, net.bus.columns.get_loc("max_vm_pu")] = "1.0 pu"  # text: not a limit
        own = own_voltage_limits(net)
        buses = rng.choice(np.append(net.bus.index.to_numpy(), [1001, 1002]), size=40)
        low, high = _band(own, limits, buses)
        expected_low = np.fmax(0.93, own["min_vm_pu"].reindex(buses).to_numpy(dtype=float))
        expected_high = np.fmin(1.07, own["max_vm_pu"].reindex(buses).to_numpy(dtype=float))
        assert low.tolist() == expected_low.tolist()
        assert high.tolist() == expected_high.tolist()
    assert _band({}, limits, np.array([3]))[0].tolist() == [0.93]
