"""Benchmark: a works programme planned on a local Dask cluster of one worker, then of two.

Each run is `planner programme FILE --out TMP --workers N` in a fresh process, as a user runs
it (its own LocalCluster of one-thread processes, every window needed planned, the plan sets
written), timed twice: the whole command, from start-up to exit, and the planning alone (what
programme.json reports as `engine.wall_seconds`). The issue's check: two workers faster than one.

Run: `.venv/bin/python benchmarks/programme.py [--programme FILE] [--workers 1,2] [--repeat N]`
(default: `tests/data/programme/region.toml`, ten jobs on the IEEE 33-bus cases). The worker
counts are run in turn, `--repeat` times, so that a change in a shared machine's load falls on
both; each run's row shows the load average before it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one_run(path: Path, workers: int) -> tuple[float, float, int]:
    """(whole run s, planning s, plans made): `planner programme` run as a user runs it, into a
    fresh folder, on a fresh cluster of `workers` processes."""
    with tempfile.TemporaryDirectory(prefix="programme-bench-") as out:
        command = [sys.executable, "-m", "planner", "programme", str(path)]
        command += ["--out", out, "--workers", str(workers), "--json"]
        began = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
        whole = time.perf_counter() - began
        if done.returncode not in (0, 1):
            sys.exit(f"planner programme failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
        engine = json.loads(done.stdout)["engine"]
    return whole, float(engine["wall_seconds"]), int(engine["plans"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programme", default=str(ROOT / "tests/data/programme/region.toml"))
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--repeat", type=int, default=1, help="runs per worker count")
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    print(f"programme {args.programme}; {os.cpu_count()} CPUs")
    print("| run | workers | load average before | whole run s | planning s | plans |")
    print("|---|---|---|---|---|---|")
    runs: dict[int, list[tuple[float, float, int]]] = {w: [] for w in counts}
    for n in range(args.repeat):  # interleaved, so a change in the machine's load hits both
        for workers in counts:
            load = os.getloadavg()[0]
            run = one_run(Path(args.programme), workers)
            runs[workers].append(run)
            print(
                f"| {n + 1} | {workers} | {load:.1f} | {run[0]:.1f} | {run[1]:.1f} | {run[2]} |",
                flush=True,
            )
    for workers in counts:
        whole = statistics.median(r[0] for r in runs[workers])
        planning = statistics.median(r[1] for r in runs[workers])
        print(f"median, {workers} workers: whole run {whole:.1f} s, planning {planning:.1f} s")


if __name__ == "__main__":
    main()
