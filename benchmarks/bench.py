"""Benchmark: hourly verification with the batched engine against a plain pandapower loop.

For each network, the state of one planned stage (works, switching, trucks) is verified at the
same hourly design loads twice: by `planner.grid.engine.BatchModel` (the planner's engine) and by a
plain loop of pandapower `runpp` calls (truck islands with the explicit sharing iterations of
`planner.grid.powerflow.solve_island`). Printed per network: steps, time per step of each, the ratio
and the largest differences. Then `planner plan` end to end on each case, in a child process,
with its wall time and peak memory.

Run: `make bench` (or `.venv/bin/python benchmarks/bench.py [--steps 336] [--baseline-steps N]`).
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

import planner
from planner.decide.planning import plan_stage
from planner.grid.context import StageContext
from planner.grid.engine import BatchModel
from planner.grid.powerflow import prepare_island, run, solve_island
from planner.grid.state import apply_switching
from planner.grid.topology import build_graph, energised_buses, islands_of
from planner.inputs.demand import design_matrix
from planner.inputs.profiles import hours_of

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peak_memory import planner_peak

ROOT = Path(__file__).resolve().parent.parent
NETWORKS = [
    ("reference (Dashiqiao)", "cases/dashiqiao.toml", 1),
    ("mv_oberrhein feeder", "cases/oberrhein_trucks.toml", 0),
    ("SimBench MV+LV (large)", "cases/simbench_mvlv_large.toml", 2),
]


def _state(case: planner.Case, stage_index: int):  # type: ignore[no-untyped-def]
    """The planned state of a stage: grid net and truck islands (sub-nets with trucks)."""
    ctx = StageContext.build(case, case.stages[stage_index])
    _, check = plan_stage(ctx)
    net = copy.deepcopy(ctx.works_net)
    apply_switching(net, check.setup.switching)
    graph = build_graph(net)
    unfed = ctx.base_energised - energised_buses(graph)
    islands = []
    for buses in islands_of(graph, unfed):
        trucks = [t for t in check.setup.trucks if t.bus in buses]
        if trucks:
            served = {i for i in ctx.loads_on(buses) if i in ctx.protected}
            shed = set(ctx.loads_on(buses)) - served
            sub = prepare_island(net, buses, trucks, case.fleet.vm_setpoint_pu, False, shed)
            islands.append((sub, trucks))
    return ctx, net, islands


def _engine(case, net, islands, p, q):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    grid = BatchModel(copy.deepcopy(net))
    res = grid.solve(p, q)
    out = [
        (
            grid.bus_ids,
            res.vm_pu,
            grid.lines,
            res.line_loading_percent,
            grid.trafos,
            res.trafo_loading_percent,
        )
    ]
    for sub, trucks in islands:
        idx = [int(i) for t in trucks[1:] for i in sub.sgen.index[sub.sgen.name == t.id]]
        model = BatchModel(copy.deepcopy(sub), idx)
        pos = np.asarray(net.load.index.get_indexer(sub.load.index))
        r = model.solve(p[:, pos], q[:, pos], None, np.array([t.rating_kva for t in trucks]))
        out.append(
            (
                model.bus_ids,
                r.vm_pu,
                model.lines,
                r.line_loading_percent,
                model.trafos,
                r.trafo_loading_percent,
            )
        )
    return time.perf_counter() - start, out


def _runpp_loop(net, islands, p, q, steps):  # type: ignore[no-untyped-def]
    grid = copy.deepcopy(net)
    grid.load["scaling"] = 1.0
    subs = [(copy.deepcopy(sub), trucks) for sub, trucks in islands]
    for sub, _ in subs:
        sub.load["scaling"] = 1.0
    results = []
    start = time.perf_counter()
    for k in steps:
        grid.load["p_mw"], grid.load["q_mvar"] = p[k], q[k]
        error = run(grid)
        assert not error, error
        parts = [
            (
                grid.res_bus.vm_pu.copy(),
                grid.res_line.loading_percent.copy(),
                grid.res_trafo.loading_percent.copy(),
            )
        ]
        for sub, trucks in subs:
            pos = np.asarray(net.load.index.get_indexer(sub.load.index))
            sub.load["p_mw"], sub.load["q_mvar"] = p[k, pos], q[k, pos]
            sol = solve_island(sub, trucks)
            assert sol.converged, sol.error
            parts.append(
                (
                    sub.res_bus.vm_pu.copy(),
                    sub.res_line.loading_percent.copy(),
                    sub.res_trafo.loading_percent.copy(),
                )
            )
        results.append(parts)
    return time.perf_counter() - start, results


def _compare(engine_out, loop_out, steps) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    dvm = dload = 0.0
    for row, k in enumerate(steps):
        for (buses, vm, lines, line, trafos, trafo), (rvm, rline, rtrafo) in zip(
            engine_out, loop_out[row], strict=True
        ):
            dvm = max(dvm, float(np.abs(vm[k] - rvm.loc[buses].to_numpy()).max(initial=0)))
            if len(lines):
                dload = max(dload, float(np.abs(line[k] - rline.loc[lines].to_numpy()).max()))
            if len(trafos):
                dload = max(dload, float(np.abs(trafo[k] - rtrafo.loc[trafos].to_numpy()).max()))
    return dvm, dload


def verification_benchmark(steps: int, baseline_steps: int | None) -> list[str]:
    rows = [
        f"{'network':<26}{'buses':>7}{'steps':>7}{'engine ms/step':>16}"
        f"{'runpp ms/step':>15}{'ratio':>8}{'max |dvm| pu':>14}{'max |dload| %':>15}"
    ]
    for name, case_file, stage_index in NETWORKS:
        case = planner.load_case(ROOT / case_file)
        ctx, net, islands = _state(case, stage_index)
        times = hours_of(ctx.stage.start, ctx.stage.start + timedelta(hours=steps))
        p, q = design_matrix(case, net, times)
        engine_s, engine_out = _engine(case, net, islands, p, q)
        every = 1 if baseline_steps is None else max(1, steps // baseline_steps)
        sample = list(range(0, steps, every))
        loop_s, loop_out = _runpp_loop(net, islands, p, q, sample)
        dvm, dload = _compare(engine_out, loop_out, sample)
        per_engine = engine_s / steps * 1000
        per_loop = loop_s / len(sample) * 1000
        rows.append(
            f"{name:<26}{len(net.bus):>7}{steps:>7}{per_engine:>16.3f}{per_loop:>15.2f}"
            f"{per_loop / per_engine:>8.1f}{dvm:>14.2e}{dload:>15.2e}"
        )
        print(rows[-1], flush=True)
    return rows


def planning_benchmark() -> list[str]:
    rows = [f"{'case':<40}{'stages':>7}{'hours':>7}{'wall s':>9}{'peak MB':>9}"]
    for case_file in ("cases/dashiqiao.toml", "cases/simbench_mvlv_large.toml"):
        case = planner.load_case(ROOT / case_file)
        hours = sum(len(hours_of(s.start, s.end)) for s in case.stages)
        out = Path("/tmp") / f"bench-{Path(case_file).stem}"
        args = ["plan", case_file, "--out", str(out), "--force"]
        start = time.perf_counter()
        code, peak_mb, _ = planner_peak(args, ROOT)  # the child's own peak, not its ru_maxrss
        wall = time.perf_counter() - start
        rows.append(
            f"{case_file:<40}{len(case.stages):>7}{hours:>7}{wall:>9.1f}{peak_mb:>9.0f}"
            + ("" if code == 0 else f"  exit {code}")
        )
        print(rows[-1], flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=336, help="hourly steps (default 336)")
    parser.add_argument(
        "--baseline-steps",
        type=int,
        default=None,
        help="time the runpp loop on this many evenly spread steps only",
    )
    args = parser.parse_args()
    logging.getLogger("pandapower").setLevel(logging.ERROR)
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"planner {planner.__version__}\n"
    )
    print("Hourly verification, engine vs plain runpp loop")
    verification_benchmark(args.steps, args.baseline_steps)
    print("\nPlanning end to end (`planner plan`, child process)")
    planning_benchmark()
    return 0


if __name__ == "__main__":
    sys.exit(main())
