"""What a programme runs on Dask: the cluster, the task that plans one window, and the pool
that sends those tasks out.

`plan_window` is a top-level function taking text and paths, never a network: a worker builds
the case from exactly the bytes written to the window's `case.toml`.

`TaskPool` plans each distinct case text once. Tasks go out longest first (by the caller's
estimate), so that a round does not end waiting for one long task begun last.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import logging
import tomllib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from planner.core.errors import InputError, PlannerError, Problem
from planner.inputs.case_builder import CaseBuilder
from planner.inputs.network_cache import process_networks

__all__ = ["SchedulerError", "TaskPool", "dask_client", "plan_window", "warm_up"]

Progress = Callable[[str, int, int], None]
Render = Callable[[Any, Any], dict[str, str | bytes]]
Task = tuple[str, tuple[Any, ...], float]  # (SHA-256 of the case text, plan_window's args, cost)


class SchedulerError(InputError):
    """`--scheduler` names no Dask scheduler that answers."""

    kind = "usage"


def plan_window(text: str, file: str, base_dir: str, render: Render | None) -> dict[str, Any]:
    """A Dask task: build the case from `text` (named `file`, paths relative to `base_dir`),
    plan it and, with `render`, make its plan set. Plain values out."""
    from planner.dispatch.pipeline import plan_dispatch

    logging.getLogger("pandapower").setLevel(logging.ERROR)
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    try:
        builder = CaseBuilder(file, Path(base_dir), sha, loader=process_networks())
        case = builder.build(tomllib.loads(text))
        dispatch = plan_dispatch(case)
    except PlannerError as exc:
        return {"feasible": False, "trucks_used": 0, "truck_ids": [], "why": str(exc)}
    plan = dispatch.plan
    ids = sorted({t.id for s in plan.stages for t in s.trucks}, key=lambda i: (len(i), i))
    why = "" if plan.feasible else _why(plan)
    out: dict[str, Any] = {
        "feasible": plan.feasible,
        "trucks_used": plan.trucks_used,
        "truck_ids": ids,
        "why": why,
    }
    if render is not None:
        out["files"] = render(case, dispatch)
    return out


def _why(plan: Any) -> str:
    for stage in plan.stages:
        for violation in stage.verification.violations:
            return f"stage {stage.name!r}: {violation.message}"
    return "the plan is not feasible"


def _import(modules: tuple[str, ...]) -> None:
    for name in modules:
        importlib.import_module(name)


def warm_up(client: Any, modules: tuple[str, ...] = ("planner.dispatch.pipeline",)) -> None:
    """Let every worker import the planning code (`modules`, the caller's constants) now,
    while this process works out the windows and writes their case texts: without it, each
    worker's first task pays the imports (seconds) after that. Returns at once."""
    from dask.distributed import fire_and_forget

    for address in client.scheduler_info().get("workers", {}):
        fire_and_forget(
            client.submit(
                _import, modules, workers=[address], allow_other_workers=False, pure=False
            )
        )


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int) -> Iterator[tuple[Any, dict[str, Any]]]:
    """A Dask client: on a LocalCluster of `workers` processes (one thread each), or on the
    scheduler at `scheduler`. Yields it with the `engine` description for programme.json."""
    from dask.distributed import Client, LocalCluster

    if not logging.getLogger().isEnabledFor(logging.INFO):  # Dask's notices only with -v
        for name in list(logging.root.manager.loggerDict):
            if name.split(".")[0] in ("distributed", "bokeh", "tornado"):
                logging.getLogger(name).setLevel(logging.ERROR)
    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise SchedulerError(
                [Problem("--scheduler", "", f"cannot reach {scheduler!r}: {exc}")]
            ) from exc
        with client:
            count = len(client.scheduler_info().get("workers", {}))
            yield client, {"executor": "dask.distributed", "scheduler": scheduler, "workers": count}
        return
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # no dashboard; Dask's own HTTP routes on a free port of this machine only
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client, {"executor": "dask.distributed LocalCluster", "workers": workers}


class TaskPool:
    """Plans case texts on the client's workers; results by the text's SHA-256 (see the
    module docstring)."""

    def __init__(self, client: Any, progress: Progress | None = None) -> None:
        self.client = client
        self.progress = progress
        self.results: dict[str, dict[str, Any]] = {}

    def run(self, tasks: Iterable[Task], label: str) -> None:
        """Plan every task not planned yet, longest first, and return when all are done."""
        from dask.distributed import as_completed

        needed: dict[str, Task] = {}
        for task in tasks:
            if task[0] not in self.results:
                needed.setdefault(task[0], task)
        if not needed:
            return
        order = sorted(needed.values(), key=lambda t: -t[2])
        futures = {}
        for rank, task in enumerate(order):  # Dask runs higher priorities first
            future = self.client.submit(plan_window, *task[1], pure=False, priority=-rank)
            futures[future] = task[0]
        if self.progress:
            self.progress(label, 0, len(futures))
        for future in as_completed(futures):
            self.results[futures[future]] = future.result()
            if self.progress:
                self.progress(label, 1, len(futures))
