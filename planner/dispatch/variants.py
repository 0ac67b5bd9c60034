"""Planning variants of a case side by side: the works as given, in daily windows, started later.

Each variant is a case file of its own (`planner/inputs/case_variant.py`): its text is made
first, and the variant is built from exactly those bytes (`CaseBuilder` with their SHA-256), so
the plan made here validates against the same text written as the variant's `case.toml`.

Variants are planned in parallel, a process pool of at most two workers (one variant runs in
this process). What does not depend on the window is reused rather than redone per variant:
the base case is read and checked once (here, before any worker starts), its parsed TOML is
shared with the workers, each worker imports the planner once and reads the network once (a
network file read, pandapower-parsed, and digested once per worker, however many variants it
plans: `planner.inputs.network_cache`).

`plan_windows` is what `planner windows` runs: the variants, then once more each daily window
whose plan was not outage-free, an hour shorter at both ends (its switching then meets a
lighter load).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import signal
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planner.core.errors import InputError
from planner.core.plan import Plan, Supply
from planner.dispatch.pipeline import Dispatch, plan_dispatch
from planner.inputs.case import Case, Stage
from planner.inputs.case_builder import CaseBuilder
from planner.inputs.case_variant import Variant, narrowed_variants, variant_text
from planner.inputs.network_cache import forget_networks, process_networks

__all__ = [
    "MAX_WORKERS",
    "VariantJob",
    "VariantResult",
    "longest_stage",
    "narrower_variants",
    "plan_variants",
    "plan_windows",
    "variant_figures",
]

MAX_WORKERS = 2  # the machines this runs on have two cores; more workers only compete
Progress = Callable[[str, int, int], None]
Render = Callable[[Case, Dispatch], dict[str, str | bytes]]  # file name: text or bytes


@dataclass(frozen=True)
class VariantJob:
    """One variant to plan: `file` names its case (its `case.toml` when written), `dest_dir` is
    where the case's relative paths are seen from."""

    variant: Variant
    file: str
    dest_dir: Path


@dataclass(frozen=True)
class VariantResult:
    """A planned (or refused) variant: its case text, its figures, and its plan set when asked."""

    name: str
    case_text: str
    figures: dict[str, Any] | None  # None: the variant's case was refused
    problems: tuple[str, ...] = ()  # why it was refused
    files: dict[str, str | bytes] = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        return self.figures is not None and bool(self.figures["feasible"])


Jobs = Callable[[list[Variant]], list[VariantJob]]  # a round's jobs for its variants
Planned = Callable[[list[VariantResult]], None]  # told a round's results, in its jobs' order


def longest_stage(case: Case) -> Stage:
    """The stage `windows` explores by default: the longest (the first of equals, file order)."""
    return max(case.stages, key=lambda s: s.end - s.start)


def variant_figures(plan: Plan, dispatch: Dispatch) -> dict[str, Any]:
    """What `windows` compares: trucks, tie transfers, the busiest truck hour, fuel, cost and
    customer-hours avoided, all of the whole plan."""
    summary = plan.summary
    costs = summary.get("costs")
    online = [r.loading_percent for r in dispatch.fleet_hours if r.online]
    return {
        "feasible": plan.feasible,
        "outage_free": all(s.outage_free for s in plan.stages),
        "trucks": plan.trucks_used,
        "transfers": sum(1 for s in plan.stages for i in s.islands if i.supply is Supply.TRANSFER),
        "peak_truck_loading_percent": round(max(online), 1) if online else None,
        "fuel_l": summary["fuel_l"],
        "cost": costs["total"] if costs else None,
        "currency": costs["currency"] if costs else None,
        "customer_hours_avoided": summary["customer_hours_avoided"],
    }


