"""Reliability: broken networks and plans, failed load flows, safe outputs, stale plans."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandapower as pp
import pandapower.networks as pn
import pytest

import planner
from planner.core.errors import CaseError, PlanFileError
from planner.outputs import files as out_files
from planner.outputs.files import MANIFEST, manifest_text
from planner.outputs.plan_set import OUTPUTS
from tests.conftest import CASES, DATA, ROOT

BROKEN = DATA / "broken"
NETWORKS = json.loads((BROKEN / "networks.json").read_text())
PLANS = json.loads((BROKEN / "plans.json").read_text())
CASE_TEXT = """[case]
name = "x"
network = "{network}"
[fleet]
trucks = 1
[[stages]]
name = "S"
start = 2025-01-01T08:00:00+01:00
end = 2025-01-01T09:00:00+01:00
out_of_service = []
"""


def test_the_corpus_holds_at_least_thirty_distinct_faults() -> None:
    invalid_cases = len(list((DATA / "cases" / "invalid").glob("*.toml")))
    assert len(NETWORKS["faults"]) + len(PLANS["faults"]) >= 30
    assert invalid_cases + len(NETWORKS["faults"]) + len(PLANS["faults"]) >= 60


@pytest.mark.parametrize("name", sorted(NETWORKS["faults"]))
def test_broken_network_is_refused_with_the_exact_problem(name: str, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    fault = NETWORKS["faults"][name]
    net = getattr(pn, NETWORKS["base"])()
    for table, index, field, value in fault.get("set", []):
        if table == "net":  # one of the network's own numbers
            net[field] = value
        else:
            net[table].at[index, field] = math.nan if value == "nan" else value
    for table, index in fault.get("drop", []):
        net[table] = net[table].drop(index)
    for table, column in fault.get("drop_column", []):
        net[table] = net[table].drop(columns=column)
    pp.to_json(net, str(tmp_path / "net.json"))
    (tmp_path / "case.toml").write_text(CASE_TEXT.format(network="net.json"))
    with pytest.raises(CaseError) as info:
        planner.load_case(tmp_path / "case.toml")
    assert [[p.key, p.message] for p in info.value.problems] == fault["expect"]
    assert all(p.file == "net.json" for p in info.value.problems)
    result = cli("plan", tmp_path / "case.toml", "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert f"net.json: {fault['expect'][0][0]}: {fault['expect'][0][1]}" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out" / "plan.json").exists()


@pytest.fixture(scope="module")
def good_plan():  # type: ignore[no-untyped-def]
    case = planner.load_case(CASES / f"{PLANS['case']}.toml")
    return case, planner.plan_case(case).as_json()


@pytest.mark.parametrize("name", sorted(PLANS["faults"]))
def test_broken_plan_is_refused_with_the_exact_problem(name: str, good_plan, tmp_path, cli) -> None:  # type: ignore[no-untyped-def]
    case, plan = good_plan
    fault = PLANS["faults"][name]
    data = copy.deepcopy(plan)
    for path, value in fault.get("set", []):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    for path in fault.get("drop", []):
        target = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    with pytest.raises(PlanFileError) as info:
        planner.validate(case, data, "plan.json")
    expected = [[k, m.replace("{case}", case.file)] for k, m in fault["expect"]]
    assert [[p.key, p.message] for p in info.value.problems] == expected
    (tmp_path / "plan.json").write_text(json.dumps(data))
    result = cli("validate", CASES / f"{PLANS['case']}.toml", tmp_path / "plan.json")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"plan.json: {expected[0][0]}: " in result.output


def test_dubious_network_gives_warnings_in_the_plan(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    net = pn.create_cigre_network_mv()
    net.bus.at[14, "in_service"] = False
    net.load.at[0, "p_mw"] = -0.5
    pp.to_json(net, str(tmp_path / "net.json"))
    (tmp_path / "case.toml").write_text(CASE_TEXT.format(network="net.json"))
    result = cli("plan", tmp_path / "case.toml", "--out", tmp_path / "out")
    warnings = json.loads((tmp_path / "out" / "plan.json").read_text())["warnings"]
    assert warnings == [
        "load:Load R14 is on out-of-service bus:Bus 14: it is never supplied",
        "load:Load CI14 is on out-of-service bus:Bus 14: it is never supplied",
        "load:Load R1 has negative p_mw (-0.5): generation modelled as a load",
    ]
    assert "warning: load:Load R14 is on out-of-service bus:Bus 14" in result.output


def test_a_load_flow_that_does_not_converge_is_a_finding(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    text = (CASES / "cigre_infeasible.toml").read_text().replace("scaling = 0.6", "scaling = 40.0")
    (tmp_path / "case.toml").write_text(text)
    result = cli("plan", tmp_path / "case.toml", "--out", tmp_path / "out")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert plan["feasible"] is False
    messages = [v["message"] for v in plan["stages"][0]["verification"]["violations"]]
    assert any(
        m.startswith("grid part at 2025-08-05T07:00:00+02:00: load flow did not converge")
        for m in messages
    ), messages


def _earlier_outputs(out: Path) -> dict[str, bytes]:
    out.mkdir()
    files = {
        "plan.json": b'{"earlier": true}\n',
        "schedule.csv": b"earlier\n",
        "plan.md": b"# earlier\n",
        "report.html": b"<p>earlier</p>\n",
    }
    for name, data in files.items():
        (out / name).write_bytes(data)
    digests = {name: [hashlib.sha256(data).hexdigest()] for name, data in files.items()}
    files[MANIFEST] = manifest_text(digests).encode()  # an earlier run of the planner wrote them
    (out / MANIFEST).write_bytes(files[MANIFEST])
    return files


def _with_ctrl_c() -> None:
    """In a child about to start: Ctrl-C (SIGINT) acts as at a terminal, even when these tests
    run where it is ignored (a background job of a shell without job control passes SIG_IGN on,
    and Python then installs no KeyboardInterrupt for it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_an_interrupted_run_leaves_earlier_outputs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    files = _earlier_outputs(out)
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "planner",
            "plan",
            str(CASES / "dashiqiao.toml"),
            "--out",
            str(out),
            "--force",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_with_ctrl_c,
    )
    seen = ""
    deadline = time.monotonic() + 60
    while "verifying" not in seen and time.monotonic() < deadline:  # planning is under way
        ready, _, _ = select.select([child.stderr], [], [], 1.0)
        if ready:
            seen += os.read(child.stderr.fileno(), 4096).decode()  # type: ignore[union-attr]
    assert child.poll() is None, "the run ended before it could be interrupted"
    child.send_signal(signal.SIGINT)
    _, rest = child.communicate(timeout=60)
    stderr = seen + rest
    assert child.returncode == 130
    assert "interrupted" in stderr and "Traceback" not in stderr
    for name, data in files.items():
        assert (out / name).read_bytes() == data
    assert sorted(p.name for p in out.iterdir()) == sorted(files)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging folder left


