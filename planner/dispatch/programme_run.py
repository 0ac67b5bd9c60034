"""Planning a programme's jobs on Dask and choosing their windows within the region's fleet.

Each candidate window of a job is the job's case shifted in time (`case_variant`), written as
TOML text and planned from exactly those bytes on a Dask worker (`plan_window`: a top-level
function taking text and paths, never a network). Windows of one job whose stages see the same
load at the same times after their starts (same check times and design load per load: a flat
profile, or the same weekdays of a daily shape) plan the same way, and so do such windows of
jobs of the same case file: only the first window of each such group is planned at first, and
the others reuse its truck count and feasibility.
Windows go to the workers longest first (`programme_tasks.TaskPool`).
The window MILP (`decide/programme_fleet`) then chooses; every chosen window not yet planned
itself is planned, and where its plan differs from the one reused the choice is made again with
the true figures, until every chosen window has its own plan, the plan written for it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from planner.decide.programme_fleet import (
    FleetChoice,
    JobOptions,
    Option,
    assignment_problems,
    choose_windows,
    fleet_use,
    interval,
)
from planner.dispatch.programme_tasks import (
    Progress,
    Render,
    SchedulerError,
    Task,
    TaskPool,
    dask_client,
    plan_window,
    warm_up,
)
from planner.inputs.case_variant import Variant, variant_text
from planner.inputs.programme_file import Job, Programme, load_signature

__all__ = [
    "JobResult",
    "ProgrammeResult",
    "SchedulerError",
    "dask_client",
    "plan_window",
    "run_programme",
    "warm_up",
    "window_text",
]


@dataclasses.dataclass(frozen=True)
class Window:
    """A planned candidate window (or why it could not be planned)."""

    offset_hours: float
    feasible: bool
    trucks_used: int
    truck_ids: tuple[str, ...]  # the plan's own truck ids (T1, ...)
    why: str  # why the plan is infeasible or the case could not be built; "" when feasible
    files: dict[str, str | bytes] | None  # the plan set, when rendered


@dataclasses.dataclass(frozen=True)
class JobResult:
    job: Job
    window: Window | None  # the chosen window's own plan; None: unplaced
    trucks: tuple[int, ...]  # region truck numbers, in the order of `window.truck_ids`
    why: str  # why the job is unplaced
    candidates: int
    planned: int  # windows of this job planned (the others reused a plan)
    case_text: str = ""  # the chosen window's case file, the bytes planned

    def start(self) -> datetime | None:
        return None if self.window is None else _shifted(self.job.first_start, self.window)

    def end(self) -> datetime | None:
        return None if self.window is None else _shifted(self.job.last_end, self.window)


@dataclasses.dataclass(frozen=True)
class ProgrammeResult:
    programme: Programme
    jobs: tuple[JobResult, ...]
    choice: FleetChoice
    first_hour: datetime | None  # the first hour of `hourly`
    hourly: tuple[int, ...]
    peak: int
    peak_at: datetime | None
    engine: dict[str, Any]


def _shifted(when: datetime, window: Window) -> datetime:
    return when + timedelta(hours=window.offset_hours)


def window_text(job: Job, offset_hours: float, dest_dir: Path) -> str:
    """The job's case shifted by `offset_hours`, as written to `dest_dir/case.toml`."""
    variant = Variant(f"shifted {offset_hours:+g} h", offset_hours=offset_hours)
    return variant_text(job.data, str(job.case_path), job.case_path.parent, dest_dir, variant)


def run_programme(
    programme: Programme,
    out_dir: Path,
    client: Any,
    render: Render | None,
    progress: Progress | None = None,
) -> ProgrammeResult:
    """Plan the windows needed, choose them, assign the region's trucks; see the module text.

    A window is planned as `case.toml` in its job's folder under `out_dir` (the name plan.json
    gives, true beside it); two windows with the same case text share one plan."""
    began = time.perf_counter()
    jobs = programme.jobs
    dest = [(out_dir / job.folder).resolve() for job in jobs]
    texts: dict[tuple[int, float], str] = {}
    digests: dict[tuple[int, float], str] = {}  # SHA-256 of each text
    rep: dict[tuple[int, float], tuple[int, float]] = {}
    first_of: dict[tuple[Path, str], tuple[int, float]] = {}
    for j, job in enumerate(jobs):  # jobs of one case file share their representatives
        for offset in job.offsets:
            same = (job.case_path.resolve(), load_signature(job, offset))
            rep[(j, offset)] = first_of.setdefault(same, (j, offset))
    pool = TaskPool(client, progress)
    known: dict[tuple[int, float], Window] = {}  # windows with a plan of their own text

    def task(key: tuple[int, float]) -> Task:
        j, offset = key
        if key not in texts:
            texts[key] = window_text(jobs[j], offset, dest[j])
            digests[key] = _sha(texts[key])
        return digests[key], (texts[key], "case.toml", str(dest[j]), render), _cost(jobs[j])

    def plan(keys: set[tuple[int, float]], label: str) -> None:
        pool.run([task(k) for k in sorted(keys)], label)
        for key, digest in digests.items():
            if key not in known and digest in pool.results:
                known[key] = _window(key[1], pool.results[digest])

    plan(set(rep.values()), "planning candidate windows")
    while True:
        options, index = _options(programme, known, rep)
        choice = choose_windows(options, programme.trucks)
        chosen = [None if c is None else index[j][c] for j, c in enumerate(choice.chosen)]
        missing = {(j, o) for j, o in enumerate(chosen) if o is not None and (j, o) not in known}
        if not missing:
            break
        plan(missing, "planning chosen windows")
        for k in missing:  # the figures it reused now come from its own plan
            rep[k] = k
    results = _results(programme, options, choice, chosen, known, rep, texts)
    spans = [(a, b, len(r.trucks)) for r, (a, b) in _spans(results, programme.travel_hours)]
    first, hourly, peak, when = fleet_use(spans)
    problems = assignment_problems(
        [(r.job.key, a, b, r.trucks) for r, (a, b) in _spans(results, programme.travel_hours)],
        programme.trucks,
    )
    if problems or peak != choice.peak:  # the MILP and the colouring disagree: a bug
        raise RuntimeError(f"truck assignment fails its check: {problems or peak}")
    workers = client.scheduler_info().get("workers", {}) if client is not None else {}
    engine = {
        "executor": "dask.distributed",  # `dask_client` names the cluster's kind
        "workers": len(workers),
        "candidates": sum(len(j.offsets) for j in jobs),
        "plans": len(pool.results),
        "reused": sum(len(j.offsets) for j in jobs) - len(known),
        "wall_seconds": round(time.perf_counter() - began, 1),
    }
    return ProgrammeResult(
        programme,
        results,
        choice,
        None if when is None else _at(first),
        tuple(hourly),
        peak,
        None if when is None else _at(when),
        engine,
    )