def plan_variants(
    data: dict[str, Any],
    file: str,
    base_dir: Path,
    jobs: list[VariantJob],
    *,
    render: Render | None = None,
    progress: Progress | None = None,
) -> list[VariantResult]:
    """Plan each job's variant of the case `data` (read from `file` in `base_dir`), in parallel;
    results in the order of `jobs`. `render` (a module-level function: it goes to the workers by
    name) turns a planned variant into its files; without it no files are made."""
    label = f"planning {len(jobs)} variant{'s' if len(jobs) != 1 else ''}"
    tasks = [(data, file, base_dir, job, render) for job in jobs]
    results: dict[int, VariantResult] = {}
    if progress:
        progress(label, 0, len(jobs))
    workers = min(MAX_WORKERS, len(jobs))
    if workers <= 1:
        forget_networks()  # networks are read afresh by each run, then once
        try:
            for at, task in enumerate(tasks):
                results[at] = _plan_one(task)
                if progress:
                    progress(label, 1, len(jobs))
        finally:
            forget_networks()
        return [results[i] for i in range(len(jobs))]
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["planner.dispatch.variants"])
    pool = context.Pool(workers, initializer=_worker_start)
    try:
        for at, result in pool.imap_unordered(_plan_indexed, enumerate(tasks)):
            results[at] = result
            if progress:
                progress(label, 1, len(jobs))
        pool.close()
    finally:
        pool.terminate()  # an interruption or an error: the workers' runs are of no use now
        pool.join()
    return [results[i] for i in range(len(jobs))]


def plan_windows(
    data: dict[str, Any],
    file: str,
    base_dir: Path,
    variants: list[Variant],
    stage: str,
    *,
    jobs: Jobs | None = None,
    render: Render | None = None,
    progress: Progress | None = None,
    planned: Planned | None = None,
) -> list[VariantResult]:
    """Plan `variants` of the case `data` (`plan_variants`), then, in a second round, each
    daily window of the stage `stage` among them whose plan was not outage-free (or not
    feasible) once more an hour shorter (`narrower_variants`); results in that order. `jobs`
    makes a round's jobs (default: each variant named `file [name]`, its paths seen from
    `base_dir`, nothing written); `planned` is told each round's results as they come in."""
    make = jobs or (lambda vs: [VariantJob(v, f"{file} [{v.name}]", base_dir) for v in vs])

    def one_round(round_variants: list[Variant]) -> list[VariantResult]:
        done = plan_variants(
            data, file, base_dir, make(round_variants), render=render, progress=progress
        )
        if planned is not None:
            planned(done)
        return done

    results = one_round(list(variants))
    narrower = narrower_variants(variants, results, stage)
    if narrower:
        results += one_round(narrower)
    return results


def narrower_variants(
    variants: list[Variant], results: list[VariantResult], stage: str
) -> list[Variant]:
    """The daily windows among `variants` whose plan (in `results`, the same order) was not
    outage-free or not feasible, each an hour shorter (`narrowed_variants`), once: none already
    tried, none twice; a refused variant is not narrowed."""
    tried = {v.name for v in variants}
    narrower: dict[str, Variant] = {}
    for variant, result in zip(variants, results, strict=True):
        if result.figures is not None and not (result.feasible and result.figures["outage_free"]):
            for shorter in narrowed_variants(variant, stage):
                if shorter.name not in tried:
                    narrower.setdefault(shorter.name, shorter)
    return list(narrower.values())


def _plan_indexed(item: tuple[int, tuple[Any, ...]]) -> tuple[int, VariantResult]:
    at, task = item
    return at, _plan_one(task)


def _plan_one(task: tuple[Any, ...]) -> VariantResult:
    """Make the variant's case text, build the case from exactly its bytes, plan it."""
    data, file, base_dir, job, render = task
    name = job.variant.name
    text = ""
    try:
        text = variant_text(data, file, base_dir, job.dest_dir, job.variant)
        raw = text.encode("utf-8")
        sha = hashlib.sha256(raw).hexdigest()
        builder = CaseBuilder(job.file, job.dest_dir, sha, loader=process_networks())
        case = builder.build(tomllib.loads(text))
    except InputError as exc:
        return VariantResult(name, text, None, tuple(str(p) for p in exc.problems))
    dispatch = plan_dispatch(case)
    files = render(case, dispatch) if render is not None else {}
    return VariantResult(name, text, variant_figures(dispatch.plan, dispatch), (), files)


def _worker_start() -> None:
    """A worker: Ctrl-C is the parent's to handle (it ends the pool); networks read once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
