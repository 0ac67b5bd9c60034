"""Benchmark: what load uncertainty costs a plan (#18 item 3: less than twice the plan).

Measured side by side in one process, alternating, so that the ratio survives a loaded machine:
`plan_dispatch` of the reference case as it is (deterministic), and of the same case with
`[loads] uncertainty_percent = 10` and 1,000 scenarios (its design load sized to the 0.9
quantile, then the risk of the plan: every scenario solved at the stages' critical times).
Printed: the median seconds of each (wall and CPU), their ratios, and the seconds of the risk
step alone (`plan_risk` on the uncertain plan's stages), with the probability it reports.

Run: `.venv/bin/python benchmarks/risk.py [--runs N] [--scenarios N] [--case FILE]`.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import statistics
import time
from pathlib import Path

import planner
from planner.checks.risk import plan_risk
from planner.dispatch.pipeline import plan_dispatch

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = "cases/dashiqiao.toml"


def _timed(case: planner.Case) -> tuple[float, float, object]:
    """Wall and CPU seconds of planning `case` (CPU time is what other users' load spares)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = plan_dispatch(case)
    return time.perf_counter() - start, time.process_time() - cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default=str(ROOT / REFERENCE))
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--scenarios", type=int, default=1000)
    parser.add_argument("--uncertainty", type=float, default=10.0)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    plain = planner.load_case(args.case)
    loads = dataclasses.replace(
        plain.loads, uncertainty_percent=args.uncertainty, scenarios=args.scenarios
    )
    uncertain = dataclasses.replace(plain, loads=loads)
    plain_s, uncertain_s, plain_cpu, uncertain_cpu = [], [], [], []
    dispatch = None
    for _ in range(args.runs):
        seconds, cpu, _ = _timed(plain)
        plain_s.append(seconds)
        plain_cpu.append(cpu)
        seconds, cpu, dispatch = _timed(uncertain)
        uncertain_s.append(seconds)
        uncertain_cpu.append(cpu)
    assert dispatch is not None
    start = time.perf_counter()
    risk = plan_risk(uncertain, list(zip(dispatch.contexts, dispatch.checks, strict=True)))
    risk_s = time.perf_counter() - start
    a, b = statistics.median(plain_s), statistics.median(uncertain_s)
    print(f"case: {args.case}")
    print(f"deterministic plan:                 {a:7.2f} s  (runs: {_list(plain_s)})")
    print(
        f"uncertainty {args.uncertainty:g} %, {args.scenarios} scenarios: "
        f"{b:7.2f} s  (runs: {_list(uncertain_s)})"
    )
    print(f"ratio:                              {b / a:7.2f}  (the issue: below 2)")
    c, d = statistics.median(plain_cpu), statistics.median(uncertain_cpu)
    print(f"in CPU seconds: {c:.2f} and {d:.2f}, ratio {d / c:.2f}")
    print(f"the risk step alone:                {risk_s:7.2f} s")
    if risk is not None:
        print(
            f"probability a limit breaks: {risk['probability']} "
            f"(standard error {risk['standard_error']}); most often: {risk['most_often']}"
        )


def _list(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()
