"""Property test: random mutations of a valid case never raise anything but the planner's error."""

from __future__ import annotations

import copy
import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import planner
from planner.core.errors import PlannerError
from tests.conftest import DATA

BASE = tomllib.loads((DATA / "cases" / "valid" / "full.toml").read_text())

scalars = st.one_of(
    st.integers(-5, 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.booleans(),
    st.datetimes(timezones=st.just(timezone(timedelta(hours=8)))),
    st.datetimes(),
    st.sampled_from(
        [
            "line:#99",
            "bus:Bus 5",
            "switch:S1",
            "load:#0",
            "x:y",
            "line:",
            "all",
            "n-1",
            "keep",
            "auto",
            "none",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:  # type: ignore[type-arg]
    out = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += _paths(value, (*prefix, i))
    return out


PATHS = _paths(BASE)


def _set(data: Any, path: tuple, value: Any, delete: bool = False) -> None:  # type: ignore[type-arg]
    *head, last = path
    for key in head:
        data = data[key]
    if delete:
        del data[last]
    else:
        data[last] = value


mutation = st.tuples(st.sampled_from(PATHS), values, st.sampled_from(["set", "delete", "swap"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutation, min_size=1, max_size=3))
@example([(("stages", 0), [], "set"), (("format",), [], "swap")])
def test_mutated_cases_only_raise_planner_errors(tmp_path_factory, mutations) -> None:  # type: ignore[no-untyped-def]
    data = copy.deepcopy(BASE)
    for path, value, kind in mutations:
        try:
            stages = data.get("stages")
            if kind == "swap" and isinstance(stages, list) and stages:
                if isinstance(stages[0], dict):
                    stage = stages[0]
                    stage["start"], stage["end"] = stage.get("end"), stage.get("start")
            else:
                _set(data, path, value, delete=kind == "delete")
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed the path
    try:
        text = tomli_w.dumps(data)
    except (TypeError, ValueError):
        return  # not representable in TOML (e.g. None from the swap of a missing key)
    path = Path(tmp_path_factory.mktemp("case")) / "case.toml"
    path.write_text(text)
    try:
        planner.load_case(path)
    except PlannerError as exc:
        assert str(exc)
        assert all(p.message for p in getattr(exc, "problems", []))


def test_swapped_times_are_an_error(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    stage = data["stages"][0]
    stage["start"], stage["end"] = stage["end"], stage["start"]
    (tmp_path / "c.toml").write_text(tomli_w.dumps(data))
    try:
        planner.load_case(tmp_path / "c.toml")
    except PlannerError as exc:
        assert "stages[0].end" in str(exc) and "must be after start" in str(exc)
    else:
        raise AssertionError("swapped times were accepted")


def test_datetime_strings_are_accepted() -> None:
    assert isinstance(BASE["stages"][1]["start"], str)
    case = planner.load_case(DATA / "cases" / "valid" / "full.toml")
    assert case.stages[1].start == datetime.fromisoformat(BASE["stages"][1]["start"])
