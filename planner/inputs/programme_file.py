"""Reading a works programme (`planner.programme/1`): jobs, their windows and the shared fleet.

Strict like a case file: every problem names the file, the key path and the value, and all of
them are reported together. Each job's case is read with `load_case` (its problems are listed as
the case file's own). A job's candidate offsets are the whole multiples of `shift_step_hours`
that keep its first stage at or after `earliest` and its last stage's end at or before
`latest_end`; a window too short for the job gives none, and the job is left unplaced.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from planner.core.errors import InputError, PlannerError
from planner.inputs import schema
from planner.inputs.case import Case
from planner.inputs.case_builder import CaseBuilder
from planner.inputs.case_file import read_case_data, read_toml_file
from planner.inputs.demand import design_matrix, stage_times
from planner.inputs.network import load_network
from planner.inputs.network_cache import NetworkCache
from planner.inputs.schema import Reader, join_key

__all__ = [
    "FORMAT",
    "MAX_CANDIDATES",
    "MAX_JOBS",
    "MAX_PLANS",
    "Job",
    "Programme",
    "ProgrammeError",
    "load_programme",
    "load_signature",
    "safe_name",
]

FORMAT = "planner.programme/1"
MAX_PROGRAMME_BYTES = 1_000_000
MAX_JOBS = 200  # jobs in one programme
MAX_CANDIDATES = 400  # candidate start times of one job
MAX_PLANS = 4_000  # candidate start times of all jobs together: each may need a plan
_TOP = {"format", "programme", "jobs"}
_PROGRAMME = {"name", "trucks", "travel_hours", "shift_step_hours"}
_JOB = {"case", "earliest", "latest_end", "priority"}
_RESERVED = {"programme.json", "fleet_use.svg"}  # the programme's own files in --out


class ProgrammeError(InputError):
    """The programme file does not follow `planner.programme/1` (or a job's case is invalid)."""

    kind = "programme"


@dataclass(frozen=True)
class Job:
    """One job: its case (read and checked), where it may run, and its folder in `--out`."""

    key: str  # `jobs[3]`
    case_given: str  # the case path as the programme gives it
    case_path: Path  # as resolved from the programme's folder
    case: Case
    data: dict[str, Any]  # the case file's TOML, for writing its shifted variants
    earliest: datetime
    latest_end: datetime
    priority: int
    offsets: tuple[float, ...]  # candidate offsets in hours, earliest first
    folder: str  # the case name made safe, unique in the programme

    @property
    def first_start(self) -> datetime:
        return min(s.start for s in self.case.stages)

    @property
    def last_end(self) -> datetime:
        return max(s.end for s in self.case.stages)


@dataclass(frozen=True)
class Programme:
    file: str
    name: str
    trucks: int
    travel_hours: float
    shift_step_hours: float
    jobs: tuple[Job, ...]


def load_programme(path: str | Path) -> Programme:
    """Read and check a programme file and every job's case. Raises `ProgrammeError` listing
    every problem, a case's own problems among them (naming the case file)."""
    path = Path(path)
    file = str(path)
    data = _read(path)
    r = Reader(file)
    r.unknown_keys(data, "", _TOP)
    r.value(data, "format", "", str, FORMAT, schema.one_of(FORMAT))
    top = r.table(data, "programme", "programme", _PROGRAMME, required=True) or {}
    name = r.value(top, "name", "programme", str, check=_name_check)
    trucks = r.value(top, "trucks", "programme", int, check=schema.between(0, 1000))
    travel = r.value(top, "travel_hours", "programme", float, 3.0, schema.between(0, 720))
    step = r.value(
        top, "shift_step_hours", "programme", float, 24.0, schema.between(0, 8784, low_open=True)
    )
    raw_jobs = data.get("jobs", schema.MISSING)
    jobs: list[Job] = []
    if raw_jobs is schema.MISSING:
        r.error("jobs", "required: at least one [[jobs]] table")
    elif not isinstance(raw_jobs, list) or not raw_jobs:
        r.error("jobs", "expected a non-empty list of [[jobs]] tables")
    elif len(raw_jobs) > MAX_JOBS:
        r.error("jobs", f"at most {MAX_JOBS} jobs in one programme, got {len(raw_jobs)}")
    else:
        cases: dict[Path, tuple[Case, dict[str, Any]] | None] = {}
        networks = NetworkCache(load_network)  # this programme's: each network read once
        taken = set(_RESERVED)
        for i, raw in enumerate(raw_jobs):
            job = _job(r, raw, join_key("jobs", i), path.parent, step, cases, taken, networks)
            if job is not None:
                jobs.append(job)
        total = sum(len(j.offsets) for j in jobs)
        if total > MAX_PLANS:
            r.error(
                "jobs",
                f"{total:,} candidate windows in all, at most {MAX_PLANS:,}: widen "
                "shift_step_hours or narrow the windows",
            )
    if r.problems:
        raise ProgrammeError(r.problems)
    return Programme(file, name, trucks, travel, step, tuple(jobs))


def _read(path: Path) -> dict[str, Any]:
    data, _ = read_toml_file(path, "programme file", MAX_PROGRAMME_BYTES, ProgrammeError)
    return data


def _name_check(value: str) -> str | None:
    if not value.strip():
        return "must not be empty"
    return "must be at most 200 characters" if len(value) > 200 else None


def _job(
    r: Reader,
    raw: Any,
    key: str,
    base: Path,
    step: float | None,
    cases: dict[Path, tuple[Case, dict[str, Any]] | None],
    taken: set[str],
    networks: NetworkCache,
) -> Job | None:
    if not isinstance(raw, dict):
        r.error(key, "expected a table ([[jobs]])")
        return None
    r.unknown_keys(raw, key, _JOB)
    case_name = r.value(raw, "case", key, str, check=_path_check)
    earliest = r.value(raw, "earliest", key, datetime, None)
    latest_end = r.value(raw, "latest_end", key, datetime, None)
    priority = r.value(raw, "priority", key, int, 1, schema.between(0, 1000))
    if case_name is None:
        return None
    case_path = base / case_name
    if case_path.resolve() not in cases:
        cases[case_path.resolve()] = _case(r, case_path, key, networks)
    loaded = cases[case_path.resolve()]
    if loaded is None or step is None or priority is None:
        return None
    case, data = loaded
    first = min(s.start for s in case.stages)
    last = max(s.end for s in case.stages)
    earliest = first if earliest is None else earliest
    latest_end = last if latest_end is None else latest_end
    if latest_end <= earliest:
        r.error(
            join_key(key, "latest_end"),
            f"must be after earliest ({earliest.isoformat()}), got {latest_end.isoformat()}",
        )
        return None
    low = math.ceil((earliest - first).total_seconds() / 3600.0 / step - 1e-9)
    high = math.floor((latest_end - last).total_seconds() / 3600.0 / step + 1e-9)
    if high - low + 1 > MAX_CANDIDATES:
        r.error(
            key,
            f"{high - low + 1:,} candidate windows (every {step:g} h from "
            f"{earliest.isoformat()} to {latest_end.isoformat()}), at most {MAX_CANDIDATES}: "
            "widen shift_step_hours or narrow the window",
        )
        return None
    offsets = tuple(n * step for n in range(low, high + 1))
    folder = safe_name(case.name, taken)
    return Job(
        key, case_name, case_path, case, data, earliest, latest_end, priority, offsets, folder
    )


def _path_check(value: str) -> str | None:
    if not value.strip():
        return "must name a case file"
    if not value.isprintable():
        return "must not hold control characters"
    return None


def _case(
    r: Reader, path: Path, key: str, networks: NetworkCache
) -> tuple[Case, dict[str, Any]] | None:
    """A job's case, read once however many jobs name it, a network once however many cases
    name it; its problems join the programme's (a file that cannot be read at all is named at
    the job's key)."""
    try:
        data, raw = read_case_data(path)  # as `load_case` does, keeping the TOML for variants
        sha = hashlib.sha256(raw).hexdigest()
        builder = CaseBuilder(str(path), path.parent, sha, loader=networks)
        return builder.build(copy.deepcopy(data)), data
    except InputError as exc:
        if [p.key for p in exc.problems] == [""] and exc.problems[0].file == str(path):
            r.error(join_key(key, "case"), f"{str(path)!r}: {exc.problems[0].message}")
        else:
            count = len(exc.problems)
            r.error(
                join_key(key, "case"),
                f"{str(path)!r} is not a valid case: {count} problem{'s' * (count != 1)} "
                "in it, listed with it",
            )
            r.problems.extend(exc.problems)
    except PlannerError as exc:
        r.error(join_key(key, "case"), f"{str(path)!r}: {exc}")
    return None


def safe_name(name: str, taken: set[str]) -> str:
    """`name` as a folder name (letters, digits, `.`, `_`, `-`; at most 60 characters), made
    unique among `taken` (compared without case) by a `-2`, `-3` ... suffix, and added to it."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:60].rstrip("-.") or "job"
    candidate, n = base, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{base}-{n}"
    taken.add(candidate.lower())
    return candidate


def load_signature(job: Job, offset_hours: float) -> str:
    """What the plan of a window depends on in time: per stage, its check times after its start
    and the design load of every load at each (SHA-256)."""
    digest = hashlib.sha256()
    case, net = job.case, job.case.network.net
    shift = timedelta(hours=offset_hours)
    for stage in case.stages:
        moved = dataclasses.replace(stage, start=stage.start + shift, end=stage.end + shift)
        times = stage_times(case, net, moved)
        digest.update(repr([(t - moved.start).total_seconds() for t in times]).encode())
        p, q = design_matrix(case, net, times)
        digest.update(p.tobytes() + q.tobytes())
    return digest.hexdigest()
