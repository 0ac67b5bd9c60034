"""The design demand kept as profile factors per column (issue 16): the same values, to the
last bit, as the (check times, loads) matrix it replaces, and a memory estimate that lets a
year of quarter hours on a 10,000-bus grid through and still refuses what would not fit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import planner
from planner.grid.context import StageContext
from planner.inputs import demand
from planner.inputs.case import Loads, Stage
from planner.inputs.demand import (
    StepGroup,
    check_times,
    design_matrix,
    design_rows,
    memory_problems,
    stage_bytes,
)
from tests.conftest import CASES, DATA

# builtin shapes by category, daily windows (the normal state's own groups), flat, a CSV
# profile, SimBench profiles (P and Q columns)
DEMAND_CASES = [
    CASES / "dashiqiao.toml",
    CASES / "dashiqiao_daytime.toml",
    CASES / "case33bw_trucks.toml",
    DATA / "cases" / "valid" / "csv_profile.toml",
    CASES / "simbench_mv_urban.toml",
]


def _groups_of(p: np.ndarray, q: np.ndarray, key: np.ndarray) -> list[list[int]]:
    """The rows of the full matrices grouped as before issue 16: by equal rows of `key`."""
    groups: dict[bytes, list[int]] = {}
    for i in range(len(p)):
        groups.setdefault(key[i].tobytes(), []).append(i)
    return list(groups.values())


@pytest.mark.parametrize("path", DEMAND_CASES, ids=[p.stem for p in DEMAND_CASES])
def test_demand_groups_hold_the_full_matrix_values(path: Path) -> None:
    case = planner.load_case(path)
    for stage in case.stages:
        ctx = StageContext.build(case, stage)
        net, d = ctx.base_net, ctx.demand
        for groups, times in (
            (d.groups, list(d.times)),
            (d.normal_groups, check_times(case, net, stage.start, stage.end) if d.normal else []),
        ):
            if not times:
                continue
            p, q = design_matrix(case, net, times)
            at = {t: i for i, t in enumerate(times)}
            for g in groups:
                for t in g.times:  # every time of a group has the group's values, bit for bit
                    assert p[at[t]].tobytes() == g.p_mw.tobytes()
                    assert q[at[t]].tobytes() == g.q_mvar.tobytes()
            if groups is d.normal_groups and d.normal:  # grouped by equal values
                expected = _groups_of(p, q, np.hstack([p, q]))
                assert [[at[t] for t in g.times] for g in groups] == expected
            else:
                assert sorted(at[t] for g in groups for t in g.times) == list(range(len(times)))
        full = np.array([g.p_mw for g in d.groups])
        assert np.asarray(d.p_matrix).tobytes() == full.tobytes()
        pos = np.arange(len(d.loads))[::3]
        assert d.p_matrix[:, pos].tobytes() == full[:, pos].tobytes()
        assert d.p_sums(pos).tobytes() == full[:, pos].sum(axis=1).tobytes()
        assert d.peak is max(d.groups, key=lambda g: float(g.p_mw.sum()))
        # any groups (a subset, reversed, the normal state's) at any loads, as each group's row
        rows = np.arange(len(d.loads))[::-2]
        for picked in (list(d.groups), list(d.groups)[::-3], list(d.normal_groups)[:5], []):
            for q, of in ((False, "p_mw"), (True, "q_mvar")):
                want = np.array([getattr(g, of)[rows] for g in picked]).reshape(-1, len(rows))
                assert design_rows(picked, rows, q).tobytes(order="C") == want.tobytes()
        mixed = [StepGroup(g.times, g.p_mw.copy(), g.q_mvar.copy()) for g in d.groups[:2]]
        assert (
            design_rows([*mixed, *d.groups[2:4]], rows).tobytes(order="C")
            == np.array([g.p_mw[rows] for g in [*mixed, *d.groups[2:4]]]).tobytes()
        )


START = datetime(2016, 1, 1, tzinfo=UTC)
YEAR = Stage("a year", START, START + timedelta(days=365), ())
LARGE: Any = SimpleNamespace(
    net=SimpleNamespace(load=range(11_542), bus=range(10_458)), is_simbench=True
)


def _loads(profile: str) -> Loads:
    return Loads(protected=frozenset(), profile=profile)


def test_a_year_of_quarter_hours_at_10k_buses_is_estimated_under_2_gb() -> None:
    need = stage_bytes(35_040, 11_542, 10_458)
    assert need == 35_040 * (demand.BYTES_PER_STEP + demand.BYTES_PER_ELEMENT_STEP * 22_000)
    assert need < 2_000_000_000
    assert memory_problems([("stages[0]", YEAR)], LARGE, _loads("simbench")) == []


@pytest.mark.parametrize(
    ("buses", "years", "message"),
    [
        (
            100_000,
            1,
            "stage 'S' needs about 4.5 GB for 35,040 time steps x 11,542 loads and 100,000 "
            "buses (SimBench profiles are checked every quarter hour); the limit is 2.0 GB: "
            "split the stage into shorter stages",
        ),
        (
            10_458,
            2,
            "stage 'S' needs about 2.7 GB for 70,080 time steps x 11,542 loads and 10,458 "
            "buses (SimBench profiles are checked every quarter hour); the limit is 2.0 GB: "
            "split the stage into shorter stages",
        ),
    ],
)
def test_what_would_not_fit_in_2_gb_is_still_refused(buses: int, years: int, message: str) -> None:
    network: Any = SimpleNamespace(
        net=SimpleNamespace(load=range(11_542), bus=range(buses)), is_simbench=True
    )
    stage = Stage("S", START, START + timedelta(days=365 * years), ())
    assert memory_problems([("stages[0]", stage)], network, _loads("simbench")) == [
        ("stages[0]", message)
    ]
