"""The issue's example mixed fleet on the reference works (cases/dashiqiao_fleet_mix.toml): the
cheapest mix by `[costs]` and the types' own prices, and what it saves against the same fleet
without its smaller types (the utility's four 2000 kW trucks and two hired ones), both plans
verified and validated."""

from __future__ import annotations

import collections
import tomllib

import pytest
import tomli_w

import planner
from planner.dispatch.pipeline import Dispatch
from tests.conftest import CASES

EXAMPLE = CASES / "dashiqiao_fleet_mix.toml"
SMALLER = ("MV-1000", "LV-800", "BESS-1000")


def _used(dispatch: Dispatch) -> dict[str, int]:
    trucks = {(t.type, t.id) for stage in dispatch.plan.stages for t in stage.trucks}
    return dict(collections.Counter(kind for kind, _ in trucks))


@pytest.fixture(scope="module")
def plans(tmp_path_factory) -> tuple[planner.Case, Dispatch, planner.Case, Dispatch]:  # type: ignore[no-untyped-def]
    mixed = planner.load_case(EXAMPLE)
    data = tomllib.loads(EXAMPLE.read_text())
    data["fleet"]["types"] = [t for t in data["fleet"]["types"] if t["name"] not in SMALLER]
    data["case"]["network"] = str((EXAMPLE.parent / data["case"]["network"]).resolve())
    path = tmp_path_factory.mktemp("large") / "large.toml"
    path.write_text(tomli_w.dumps(data))
    large = planner.load_case(path)
    return mixed, planner.plan_dispatch(mixed), large, planner.plan_dispatch(large)


def test_the_cheapest_mix_is_the_own_large_trucks_and_four_small_ones(plans) -> None:  # type: ignore[no-untyped-def]
    mixed, dispatch, _, _ = plans
    plan = dispatch.plan
    assert plan.feasible
    assert _used(dispatch) == {"MV-2000": 4, "MV-1000": 4}
    costs = plan.summary["costs"]
    assert costs["trucks_hired"] == 8
    assert costs["not_given"] == ["value_of_lost_load_per_kwh"]  # every type prices itself
    # rental by each type's own day rate: 56 truck-days of each at 12,000 and 9,000
    assert costs["truck_days"] == 112
    assert costs["rental"] == pytest.approx(56 * 12000.0 + 56 * 9000.0)
    assert costs["mobilisation"] == pytest.approx(4 * 4000.0 + 4 * 3000.0)
    assert planner.validate(mixed, dispatch).passed


def test_what_the_mix_saves_against_hiring_two_more_large_trucks(plans) -> None:  # type: ignore[no-untyped-def]
    _, dispatch, large, alternative = plans
    assert alternative.plan.feasible
    assert _used(alternative) == {"MV-2000": 4, "MV-2000-hired": 2}
    assert planner.validate(large, alternative).passed
    mix = dispatch.plan.summary["costs"]
    other = alternative.plan.summary["costs"]
    # rental 1,232,000 against 1,176,000, mobilisation 76,000 against 28,000; the fuel of the
    # same energy within a few litres (the trucks' shares differ, not the load)
    assert other["rental"] - mix["rental"] == pytest.approx(56000.0)
    assert other["mobilisation"] - mix["mobilisation"] == pytest.approx(48000.0)
    assert abs(other["fuel_l"] - mix["fuel_l"]) < 50.0
    assert other["total"] - mix["total"] == pytest.approx(104059.0, abs=400.0)
