"""A NUL character in `[case] network` is refused as bad input naming the key (found by review:
it escaped as a ValueError from `Path.resolve`, exit 3), from a case file, a programme's case
and the per-process network cache alike."""

from __future__ import annotations

from pathlib import Path

import pytest

import planner
from planner.inputs.network import load_network
from planner.inputs.network_cache import NetworkCache
from tests.conftest import CASES

MESSAGE = "expected a network path or 'pandapower:NAME' / 'simbench:CODE', got 'net\\x00.json'"
PROGRAMME = """format = "planner.programme/1"
[programme]
name = "x"
trucks = 5
[[jobs]]
case = "case.toml"
earliest = 2025-07-01T00:00:00+00:00
latest_end = 2025-07-06T00:00:00+00:00
"""


@pytest.fixture
def nul_case(tmp_path: Path) -> Path:
    lines = [
        'network = "net\\u0000.json"' if line.startswith("network =") else line
        for line in (CASES / "case33bw_trucks.toml").read_text().splitlines()
    ]
    path = tmp_path / "case.toml"
    path.write_text("\n".join(lines) + "\n")
    (tmp_path / "prog.toml").write_text(PROGRAMME)
    return path


def _messages(exc: planner.PlannerError) -> list[tuple[str, str]]:
    return [(p.key, p.message) for p in exc.problems]  # type: ignore[attr-defined]


def test_a_case_names_the_key(nul_case: Path) -> None:
    with pytest.raises(planner.PlannerError) as caught:
        planner.load_case(nul_case)
    assert ("case.network", MESSAGE) in _messages(caught.value)


def test_a_programme_names_the_case_and_its_key(nul_case: Path) -> None:
    with pytest.raises(planner.PlannerError) as caught:
        planner.load_programme(nul_case.parent / "prog.toml")
    assert ("case.network", MESSAGE) in _messages(caught.value)


def test_the_network_cache_passes_it_to_the_loader(tmp_path: Path) -> None:
    with pytest.raises(planner.PlannerError) as caught:
        NetworkCache(load_network)("net\x00.json", tmp_path, file="case.toml")
    assert _messages(caught.value) == [("case.network", MESSAGE)]


def test_the_command_exits_2(cli, nul_case: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("check", str(nul_case))
    assert result.exit_code == 2, result.output
    assert "case.network" in result.output and "Traceback" not in result.output
