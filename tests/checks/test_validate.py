"""`planner validate` re-verifies plans, and catches hand-broken ones with the right violation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import planner
from tests.conftest import CASES


@pytest.fixture(scope="module")
def plans(tmp_path_factory):  # type: ignore[no-untyped-def]
    """plan.json of two small cases, written by the CLI once."""
    from click.testing import CliRunner

    from planner.cli import main

    out = {}
    for name in ("case33bw_trucks", "oberrhein_transfer"):
        folder = tmp_path_factory.mktemp(name)
        result = CliRunner().invoke(
            main, ["plan", str(CASES / f"{name}.toml"), "--out", str(folder)]
        )
        assert result.exit_code == 0, result.output
        out[name] = json.loads((folder / "plan.json").read_text())
    return out


def _write(tmp_path: Path, data: dict) -> Path:  # type: ignore[type-arg]
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data))
    return path


def test_unedited_plans_hold(cli, plans, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name, data in plans.items():
        result = cli("validate", CASES / f"{name}.toml", _write(tmp_path, data))
        assert result.exit_code == 0, result.output
        assert "holds" in result.output


def test_truck_moved_to_a_bus_without_bay(cli, plans, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(json.dumps(plans["case33bw_trucks"]))
    data["stages"][0]["trucks"][0]["bus"] = 31
    result = cli("validate", CASES / "case33bw_trucks.toml", _write(tmp_path, data))
    assert result.exit_code == 1
    assert "bus:#31 is not a connection point: no bay for 1 truck(s)" in result.output


def test_too_many_trucks_at_one_bay(cli, plans, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(json.dumps(plans["case33bw_trucks"]))
    for truck in data["stages"][0]["trucks"]:
        truck["bus"] = 32
    result = cli("validate", CASES / "case33bw_trucks.toml", _write(tmp_path, data))
    assert result.exit_code == 1
    assert "bus:#32 has 1 bay(s), 2 trucks placed" in result.output


def test_truck_removed(cli, plans, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(json.dumps(plans["case33bw_trucks"]))
    removed = data["stages"][0]["trucks"].pop()
    result = cli("validate", CASES / "case33bw_trucks.toml", _write(tmp_path, data))
    assert result.exit_code == 1
    kept = data["stages"][0]["trucks"][0]["id"]
    assert f"island I1: truck {kept} at " in result.output
    assert "% of its 625 kVA rating" in result.output
    # the plan's claims about the removed truck are findings too
    assert f"the schedule says trucks ['{kept}', '{removed['id']}'] are online" in result.output


def test_tie_left_open(cli, plans, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(json.dumps(plans["oberrhein_transfer"]))
    data["stages"][0]["switching"]["close"] = []
    result = cli("validate", CASES / "oberrhein_transfer.toml", _write(tmp_path, data))
    assert result.exit_code == 1
    assert "island I1 (10 buses): 2,732 kW of protected load has no supply" in result.output


def test_plan_of_another_case_is_refused(cli, plans, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "validate", CASES / "oberrhein_trucks.toml", _write(tmp_path, plans["oberrhein_transfer"])
    )
    assert result.exit_code == 2
    assert "the plan was made for a different case file" in result.output


def test_stale_network_is_refused(plans, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(json.dumps(plans["case33bw_trucks"]))
    data["case"]["network_sha256"] = "0" * 64
    case = planner.load_case(CASES / "case33bw_trucks.toml")
    with pytest.raises(planner.PlanFileError) as info:
        planner.validate(case, data)
    assert "has changed since the plan was made" in str(info.value)


def test_plan_that_does_not_match_the_network(cli, plans, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(json.dumps(plans["case33bw_trucks"]))
    data["stages"][0]["trucks"][0]["bus"] = 999
    data["stages"][0]["switching"]["close"] = [{"ref": "switch:#5", "table": "switch", "index": 5}]
    result = cli("validate", CASES / "case33bw_trucks.toml", _write(tmp_path, data))
    assert result.exit_code == 2
    assert "stages[0].trucks[0].bus: the case's network has no bus 999" in result.output
    assert "stages[0].switching.close[0].index: the case's network has no switch with index 5" in (
        result.output
    )


def test_not_json(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "plan.json"
    path.write_text("{not json")
    result = cli("validate", CASES / "case33bw_trucks.toml", path)
    assert result.exit_code == 2
    assert "not valid JSON" in result.output


def test_existing_plan_is_not_overwritten_without_force(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    assert cli("plan", CASES / "case33bw_trucks.toml", "--out", out).exit_code == 0
    first = (out / "plan.json").read_bytes()
    result = cli("plan", CASES / "case33bw_trucks.toml", "--out", out)
    assert result.exit_code == 2
    assert (
        "holds a plan already (plan.json, schedule.csv, plan.md, report.html, switching.csv, "
        "plan.xlsx, map.geojson); "
        "use --force" in result.output
    )
    assert (out / "plan.json").read_bytes() == first
    assert cli("plan", CASES / "case33bw_trucks.toml", "--out", out, "--force").exit_code == 0
    assert json.loads((out / "plan.json").read_text())["format"] == "planner.plan/1"


def test_a_plan_the_planner_did_not_write_is_never_replaced(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "plan.json").write_text("earlier")
    result = cli("plan", CASES / "case33bw_trucks.toml", "--out", tmp_path, "--force")
    assert result.exit_code == 2
    assert "plan.json was not written by planner or was changed since" in result.output
    assert (tmp_path / "plan.json").read_text() == "earlier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]


# tampered plans: each must be refused with a finding (exit 1) or as not a valid plan (exit 2)
def _tampered(plans, edit):  # type: ignore[no-untyped-def]
    data = json.loads(json.dumps(plans["case33bw_trucks"]))
    edit(data)
    return data


def _hide_behind_load_disconnects(d: dict) -> None:  # type: ignore[type-arg]
    """Disconnect the island's protected loads before shutting it down, reconnect them 25
    minutes later, and claim no interruption."""
    stage = d["stages"][0]
    start = [x for x in stage["sequence"] if x["time"] < "2025-07-01T19"]
    end = {x["action"]: x for x in stage["sequence"] if x["time"] > "2025-07-01T19"}
    loads = ["load:#28", "load:#29", "load:#30", "load:#31"]

    def step(time: str, action: str, element: str) -> dict:  # type: ignore[type-arg]
        return {"time": f"2025-07-01T{time}:00+00:00", "action": action, "element": element}

    steps = [*start, *(step("20:00", "disconnect_load", x) for x in loads)]
    steps += [step("20:01", "shut_down_island", "I1"), step("20:02", "put_back", "line:#28")]
    steps += [step("20:25", "reconnect_load", x) for x in loads]
    steps += [step("20:30", "disconnect_truck", t) for t in ("T1", "T2")]
    assert end["put_back"]["element"] == "line:#28"
    stage.update(sequence=steps, interruptions=[], outage_free=True)


def _works_back_and_out_again(d: dict) -> None:  # type: ignore[type-arg]
    """Take the works out, put them back in and out again, all before the stage starts."""
    sequence = d["stages"][0]["sequence"]
    assert sequence[2]["action"] == "take_out"
    sequence[2]["time"] = "2025-07-01T07:51:00+00:00"
    for number, time, action in ((6, "07:52", "put_back"), (7, "07:53", "take_out")):
        sequence.append(
            {"step": number, "time": f"2025-07-01T{time}:00+00:00", "action": action,
             "element": "line:#28"}
        )  # fmt: skip


TAMPERED = {
    "interruption hidden behind load disconnects": (
        _hide_behind_load_disconnects,
        1,
        "the switching sequence interrupts 682 kW of protected load (step 4: 220 kW for 25 min;",
    ),
    "outage-free claimed with an interruption": (
        lambda d: d["stages"][0].update(outage_free=True),
        1,
        "the plan calls it outage-free, but 1 switching step(s) interrupt protected load",
    ),
    "standby truck left at its bay": (
        lambda d: d["stages"][0]["sequence"].pop(),
        1,
        "the end steps do not reach the network's normal state: truck T2 (on standby) is never "
        "disconnected",
    ),
    "works line back in service": (
        lambda d: d["stages"][0]["switching"]["in_service"].append(
            {"ref": "line:#28", "table": "line", "index": 28}
        ),
        1,
        "- the switching re-energises line:#28, which the works take out",
    ),
    "case digest stripped": (
        lambda d: d["case"].pop("sha256"),
        2,
        "case.sha256: missing: without the case file's SHA-256 the plan cannot be shown",
    ),
    "network digest emptied": (
        lambda d: d["case"].update(network_sha256=""),
        2,
        "case.network_sha256: missing: without the network's SHA-256",
    ),
    "trucks_used false": (
        lambda d: d["fleet"].update(trucks_used=1),
        1,
        "trucks_used: fleet.trucks_used says 1, the stages use 2 distinct truck(s)",
    ),
    "stage listed twice": (
        lambda d: d["stages"].append(json.loads(json.dumps(d["stages"][0]))),
        2,
        "stages[1].name: stage 'Line 28 out' appears twice in the plan",
    ),
    "stage times moved": (
        lambda d: d["stages"][0].update(start="2025-07-01T10:00:00+00:00"),
        2,
        "the case's stage 'Line 28 out' has start 2025-07-01T08:00:00+00:00, the plan says "
        "2025-07-01T10:00:00+00:00",
    ),
    "connect step dropped": (
        lambda d: d["stages"][0]["sequence"].pop(0),
        1,
        "the start steps do not reach the stage's state: truck T1 is not connected",
    ),
    "a truck left alone to pick up the island": (
        lambda d: d["stages"][0]["sequence"].pop(0),
        1,
        "switching step 3 (take_out line:#28) at 2025-07-01T07:55:00+00:00: truck T2 at 1,133 "
        "kVA, 181.2 % of its 625 kVA rating",
    ),
    "every step dropped": (
        lambda d: d["stages"][0].update(sequence=[]),
        1,
        "stage 'Line 28 out': the plan gives no switching sequence, so nothing shows how crews "
        "reach the stage's state and back (the works out, 2 truck(s) connected)",
    ),
    "interruption hidden": (
        lambda d: d["stages"][0].update(interruptions=[]),
        1,
        "the switching sequence interrupts 682 kW of protected load (step 4: 682 kW for 5 min); "
        "the plan's interruptions claim 0 kW",
    ),
    "schedule claims less than the load flow": (
        lambda d: d["stages"][0]["schedule"][0]["truck_kw"].update(T1=100.0),
        1,
        "at 2025-07-01T08:00:00+00:00: the schedule says truck T1 runs 100.0 kW, the load flow "
        "gives 342.8 kW",
    ),
    "schedule claims kW over the rating": (
        lambda d: d["stages"][0]["schedule"][3]["truck_kw"].update(T2=2500.0),
        1,
        "at 2025-07-01T11:00:00+00:00: the schedule says truck T2 runs 2500.0 kW",
    ),
    "schedule claims a truck online that is not": (
        lambda d: d["stages"][0]["schedule"][0].update(online=["T1"]),
        1,
        "the schedule says trucks ['T1'] are online, the solve runs ['T1', 'T2']",
    ),
    "schedule row dropped": (
        lambda d: d["stages"][0]["schedule"].pop(0),
        1,
        "the schedule has no row for 1 of its 12 check times (first 2025-07-01T08:00:00+00:00)",
    ),
    "works put back between start steps": (
        _works_back_and_out_again,
        1,
        "switching step 6 (put_back line:#28) at 2025-07-01T07:52:00+00:00: re-energises "
        "line:#28, which the works have taken out",
    ),
    "step moved into the stage": (
        lambda d: d["stages"][0]["sequence"][4].update(time="2025-07-01T12:00:00+00:00"),
        1,
        "switching step 5 (put_back line:#28) at 2025-07-01T12:00:00+00:00: happens inside the "
        "stage",
    ),
    "step with an unreadable time": (
        lambda d: d["stages"][0]["sequence"][0].update(time="noon"),
        2,
        "stages[0].sequence[0].time: expected an ISO 8601 time with offset",
    ),
    "zero kW truck": (
        lambda d: d["stages"][0]["trucks"][0].update(rating_kw=0),
        2,
        "stages[0].trucks[0].rating_kw: must be greater than 0, got 0",
    ),
}


@pytest.mark.parametrize("name", sorted(TAMPERED))
def test_tampered_plan_is_refused(name: str, cli, plans, tmp_path) -> None:  # type: ignore[no-untyped-def]
    edit, code, message = TAMPERED[name]
    data = _tampered(plans, edit)
    result = cli("validate", CASES / "case33bw_trucks.toml", _write(tmp_path, data))
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_plan_validated_against_another_case_says_so(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    assert cli("plan", CASES / "case33bw_trucks.toml", "--out", out).exit_code == 0
    other = CASES / "cigre_transfer_and_trucks.toml"
    result = cli("validate", other, out / "plan.json")
    assert result.exit_code == 2
    assert (
        "case.network_sha256: the plan was made for the network 'pandapower:case33bw', "
        f"{other} uses 'pandapower:create_cigre_network_mv'; validate against the case it was "
        "made for"
    ) in result.output
    assert "has changed since the plan was made" not in result.output
