"""Property tests: perturbed networks and large inputs end in a plan or the planner's own error."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pandapower as pp
import pandapower.networks as pn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import planner
from planner.core.errors import PlannerError
from tests.conftest import ROOT

BENCHMARKS = ROOT / "benchmarks"

CASE = """[case]
name = "perturbed"
network = "net.json"
[limits]
vm_min_pu = 0.85
vm_max_pu = 1.15
[fleet]
trucks = 3
rating_kw = 1000.0
[[connection_points]]
bus = "bus:Bus 5"
bays = 2
[[connection_points]]
bus = "bus:Bus 9"
bays = 2
[loads]
scaling = 0.6
[[stages]]
name = "Line 3-4 out"
start = 2025-08-05T07:00:00+02:00
end = 2025-08-05T10:00:00+02:00
out_of_service = ["line:Line 3-4"]
[[stages]]
name = "Line 8-9 out"
start = 2025-08-06T07:00:00+02:00
end = 2025-08-06T10:00:00+02:00
out_of_service = ["line:Line 8-9"]
"""

perturbation = st.one_of(
    st.tuples(
        st.just("line"),
        st.integers(0, 14),
        st.sampled_from(["length_km", "r_ohm_per_km", "x_ohm_per_km", "max_i_ka"]),
        st.one_of(st.floats(-1, 60), st.just(math.nan), st.just(0.0)),
    ),
    st.tuples(
        st.just("load"),
        st.integers(0, 17),
        st.sampled_from(["p_mw", "q_mvar", "scaling"]),
        st.one_of(st.floats(-2, 40), st.just(math.nan)),
    ),
    st.tuples(st.just("line"), st.integers(0, 14), st.just("in_service"), st.booleans()),
    st.tuples(st.just("switch"), st.integers(0, 7), st.just("closed"), st.booleans()),
    st.tuples(
        st.just("bus"),
        st.integers(1, 14),
        st.sampled_from(["in_service", "vn_kv"]),
        st.one_of(st.booleans(), st.floats(-1, 40)),
    ),
    st.tuples(
        st.just("trafo"),
        st.integers(0, 1),
        st.sampled_from(["sn_mva", "vk_percent"]),
        st.floats(-1, 60),
    ),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(perturbation, min_size=1, max_size=6))
def test_perturbed_networks_end_in_a_plan_or_a_planner_error(tmp_path_factory, changes) -> None:  # type: ignore[no-untyped-def]
    folder = Path(tmp_path_factory.mktemp("perturbed"))
    net = pn.create_cigre_network_mv()
    for table, index, field, value in changes:
        net[table].at[index, field] = value
    pp.to_json(net, str(folder / "net.json"))
    (folder / "case.toml").write_text(CASE)
    try:
        case = planner.load_case(folder / "case.toml")
    except PlannerError as exc:
        assert str(exc)
        return
    plan = planner.plan_case(case)
    data = json.loads(plan.to_json())
    assert data["format"] == "planner.plan/1"
    for stage in data["stages"]:
        if not stage["verification"]["passed"]:
            assert stage["verification"]["violations"], "a failed stage says why"
    if not data["feasible"]:
        assert any(s["verification"]["violations"] for s in data["stages"])


def _peak_mb(args: list[str]) -> tuple[int, float, str]:
    """`planner ARGS` in a child, with its own peak memory (benchmarks/peak_memory.py: the
    kernel's ru_maxrss of a child also counts the forking pytest process's memory)."""
    spec = importlib.util.spec_from_file_location("peak_memory", BENCHMARKS / "peak_memory.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    code, peak_mb, out = module.planner_peak(args, ROOT, timeout_s=3000)
    return int(code), float(peak_mb), str(out)


def test_dozens_of_stages_plan_with_bounded_memory(tmp_path: Path) -> None:
    lines = [12, 20, 21, 29, 30, 48, 49, 51, 64, 68, 69, 91, 7, 10, 11]
    stages = []
    for k in range(36):
        day = 1 + k // 3
        hour = 6 + 5 * (k % 3)
        stages.append(
            f'[[stages]]\nname = "works {k}"\n'
            f"start = 2025-06-{day:02d}T{hour:02d}:00:00+02:00\n"
            f"end = 2025-06-{day:02d}T{hour + 4:02d}:00:00+02:00\n"
            f'out_of_service = ["line:Line {lines[k % len(lines)]}"]\n'
        )
    text = (
        '[case]\nname = "36 stages"\nnetwork = "pandapower:mv_oberrhein"\n'
        "[fleet]\ntrucks = 4\n" + "\n".join(stages)
    )
    (tmp_path / "case.toml").write_text(text)
    code, peak_mb, out = _peak_mb(
        ["plan", str(tmp_path / "case.toml"), "--out", str(tmp_path / "out")]
    )
    assert code in (0, 1), out
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert len(plan["stages"]) == 36
    assert peak_mb < 500, f"peak memory {peak_mb:.0f} MB"  # about 250 MB measured


def test_a_network_of_thousands_of_buses_plans_with_bounded_memory(tmp_path: Path) -> None:
    text = (ROOT / "cases" / "simbench_mvlv_large.toml").read_text()
    text = text.split("[[stages]]")[0] + "[[stages]]" + text.split("[[stages]]")[3]
    text = text.replace("2016-03-29T06", "2016-03-23T06")  # one day of the third stage
    (tmp_path / "case.toml").write_text(text)
    code, peak_mb, out = _peak_mb(
        ["plan", str(tmp_path / "case.toml"), "--out", str(tmp_path / "out")]
    )
    assert code == 0, out
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert plan["feasible"] and plan["fleet"]["trucks_used"] >= 1
    assert peak_mb < 2000, f"peak memory {peak_mb:.0f} MB"
