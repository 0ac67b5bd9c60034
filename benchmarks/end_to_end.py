"""Benchmark: `plan_case` end to end as a multiple of one plain pandapower `runpp`.

Measured side by side in one process, so that the ratio survives a loaded machine: the case's
network solved by a plain `pandapower.runpp` (the yardstick: `--runs` runs before the first
plan and after each), and `planner.plan_case` of the case (`--plans` runs), each plan's ratio
against the yardstick runs just before and after it. Printed per case: the yardstick's
milliseconds (the median of all its runs) and what pandapower used for it (numba,
lightsim2grid), the plan's seconds (the median), the ratio (the plan in "runpp equivalents":
the median of the plans' ratios, with their range when there are several), and how many
pandapower `runpp` and short-circuit (`calc_sc`) runs and deep copies of whole networks the plan
made (counted in the last of its runs). Each plan starts with an empty short-circuit memo
(`planner.grid.faults.fault_memo`), as in a fresh process.

Run: `.venv/bin/python benchmarks/end_to_end.py [--large] [--case PATH ...] [--plans N]
[--runs N] [--clock wall|cpu]`; `--large` adds `cases/simbench_mvlv_large.toml` (10,458 buses)
to the reference case, `--case` (repeatable) runs the cases named instead, e.g. `--case
cases/dashiqiao.toml` for the reference row alone. `--clock cpu` times both the yardstick and
the plan in the process's CPU time, which other processes on a shared machine disturb less than
the wall clock (the ratio is then CPU against CPU). `benchmarks/targets.py` prints these rows
with the other figures of issue #16 (engine against lightsim2grid, start-up, memory) as one
table of now / target / met.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib.util
import logging
import statistics
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandapower as pp
import pandapower.shortcircuit as sc

import planner
from planner.grid.faults import fault_memo

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = "cases/dashiqiao.toml"
LARGE = "cases/simbench_mvlv_large.toml"


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = time.perf_counter  # what the runs are timed with (`--clock`)


def _yardstick(net: pp.pandapowerNet, runs: int) -> list[float]:
    """Seconds of `runs` plain pandapower load flows of `net` (pandapower's own defaults)."""
    times = []
    for _ in range(runs):
        work = copy.deepcopy(net)
        start = clock()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pp.runpp(work)
        times.append(clock() - start)
    return times


@contextlib.contextmanager
def _counting() -> Iterator[dict[str, int]]:
    """Count, for the duration of the block, the calls of pandapower's `runpp` and `calc_sc`
    (the planner calls them as `pp.runpp` and `sc.calc_sc`) and the deep copies of whole
    networks (a pandapowerNet through `copy.deepcopy`, the planner's or pandapower's own)."""
    calls = {"runpp": 0, "calc_sc": 0, "deepcopy": 0}
    runpp, calc_sc, deepcopy = pp.runpp, sc.calc_sc, copy.deepcopy

    def counted_runpp(*args: Any, **kwargs: Any) -> Any:
        calls["runpp"] += 1
        return runpp(*args, **kwargs)

    def counted_calc_sc(*args: Any, **kwargs: Any) -> Any:
        calls["calc_sc"] += 1
        return calc_sc(*args, **kwargs)

    def counted_deepcopy(x: Any, memo: dict[int, Any] | None = None, _nil: Any = None) -> Any:
        if isinstance(x, pp.pandapowerNet):
            calls["deepcopy"] += 1
        return deepcopy(x, memo)

    pp.runpp, sc.calc_sc, copy.deepcopy = counted_runpp, counted_calc_sc, counted_deepcopy
    try:
        yield calls
    finally:
        pp.runpp, sc.calc_sc, copy.deepcopy = runpp, calc_sc, deepcopy


def measure(path: str, plans: int, runs: int) -> dict[str, float]:
    """The yardstick and the plan of one case, side by side: `runs` yardstick runs, then each
    plan followed by `runs` more. Each plan's ratio is taken against the yardstick runs just
    before and just after it (the machine's speed drifts over minutes: a plan of the large case
    takes one), and the ratio reported is the median of the plans' (`ratio_low`, `ratio_high`:
    their range)."""
    case = planner.load_case(ROOT / path)
    net = case.network.net
    groups = [_yardstick(net, runs)]
    plan_s: list[float] = []
    calls: dict[str, int] = {}
    for _ in range(plans):
        fault_memo.clear()  # each plan from cold, as a fresh process would start it
        with _counting() as counted:
            start = clock()
            planner.plan_case(case)
            plan_s.append(clock() - start)
        calls = counted
        groups.append(_yardstick(net, runs))
    ratios = [plan / statistics.median(groups[k] + groups[k + 1]) for k, plan in enumerate(plan_s)]
    return {
        "buses": float(len(net.bus)),
        "runpp_ms": statistics.median([t for group in groups for t in group]) * 1000.0,
        "plan_s": statistics.median(plan_s),
        "ratio": statistics.median(ratios),
        "ratio_low": min(ratios),
        "ratio_high": max(ratios),
        "runpp_calls": float(calls["runpp"]),
        "calc_sc_calls": float(calls["calc_sc"]),
        "deepcopies": float(calls["deepcopy"]),
    }


def ratio_text(m: dict[str, float]) -> str:
    """The ratio of `measure`'s result, with the plans' range where they differ."""
    if round(m["ratio_low"]) == round(m["ratio_high"]):
        return f"{m['ratio']:.0f}"
    return f"{m['ratio']:.0f} ({m['ratio_low']:.0f}-{m['ratio_high']:.0f})"


def _solver() -> str:
    """What a plain `runpp` uses here: lightsim2grid and numba switch it when importable."""
    found = [m for m in ("lightsim2grid", "numba") if importlib.util.find_spec(m) is not None]
    if not found:
        return "plain Python/SciPy (no numba, no lightsim2grid)"
    return ", ".join(found) + " importable"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help=f"also {LARGE}")
    parser.add_argument(
        "--case", action="append", default=[], help="run this case instead (repeatable)"
    )
    parser.add_argument("--plans", type=int, default=1, help="plans per case (median)")
    parser.add_argument("--runs", type=int, default=10, help="yardstick runs around each plan")
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="time with the wall clock, or the process's CPU time (steadier on a shared machine)",
    )
    args = parser.parse_args()
    global clock
    clock = CLOCKS[args.clock]
    logging.disable(logging.WARNING)
    cases = args.case or [REFERENCE, *([LARGE] if args.large else [])]
    print(
        f"pandapower {pp.__version__}, Python {sys.version.split()[0]}; yardstick: {_solver()}; "
        f"clock: {args.clock}"
    )
    print(
        "| case | buses | runpp ms | plan s | plan / runpp | runpp calls in the plan "
        "| calc_sc calls | network deep copies |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for path in cases:
        m = measure(path, args.plans, args.runs)
        print(
            f"| {path} | {m['buses']:,.0f} | {m['runpp_ms']:.1f} | {m['plan_s']:.2f} "
            f"| {ratio_text(m)} | {m['runpp_calls']:.0f} | {m['calc_sc_calls']:.0f} "
            f"| {m['deepcopies']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
