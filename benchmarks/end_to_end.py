"""Benchmark: `plan_case` end to end as a multiple of one plain pandapower `runpp`.

Measured side by side in one process, so that the ratio survives a loaded machine: the case's
network solved by a plain `pandapower.runpp` (the yardstick; the median of `--runs` runs, taken
before and after each plan), then `planner.plan_case` of the case (the median of `--plans`
runs). Printed per case: the yardstick's milliseconds and what pandapower used for it (numba,
lightsim2grid), the plan's seconds, the ratio (the plan in "runpp equivalents"), and how many
pandapower `runpp` calls the plan made.

Run: `.venv/bin/python benchmarks/end_to_end.py [--large] [--plans N] [--runs N]`; `--large`
adds `cases/simbench_mvlv_large.toml` (10,458 buses) to the reference case.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import logging
import statistics
import sys
import time
import warnings
from pathlib import Path

import pandapower as pp

import planner

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = "cases/dashiqiao.toml"
LARGE = "cases/simbench_mvlv_large.toml"


def _yardstick(net: pp.pandapowerNet, runs: int) -> list[float]:
    """Seconds of `runs` plain pandapower load flows of `net` (pandapower's own defaults)."""
    times = []
    for _ in range(runs):
        work = copy.deepcopy(net)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pp.runpp(work)
        times.append(time.perf_counter() - start)
    return times


def _counting_runpp() -> tuple[list[int], object]:
    """Wrap `pandapower.runpp` (the planner calls it as `pp.runpp`) to count its calls."""
    calls = [0]
    original = pp.runpp

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls[0] += 1
        return original(*args, **kwargs)

    pp.runpp = counted
    return calls, original


def measure(path: str, plans: int, runs: int) -> dict[str, float]:
    """The yardstick and the plan of one case, side by side."""
    case = planner.load_case(ROOT / path)
    net = case.network.net
    yard = _yardstick(net, runs)
    plan_s, calls = [], 0
    for _ in range(plans):
        counter, original = _counting_runpp()
        try:
            start = time.perf_counter()
            planner.plan_case(case)
            plan_s.append(time.perf_counter() - start)
        finally:
            pp.runpp = original  # type: ignore[assignment]
        calls = counter[0]
        yard += _yardstick(net, runs)
    runpp_s = statistics.median(yard)
    plan = statistics.median(plan_s)
    return {
        "buses": float(len(net.bus)),
        "runpp_ms": runpp_s * 1000.0,
        "plan_s": plan,
        "ratio": plan / runpp_s,
        "runpp_calls": float(calls),
    }


def _solver() -> str:
    """What a plain `runpp` uses here: lightsim2grid and numba switch it when importable."""
    found = [m for m in ("lightsim2grid", "numba") if importlib.util.find_spec(m) is not None]
    if not found:
        return "plain Python/SciPy (no numba, no lightsim2grid)"
    return ", ".join(found) + " importable"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help=f"also {LARGE}")
    parser.add_argument("--plans", type=int, default=1, help="plans per case (median)")
    parser.add_argument("--runs", type=int, default=10, help="yardstick runs around each plan")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    cases = [REFERENCE, *([LARGE] if args.large else [])]
    print(f"pandapower {pp.__version__}, Python {sys.version.split()[0]}; yardstick: {_solver()}")
    print("| case | buses | runpp ms | plan s | plan / runpp | runpp calls in the plan |")
    print("|---|---|---|---|---|---|")
    for path in cases:
        m = measure(path, args.plans, args.runs)
        print(
            f"| {path} | {m['buses']:,.0f} | {m['runpp_ms']:.1f} | {m['plan_s']:.2f} "
            f"| {m['ratio']:.0f} | {m['runpp_calls']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
