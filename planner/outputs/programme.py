"""What `planner programme` writes: programme.json (`planner.programme-result/1`), the
fleet-use chart (fleet_use.svg) and each placed job's folder (its shifted case and plan set)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from planner.core.text import for_html
from planner.core.version import __version__
from planner.dispatch.programme_run import JobResult, ProgrammeResult
from planner.outputs.charts import line_chart

__all__ = [
    "FORMAT",
    "PROGRAMME_OUTPUTS",
    "fleet_svg",
    "job_files",
    "programme_data",
    "programme_lines",
]

FORMAT = "planner.programme-result/1"
PROGRAMME_OUTPUTS = ("programme.json", "fleet_use.svg")
RULE = (
    "a job holds its plan's trucks from travel_hours plus its case's setup_hours before its "
    "first stage starts to its last stage's end; an hour counts the most held at any instant "
    "in it"
)
METHOD = (
    "scipy.optimize.milp (HiGHS, mip_rel_gap 0), one solve per objective in order, each "
    "holding the optima before it: fewest unplaced jobs, then the unplaced of the highest "
    "priority numbers, then fewest trucks at the peak, then earliest"
)


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def job_files(result: JobResult) -> dict[str, str | bytes]:
    """A placed job's folder: its shifted case (the bytes planned) and its plan set."""
    assert result.window is not None and result.window.files is not None
    return {"case.toml": result.case_text, **result.window.files}


def programme_data(result: ProgrammeResult) -> dict[str, Any]:
    """programme.json as data."""
    p = result.programme
    jobs = []
    for r in result.jobs:
        w = r.window
        ids = [f"R{n}" for n in r.trucks]
        jobs.append(
            {
                "key": r.job.key,
                "case": r.job.case_given,
                "name": r.job.case.name,
                "folder": r.job.folder,
                "priority": r.job.priority,
                "earliest": r.job.earliest.isoformat(),
                "latest_end": r.job.latest_end.isoformat(),
                "placed": w is not None,
                "offset_hours": None if w is None else w.offset_hours,
                "start": _iso(r.start()),
                "end": _iso(r.end()),
                "trucks_used": None if w is None else w.trucks_used,
                "truck_ids": ids,
                "truck_map": {} if w is None else dict(zip(w.truck_ids, ids, strict=True)),
                "plan": None if w is None else f"{r.job.folder}/plan.json",
                "shifted_case": None if w is None else f"{r.job.folder}/case.toml",
                "feasible": w is not None and w.feasible,
                "candidates": r.candidates,
                "planned": r.planned,
            }
        )
    c = result.choice
    return {
        "format": FORMAT,
        "planner_version": __version__,
        "programme": {
            "name": p.name,
            "file": p.file,
            "trucks": p.trucks,
            "travel_hours": p.travel_hours,
            "shift_step_hours": p.shift_step_hours,
        },
        "jobs": jobs,
        "fleet_use": {
            "start": _iso(result.first_hour),
            "step_hours": 1,
            "hourly": list(result.hourly),
            "peak": result.peak,
            "peak_at": _iso(result.peak_at),
            "rule": RULE,
        },
        "unplaced": [
            {"key": r.job.key, "case": r.job.case_given, "why": r.why}
            for r in result.jobs
            if r.window is None
        ],
        "objectives": {
            "unplaced": int(c.objectives[0]),
            "unplaced_priority_weight": int(c.objectives[1]),
            "peak_trucks": int(c.objectives[2]),
            "hours_after_earliest": c.objectives[3],
            "method": METHOD,
        },
        "engine": dict(result.engine),
    }


def programme_json(result: ProgrammeResult) -> str:
    return json.dumps(programme_data(result), indent=1, ensure_ascii=False) + "\n"


def fleet_svg(result: ProgrammeResult) -> str:
    """Trucks committed per hour against the region's fleet, and below it one row per placed
    job with trucks (travel and set-up, then the works, with its trucks), as an SVG file."""
    title = f"{result.programme.name}: trucks committed per hour (peak {result.peak})"
    start = result.first_hour
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    if start is None or not result.hourly:  # no truck used: a chart that says so
        return head + (
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 600 40"><text x="10" y="25">'
            f"{for_html(title)}: no trucks committed</text></svg>\n"
        )
    hours = len(result.hourly)  # points at every hour's start and the last hour's end
    labels = [(start + timedelta(hours=h)).strftime("%m-%d %H:%M") for h in range(hours + 1)]
    chart = line_chart(
        {"trucks committed": [*(float(v) for v in result.hourly), 0.0]},
        labels,
        title,
        "trucks (UTC hours)",
        limits=(float(result.programme.trucks),),
        tick_unit="",
    )
    placed = [r for r in result.jobs if r.window is not None and r.trucks]
    width, left, plot, row = 900, 78, 810, 18  # the chart's plot area: x from 78, 810 wide
    scale = plot / hours
    height = 260 + 12 + row * len(placed) + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{for_html(title)}">',
        chart.replace("<svg ", '<svg width="900" height="260" ', 1),
    ]
    travel = result.programme.travel_hours
    for n, r in enumerate(placed):
        begin, end = r.start(), r.end()
        assert begin is not None and end is not None
        held = begin - timedelta(hours=travel + r.job.case.fleet.setup_hours)

        def x(when: datetime) -> float:
            return left + (when - start).total_seconds() / 3600.0 * scale

        y = 272 + n * row
        ids = ", ".join(f"R{k}" for k in r.trucks) or "no trucks"
        name = for_html(f"{r.job.key} {r.job.folder}: {ids}")
        right = x(end) + 4 < width - 250  # the name after the bar, else before it
        anchor = "" if right else ' text-anchor="end"'
        at = x(end) + 4 if right else x(held) - 4
        label = f'<text x="{at:.1f}" y="{y + 10}" font-size="9"{anchor}>{name}</text>'
        out.append(
            f'<g><title>{name}</title><rect x="{x(held):.1f}" y="{y}" '
            f'width="{max(x(begin) - x(held), 0.5):.1f}" height="{row - 5}" fill="#c6dbef"/>'
            f'<rect x="{x(begin):.1f}" y="{y}" width="{max(x(end) - x(begin), 0.5):.1f}" '
            f'height="{row - 5}" fill="#1f77b4"/>{label}</g>'
        )
    out.append("</svg>")
    return head + "\n".join(out) + "\n"


def programme_lines(result: ProgrammeResult, written: list[str]) -> list[str]:
    """The terminal summary (printed through the CLI's escaping `_say`)."""
    p = result.programme
    placed = sum(1 for r in result.jobs if r.window is not None)
    lines = [
        f"programme {p.name!r}: {placed} of {len(result.jobs)} jobs placed, peak "
        f"{result.peak} of {p.trucks} trucks"
        + (f" at {_iso(result.peak_at)}" if result.peak_at else "")
    ]
    for r in result.jobs:
        if r.window is None:
            lines.append(f"  {r.job.key} {r.job.folder}: unplaced: {r.why}")
            continue
        ids = ", ".join(f"R{n}" for n in r.trucks) or "no trucks"
        lines.append(
            f"  {r.job.key} {r.job.folder}: {r.window.offset_hours:+g} h, {_iso(r.start())} to "
            f"{_iso(r.end())}, {r.window.trucks_used} trucks ({ids})"
        )
    e = result.engine
    lines.append(
        f"  engine: {e.get('executor')} with {e.get('workers')} workers; {e.get('plans')} plans "
        f"for {e.get('candidates')} candidate windows ({e.get('reused')} reused), "
        f"{e.get('wall_seconds')} s"
    )
    lines += [f"  wrote {w}" for w in written]
    return lines
