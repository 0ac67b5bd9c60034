"""The library API (planner/api.py): cases built in memory are checked and planned exactly as
case files are; the planned net of a stage; the plan's tables; clear errors for wrong types;
the runnable example in docs/; what `planner windows` and `planner programme` call, from a
script."""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandapower as pp
import pandapower.networks as pn
import pytest
import tomli_w

import planner
from planner.core.errors import CaseError, InputError
from tests.conftest import CASES, DATA, ROOT

INVALID = DATA / "cases" / "invalid"
VALID = DATA / "cases" / "valid"
EXPECTED = json.loads((INVALID / "expected.json").read_text())

# the case of cases/case33bw_trucks.toml, as a dict
DATA_33 = {
    "case": {"name": "IEEE 33-bus: lateral 28-32 on trucks", "network": "case33bw.json"},
    "limits": {"vm_min_pu": 0.90},
    "fleet": {"trucks": 3, "rating_kw": 500.0},
    "connection_points": [{"bus": "bus:#30", "bays": 2}, {"bus": "bus:#32"}],
    "transfer": {"ties": "none"},
    "stages": [
        {
            "name": "Line 28 out",
            "start": datetime(2025, 7, 1, 8, tzinfo=UTC),
            "end": datetime(2025, 7, 1, 20, tzinfo=UTC),
            "out_of_service": ["line:#28"],
        }
    ],
}


def _network_of(path: Path, data: dict[str, Any]) -> pp.pandapowerNet | None:
    """The network a case file names, loaded here (None where the file's cannot be)."""
    source = data.get("case", {}).get("network", "")
    if source.startswith("pandapower:"):
        return _loaded(source, "")
    target = path.parent / source
    return _loaded(str(target), target.suffix) if target.is_file() else None


@functools.cache
def _loaded(source: str, suffix: str) -> pp.pandapowerNet | None:
    """Loaded once per test session: `case_from_net` copies what it is given."""
    if source.startswith("pandapower:"):
        function = getattr(pn, source.removeprefix("pandapower:"), None)
        return function() if callable(function) else None
    if suffix == ".json":
        return pp.from_json(source)
    if suffix == ".mat":
        from pandapower.converter.matpower import from_mpc

        return from_mpc(source)
    return None


def _parsed(path: Path) -> dict[str, Any] | None:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None


def _problems(error: InputError) -> list[tuple[str, str, str]]:
    return [(p.file, p.key, p.message) for p in error.problems]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_in_memory_input_gets_the_files_errors(name: str) -> None:
    """Every invalid case file, given in memory (its parsed TOML and the network it names),
    gets the same problems: file, key and message."""
    path = INVALID / f"{name}.toml"
    data = _parsed(path)
    net = _network_of(path, data) if data is not None else None
    if data is None or net is None:
        pytest.skip("not TOML, or names a network that does not load: nothing to give in memory")
    with pytest.raises(CaseError) as from_file:
        planner.load_case(path)
    with pytest.raises(CaseError) as in_memory:
        planner.case_from_net(net, data, file=str(path), base_dir=path.parent)
    assert _problems(in_memory.value) == _problems(from_file.value)


def test_the_in_memory_corpus_is_most_of_the_invalid_files() -> None:
    left_out = {
        name
        for name in EXPECTED
        if (d := _parsed(INVALID / f"{name}.toml")) is None
        or _network_of(INVALID / f"{name}.toml", d) is None
    }
    assert left_out == {"not_toml", "network_file_missing", "unknown_network_function"}


@pytest.mark.parametrize("path", sorted(VALID.glob("*.toml")), ids=lambda p: p.stem)
def test_valid_files_build_the_same_case_in_memory(path: Path) -> None:
    data = _parsed(path)
    assert data is not None
    net = _network_of(path, data)
    from_file = planner.load_case(path)
    in_memory = planner.case_from_net(net, data, base_dir=path.parent)
    assert in_memory.network.source == from_file.network.source
    assert in_memory.network.sha256 == from_file.network.sha256
    assert in_memory.network.path is None and in_memory.file == "<in-memory case>"
    different = {"network", "file", "sha256"}
    for field in dataclasses.fields(from_file):
        if field.name not in different:
            assert getattr(in_memory, field.name) == getattr(from_file, field.name), field.name


