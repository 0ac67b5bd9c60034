"""A process's own peak memory, for the benchmarks that report one.

`ru_maxrss` is not it for a child: Linux carries the high-water mark of the address space a
process leaves at `exec` into its `ru_maxrss`, and a child started by fork and exec leaves a
copy of its parent's. A child of a benchmark that has grown to 1.4 GB reports 1.4 GB whatever
it uses itself. `VmHWM` in `/proc/self/status` is the high-water mark of the process's own
address space, started afresh at `exec`.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

__all__ = ["PLANNER_CHILD", "own_peak_mb", "planner_peak"]


def own_peak_mb() -> float:
    """This process's peak resident memory (MB): `VmHWM` where Linux reports it, else
    `ru_maxrss` (bytes on macOS, KiB elsewhere). Its own only: not that of processes it starts
    (`plan` starts none; `windows` does)."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        status = ""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2.0**20 if sys.platform == "darwin" else 1024.0)


# `python -c PLANNER_CHILD ARGS` runs `planner ARGS` and writes its own peak memory last on
# standard error, as "PEAK_MB <number>"
PLANNER_CHILD = f"""
import atexit, runpy, sys
sys.path.append({str(Path(__file__).resolve().parent)!r})
from peak_memory import own_peak_mb
atexit.register(lambda: sys.stderr.write(f"\\nPEAK_MB {{own_peak_mb():.1f}}\\n"))
sys.argv = ["planner", *sys.argv[1:]]
runpy.run_module("planner", run_name="__main__", alter_sys=True)
"""


def planner_peak(
    args: list[str], cwd: Path, timeout_s: float | None = None
) -> tuple[int, float, str]:
    """Run `planner ARGS` in a child: its exit code, its own peak memory (MB; NaN where it died
    before reporting it) and what it wrote (standard output, then standard error)."""
    child = subprocess.run(
        [sys.executable, "-c", PLANNER_CHILD, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    written = child.stdout + child.stderr
    out, found, tail = written.rpartition("PEAK_MB ")
    if not found:
        return child.returncode, float("nan"), written
    return child.returncode, float(tail.split()[0]), out