_INTERRUPT_WHILE_IMPORTING = """
import builtins, os, signal, sys
real = builtins.__import__
def importing(name, *args, **kwargs):
    if name == {module!r}:
        os.kill(os.getpid(), signal.SIGINT)
    return real(name, *args, **kwargs)
builtins.__import__ = importing
sys.argv = ["planner", "check", {case!r}]
from planner.__main__ import run
run()
"""


@pytest.mark.parametrize("module", ["click", "planner.core.text", "pandapower", "scipy"])
def test_ctrl_c_while_the_command_starts_exits_130_without_a_traceback(module: str) -> None:
    code = _INTERRUPT_WHILE_IMPORTING.format(module=module, case=str(CASES / "dashiqiao.toml"))
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_with_ctrl_c,
    )
    assert done.returncode == 130
    assert "interrupted" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_a_failed_write_leaves_earlier_outputs(tmp_path: Path, monkeypatch, cli) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    files = _earlier_outputs(out)
    real = out_files._write_new
    calls = {"n": 0}

    def failing(path: Path, payload: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        real(path, payload)

    monkeypatch.setattr(out_files, "_write_new", failing)
    result = cli("plan", CASES / "case33bw_trucks.toml", "--out", out, "--force")
    assert result.exit_code == 2
    assert "cannot write outputs" in result.output and "No space left on device" in result.output
    for name, data in files.items():
        assert (out / name).read_bytes() == data
    assert sorted(p.name for p in out.iterdir()) == sorted(files)


def test_editing_the_network_after_planning_makes_validate_refuse(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    net = pn.case33bw()
    pp.to_json(net, str(tmp_path / "feeder.json"))
    text = (CASES / "case33bw_trucks.toml").read_text()
    (tmp_path / "case.toml").write_text(text.replace('"pandapower:case33bw"', '"feeder.json"'))
    assert cli("plan", tmp_path / "case.toml", "--out", tmp_path / "out").exit_code == 0
    assert cli("validate", tmp_path / "case.toml", tmp_path / "out" / "plan.json").exit_code == 0
    net.line.at[30, "length_km"] *= 1.5
    pp.to_json(net, str(tmp_path / "feeder.json"))
    result = cli("validate", tmp_path / "case.toml", tmp_path / "out" / "plan.json")
    assert result.exit_code == 2
    assert (
        "case.network_sha256: the network 'feeder.json' has changed since the plan was made"
        in result.output
    )


@pytest.mark.parametrize("name", ["case33bw_trucks", "oberrhein_transfer_and_trucks"])
def test_the_same_inputs_give_a_byte_identical_plan(name: str, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    for folder in ("a", "b"):
        assert cli("plan", CASES / f"{name}.toml", "--out", tmp_path / folder).exit_code in (0, 1)
    for output in OUTPUTS:  # the workbook and the map too
        assert (tmp_path / "a" / output).read_bytes() == (tmp_path / "b" / output).read_bytes()


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("layout", "out", "message"),
    [
        ("plain", "", "--out is empty: name the directory for the outputs"),
        ("profile_in_out", "out", "schedule.csv was not written by planner or was changed since"),
        ("network_in_out", "out", "plan.json was not written by planner or was changed since"),
        ("case_in_out", "out", "plan.md is an input of this run and would be overwritten"),
        ("user_report", "out", "report.html was not written by planner or was changed since"),
    ],
)
def test_outputs_never_touch_inputs_or_the_users_files(  # type: ignore[no-untyped-def]
    layout: str, out: str, message: str, tmp_path: Path, cli, monkeypatch
) -> None:
    valid = DATA / "cases" / "valid"
    (tmp_path / "out").mkdir()
    case_text = (valid / "csv_profile.toml").read_text()
    case = tmp_path / "case.toml"
    if layout == "profile_in_out":
        (tmp_path / "out" / "schedule.csv").write_bytes((valid / "profile.csv").read_bytes())
        case_text = case_text.replace('"profile.csv"', '"out/schedule.csv"')
    else:
        (tmp_path / "profile.csv").write_bytes((valid / "profile.csv").read_bytes())
    if layout == "network_in_out":
        pp.to_json(pn.case33bw(), str(tmp_path / "out" / "plan.json"))
        case_text = case_text.replace('"pandapower:case33bw"', '"out/plan.json"')
    if layout == "case_in_out":
        case = tmp_path / "out" / "plan.md"
        case_text = case_text.replace('"profile.csv"', '"../profile.csv"')
    if layout == "user_report":
        (tmp_path / "out" / "report.html").write_text("<p>my notes</p>")
    case.write_text(case_text)
    monkeypatch.chdir(tmp_path)
    before = _snapshot(tmp_path)
    entries = sorted(p.name for p in tmp_path.iterdir())
    result = cli("plan", case, "--out", out, "--force")
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert _snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == entries  # no staging folder left


def test_of_two_concurrent_runs_into_one_out_at_most_one_succeeds(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [sys.executable, "-m", "planner", "plan", str(CASES / "case33bw_trucks.toml")]
    runs = [
        subprocess.Popen(
            [*args, "--out", str(out), "--force"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(run.wait(timeout=600), run.communicate()[1]) for run in runs]
    codes = sorted(code for code, _ in results)
    assert codes[0] == 0 and codes[1] in (0, 2)
    if codes[1] == 2:  # refused while the other held --out (else they ran one after the other)
        assert any("another planner run is writing there" in err for _, err in results)
    assert json.loads((out / "plan.json").read_text())["format"] == "planner.plan/1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