def case33bw() -> pp.pandapowerNet:
    """A fresh copy of pandapower's IEEE 33-bus network (built once: it takes seconds)."""
    return copy.deepcopy(_loaded("pandapower:case33bw", ""))


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory):
    """The same case planned from files (TOML and network JSON) and from memory."""
    folder = tmp_path_factory.mktemp("files")
    pp.to_json(case33bw(), str(folder / "case33bw.json"))
    (folder / "case.toml").write_text(tomli_w.dumps(DATA_33), encoding="utf-8")
    file_case = planner.load_case(folder / "case.toml")
    memory_case = planner.case_from_net(case33bw(), DATA_33)
    dispatch = planner.plan_dispatch(memory_case)
    return file_case, planner.plan_case(file_case), memory_case, dispatch


def test_a_case_in_memory_plans_as_the_same_case_from_files(both) -> None:  # type: ignore[no-untyped-def]
    file_case, file_plan, memory_case, dispatch = both
    from_files = json.loads(file_plan.to_json())
    in_memory = json.loads(dispatch.plan.to_json())
    # the only fields that differ: what names the case file and its bytes' digest
    assert from_files["case"].pop("file") == str(file_case.file)
    assert in_memory["case"].pop("file") == "<in-memory case>"
    assert from_files["case"].pop("sha256") == file_case.sha256
    assert in_memory["case"].pop("sha256") == memory_case.sha256 != file_case.sha256
    assert in_memory == from_files
    assert in_memory["case"]["network"] == "case33bw.json"
    assert in_memory["feasible"] is True and in_memory["fleet"]["trucks_used"] == 2


def test_a_plan_validates_against_its_own_case_only(both) -> None:  # type: ignore[no-untyped-def]
    file_case, file_plan, memory_case, dispatch = both
    assert planner.validate(memory_case, dispatch).passed
    assert planner.validate(memory_case, dispatch.plan).passed
    assert planner.validate(file_case, file_plan.as_json()).passed
    with pytest.raises(planner.PlanFileError) as refused:  # the case's digest differs
        planner.validate(file_case, dispatch.plan)
    assert [p.key for p in refused.value.problems] == ["case.sha256"]


def test_the_in_memory_digest_is_of_the_data() -> None:
    net = case33bw()
    first = planner.case_from_net(net, DATA_33)
    as_text = json.loads(json.dumps(DATA_33, default=datetime.isoformat))
    again = planner.case_from_net(net, as_text)
    assert first.sha256 == again.sha256  # a datetime and its ISO text are the same data
    other = planner.case_from_net(net, {**DATA_33, "limits": {"vm_min_pu": 0.91}})
    assert other.sha256 != first.sha256
    assert len(first.sha256) == 64


def test_the_case_holds_a_copy_of_the_net() -> None:
    net = case33bw()
    case = planner.case_from_net(net, DATA_33)
    digest = case.network.sha256
    net.line.loc[28, "length_km"] = 99.0
    assert case.network.net is not net
    assert case.network.net.line.length_km.at[28] != 99.0
    assert case.network.sha256 == digest


def test_without_a_network_name_the_net_is_named_in_memory() -> None:
    data = {**DATA_33, "case": {"name": "x"}}
    case = planner.case_from_net(case33bw(), data)
    assert case.network.source == "<in-memory network>"


def test_a_network_problem_names_the_network() -> None:
    net = case33bw()
    net.line.loc[3, "r_ohm_per_km"] = -1.0
    with pytest.raises(CaseError) as refused:
        planner.case_from_net(net, DATA_33)
    assert _problems(refused.value) == [
        ("case33bw.json", "line:#3.r_ohm_per_km", "must be a number of 0 or more, got -1.0")
    ]


def test_a_network_name_that_is_not_text_is_refused() -> None:
    data = {**DATA_33, "case": {"name": "x", "network": 3}}
    with pytest.raises(CaseError) as refused:
        planner.case_from_net(case33bw(), data)
    assert _problems(refused.value) == [
        ("<in-memory case>", "case.network", "expected a string, got int 3")
    ]


def test_keys_that_are_not_strings_are_refused() -> None:
    data = {**DATA_33, "fleet": {"trucks": 3, 7: 1.0}}
    with pytest.raises(CaseError) as refused:
        planner.case_from_net(case33bw(), data)
    assert _problems(refused.value) == [
        ("<in-memory case>", "fleet", "keys must be strings, got 7")
    ]


