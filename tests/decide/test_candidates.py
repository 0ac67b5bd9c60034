"""Candidate connection points: a new user picks them with `planner inspect` and plans first try.

Each `tests/data/cases/inspect/*_no_points.toml` is a case without connection points; beside it,
`<name>.expected.json` holds what inspect must suggest, the trucks the plan then uses and whether
its stage is outage-free.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandapower.networks as pn
import pytest

from tests.conftest import CASES, DATA

INSPECT = DATA / "cases" / "inspect"
NO_POINTS = sorted(INSPECT.glob("*_no_points.toml"))


def _islands(cli, case: Path) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    result = cli("inspect", case, "--json")
    assert result.exit_code == 0, result.output
    return [i for stage in json.loads(result.stdout) for i in stage["islands"]]


@pytest.mark.parametrize("case", NO_POINTS, ids=lambda p: p.stem)
def test_a_case_written_from_inspect_plans_on_the_first_try(
    cli, tmp_path: Path, case: Path
) -> None:  # type: ignore[no-untyped-def]
    expected = json.loads(case.with_suffix(".expected.json").read_text())
    [island] = _islands(cli, case)
    assert island["connection_points"] == []
    assert {c["basis"] for c in island["candidates"]} == {expected["basis"]}
    assert len(island["candidates"]) == expected["candidates"]
    suggested = {c["bus"]: c["bays"] for c in island["candidates"] if c["use"]}
    assert suggested == expected["suggested"]
    # what a new user does: the suggested points into the case, then plan it
    points = "".join(
        f"\n[[connection_points]]\nbus = {json.dumps(bus)}\nbays = {bays}\n"
        for bus, bays in suggested.items()
    )
    written = tmp_path / case.name
    written.write_text(case.read_text() + points)
    result = cli("plan", written, "--out", tmp_path / "out", "--json")
    assert result.exit_code == 0, result.output
    planned = json.loads(result.stdout)
    assert planned["feasible"] is True
    assert planned["trucks_used"] == expected["trucks_used"]
    [stage] = planned["stages"]
    assert stage["passed"] is True
    # no breaker to synchronise at (case33bw has no switches, Oberrhein's are load-break
    # switches): the island forms break-before-make, as with the shipped cases' own points
    assert stage["outage_free"] is expected["outage_free"]
    assert [i["id"] for i in stage["islands"]] == [island["id"]]  # the same island id as inspect


def test_downstream_load_and_distance_to_the_load_centre_by_hand(cli) -> None:  # type: ignore[no-untyped-def]
    """IEEE 33-bus lateral 29-30-31-32, cut off at 29 (line 28 out): design kW is the load x 1.1
    (margin), the flat profile at 1; the distance is sum(kW_b x |Z(point, b)|) / sum(kW_b)."""
    [island] = _islands(cli, INSPECT / "case33bw_no_points.toml")
    net = pn.case33bw()
    kw = {int(b): 1100.0 * float(p) for b, p in zip(net.load.bus, net.load.p_mw, strict=True)}
    kw = {b: kw.get(b, 0.0) for b in (29, 30, 31, 32)}
    assert kw == pytest.approx({29: 220.0, 30: 165.0, 31: 231.0, 32: 66.0})
    line = net.line.set_index(["from_bus", "to_bus"])

    def ohm(a: int, b: int) -> float:  # along the chain a..b
        lo, hi = sorted((a, b))
        return sum(
            math.hypot(line.at[(k, k + 1), "r_ohm_per_km"], line.at[(k, k + 1), "x_ohm_per_km"])
            * line.at[(k, k + 1), "length_km"]
            for k in range(lo, hi)
        )

    total = sum(kw.values())
    by_bus = {c["bus"]: c for c in island["candidates"]}
    for bus in (29, 30, 31, 32):
        c = by_bus[f"bus:#{bus}"]
        assert c["downstream_kw"] == pytest.approx(sum(kw[b] for b in kw if b >= bus), abs=0.05)
        assert c["distance_ohm"] == pytest.approx(
            sum(kw[b] * ohm(bus, b) for b in kw) / total, abs=5e-5
        )
    # best first: the used points, then the nearest to the load centre
    assert [c["bus"] for c in island["candidates"]] == ["bus:#30", "bus:#31", "bus:#29", "bus:#32"]


def test_the_cases_own_points_are_the_candidates_where_it_gives_any(cli) -> None:  # type: ignore[no-untyped-def]
    [island] = _islands(cli, CASES / "case33bw_trucks.toml")
    assert [(c["bus"], c["basis"], c["bays"], c["use"]) for c in island["candidates"]] == [
        ("bus:#30", "case", 2, 1),
        ("bus:#32", "case", 1, 1),
    ]


def test_inspect_text_lists_candidates_and_the_case_lines_to_add(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("inspect", INSPECT / "oberrhein_no_points.toml")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert (
        "  candidate connection points of I1: buses with switchgear; no RMU marks, so 1 bay is "
        "assumed: check on site"
    ) in lines
    assert "    bus:Bus 124                 1          2,409       0.324 ohm  1 truck" in lines
    assert "    ... and 11 more (`--json` lists them all)" in lines
    start = lines.index("    to use the planner's choice, add to the case:")
    assert lines[start + 1 : start + 4] == [
        "      [[connection_points]]",
        '      bus = "bus:Bus 124"',
        "      bays = 1",
    ]


def test_dashiqiao_places_each_island_on_its_own_when_the_fleet_cannot_carry_all(cli) -> None:  # type: ignore[no-untyped-def]
    """Without transfer its works stage needs 3 + 5 trucks, more than the fleet of 6: each island
    still shows where the planner would put its own trucks."""
    islands = _islands(cli, CASES / "dashiqiao.toml")
    used = {i["id"]: sum(c["use"] for c in i["candidates"]) for i in islands}
    assert used == {"I1": 0, "I2": 3, "I3": 5}
    assert islands[0]["candidates"] == []  # the 66 kV bus: no protected load to carry
