"""The command line: exit codes, summaries, and no traceback for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import CASES, DATA, ROOT

SHIPPED = sorted(  # the case files (a programme file lists cases: it is not one)
    p.stem
    for p in CASES.glob("*.toml")
    if tomllib.loads(p.read_text(encoding="utf-8")).get("format") != "planner.programme/1"
)


def test_version(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("--version")
    assert result.exit_code == 0 and result.output.strip() == "planner, version 0.1.0"


@pytest.mark.parametrize("name", SHIPPED)
def test_check_passes_on_every_shipped_case(cli, name: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("check", CASES / f"{name}.toml")
    assert result.exit_code == 0, result.output
    assert "valid" in result.output and "stages" in result.output


@pytest.mark.parametrize("network", ["mv_oberrhein", "case33bw", "create_cigre_network_mv"])
def test_check_on_public_networks(cli, network: str) -> None:  # type: ignore[no-untyped-def]
    cases = [p for p in CASES.glob("*.toml") if f"pandapower:{network}" in p.read_text()]
    assert cases, f"no shipped case uses pandapower:{network}"
    result = cli("check", cases[0])
    assert result.exit_code == 0
    assert f"pandapower:{network}" in result.output


def test_check_summary_numbers(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("check", CASES / "dashiqiao.toml")
    assert "31 buses, 29 lines, 4 transformers, 56 switches, 27 loads" in result.output
    assert "6 x 2000 kW (2500 kVA), reserve none" in result.output
    assert "stages    3" in result.output


def test_check_invalid_exits_2_with_every_problem(cli) -> None:  # type: ignore[no-untyped-def]
    path = DATA / "cases" / "invalid" / "many_problems.toml"
    result = cli("check", path)
    assert result.exit_code == 2
    assert "invalid case: 5 problems" in result.output
    assert f"{path}: fleet.trucks: expected a whole number, got str 'six'" in result.output
    assert "stages[0].out_of_service[0]" in result.output
    assert "Traceback" not in result.output


def test_check_missing_file_exits_2(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("check", tmp_path / "nope.toml")
    assert result.exit_code == 2
    assert "cannot read case file" in result.output


def test_networks_lists_shipped_and_shortcuts(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("networks")
    assert result.exit_code == 0
    assert "dashiqiao.json" in result.output
    for name in (
        "pandapower:mv_oberrhein",
        "pandapower:case33bw",
        "pandapower:create_cigre_network_mv",
        "simbench:",
    ):
        assert name in result.output


def test_inspect_json(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("inspect", CASES / "case33bw_trucks.toml", "--json")
    assert result.exit_code == 0
    [stage] = json.loads(result.stdout)  # progress lines go to stderr
    [island] = stage["islands"]
    assert island["buses"] == [29, 30, 31, 32]
    assert island["design_peak_kw"] == pytest.approx(682.0)
    assert island["design_peak_kvar"] == pytest.approx(891.0)
    assert island["lower_bound_trucks"] == 2
    assert island["connection_points"] == [
        {"bus": "bus:#30", "bays": 2},
        {"bus": "bus:#32", "bays": 1},
    ]


def test_inspect_table(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("inspect", CASES / "dashiqiao.toml")
    assert result.exit_code == 0
    assert "lower bound" in result.output
    assert "switch:Tie F3-F5" in result.output


def test_console_script_and_module_run() -> None:
    for command in (
        [sys.executable, "-m", "planner", "--version"],
        [str(Path(sys.executable).parent / "planner"), "--version"],
    ):
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
        assert done.returncode == 0 and "0.1.0" in done.stdout


def test_usage_error_exits_2(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("plan", CASES / "dashiqiao.toml")
    assert result.exit_code == 2
    assert "Missing option '--out'" in result.output


def test_an_internal_error_is_a_message_not_a_traceback(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import planner.decide.affected

    def broken(case, contexts=None, progress=None):  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(planner.decide.affected, "affected_area", broken)
    result = cli("inspect", CASES / "case33bw_trucks.toml")
    assert result.exit_code == 3
    assert "internal error: ZeroDivisionError: division by zero" in result.output
    assert "Traceback" not in result.output
    with pytest.raises(ZeroDivisionError):
        cli("-v", "inspect", CASES / "case33bw_trucks.toml")


@pytest.mark.parametrize("args", [["check", "cases/dashiqiao.toml"], ["networks"]])
def test_a_closed_pipe_ends_the_command_quietly(args: list[str]) -> None:
    """`planner ... | head`: the reader is gone before the first line; no traceback, exit 0."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "planner", *args],
            cwd=ROOT,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 0
    assert "Traceback" not in done.stderr and "error" not in done.stderr  # progress lines only


