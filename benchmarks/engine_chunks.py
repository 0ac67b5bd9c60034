"""Benchmark: the batched engine on the large SimBench case's grid, every time step of a stage.

Builds the first stage of `cases/simbench_mvlv_large.toml` (10,458 buses, a week at quarter
hours: 672 load states), then on its network as the works leave it: the engine's model build,
its solve of every load state (CPU seconds, iterations per chunk, sparse triangular solves and
their share of the time) and one pandapower `runpp` of the same network at the first load state
for scale and as the check (largest voltage difference, pu). Issue #16's hotspot.

Run: `.venv/bin/python benchmarks/engine_chunks.py [--case CASE] [--stage N] [--repeat R]`.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandapower as pp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from planner.api import load_case  # noqa: E402
from planner.checks.solve import loads_array  # noqa: E402
from planner.grid.context import StageContext, set_design_loads  # noqa: E402
from planner.grid.engine import CHUNK, BatchModel  # noqa: E402
from planner.grid.state import copy_net  # noqa: E402


class _Counted:
    """A factorisation whose solves are counted and timed."""

    def __init__(self, lu) -> None:  # type: ignore[no-untyped-def]
        self.lu, self.calls, self.cpu_s = lu, 0, 0.0

    def solve(self, rhs):  # type: ignore[no-untyped-def]
        start = time.process_time()
        out = self.lu.solve(rhs)
        self.cpu_s += time.process_time() - start
        self.calls += 1
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default=str(ROOT / "cases" / "simbench_mvlv_large.toml"))
    parser.add_argument("--stage", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="solves timed (the best is shown)")
    args = parser.parse_args()
    case = load_case(args.case)
    ctx = StageContext.build(case, case.stages[args.stage])
    net = copy_net(ctx.works_net)
    groups = list(ctx.demand.groups)
    set_design_loads(net, ctx, groups[0])
    p, q = loads_array(net, ctx, groups)
    start = time.process_time()
    model = BatchModel(copy_net(net))
    build_s = time.process_time() - start
    counted = _Counted(model.y_pp)
    model.y_pp = counted  # type: ignore[assignment]
    best = np.inf
    for _ in range(args.repeat):
        counted.calls, counted.cpu_s = 0, 0.0
        start = time.process_time()
        res = model.solve(p, q)
        took = time.process_time() - start
        if took < best:
            best, calls, lu_s = took, counted.calls, counted.cpu_s
    chunks = -(-len(groups) // CHUNK)
    ref = copy.deepcopy(net)
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.runpp(ref, numba=False, lightsim2grid=False)
    runpp_s = time.process_time() - start
    diff = np.abs(ref.res_bus.vm_pu.loc[model.bus_ids].to_numpy() - res.vm_pu[0]).max()
    print(f"{len(net.bus):,} buses, {len(groups)} load states in {chunks} chunks of {CHUNK}")
    print(f"model build       {build_s:8.3f} s CPU")
    print(f"solve             {best:8.3f} s CPU ({best / runpp_s:.1f} runpp), converged "
          f"{int(res.converged.sum())}/{len(groups)}")  # fmt: skip
    print(f"  sparse solves   {calls} ({calls / chunks:.2f} per chunk), {lu_s:.3f} s CPU")
    print(f"  the rest        {best - lu_s:8.3f} s CPU")
    print(f"runpp, one state  {runpp_s:8.3f} s CPU; largest |vm - runpp's| {diff:.2e} pu")


if __name__ == "__main__":
    main()
