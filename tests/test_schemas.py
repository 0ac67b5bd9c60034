"""The JSON Schemas shipped in planner/schemas/: every shipped case and programme, every valid
test case and a real plan.json pass them; they know every key the readers know, and the
programme result's every key `programme_data` writes (a real programme.json is checked in
tests/dispatch/test_programme.py, where the test region is planned)."""

from __future__ import annotations

import copy
import json
import tomllib
from datetime import date, datetime, time
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from planner.inputs import (
    case_builder,
    case_costs,
    case_loads,
    case_points,
    case_stages,
    programme_file,
)
from tests.conftest import CASES, DATA

SCHEMAS = ("case", "plan", "programme", "programme-result")


def schema(name: str) -> dict[str, Any]:
    text = (resources.files("planner") / "schemas" / f"{name}.schema.json").read_text("utf-8")
    return json.loads(text)


def validator(name: str) -> jsonschema.Draft202012Validator:
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    return jsonschema.Draft202012Validator(schema(name), format_checker=checker)


def plain(value: Any) -> Any:
    """Parsed TOML as JSON data: offset date-times (and dates, times) as ISO text."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def toml(path: Path) -> dict[str, Any]:
    return plain(tomllib.loads(path.read_text(encoding="utf-8")))


def errors(name: str, data: Any) -> list[str]:
    found = validator(name).iter_errors(data)
    return sorted(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" if e.absolute_path else e.message
        for e in found
    )


@pytest.mark.parametrize("name", SCHEMAS)
def test_each_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(schema(name))
    assert schema(name)["$id"].endswith(f"/{name}.schema.json")


def _shipped() -> list[Path]:
    return sorted(CASES.glob("*.toml"))


@pytest.mark.parametrize("path", _shipped(), ids=lambda p: p.name)
def test_every_shipped_file_passes_its_schema(path: Path) -> None:
    data = toml(path)
    kind = "programme" if data.get("format") == programme_file.FORMAT else "case"
    assert errors(kind, data) == []


@pytest.mark.parametrize(
    "path",
    sorted(p for p in (DATA / "cases").glob("*/*.toml") if p.parent.name != "invalid"),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_every_test_case_the_planner_reads_passes_the_case_schema(path: Path) -> None:
    assert errors("case", toml(path)) == []


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("unknown_top_key", ["Additional properties are not allowed ('fleeet' was unexpected)"]),
        ("negative_trucks", ["fleet/trucks: -1 is less than the minimum of 0"]),
        ("bad_reserve", ["fleet/reserve: 'n-2' is not one of ['none', 'n-1']"]),
        ("missing_fleet", ["'fleet' is a required property"]),
    ],
)
def test_invalid_cases_fail_the_schema_at_their_key(name: str, want: list[str]) -> None:
    got = errors("case", toml(DATA / "cases" / "invalid" / f"{name}.toml"))
    assert got == want


def _properties(name: str, *path: str) -> set[str]:
    node = schema(name)
    for key in path:
        node = node["items"] if key == "[]" else node["properties"][key]
    if "items" in node and "properties" not in node:
        node = node["items"]
    return set(node["properties"])


def test_the_case_schema_knows_every_key_the_case_reader_knows() -> None:
    assert _properties("case") == case_builder._TOP
    assert _properties("case", "case") == case_builder._CASE
    assert _properties("case", "limits") == case_builder._LIMITS
    assert _properties("case", "fleet") == case_builder._FLEET
    assert _properties("case", "switching") == case_builder._SWITCHING
    assert _properties("case", "protection") == case_builder._PROTECTION
    assert _properties("case", "connection_points") == case_points._POINT
    assert _properties("case", "loads") == case_loads._LOADS
    assert _properties("case", "costs") == case_costs._COSTS
    assert _properties("case", "stages") == case_stages._STAGE


def test_the_programme_schema_knows_every_key_the_programme_reader_knows() -> None:
    assert _properties("programme") == programme_file._TOP
    assert _properties("programme", "programme") == programme_file._PROGRAMME
    assert _properties("programme", "jobs") == programme_file._JOB


@pytest.mark.parametrize("name", ["dashiqiao", "case33bw_trucks"])
def test_a_real_plan_passes_the_plan_schema(planned, name: str) -> None:  # type: ignore[no-untyped-def]
    _, plan = planned(name)
    data = json.loads(plan.to_json())
    assert errors("plan", data) == []
    assert data["stages"] and data["stages"][0]["sequence"]  # the schema had something to check


def test_the_plan_schema_refuses_a_plan_without_its_contract(planned) -> None:  # type: ignore[no-untyped-def]
    _, plan = planned("case33bw_trucks")
    data = json.loads(plan.to_json())
    broken = copy.deepcopy(data)
    del broken["case"]["network_sha256"]
    broken["stages"][0]["trucks"][0]["bus"] = "30"
    broken["format"] = "planner.plan/2"
    assert errors("plan", broken) == [
        "case: 'network_sha256' is a required property",
        "format: 'planner.plan/1' was expected",
        "stages/0/trucks/0/bus: '30' is not of type 'integer'",
    ]
    data["added_field"] = {"any": "thing"}  # fields may be added to the format
    assert errors("plan", data) == []


def test_the_programme_result_schema_knows_every_key_programme_data_writes(
    tmp_path: Path,
) -> None:
    from planner.dispatch.programme_run import run_programme
    from planner.outputs.programme import programme_data

    programme = programme_file.load_programme(DATA / "programme" / "no_window.toml")
    data = programme_data(run_programme(programme, tmp_path, client=None, render=None))
    name = "programme-result"
    assert _properties(name) == set(data)
    for key in ("programme", "fleet_use", "objectives"):
        assert _properties(name, key) == set(data[key]), key
    assert _properties(name, "jobs") == set(data["jobs"][0])  # one dict shape, placed or not
    assert _properties(name, "unplaced") == set(data["unplaced"][0])
    # the engine's figures, and what `dask_client` adds: the executor, its workers, --scheduler
    assert _properties(name, "engine") == {*data["engine"], "executor", "workers", "scheduler"}
    every = schema(name)
    assert set(every["required"]) == set(data)
    assert set(every["properties"]["jobs"]["items"]["required"]) == set(data["jobs"][0])