def test_every_command_answers_json(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    case = CASES / "case33bw_trucks.toml"
    listed = json.loads(cli("networks", "--json").stdout)
    assert "pandapower:case33bw" in [row["network"] for row in listed]
    checked = json.loads(cli("check", case, "--json").stdout)  # progress lines go to stderr
    assert checked["valid"] is True and checked["fleet"]["trucks"] == 3
    assert checked["connection_points"] == [
        {"bus": "bus:#30", "bays": 2},
        {"bus": "bus:#32", "bays": 1},
    ]
    assert checked["stages"][0]["out_of_service"] == ["line:#28"]
    inspected = json.loads(cli("inspect", case, "--json").stdout)
    assert inspected[0]["lower_bound_trucks"] == 2
    result = cli("plan", case, "--out", tmp_path / "out", "--json")
    assert result.exit_code == 0
    planned = json.loads(result.stdout)
    assert planned["feasible"] is True and planned["trucks_used"] == 2
    assert planned["summary"]["optimality"]["proven_minimal"] is True
    assert planned["written"][0].endswith("plan.json")
    validated = json.loads(cli("validate", case, tmp_path / "out" / "plan.json", "--json").stdout)
    assert validated["holds"] is True and validated["plan_violations"] == []
    assert [s["passed"] for s in validated["stages"]] == [True]


@pytest.mark.parametrize(
    ("args", "code", "kind", "key"),
    [
        (["check", "{invalid}/missing_fleet.toml", "--json"], 2, "case", "fleet"),
        (
            ["plan", "{invalid}/missing_fleet.toml", "--out", "{tmp}/o", "--json"],
            2,
            "case",
            "fleet",
        ),
        (["plan", "{cases}/case33bw_trucks.toml", "--out", "", "--json"], 2, "OutputError", None),
    ],
)
def test_errors_come_as_json_too(cli, tmp_path: Path, args, code, kind, key) -> None:  # type: ignore[no-untyped-def]
    places = {"invalid": DATA / "cases" / "invalid", "tmp": tmp_path, "cases": CASES}
    result = cli(*[a.format(**places) for a in args])
    assert result.exit_code == code
    error = json.loads(result.stdout)["error"]
    assert error["kind"] == kind
    if key is not None:
        assert [p["key"] for p in error["problems"]][:1] == [key]


def test_check_flags_protected_load_no_truck_can_reach(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = (DATA / "cases" / "search" / "stay_for_next_stage.toml").read_text()
    (tmp_path / "case.toml").write_text(
        text.replace('[[connection_points]]\nbus = "bus:#32"\n', "")
    )
    result = cli("check", tmp_path / "case.toml")
    assert result.exit_code == 0
    assert (
        "  warning   stage 'Line 30 out': island I1 (2 buses, 297 kW protected design peak) has "
        "no connection point for trucks and no tie: its protected load cannot be kept supplied "
        "(`planner inspect` suggests bus:#31)"
    ) in result.output.splitlines()
    assert "stage 'Line 28 out'" not in result.output  # its island has points


def test_json_output_is_strict_even_for_numbers_that_are_not_finite() -> None:
    from planner.outputs.summaries import dumps

    text = dumps({"worst": [float("nan"), 1.5, {"loading": float("inf")}]})
    assert json.loads(text) == {"worst": [None, 1.5, {"loading": None}]}
    assert "NaN" not in text and "Infinity" not in text


def test_one_truck_is_a_truck_and_a_stage_named_by_its_number_is_not_named_twice(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path
) -> None:
    from planner.outputs.reports import _heading

    assert _heading(1, "Stage 1", str) == "Stage 1"
    assert _heading(2, "Line 30 out", str) == "Stage 2: Line 30 out"
    case = DATA / "cases" / "search" / "stay_for_next_stage.toml"
    result = cli("plan", case, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "  Line 30 out: I1 trucks (1 truck)" in result.output.splitlines()
    assert "  Line 28 out: I1 trucks (2 trucks)" in result.output.splitlines()