def _cost(job: Job) -> float:
    """A rough figure for how long a job's plan takes: buses times stage hours."""
    hours = sum((s.end - s.start).total_seconds() for s in job.case.stages) / 3600.0
    return float(len(job.case.network.net.bus)) * max(hours, 1.0)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _at(hours: float) -> datetime:
    return datetime.fromtimestamp(hours * 3600.0, UTC)


def _hours(when: datetime) -> float:
    return when.timestamp() / 3600.0


def _window(offset: float, raw: dict[str, Any]) -> Window:
    return Window(
        offset,
        bool(raw["feasible"]),
        int(raw["trucks_used"]),
        tuple(raw["truck_ids"]),
        str(raw["why"]),
        raw.get("files"),
    )


def _options(
    programme: Programme,
    known: dict[tuple[int, float], Window],
    rep: dict[tuple[int, float], tuple[int, float]],
) -> tuple[list[JobOptions], list[list[float]]]:
    """Each job's windows that may run (feasible, within the region's trucks), as the MILP
    takes them, with the offsets they stand for."""
    out: list[JobOptions] = []
    index: list[list[float]] = []
    for j, job in enumerate(programme.jobs):
        options, offsets = [], []
        for offset in job.offsets:
            w = known[rep[(j, offset)]]
            if w.feasible and w.trucks_used <= programme.trucks:
                shift = timedelta(hours=offset)
                start, end = _hours(job.first_start + shift), _hours(job.last_end + shift)
                options.append(Option(offset, start, end, w.trucks_used))
                offsets.append(offset)
        buffer = programme.travel_hours + job.case.fleet.setup_hours
        out.append(JobOptions(job.priority, buffer, tuple(options)))
        index.append(offsets)
    return out, index


def _results(
    programme: Programme,
    options: list[JobOptions],
    choice: FleetChoice,
    chosen: list[float | None],
    known: dict[tuple[int, float], Window],
    rep: dict[tuple[int, float], tuple[int, float]],
    texts: dict[tuple[int, float], str],
) -> tuple[JobResult, ...]:
    out = []
    for j, job in enumerate(programme.jobs):
        planned = sum(1 for k in known if k[0] == j)
        offset = chosen[j]
        if offset is not None:
            window = known[(j, offset)]
            text = texts[(j, offset)]
            out.append(
                JobResult(job, window, choice.trucks[j], "", len(job.offsets), planned, text)
            )
            continue
        windows = [known[rep[(j, o)]] for o in job.offsets]
        why = _unplaced_why(programme, job, windows, bool(options[j].options))
        out.append(JobResult(job, None, (), why, len(job.offsets), planned))
    return tuple(out)


def _unplaced_why(programme: Programme, job: Job, windows: list[Window], runnable: bool) -> str:
    if not windows:
        need = (job.last_end - job.first_start).total_seconds() / 3600.0
        room = (job.latest_end - job.earliest).total_seconds() / 3600.0
        return (
            f"no window: the job takes {need:g} h from its first stage's start to its last "
            f"stage's end, {room:g} h lie between earliest and latest_end "
            f"(starts every {programme.shift_step_hours:g} h)"
        )
    if runnable:
        return (
            f"the fleet is short: in each of its {len(windows)} window(s) the region's "
            f"{programme.trucks} trucks are needed by the jobs placed; placing it would leave "
            "more jobs out, or jobs of lower priority numbers"
        )
    feasible = [w for w in windows if w.feasible]
    if feasible:
        need = min(w.trucks_used for w in feasible)
        return f"needs {need} trucks in every window, the region has {programme.trucks}"
    return f"no window plans feasibly ({len(windows)} tried): {windows[0].why}"


def _spans(
    results: tuple[JobResult, ...], travel_hours: float
) -> list[tuple[JobResult, tuple[float, float]]]:
    """The committed interval of every placed job (as the MILP sees it)."""
    out = []
    for r in results:
        start, end = r.start(), r.end()
        if start is not None and end is not None:
            job = JobOptions(0, travel_hours + r.job.case.fleet.setup_hours, ())
            out.append((r, interval(job, Option(0, _hours(start), _hours(end), 0))))
    return out