def test_an_empty_net_is_refused() -> None:
    with pytest.raises(CaseError) as refused:
        planner.case_from_net(pp.create_empty_network(), DATA_33)
    assert _problems(refused.value)[0] == (
        "<in-memory case>",
        "case.network",
        "'case33bw.json': the network has no buses",
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: planner.plan_case(case33bw()),
            "plan_case expects a Case, got pandapower.auxiliary.pandapowerNet; for a pandapower "
            "network, build one with planner.case_from_net(net, {...})",
        ),
        (
            lambda: planner.plan_case("cases/dashiqiao.toml"),
            "plan_case expects a Case, got str 'cases/dashiqiao.toml'; for a case file, read it "
            "with planner.load_case(path)",
        ),
        (
            lambda: planner.plan_dispatch(None),
            "plan_dispatch expects a Case, got NoneType",
        ),
        (
            lambda: planner.load_case(3),
            "load_case expects the path of a case file, got int 3",
        ),
        (
            lambda: planner.case_from_net({"bus": []}, DATA_33),
            "case_from_net expects a pandapower network, got dict {'bus': []}",
        ),
        (
            lambda: planner.case_from_net(case33bw(), "[case]"),
            "case_from_net expects the case as a dict shaped like the case TOML, got str '[case]'",
        ),
        (
            lambda: planner.schedule([]),
            "schedule expects a Plan or a Dispatch, got list []",
        ),
        (
            lambda: planner.load_programme(None),
            "load_programme expects the path of a programme file, got NoneType",
        ),
    ],
    ids=["net", "path", "none", "load_case", "not_a_net", "not_a_dict", "schedule", "programme"],
)
def test_wrong_types_are_named(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError) as refused:
        call()
    assert str(refused.value) == message


def test_validate_refuses_what_is_not_a_plan(both) -> None:  # type: ignore[no-untyped-def]
    _, _, memory_case, _ = both
    with pytest.raises(TypeError) as refused:
        planner.validate(memory_case, 3)
    assert str(refused.value) == (
        "validate expects a Plan, a Dispatch, a parsed plan.json or the path of a plan file, "
        "got int 3"
    )


def test_the_planned_net_is_the_stage_as_planned(both) -> None:  # type: ignore[no-untyped-def]
    _, _, case, dispatch = both
    net = planner.planned_net(case, dispatch, "Line 28 out")
    assert not net.line.in_service.at[28]  # the works
    assert list(net.gen.name[net.gen.type == "truck"]) == ["T1"]  # the island's slack truck
    assert bool(net.gen.slack[net.gen.type == "truck"].iloc[0])
    assert list(net.sgen.name[net.sgen.type == "truck"]) == ["T2"]
    assert list(net.gen.bus[net.gen.type == "truck"]) + list(net.sgen.bus) == [30, 32]
    pp.runpp(net, numba=False)
    row = dispatch.plan.stages[0].schedule[0]  # the flat profile: every hour is the peak
    assert round(float(net.res_gen.p_mw.iloc[0]) * 1000, 1) == row["truck_kw"]["T1"] == 342.8
    assert round(float(net.res_sgen.p_mw.iloc[0]) * 1000, 1) == row["truck_kw"]["T2"] == 342.8
    assert round(float(net.res_bus.vm_pu.min()), 5) == row["min_vm_pu"] == 0.92374
    assert round(float(net.res_bus.vm_pu.at[30]), 6) == case.fleet.vm_setpoint_pu


def test_the_planned_net_from_a_plan_alone(both) -> None:  # type: ignore[no-untyped-def]
    _, _, case, dispatch = both
    net = planner.planned_net(case, dispatch.plan, 0, "2025-07-01T13:30:00+00:00")
    pp.runpp(net, numba=False)
    assert round(float(net.res_sgen.p_mw.iloc[0]) * 1000, 1) == 342.8  # the plan's 0.1 kW
    # the slack truck takes what the other's rounding left: 0.05 kW more than the plan says
    assert round(float(net.res_gen.p_mw.iloc[0]) * 1000, 2) == 342.85


OUTSIDE = (
    "2025-07-01T20:00:00+00:00 is not within stage 'Line 28 out' "
    "(2025-07-01T08:00:00+00:00 to 2025-07-01T20:00:00+00:00)"
)


