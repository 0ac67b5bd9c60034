"""The #16 targets benchmark (benchmarks/targets.py): the network both engines get is the one
pandapower solves, the rows say when lightsim2grid is missing, the year-long case is the one
described and a refusal is reported as the planner gives it. Nothing here is timed."""

from __future__ import annotations

import copy
import importlib.util
import statistics
import subprocess
import sys
import tomllib
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pytest

from planner.grid.engine import BatchModel
from tests.conftest import CASES

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _targets() -> ModuleType:
    spec = importlib.util.spec_from_file_location("targets", BENCHMARKS / "targets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["targets"] = module
    spec.loader.exec_module(module)
    return module


targets = _targets()


def _switched_net() -> pp.pandapowerNet:
    """Five buses: a closed bus-bus coupler (1-2), an open line switch (line 2-3 open at 3)
    with bus 4 fed through line 2-4, a closed line switch on line 1-4: fed 0-1=2-4, 3 dead."""
    net = pp.create_empty_network()
    buses = [pp.create_bus(net, 20.0, name=f"B{i}") for i in range(5)]
    pp.create_ext_grid(net, buses[0])
    std = "NA2XS2Y 1x95 RM/25 12/20 kV"
    pp.create_line(net, buses[0], buses[1], 1.0, std)
    l23 = pp.create_line(net, buses[2], buses[3], 1.0, std)
    pp.create_line(net, buses[2], buses[4], 1.5, std)
    l14 = pp.create_line(net, buses[1], buses[4], 2.0, std)
    pp.create_switch(net, buses[1], buses[2], "b", closed=True)
    pp.create_switch(net, buses[3], l23, "l", closed=False)
    pp.create_switch(net, buses[1], l14, "l", closed=True)
    for bus, p_mw in ((2, 1.5), (3, 0.4), (4, 2.0)):
        pp.create_load(net, buses[bus], p_mw, p_mw * 0.3)
    pp.create_sgen(net, buses[4], 0.5, 0.0)
    return net


def test_folding_switches_keeps_the_physics() -> None:
    net = _switched_net()
    folded = targets.fold_switches(copy.deepcopy(net))
    assert len(folded.switch) == 0
    assert sorted(folded.bus.index) == [0, 1, 3, 4, 5]  # bus 2 fused into bus 1
    assert folded.bus.name[5] == "open end 1"  # line 1's end at the open switch, alone
    assert folded.line[["from_bus", "to_bus"]].to_numpy().tolist() == [
        [0, 1],
        [1, 5],
        [1, 4],
        [1, 4],
    ]
    pp.runpp(net, numba=False, lightsim2grid=False)
    pp.runpp(folded, numba=False, lightsim2grid=False)
    for bus in (0, 1, 4):
        assert folded.res_bus.vm_pu[bus] == pytest.approx(net.res_bus.vm_pu[bus], abs=1e-9)
    assert folded.res_bus.vm_pu[1] == pytest.approx(net.res_bus.vm_pu[2], abs=1e-9)


def test_oberrhein_folded_solves_as_pandapower_solves_the_original() -> None:
    """The engine row's 179-bus grid: the engine on the folded network (what both engines get)
    agrees with runpp on pandapower's own network, switches and all, at 1e-6 pu."""
    original = pn.mv_oberrhein()
    folded = targets.fold_switches(copy.deepcopy(original))
    assert len(folded.switch) == 0
    assert (len(original.bus), len(folded.bus)) == (179, 179 + 6)  # the open ring switches' ends
    p, q = targets.series(folded, 4)
    result = BatchModel(copy.deepcopy(folded)).solve(p, q)
    assert result.converged.all()
    ref = copy.deepcopy(original)
    ref.load["p_mw"], ref.load["q_mvar"], ref.load["scaling"] = p[3], q[3], 1.0
    pp.runpp(ref, numba=False, lightsim2grid=False)
    model = BatchModel(copy.deepcopy(folded))
    kept = np.isin(model.bus_ids, original.bus.index)  # not the open ends added
    assert kept.sum() == 179
    vm = ref.res_bus.vm_pu.loc[model.bus_ids[kept]].to_numpy()
    assert np.abs(result.vm_pu[3][kept] - vm).max() < 1e-6


def test_series_is_the_daily_shape_times_a_fixed_spread() -> None:
    net = pn.mv_oberrhein()
    p, q = targets.series(net)
    again, _ = targets.series(net)
    assert p.shape == q.shape == (336, 147)
    assert np.array_equal(p, again)
    base = (net.load.p_mw * net.load.scaling).to_numpy()
    spread = p / base
    assert spread[6].min() >= 0.65 * 0.8 and spread[6].max() <= 0.65 * 1.2  # 06:00: 0.65
    assert spread[12].min() >= 1.0 * 0.8 and spread[12].max() <= 1.0 * 1.2  # noon: the peak
    assert np.allclose(q / p, (net.load.q_mvar / net.load.p_mw).to_numpy())


@pytest.mark.skipif(
    importlib.util.find_spec("lightsim2grid") is not None, reason="lightsim2grid is installed"
)
def test_engine_rows_without_lightsim2grid_say_so() -> None:
    rows = targets.engine_rows(1, None)
    assert [row.line() for row in rows] == [
        "| engine build+solve, 336 hours, vs lightsim2grid: MV Oberrhein, 179 buses "
        "| not measured (lightsim2grid not installed) | <= 1.5x | - |",
        "| engine build+solve, 336 hours, vs lightsim2grid: SimBench 1-MVLV-rural-all-0-sw, "
        "5,479 buses | not measured (lightsim2grid not installed) | <= 1.2x | - |",
    ]


def test_rows_read_met_or_not() -> None:
    assert targets.Row("a", "1x", "<= 2x", True).line() == "| a | 1x | <= 2x | yes |"
    assert targets.Row("a", "3x", "<= 2x", False).line() == "| a | 3x | <= 2x | NO |"


def test_year_case_is_one_stage_of_8760_hours_checked_hourly(tmp_path: Path) -> None:
    path = targets.year_case(tmp_path)
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    (stage,) = data["stages"]
    assert stage["name"] == "MV3.101 Line 5 re-cabled"
    assert stage["end"] - stage["start"] == timedelta(hours=8760)
    assert data["loads"]["profile"] == "residential"
    assert data["case"]["network"] == "simbench:1-MVLV-rural-all-0-sw".replace("rural", "urban")


def test_memory_child_reports_the_planners_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A case the planner refuses up front for its memory estimate (here the reference case
    with a year-long stage, under a 10 MB limit): the row gives the planner's own message
    (stage, estimate, limit) rather than a measurement."""
    import tomli_w

    from planner.inputs import demand

    monkeypatch.setattr(demand, "MEMORY_LIMIT_BYTES", 10_000_000)
    data = tomllib.loads((CASES / "dashiqiao.toml").read_text(encoding="utf-8"))
    stage = data["stages"][0]
    stage["end"] = stage["start"] + timedelta(hours=8760)
    data["stages"] = [stage]
    data["case"]["network"] = str((CASES / data["case"]["network"]).resolve())
    case = tmp_path / "year.toml"
    case.write_text(tomli_w.dumps(data), encoding="utf-8")
    result = targets.memory_child(str(case))
    (message,) = result["refused"]
    assert message.startswith(f"stage {stage['name']!r} needs about ")
    assert "for 8,760 time steps x " in message
    assert message.endswith("the limit is 10.0 MB: split the stage into shorter stages")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux's accounting")
def test_a_childs_peak_memory_is_its_own_not_its_parents() -> None:
    """A child of a process holding 400 MB: the kernel's `ru_maxrss` of the child carries the
    parent's memory over the fork and exec; `own_peak_mb` (the memory row's measure) and
    `planner_peak` (bench.py's) report the child's own."""
    import peak_memory

    held = b"\x01" * (400 * 2**20)  # resident in this process (written, not only reserved)
    code = (
        f"import resource, sys; sys.path.insert(0, {str(BENCHMARKS)!r}); "
        "from peak_memory import own_peak_mb; "
        "print(own_peak_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    own_mb, maxrss_mb = map(float, done.stdout.split())
    assert maxrss_mb > 400.0  # what the memory row reported before
    assert 1.0 < own_mb < 100.0
    exit_code, planner_mb, written = peak_memory.planner_peak(["--help"], BENCHMARKS.parent)
    assert exit_code == 0
    assert "plan" in written and "PEAK_MB" not in written  # the help, without the peak's line
    assert 10.0 < planner_mb < 300.0
    assert len(held) == 400 * 2**20


class _Drifting:
    """A machine that slows down between plans: each plan's seconds and the yardstick runs
    around it, on a fake clock."""

    def __init__(self, plans_s: list[float], yards_s: list[list[float]]) -> None:
        self.now, self.plans_s, self.yards_s = 0.0, list(plans_s), list(yards_s)

    def clock(self) -> float:
        return self.now

    def plan_case(self, case: object) -> None:
        self.now += self.plans_s.pop(0)

    def yardstick(self, net: object, runs: int) -> list[float]:
        return self.yards_s.pop(0)


@pytest.mark.parametrize(
    ("plans_s", "yards_s", "ratio", "low", "high", "text"),
    [
        # the machine twice as slow for the second plan: each plan 100 runpp of its own time
        ([10.0, 20.0], [[0.1, 0.1], [0.1, 0.2, 0.2], [0.2, 0.2]], 100.0, 100.0, 100.0, "100"),
        # three plans against the runs around each: 50 / 0.5, 60 / 0.4, 40 / 0.4
        ([50.0, 60.0, 40.0], [[0.5], [0.5], [0.3], [0.5]], 100.0, 100.0, 150.0, "100 (100-150)"),
    ],
)
def test_each_plan_is_measured_against_the_yardstick_runs_around_it(
    monkeypatch: pytest.MonkeyPatch,
    plans_s: list[float],
    yards_s: list[list[float]],
    ratio: float,
    low: float,
    high: float,
    text: str,
) -> None:
    end_to_end = sys.modules["end_to_end"]
    machine = _Drifting(plans_s, yards_s)
    monkeypatch.setattr(end_to_end, "clock", machine.clock)
    monkeypatch.setattr(end_to_end, "_yardstick", machine.yardstick)
    monkeypatch.setattr(end_to_end.planner, "plan_case", machine.plan_case)
    m = end_to_end.measure(str(CASES / "dashiqiao.toml"), len(plans_s), 1)
    assert (m["ratio"], m["ratio_low"], m["ratio_high"]) == pytest.approx((ratio, low, high))
    assert end_to_end.ratio_text(m) == text
    assert m["plan_s"] == pytest.approx(statistics.median(plans_s))
    assert not machine.plans_s and not machine.yards_s  # a yardstick group before and after each
