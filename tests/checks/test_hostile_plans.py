"""Plan files as untrusted input: hostile JSON, wrong kinds and ranges, missing or stale digests.

Each hostile plan is the real plan of `case33bw_trucks` with one edit; `planner validate` must
refuse it (exit 2) naming the key, or find it wrong (exit 1), never crash (exit 3), never echo
more than a short, escaped piece of the file.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pytest

import planner
from planner.checks.plan_file import plan_size_limit, read_plan
from planner.core.errors import PlanFileError
from planner.grid import powerflow
from planner.grid.engine import solver_failure
from planner.inputs.network import network_sha256
from tests.conftest import CASES

CASE = CASES / "case33bw_trucks.toml"
RAW = "@@raw@@"  # a string value replaced by raw JSON text (NaN, 1e400, ...) when written


class Text:
    """An edit of the plan's text rather than of its parsed data."""

    def __init__(self, edit: Callable[[str], str]) -> None:
        self.edit = edit


def raw(text: str) -> str:
    return f"{RAW}{text}{RAW}"


def put(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """An edit setting the value at a dotted key path (`stages.0.trucks.0.bus`)."""

    def edit(data: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        target: Any = data
        for part in parents:
            target = target[part]
        target[last] = value

    return edit


def drop(path: str) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        target: Any = data
        for part in parents:
            target = target[part]
        del target[last]

    return edit


def text_of(data: dict[str, Any]) -> str:
    text = json.dumps(data, indent=1)
    return text.replace(f'"{RAW}', "").replace(f'{RAW}"', "")


# name: (edit of the parsed plan, or of its text; exit code; the line expected in the output)
HOSTILE: dict[str, tuple[Callable[[dict[str, Any]], None] | Text, int, str]] = {
    "NaN rating": (
        put("stages.0.trucks.0.rating_kw", raw("NaN")),
        2,
        "plan.json: stages[0].trucks[0].rating_kw: NaN is not a number: a plan holds finite "
        "numbers only",
    ),
    "Infinity kW claimed": (
        put("stages.0.schedule.0.truck_kw.T1", raw("Infinity")),
        2,
        "plan.json: stages[0].schedule[0].truck_kw.T1: Infinity is not a number",
    ),
    "-Infinity kvar claimed": (
        put("stages.0.schedule.3.truck_kvar.T2", raw("-Infinity")),
        2,
        "plan.json: stages[0].schedule[3].truck_kvar.T2: -Infinity is not a number",
    ),
    "1e400 bus": (
        put("stages.0.trucks.1.bus", raw("1e400")),
        2,
        "plan.json: stages[0].trucks[1].bus: 1e400 is out of range: not a finite number",
    ),
    "300-digit whole number": (
        put("fleet.trucks_used", raw("9" * 300)),
        2,
        f"plan.json: fleet.trucks_used: {'9' * 57}... has 300 digits: too large",
    ),
    "300-digit percentage": (
        put("stages.0.interruptions.0.kw", raw("0." + "1" * 300)),
        2,
        f"plan.json: stages[0].interruptions[0].kw: 0.{'1' * 55}... has 302 characters: too "
        "long for a number",
    ),
    "key twice in the plan": (
        Text(lambda t: t.replace('"format": ', '"format": "planner.plan/1", "format": ', 1)),
        2,
        "plan.json: the key 'format' appears twice",
    ),
    "key twice in a truck": (
        Text(lambda t: t.replace('"bus": ', '"bus": 999, "bus": ', 1)),
        2,
        "plan.json: stages[0].trucks[0]: the key 'bus' appears twice",
    ),
    "nested 100,000 deep": (
        Text(lambda t: "[" * 100_000 + "]" * 100_000),
        2,
        "plan.json: the JSON is nested too deeply (a plan is at most 32 deep)",
    ),
    "nested 40 deep in a note": (
        put("stages.0.notes", json.loads("[" * 40 + "]" * 40)),
        2,
        "plan.json: nested more than 32 deep; a plan is 8 deep",
    ),
    "megabyte truck id": (
        put("stages.0.trucks.0.id", "T" * 1_000_000),
        2,
        "plan.json: stages[0].trucks[0].id: a string of 1,000,000 characters (at most 1,000): "
        f"'{'T' * 27}...{'T' * 28}'",
    ),
    "0 kW truck": (
        put("stages.0.trucks.0.rating_kw", 0),
        2,
        "plan.json: stages[0].trucks[0].rating_kw: must be greater than 0, got 0",
    ),
    "negative kW truck": (
        put("stages.0.trucks.0.rating_kw", -500.0),
        2,
        "plan.json: stages[0].trucks[0].rating_kw: must be greater than 0, got -500.0",
    ),
    "truck larger than the fleet's": (
        put("stages.0.trucks.1.rating_kw", 5000.0),
        2,
        "plan.json: stages[0].trucks[1].rating_kw: the case's fleet has trucks of 500 kW, the "
        "plan says 5000.0",
    ),
    "truck rating as text": (
        put("stages.0.trucks.0.rating_kw", "500"),
        2,
        "plan.json: stages[0].trucks[0].rating_kw: expected a number, got str '500'",
    ),
    "trucks_used true": (
        put("fleet.trucks_used", True),
        2,
        "plan.json: fleet.trucks_used: expected a whole number of trucks, got True",
    ),
    "fleet left out": (
        drop("fleet"),
        2,
        "plan.json: fleet: expected an object with trucks_used, got None",
    ),
    "online trucks as text": (
        put("stages.0.schedule.0.online", "T1"),
        2,
        "plan.json: stages[0].schedule[0].online: expected a list of truck ids, got 'T1'",
    ),
    "kW claimed as true": (
        put("stages.0.schedule.0.truck_kw.T1", True),
        2,
        "plan.json: stages[0].schedule[0].truck_kw.T1: expected a number, got True",
    ),
    "a terawatt claimed": (
        put("stages.0.schedule.0.truck_kw.T1", 1e9),
        2,
        "plan.json: stages[0].schedule[0].truck_kw.T1: must be in [-1e+07, 1e+07], got "
        "1000000000.0",
    ),
    "schedule time not a time": (
        put("stages.0.schedule.2.time", "noon"),
        2,
        "plan.json: stages[0].schedule[2].time: expected an ISO 8601 time with offset, got 'noon'",
    ),
    "negative interruption": (
        put("stages.0.interruptions.0.minutes", -5),
        2,
        "plan.json: stages[0].interruptions[0].minutes: must be in [0, 525600], got -5",
    ),
    "outage_free as text": (
        put("stages.0.outage_free", "yes"),
        2,
        "plan.json: stages[0].outage_free: expected true or false, got 'yes'",
    ),
    "switching step in year 9999": (
        put("stages.0.sequence.0.time", "9999-12-31T23:59:00+00:00"),
        2,
        "plan.json: stages[0].sequence[0].time: 9999-12-31T23:59:00+00:00 is more than 30 days "
        "from its stage (2025-07-01T08:00:00+00:00 to 2025-07-01T20:00:00+00:00)",
    ),
    "switching step in year 1": (
        put("stages.0.sequence.1.time", "0001-01-01T00:00:00+00:00"),
        2,
        "plan.json: stages[0].sequence[1].time: 0001-01-01T00:00:00+00:00 is more than 30 days",
    ),
    "step number as text": (
        put("stages.0.sequence.0.step", "1"),
        2,
        "plan.json: stages[0].sequence[0].step: expected a whole number, got '1'",
    ),
    "escape sequence as a stage name": (
        put("stages.0.name", "\x1b[2J\x1b[31mLine 28 out"),
        2,
        "plan.json: stages[0].name: the case has no stage '\\x1b[2J\\x1b[31mLine 28 out' "
        "(stages: 'Line 28 out')",
    ),
    # digests: a plan that cannot be tied to this case is unprovable
    "case block left out": (
        drop("case"),
        2,
        "plan.json: case: missing: without its digests (sha256, network_sha256) the plan cannot "
        "be checked against",
    ),
    "case block as text": (
        put("case", "cases/case33bw_trucks.toml"),
        2,
        "plan.json: case: expected an object, got 'cases/case33bw_trucks.toml': without its "
        "digests",
    ),
    "case digest null": (
        put("case.sha256", None),
        2,
        "plan.json: case.sha256: missing: without the case file's SHA-256 the plan cannot be "
        "shown to belong to",
    ),
    "case digest not hex": (
        put("case.sha256", "abc"),
        2,
        "plan.json: case.sha256: expected the case file's SHA-256 (64 hex digits), got 'abc': "
        "the plan cannot be checked against",
    ),
    "network digest a number": (
        put("case.network_sha256", 42),
        2,
        "plan.json: case.network_sha256: expected the network's SHA-256 (64 hex digits), got 42",
    ),
    "network digest left out": (
        drop("case.network_sha256"),
        2,
        "plan.json: case.network_sha256: missing: without the network's SHA-256",
    ),
    # not refused, but checked: a wrong claim of the right kind is a finding
    "kW claimed wrong": (
        put("stages.0.schedule.0.truck_kw.T1", 1e6),
        1,
        "the schedule says truck T1 runs 1000000.0 kW, the load flow gives",
    ),
}


@pytest.fixture(scope="module")
def good() -> dict[str, Any]:
    case = planner.load_case(CASE)
    return json.loads(planner.plan_case(case).to_json())


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_plan(name: str, good, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    edit, code, expected = HOSTILE[name]
    data = json.loads(json.dumps(good))
    if isinstance(edit, Text):
        text = edit.edit(text_of(data))
    else:
        edit(data)
        text = text_of(data)
    (tmp_path / "plan.json").write_text(text)
    result = cli("validate", CASE, tmp_path / "plan.json")
    assert result.exit_code == code, result.output
    assert expected in result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert "\x1b" not in result.output
    assert max(len(line) for line in result.output.splitlines()) < 400


def test_unedited_plan_holds(good, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "plan.json").write_text(text_of(good))
    result = cli("validate", CASE, tmp_path / "plan.json")
    assert result.exit_code == 0, result.output


def test_upper_case_digests_are_the_same_digests(good, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(json.dumps(good))
    data["case"]["sha256"] = data["case"]["sha256"].upper()
    (tmp_path / "plan.json").write_text(json.dumps(data))
    assert cli("validate", CASE, tmp_path / "plan.json").exit_code == 0


def test_a_plan_larger_than_the_case_can_produce_is_refused_unread(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    case = planner.load_case(CASE)
    limit = plan_size_limit(case)
    # 16 MiB + 4 KiB per check time (49 quarter hours; 3 trucks and one more) + 16 B per bus
    assert limit == 16 * 2**20 + 49 * 4096 + 16 * 33
    path = tmp_path / "plan.json"
    with path.open("wb") as handle:
        handle.truncate(limit + 1)  # sparse: nothing of it is in memory but what is read
    result = cli("validate", CASE, path)
    assert result.exit_code == 2
    assert f"plan.json: larger than {limit:,} bytes, more than any plan of this case can be" in (
        result.output
    )
    with pytest.raises(PlanFileError, match="larger than 100 bytes"):
        read_plan(path, 100)


def test_a_fifo_is_not_read(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    os.mkfifo(tmp_path / "plan.json")
    result = cli("validate", CASE, tmp_path / "plan.json")
    assert result.exit_code == 2
    assert "plan.json: not a regular file" in result.output


# plan.json as written: strict JSON, a number that is not finite becomes null, named in warnings
def _strict(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise AssertionError(f"plan.json holds {constant}")

    return json.loads(text, parse_constant=refuse)


def test_plan_json_never_holds_nan_or_infinity(planned) -> None:  # type: ignore[no-untyped-def]
    _, plan = planned("case33bw_trucks")
    _strict(plan.to_json())
    stage = plan.stages[0]
    broken = dataclasses.replace(
        stage.verification, max_line_loading_percent=math.inf, min_vm_pu=math.nan
    )
    stage = dataclasses.replace(
        stage, verification=broken, schedule=({"time": "t", "truck_kw": {"T1": -math.inf}},)
    )
    data = _strict(dataclasses.replace(plan, stages=(stage,)).to_json())
    verification = data["stages"][0]["verification"]
    assert verification["max_line_loading_percent"] is None
    assert verification["min_vm_pu"] is None
    assert data["stages"][0]["schedule"][0]["truck_kw"]["T1"] is None
    assert data["warnings"][-3:] == [
        "stages[0].verification.min_vm_pu was nan, not a finite number: written as null",
        "stages[0].verification.max_line_loading_percent was inf, not a finite number: "
        "written as null",
        "stages[0].schedule[0].truck_kw.T1 was -inf, not a finite number: written as null",
    ]


# the network digest: every table and scalar of the net, results and bookkeeping excluded
def _edits() -> dict[str, Callable[[pp.pandapowerNet], None]]:
    return {
        "f_hz": lambda net: net.__setitem__("f_hz", 60.0 if net.f_hz != 60 else 50.0),
        "sn_mva": lambda net: net.__setitem__("sn_mva", float(net.sn_mva) * 10),
        "name": lambda net: net.__setitem__("name", "another"),
        "an svc": lambda net: pp.create_svc(net, 3, 1.0, 1.0, 1.02, 140.0),
        "a tcsc": lambda net: pp.create_tcsc(net, 2, 3, 1.0, 1.0, 0.5, 140.0),
        "a load's p_mw": lambda net: net.load.__setitem__("p_mw", net.load.p_mw * 1.000001),
        "a line's name": lambda net: net.line.__setitem__("name", "L" + net.line.index.astype(str)),
        "a std type": lambda net: net.std_types["line"].__setitem__("x", {"r_ohm_per_km": 0.1}),
        "user options": lambda net: pp.set_user_pf_options(net, init="flat"),
    }


@pytest.mark.parametrize("edit", sorted(_edits()))
def test_the_network_digest_sees_every_input(edit: str) -> None:
    net = pn.case33bw()
    before = network_sha256(net)
    _edits()[edit](net)
    assert network_sha256(net) != before


def test_the_network_digest_ignores_results_and_bookkeeping() -> None:
    net = pn.case33bw()
    before = network_sha256(net)
    pp.runpp(net, numba=False)
    net.version = "0.0.1"
    assert net.res_bus.vm_pu.notna().all() and net._ppc is not None
    assert network_sha256(net) == before


@pytest.mark.parametrize("name", ["case33bw", "mv_oberrhein", "create_cigre_network_mv"])
def test_the_network_digest_survives_a_file_round_trip(name: str, tmp_path: Path) -> None:
    """pandapower writes 15 decimals, so a net made in memory differs from its file in the
    last bits; a net read from a file is the same after saving and reading it again."""
    pp.to_json(getattr(pn, name)(), str(tmp_path / "a.json"))
    first = pp.from_json(str(tmp_path / "a.json"))
    pp.to_json(first, str(tmp_path / "b.json"))
    assert network_sha256(pp.from_json(str(tmp_path / "b.json"))) == network_sha256(first)
    assert network_sha256(pp.from_json(str(tmp_path / "a.json"))) == network_sha256(first)


def test_the_network_digest_does_not_count_dtypes() -> None:
    net = pn.case33bw()
    before = network_sha256(net)
    net.bus["vn_kv"] = net.bus.vn_kv.astype(object)
    net.line["in_service"] = net.line.in_service.astype(float)
    net["f_hz"] = float(net.f_hz)
    assert network_sha256(net) == before


@pytest.mark.parametrize(
    "edit, key",
    [
        (lambda net: net.__setitem__("f_hz", 50.0), "f_hz"),
        (lambda net: net.__setitem__("sn_mva", 100.0), "sn_mva"),
        (lambda net: pp.create_svc(net, 3, 1.0, 1.0, 1.02, 140.0), "svc"),
    ],
)
def test_validate_refuses_a_plan_after_the_network_changed(edit, key, good, tmp_path, cli) -> None:  # type: ignore[no-untyped-def]
    pp.to_json(pn.case33bw(), str(tmp_path / "net.json"))
    text = CASE.read_text().replace('"pandapower:case33bw"', '"net.json"')
    (tmp_path / "case.toml").write_text(text)
    case = planner.load_case(tmp_path / "case.toml")
    data = json.loads(json.dumps(good))
    data["case"].update(
        sha256=case.sha256, network_sha256=case.network.sha256, network=case.network.source
    )
    (tmp_path / "plan.json").write_text(json.dumps(data))
    assert cli("validate", tmp_path / "case.toml", tmp_path / "plan.json").exit_code == 0
    net = pp.from_json(str(tmp_path / "net.json"))
    edit(net)
    pp.to_json(net, str(tmp_path / "net.json"))
    result = cli("validate", tmp_path / "case.toml", tmp_path / "plan.json")
    assert result.exit_code == 2, (key, result.output)
    assert "case.network_sha256: the network 'net.json' has changed since the plan was made" in (
        result.output
    )


def test_a_csv_profile_is_part_of_what_a_plan_is_checked_against(tmp_path, cli) -> None:  # type: ignore[no-untyped-def]
    from planner.checks.validation import profile_sha256

    valid = Path(__file__).resolve().parent.parent / "data" / "cases" / "valid"
    for name in ("csv_profile.toml", "profile.csv"):
        (tmp_path / name).write_bytes((valid / name).read_bytes())
    case = planner.load_case(tmp_path / "csv_profile.toml")
    plan = planner.plan_case(case)
    data = json.loads(plan.to_json())
    digest = profile_sha256(case)
    assert digest is not None and len(digest) == 64
    data["case"]["profile_sha256"] = digest
    (tmp_path / "plan.json").write_text(json.dumps(data))
    result = cli("validate", tmp_path / "csv_profile.toml", tmp_path / "plan.json")
    assert result.exit_code in (0, 1), result.output
    del data["case"]["profile_sha256"]
    (tmp_path / "bare.json").write_text(json.dumps(data))
    result = cli("validate", tmp_path / "csv_profile.toml", tmp_path / "bare.json")
    assert result.exit_code == 2
    assert "case.profile_sha256: missing: without the load profile's SHA-256" in result.output
    with (tmp_path / "profile.csv").open("a") as handle:
        handle.write("\n")
    result = cli("validate", tmp_path / "csv_profile.toml", tmp_path / "plan.json")
    assert result.exit_code == 2
    assert "case.profile_sha256: the load profile 'profile.csv' has changed since the plan" in (
        result.output
    )


# a failed load flow is a finding; an internal exception in one is a bug (exit 3)
def test_solver_failures_and_bugs_are_told_apart() -> None:
    net = pn.case33bw()
    assert solver_failure(pp.LoadflowNotConverged("no"))
    assert solver_failure(np.linalg.LinAlgError("Singular matrix"))
    assert solver_failure(UserWarning("no ext_grid"))
    for bug in (TypeError("'<' not supported"), KeyError("bus"), IndexError("0"), ValueError()):
        assert not solver_failure(bug)
    try:
        pp.runpp(net, init="flat", init_vm_pu=1.0)  # a ValueError pandapower raises itself
    except ValueError as exc:
        assert solver_failure(exc)
    else:
        raise AssertionError("pandapower accepted two initialisations")


def test_a_bug_in_a_load_flow_is_exit_3_not_a_violation(good, tmp_path, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broken(*_: Any, **__: Any) -> None:
        raise TypeError("'<' not supported between instances of 'str' and 'bool'")

    from planner.grid.engine import BatchModel

    (tmp_path / "plan.json").write_text(json.dumps(good))
    # both load flows: pandapower's and the batched engine's (which now gives every state of
    # this plan, openings' flows included: no pandapower run is left to break)
    monkeypatch.setattr(powerflow.pp, "runpp", broken)
    monkeypatch.setattr(BatchModel, "solve", broken)
    result = cli("validate", CASE, tmp_path / "plan.json")
    assert result.exit_code == 3, result.output
    assert "internal error: TypeError: '<' not supported" in result.output
    assert "this is a bug in planner" in result.output