@pytest.mark.parametrize(
    ("stage", "time", "error", "message"),
    [
        ("Line 29", None, ValueError, "the case has no stage 'Line 29' (stages: 'Line 28 out')"),
        (1, None, ValueError, "the case has 1 stage(s), no stage 1"),
        (0, "2025-07-01T20:00+00:00", ValueError, OUTSIDE),
        (0, "2025-07-01T10:00", ValueError, "time must have a UTC offset, got 2025-07-01T10:00:00"),
        (0, "noon", ValueError, "time must be an ISO 8601 time with offset, got 'noon'"),
        (0, 12, TypeError, "time must be a datetime or an ISO string, got int 12"),
        (None, None, TypeError, "stage must be a stage's name or index, got NoneType"),
    ],
)  # fmt: skip
def test_planned_net_refuses_what_is_not_in_the_plan(both, stage, time, error, message) -> None:  # type: ignore[no-untyped-def]
    _, _, case, dispatch = both
    with pytest.raises(error) as refused:
        planner.planned_net(case, dispatch, stage, time)
    assert str(refused.value) == message


def test_the_plans_tables(both) -> None:  # type: ignore[no-untyped-def]
    _, _, _, dispatch = both
    plan = dispatch.plan
    schedule = planner.schedule(dispatch)
    assert list(schedule.columns) == [
        "stage", "time", "truck", "bus", "island", "online", "p_kw", "q_kvar", "fuel_l",
    ]  # fmt: skip
    assert len(schedule) == 12 * 2  # twelve hours, two trucks
    assert schedule.p_kw.sum() == pytest.approx(12 * 2 * 342.8)
    assert str(schedule.time.iloc[0]) == "2025-07-01 08:00:00+00:00"
    sequence = planner.sequence(plan)
    assert len(sequence) == len(plan.stages[0].sequence) == 7
    assert list(sequence.action[:3]) == ["connect_truck", "connect_truck", "take_out"]
    assert {"stage", "step", "time", "solved_min_vm_pu", "sync_dv_percent"} <= set(sequence)
    islands = planner.islands(plan)
    assert islands[["stage", "island", "supply"]].values.tolist() == [
        ["Line 28 out", "I1", "trucks"]
    ]
    assert islands.buses.iloc[0] == [29, 30, 31, 32] and islands.trucks.iloc[0] == ["T1", "T2"]
    fleet = planner.fleet_schedule(dispatch)
    assert list(fleet.columns[:4]) == ["time", "truck", "status", "stage"]
    assert set(fleet.status) == {"setup", "online"}
    with pytest.raises(TypeError):
        planner.fleet_schedule(plan)


def test_the_facade_exports_the_library() -> None:
    assert planner.Dispatch.__name__ == "Dispatch"
    for name in (
        "case_from_net",
        "plan_dispatch",
        "planned_net",
        "schedule",
        "sequence",
        "islands",
    ):
        assert name in planner.__all__
        assert getattr(planner, name).__module__ == "planner.api"


def test_the_docs_example_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "example.py")],
        cwd=CASES,  # it reads no files: any working directory
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == EXAMPLE_OUTPUT


EXAMPLE_OUTPUT = [
    "refused: fleet.trucks: must be 0 or more, got -1",
    "feasible: True, trucks used: 2 of 3",
    "validated: holds",
    "island I1: buses [29, 30, 31, 32], supply trucks, trucks ['T1', 'T2']",
    "truck peak kW: T1 342.8, T2 342.8",
    "switching steps: 7, first: connect_truck T1",
    "line 28 in service: False",
    "T1 (slack) at bus 30: 342.8 kW",
    "T2 at bus 32: 342.8 kW",
    "lowest voltage: 0.9237 pu",
]


def test_the_planned_net_of_a_daily_stage_is_inside_its_windows() -> None:
    case = planner.load_case(DATA / "cases" / "daily" / "case33bw_daily.toml")
    plan = planner.plan_case(case)
    net = planner.planned_net(case, plan, 0, "2025-07-02T12:30:00+02:00")
    assert not net.line.in_service.at[28]
    with pytest.raises(ValueError) as refused:
        planner.planned_net(case, plan, 0, "2025-07-02T06:00:00+02:00")
    assert str(refused.value) == (
        "2025-07-02T06:00:00+02:00 is outside the daily works window 08:00-18:00 of stage "
        "'Line 28 out by day': the network is then in its normal state"
    )


# --- what `planner windows` and `planner programme` call, from a script ----------------------


