"""Size of report.html (and of its network drawings) on large networks.

    .venv/bin/python benchmarks/report_size.py [case.toml ...]

Without arguments: the shipped 10,458-bus case (`cases/simbench_mvlv_large.toml`) and a
5,479-bus SimBench grid (1-MVLV-rural-all-0-sw: one MV line out for a day, every MV bus a
connection point), written to a temporary folder. Each case is planned (minutes on a shared
2-core machine), then the report is rendered; the bound the report keeps is 2 MB.
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT_BYTES = 2_000_000

RURAL = """\
[case]
name = "SimBench MV+LV rural: one MV line re-cabled"
network = "simbench:1-MVLV-rural-all-0-sw"

[fleet]
trucks = 6
rating_kw = 1000.0

{points}

[loads]
profile = "flat"

[transfer]
ties = "none"

[[stages]]
name = "MV1.101 Line 10 re-cabled"
start = 2016-03-07T06:00:00+01:00
end = 2016-03-08T06:00:00+01:00
out_of_service = ["line:MV1.101 Line 10"]
"""


def rural_case(folder: Path) -> Path:
    """The 5,479-bus case: every MV bus of the rural grid a one-bay connection point."""
    import simbench

    net = simbench.get_simbench_net("1-MVLV-rural-all-0-sw")
    names = [n for n in net.bus.name if re.fullmatch(r"MV1\.101 Bus \d+", str(n))]
    points = "\n".join(f'[[connection_points]]\nbus = "bus:{n}"\nbays = 1\n' for n in names)
    path = folder / "simbench_mvlv_rural.toml"
    path.write_text(RURAL.format(points=points))
    return path


def measure(case_path: Path) -> dict[str, object]:
    import planner
    from planner.dispatch.pipeline import plan_dispatch
    from planner.outputs.reports import html_report

    case = planner.load_case(case_path)
    start = time.perf_counter()
    dispatch = plan_dispatch(case)
    planned = time.perf_counter() - start
    start = time.perf_counter()
    page = html_report(case, dispatch)
    rendered = time.perf_counter() - start
    drawings = re.findall(r'<svg[^>]*class="network".*?</svg>', page, re.S)
    return {
        "case": case_path.name,
        "buses": len(dispatch.contexts[0].base_net.bus),
        "report_bytes": len(page.encode()),
        "drawing_bytes": [len(d.encode()) for d in drawings],
        "plan_s": round(planned, 1),
        "render_s": round(rendered, 2),
    }


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        cases = [Path(a) for a in argv] or [
            ROOT / "cases" / "simbench_mvlv_large.toml",
            rural_case(Path(tmp)),
        ]
        worst = 0
        for case in cases:
            row = measure(case)
            worst = max(worst, int(row["report_bytes"]))  # type: ignore[call-overload]
            print(row, flush=True)
    print(f"largest report: {worst:,} bytes (bound {LIMIT_BYTES:,})")
    return 0 if worst < LIMIT_BYTES else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
