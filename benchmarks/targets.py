"""Benchmark: the targets of issue #16 in one run, each row as now / target / met.

Rows (each a ratio measured side by side in one run, so that it survives a loaded machine):

- `plan`: `plan_case` of the reference case (and, with `--large`, the 10,458-bus SimBench case)
  as a multiple of one plain pandapower `runpp` of its network (`end_to_end.measure`).
- `engine`: our engine's model build and solve of a 336-hour series (`BatchModel` and its
  `solve`) against lightsim2grid's own time series (`LSGrid` built from the pandapower net, a
  DC start, `TimeSeriesCPP.compute_Vs` of the same 336 load vectors and `compute_flows`), on
  pandapower's MV Oberrhein (179 buses) and SimBench 1-MVLV-rural-all-0-sw (5,479 buses; 5,477
  once its closed bus-bus switches are fused, 5,483 with the open switches' ends), both with
  their switches folded into the tables (`fold_switches`); ratio = ours / lightsim2grid. Each
  engine is also compared with pandapower's Newton-Raphson at one hour. lightsim2grid is an
  optional comparison, never a dependency: where it is not importable the row says so, or
  `--lightsim-python PATH` measures the row in a child run by that interpreter (a venv with
  lightsim2grid; with it importable `runpp` switches to it, so the other rows stay in this
  process with its plain yardstick, which the first line names).
- `startup`: `python -c "import planner"` and `python -m planner --help`, each a fresh process
  (the median of `--starts`, interpreter start included), as multiples of one plain `runpp` of
  the reference network; also `from planner import plan_case` (the facade's first use, which
  imports the library and pandapower), without a target.
- `memory` (`--memory`, slow): the peak memory (a child's own: `peak_memory.own_peak_mb`) of
  planning one stage of `cases/simbench_mvlv_large.toml` given a year-long (8,760-hour) window,
  or the planner's own refusal with its estimate where it refuses the case up front: once hourly
  on the residential shape, once on SimBench's quarter hours (35,040 load states; minutes).

Run: `.venv/bin/python benchmarks/targets.py [--engine] [--startup] [--plan] [--memory]
[--large] [--all] [--clock wall|cpu] [--lightsim-python /tmp/bench16/venv/bin/python]`; with no
row named the quick rows run (engine, startup, plan of the reference case); `--all` runs every
row (the large plan takes minutes). A lightsim2grid venv for `--lightsim-python`:
`.venv/bin/python -m venv /tmp/ls && /tmp/ls/bin/pip install -e . lightsim2grid==1.2.0 simbench`.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandapower as pp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import end_to_end  # a sibling script, not a package
from peak_memory import own_peak_mb

ROOT = Path(__file__).resolve().parent.parent
STEPS = 336
ENGINE_GRIDS = (  # label, network, target (ours / lightsim2grid at most)
    ("MV Oberrhein, 179 buses", "mv_oberrhein", 1.5),
    ("SimBench 1-MVLV-rural-all-0-sw, 5,479 buses", "simbench:1-MVLV-rural-all-0-sw", 1.2),
)
PLAN_TARGETS = {end_to_end.REFERENCE: 120.0, end_to_end.LARGE: 100.0}
STARTUP_TARGET = 20.0
MEMORY_TARGET_MB = 2000.0
PLAN_CASE = "from planner import plan_case"  # the facade's first use imports the library
NOT_INSTALLED = "not measured (lightsim2grid not installed)"


@dataclass(frozen=True)
class Row:
    """One line of the table: what, the figure now, the target and whether it is met."""

    what: str
    now: str
    target: str
    met: bool | None  # None: not measured

    def line(self) -> str:
        met = "-" if self.met is None else ("yes" if self.met else "NO")
        return f"| {self.what} | {self.now} | {self.target} | {met} |"


# --- engine against lightsim2grid ---------------------------------------------------------


def engine_net(name: str) -> pp.pandapowerNet:
    """The grid of an engine row (a SimBench code or a `pandapower.networks` function), its
    switches folded (`fold_switches`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name.startswith("simbench:"):
            import simbench

            return fold_switches(simbench.get_simbench_net(name.removeprefix("simbench:")))
        import pandapower.networks as pn

        return fold_switches(getattr(pn, name)())


def fold_switches(net: pp.pandapowerNet) -> pp.pandapowerNet:
    """`net` with its switches folded into the tables, in place (lightsim2grid's pandapower
    reader ignores switches): the end of a line or transformer at an open switch goes to a new
    bus of its own (as pandapower models it internally), a closed bus-bus switch fuses its
    buses, then the switch table is emptied; the elements' power limits are made numbers
    (SimBench's are objects, which lightsim2grid's reader refuses). Both engines get this same
    network."""
    import pandapower.toolbox as tb

    sw = net.switch
    ends = {"line": ("from_bus", "to_bus"), "trafo": ("hv_bus", "lv_bus")}
    for table, et in (("line", "l"), ("trafo", "t")):
        for bus, element in sw.loc[(sw.et == et) & ~sw.closed.astype(bool), ["bus", "element"]]\
                .to_numpy(dtype=int):  # fmt: skip
            # the branch's end at an open switch goes to a bus of its own, as pandapower
            # models it: a line's charging and a transformer's magnetising stay
            dangling = pp.create_bus(net, net.bus.vn_kv.at[bus], name=f"open end {element}")
            for end in ends[table]:
                if net[table].at[element, end] == bus:
                    net[table].at[element, end] = dangling
                    break
    parent: dict[int, int] = {}

    def root(b: int) -> int:
        while parent.get(b, b) != b:
            b = parent[b]
        return b

    fused = sw[(sw.et == "b") & sw.closed.astype(bool)]
    for a, b in zip(fused.bus.to_numpy(), fused.element.to_numpy(), strict=True):
        ra, rb = root(int(a)), root(int(b))
        if ra != rb:
            parent[rb] = ra
    net.switch = net.switch.iloc[0:0]
    for table in ("sgen", "gen", "load", "storage"):  # SimBench keeps these as objects
        for col in ("min_p_mw", "max_p_mw", "min_q_mvar", "max_q_mvar"):
            if col in net[table]:
                net[table][col] = net[table][col].astype(float)
    groups: dict[int, set[int]] = {}
    for b in parent:
        groups.setdefault(root(b), set()).add(b)
    for keep, members in groups.items():
        tb.fuse_buses(net, keep, members - {keep})
    return net


def series(net: pp.pandapowerNet, steps: int = STEPS) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic hourly P and Q (steps x loads): a daily shape times a per-load spread."""
    rng = np.random.default_rng(16)
    hour = np.arange(steps) % 24
    shape = 0.65 + 0.35 * np.sin((hour - 6) / 24 * 2 * np.pi)
    factor = shape[:, None] * rng.uniform(0.8, 1.2, (steps, len(net.load)))
    scale = net.load.scaling.to_numpy(dtype=float)
    return (
        factor * net.load.p_mw.to_numpy(dtype=float) * scale,
        factor * net.load.q_mvar.to_numpy(dtype=float) * scale,
    )


def _ours(
    net: pp.pandapowerNet, p: np.ndarray, q: np.ndarray
) -> tuple[tuple[float, float], Any, Any]:
    """Seconds of our engine's model build and of its solve of every hour."""
    from planner.grid.engine import BatchModel

    work = copy.deepcopy(net)
    start = time.perf_counter()
    model = BatchModel(work)
    built = time.perf_counter()
    result = model.solve(p, q)
    return (built - start, time.perf_counter() - built), model, result


def _lightsim_parts(net: pp.pandapowerNet) -> list[tuple[pp.pandapowerNet, np.ndarray, Any]]:
    """The network's supplied parts, one pandapower net each with buses 0..n-1 (lightsim2grid
    makes the ext_grids of one model a distributed slack, so parts fed by different ext_grids
    are separate models), with the original bus ids and the positions of their loads."""
    import pandapower.toolbox as tb
    import pandapower.topology as top

    parts = []
    for buses in top.connected_components(top.create_nxgraph(net)):
        if not net.ext_grid.bus.isin(buses).any():
            continue
        sub = tb.select_subnet(net, buses)
        sub.bus = sub.bus.sort_index()
        original = sub.bus.index.to_numpy()
        tb.create_continuous_bus_index(sub)
        parts.append((sub, original, net.load.index.get_indexer(sub.load.index)))
    return parts


def _lightsim(
    parts: list[Any], p: np.ndarray, q: np.ndarray
) -> tuple[tuple[float, float], dict[int, np.ndarray]]:
    """Seconds of lightsim2grid building (`LSGrid` from the net and its DC start) and solving
    (`compute_Vs` and `compute_flows`) every part, and |V| per original bus and hour."""
    from lightsim2grid.network import init_from_pandapower
    from lightsim2grid.timeSerie import TimeSeriesCPP

    steps = p.shape[0]
    vm: dict[int, np.ndarray] = {}
    build = solve = 0.0
    for sub, original, cols in parts:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its notes on NaN tap data and the added slack
            grid = init_from_pandapower(sub, pp_orig_file="pandapower_v3")
        v_dc = grid.dc_pf(np.ones(grid.total_bus(), complex), 30, 1e-8)
        sgen = (sub.sgen.p_mw * sub.sgen.scaling).to_numpy(dtype=float)
        gen_p = np.tile([g.target_p_mw for g in grid.get_generators()], (steps, 1))
        built = time.perf_counter()
        computer = TimeSeriesCPP(grid)
        status = computer.compute_Vs(
            gen_p, np.tile(sgen, (steps, 1)), p[:, cols], q[:, cols], v_dc, 30, 1e-8
        )
        computer.compute_flows()
        done = time.perf_counter()
        build, solve = build + built - start, solve + done - built
        if status != 1 or computer.nb_solved() != steps:
            raise RuntimeError(f"lightsim2grid solved {computer.nb_solved()} of {steps} steps")
        volts = np.abs(computer.get_voltages())
        for i, bus in enumerate(original):
            vm[int(bus)] = volts[:, i]
    return (build, solve), vm


def engine_row(name: str, runs: int) -> dict[str, float]:
    """Ours and lightsim2grid on one grid: medians of `runs`, interleaved, and the largest
    voltage difference between them over every bus and hour."""
    net = engine_net(name)
    p, q = series(net)
    parts = _lightsim_parts(net)
    ours: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    for _ in range(runs):
        seconds, model, result = _ours(net, p, q)
        ours.append(seconds)
        seconds, vm = _lightsim(parts, p, q)
        theirs.append(seconds)
    buses = [int(b) for b in model.bus_ids]
    dvm = max(float(np.abs(result.vm_pu[:, j] - vm[bus]).max()) for j, bus in enumerate(buses))
    hour = p.shape[0] // 2  # each engine against pandapower's own Newton-Raphson at one hour
    ref = copy.deepcopy(net)
    ref.load["p_mw"], ref.load["q_mvar"], ref.load["scaling"] = p[hour], q[hour], 1.0
    pp.runpp(ref, numba=False, lightsim2grid=False, tolerance_mva=1e-10)
    exact = ref.res_bus.vm_pu.loc[buses].to_numpy()
    ours_runpp = float(np.abs(result.vm_pu[hour] - exact).max())
    lightsim_runpp = float(np.abs(np.array([vm[b][hour] for b in buses]) - exact).max())

    def median_ms(times: list[tuple[float, float]], part: int | None) -> float:
        return 1000.0 * statistics.median(sum(t) if part is None else t[part] for t in times)

    return {
        "buses": float(len(net.bus)),
        "ours_ms": median_ms(ours, None),
        "ours_build_ms": median_ms(ours, 0),
        "ours_solve_ms": median_ms(ours, 1),
        "lightsim_ms": median_ms(theirs, None),
        "lightsim_build_ms": median_ms(theirs, 0),
        "lightsim_solve_ms": median_ms(theirs, 1),
        "ratio": median_ms(ours, None) / median_ms(theirs, None),
        "dvm_pu": dvm,
        "ours_runpp_dvm_pu": ours_runpp,
        "lightsim_runpp_dvm_pu": lightsim_runpp,
        "converged": float(bool(result.converged.all())),
    }


def engine_rows(runs: int, python: str | None) -> list[Row]:
    rows = []
    for label, name, target in ENGINE_GRIDS:
        what = f"engine build+solve, {STEPS} hours, vs lightsim2grid: {label}"
        if importlib.util.find_spec("lightsim2grid") is not None:
            m = engine_row(name, runs)
        elif python:
            cmd = [python, __file__, "--engine-child", name, "--runs", str(runs)]
            done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            if done.returncode != 0:
                last = (done.stderr.strip().splitlines() or [""])[-1]
                now = f"not measured ({python} exit {done.returncode}: {last!r})"
                rows.append(Row(what, now, f"<= {target}x", None))
                continue
            m = json.loads(done.stdout.strip().splitlines()[-1])
        else:
            rows.append(Row(what, NOT_INSTALLED, f"<= {target}x", None))
            continue
        now = (
            f"{m['ratio']:.2f}x (ours {m['ours_build_ms']:.0f}+{m['ours_solve_ms']:.0f} ms, "
            f"lightsim2grid {m['lightsim_build_ms']:.0f}+{m['lightsim_solve_ms']:.0f} ms "
            f"build+solve; max dV between them {m['dvm_pu']:.0e} pu, against runpp "
            f"{m['ours_runpp_dvm_pu']:.0e} and {m['lightsim_runpp_dvm_pu']:.0e} pu)"
        )
        rows.append(Row(what, now, f"<= {target}x", m["ratio"] <= target))
    return rows


# --- start-up ------------------------------------------------------------------------------


def _fresh(cmd: list[str], starts: int) -> float:
    """Median seconds of `cmd` run in a fresh process `starts` times: wall seconds, or with
    `--clock cpu` the child's CPU seconds (user and system), as the yardstick is timed."""
    cpu = end_to_end.clock is time.process_time
    times = []
    for _ in range(starts):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        times.append(used if cpu else wall)
    return statistics.median(times)


def startup_rows(starts: int, runs: int) -> list[Row]:
    import planner

    net = planner.load_case(ROOT / end_to_end.REFERENCE).network.net
    yard = end_to_end._yardstick(net, runs)
    rows = []
    for what, cmd in (
        ("`import planner`", [sys.executable, "-c", "import planner"]),
        ("`planner --help`", [sys.executable, "-m", "planner", "--help"]),
        ("`from planner import plan_case` (no target)", [sys.executable, "-c", PLAN_CASE]),
    ):
        seconds = _fresh(cmd, starts)
        yard += end_to_end._yardstick(net, runs)
        ratio = seconds / statistics.median(yard)
        now = f"{ratio:.0f} runpp ({seconds:.2f} s)"
        if "no target" in what:
            rows.append(Row(what, now, "-", None))
        else:
            rows.append(Row(what, now, f"<= {STARTUP_TARGET:.0f} runpp", ratio <= STARTUP_TARGET))
    return rows


# --- plans ---------------------------------------------------------------------------------


def plan_rows(cases: list[str], plans: int, runs: int) -> Iterator[Row]:
    """One row per case, each as soon as it is measured: `plans` plans of each (the first plan
    of a process also pays for the modules it imports on first use), each against the yardstick
    runs around it; the median ratio, and the plans' range (`end_to_end.measure`)."""
    for path in cases:
        m = end_to_end.measure(path, plans, runs)
        target = PLAN_TARGETS.get(path)
        now = (
            f"{end_to_end.ratio_text(m)} runpp ({m['plan_s']:.1f} s, runpp {m['runpp_ms']:.0f} ms"
            f"{'' if plans == 1 else f'; median of {plans} plans'})"
        )
        yield Row(
            f"`plan_case` {path} ({m['buses']:,.0f} buses)",
            now,
            "-" if target is None else f"<= {target:.0f} runpp",
            None if target is None else m["ratio"] <= target,
        )


# --- memory of a year-long window ----------------------------------------------------------


def year_case(directory: Path, profile: str = "residential") -> Path:
    """`cases/simbench_mvlv_large.toml` with its first stage only, 8,760 hours long: checked
    hourly on the built-in residential shape (whose days repeat: a few dozen distinct load
    states), or with `profile="simbench"` on the network's own profiles, a quarter hour each
    (2016 has 8,784 hours: the window ends inside it), 35,040 distinct load states."""
    import tomli_w

    data = tomllib.loads((ROOT / end_to_end.LARGE).read_text(encoding="utf-8"))
    stage = data["stages"][0]
    if profile == "simbench":
        stage["start"] = stage["start"].replace(month=1, day=1, hour=1)
    stage["end"] = stage["start"] + timedelta(hours=8760)
    data["stages"] = [stage]
    data["loads"]["profile"] = profile
    path = directory / f"year_window_{profile}.toml"
    path.write_bytes(tomli_w.dumps(data).encode("utf-8"))
    return path


def memory_child(path: str) -> dict[str, Any]:
    """In the child: plan the case's one stage; its peak RSS, or the planner's refusal."""
    import planner
    from planner.core.errors import CaseError
    from planner.decide.planning import plan_stage
    from planner.grid.context import StageContext

    try:
        case = planner.load_case(path)
    except CaseError as exc:
        return {"refused": [p.message for p in exc.problems]}
    start = time.perf_counter()
    plan_stage(StageContext.build(case, case.stages[0]))
    peak_mb = own_peak_mb()  # not ru_maxrss: a child's counts its parent's memory at the fork
    return {"peak_mb": peak_mb, "seconds": time.perf_counter() - start}


def memory_rows(profiles: tuple[str, ...] = ("residential", "simbench")) -> list[Row]:
    """One row per profile of `year_case`: hourly residential, and SimBench quarter hours (the
    harder: every one of its 35,040 load states is solved and checked; minutes)."""
    rows = []
    for profile in profiles:
        what = (
            "peak memory, one stage of simbench_mvlv_large with a year-long window (10,458 "
            + ("buses, hourly residential shape)" if profile == "residential" else
               "buses, SimBench quarter hours: 35,040 load states)")
        )  # fmt: skip
        target = f"<= {MEMORY_TARGET_MB:,.0f} MB"
        with tempfile.TemporaryDirectory(prefix="targets-") as tmp:
            case = year_case(Path(tmp), profile)
            cmd = [sys.executable, __file__, "--memory-child", str(case)]
            done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            rows.append(Row(what, f"child failed (exit {done.returncode})", target, False))
            continue
        m = json.loads(done.stdout.strip().splitlines()[-1])
        if "refused" in m:
            rows.append(Row(what, "refused up front: " + "; ".join(m["refused"]), target, False))
            continue
        now = f"{m['peak_mb']:,.0f} MB ({m['seconds']:.0f} s)"
        rows.append(Row(what, now, target, m["peak_mb"] <= MEMORY_TARGET_MB))
    return rows


# --- the table -----------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for row in ("engine", "startup", "plan", "memory"):
        parser.add_argument(f"--{row}", action="store_true", help=f"the {row} row(s)")
    parser.add_argument("--large", action="store_true", help=f"plan row of {end_to_end.LARGE}")
    parser.add_argument("--all", action="store_true", help="every row (slow)")
    parser.add_argument("--lightsim-python", help="interpreter with lightsim2grid for the engine")
    parser.add_argument("--runs", type=int, default=3, help="engine runs / yardstick runs")
    parser.add_argument("--starts", type=int, default=5, help="fresh processes per start-up row")
    parser.add_argument("--plans", type=int, default=3, help="plans per case (median)")
    parser.add_argument(
        "--clock",
        choices=sorted(end_to_end.CLOCKS),
        default="wall",
        help="the plan rows' clock (as end_to_end.py: cpu is steadier on a shared machine)",
    )
    parser.add_argument("--engine-child", help=argparse.SUPPRESS)
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    end_to_end.clock = end_to_end.CLOCKS[args.clock]
    if args.engine_child:
        print(json.dumps(engine_row(args.engine_child, args.runs)))
        return 0
    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child)))
        return 0
    chosen = {r for r in ("engine", "startup", "plan", "memory") if getattr(args, r)}
    if args.all:
        chosen = {"engine", "startup", "plan", "memory"}
    elif not chosen:
        chosen = {"engine", "startup", "plan"}
    yard_runs = max(args.runs, 10)
    print(
        f"pandapower {pp.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.2f}; yardstick runpp: {end_to_end._solver()}; plan rows' "
        f"clock: {args.clock}"
    )
    print("| | now | target | met? |")
    print("|---|---|---|---|")
    measured = {
        "plan": lambda: plan_rows(
            [end_to_end.REFERENCE, *([end_to_end.LARGE] if args.large or args.all else [])],
            args.plans,
            yard_runs,
        ),
        "engine": lambda: engine_rows(args.runs, args.lightsim_python),
        "memory": memory_rows,
        "startup": lambda: startup_rows(args.starts, yard_runs),
    }
    verdicts = []
    for name, rows in measured.items():
        if name in chosen:
            for measured_row in rows():
                print(measured_row.line(), flush=True)
                verdicts.append(measured_row.met)
    missed = verdicts.count(False)
    unmeasured = verdicts.count(None)
    print(f"\ntargets missed: {missed}; rows not measured or without a target: {unmeasured}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