def test_the_facade_exports_what_windows_and_programme_call() -> None:
    from planner.dispatch import programme_run, variants
    from planner.inputs import case_variant
    from planner.outputs import plan_set, programme

    assert planner.plan_variants is variants.plan_variants
    assert planner.VariantJob is variants.VariantJob
    assert planner.window_variants is case_variant.window_variants
    assert planner.run_programme is programme_run.run_programme
    assert planner.dask_client is programme_run.dask_client
    assert planner.programme_data is programme.programme_data
    assert planner.plan_files is plan_set.plan_files
    assert planner.load_programme.__module__ == "planner.api"
    for name in (
        "plan_variants",
        "VariantJob",
        "window_variants",
        "load_programme",
        "run_programme",
        "dask_client",
        "programme_data",
        "plan_files",
        "ProgrammeError",
    ):
        assert name in planner.__all__ and name in planner.api.__all__


def test_a_script_plans_variants_as_windows_does(planned, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = CASES / "case33bw_trucks.toml"
    _, plan = planned("case33bw_trucks")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    variants = planner.window_variants("Line 28 out", [], 1)  # as given, and a day later
    jobs = [planner.VariantJob(v, f"{path} [{v.name}]", path.parent) for v in variants]
    results = planner.plan_variants(data, str(path), path.parent, jobs, render=planner.plan_files)
    assert [r.name for r in results] == ["as-given", "shift-1d"]
    for result in results:  # a flat profile: a day later plans as the works as given
        assert result.feasible and result.problems == ()
        assert result.figures is not None
        assert result.figures["trucks"] == plan.trucks_used == 2
        assert result.figures["fuel_l"] == plan.summary["fuel_l"]
        assert result.figures["customer_hours_avoided"] == plan.summary["customer_hours_avoided"]
    later = results[1]
    (tmp_path / "case.toml").write_text(later.case_text, encoding="utf-8")
    case = planner.load_case(tmp_path / "case.toml")
    assert case.stages[0].start == datetime(2025, 7, 2, 8, tzinfo=UTC)
    assert planner.validate(case, json.loads(later.files["plan.json"])).passed


SHORT_FLEET = """
[programme]
name = "two jobs, one window, two trucks"
trucks = 2

[[jobs]]
case = {case}
earliest = 2025-07-01T08:00:00+00:00
latest_end = 2025-07-01T20:00:00+00:00

[[jobs]]
case = {case}
earliest = 2025-07-01T08:00:00+00:00
latest_end = 2025-07-01T20:00:00+00:00
priority = 2
"""


def test_a_script_runs_a_programme_as_the_command_does(tmp_path: Path) -> None:
    from tests.test_schemas import errors

    case_file = CASES / "case33bw_trucks.toml"
    path = tmp_path / "short.toml"
    path.write_text(SHORT_FLEET.format(case=json.dumps(str(case_file))), encoding="utf-8")
    programme = planner.load_programme(path)
    out = tmp_path / "out"
    with planner.dask_client(None, 1) as (client, _):  # a LocalCluster of one worker
        result = planner.run_programme(programme, out, client, planner.plan_files)
    data = planner.programme_data(result)
    assert errors("programme-result", data) == []
    placed, waits = data["jobs"]
    assert (placed["placed"], placed["offset_hours"], placed["truck_ids"]) == (
        True,
        0.0,
        ["R1", "R2"],
    )
    assert (placed["start"], placed["end"]) == (
        "2025-07-01T08:00:00+00:00",
        "2025-07-01T20:00:00+00:00",
    )
    assert waits["placed"] is False  # priority 2 waits: the fleet holds one job at a time
    assert data["unplaced"] == [
        {
            "key": "jobs[1]",
            "case": str(case_file),
            "why": "the fleet is short: in each of its 1 window(s) the region's 2 trucks are "
            "needed by the jobs placed; placing it would leave more jobs out, or jobs of lower "
            "priority numbers",
        }
    ]
    assert data["fleet_use"]["peak"] == 2 and data["objectives"]["unplaced"] == 1
    engine_seen = {k: data["engine"][k] for k in ("executor", "workers", "candidates", "plans")}
    assert engine_seen == {
        "executor": "dask.distributed",  # run_programme's own (the command names the cluster)
        "workers": 1,
        "candidates": 2,
        "plans": 1,  # one case text: the other job's window reuses its plan
    }
    # the placed job's folder, as the command writes it: its plan validates against its case
    job = result.jobs[0]
    assert job.window is not None and job.window.files is not None
    folder = out / placed["folder"]
    folder.mkdir(parents=True)
    (folder / "case.toml").write_text(job.case_text, encoding="utf-8")
    (folder / "plan.json").write_text(str(job.window.files["plan.json"]), encoding="utf-8")
    report = planner.validate(planner.load_case(folder / "case.toml"), folder / "plan.json")
    assert report.passed
