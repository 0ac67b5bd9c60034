"""`planner programme`: plan a region's works together with one shared fleet."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from pathlib import Path

import click

from planner.cli.common import EXIT_OK, EXIT_VIOLATIONS, _friendly, _Progress, _say, main


@main.command()
@click.argument("programme_file", metavar="FILE", type=click.Path(dir_okay=False))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Directory for programme.json, fleet_use.svg and a folder per placed job.",
)
@click.option("--scheduler", default=None, help="Address of a running Dask scheduler.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Worker processes of the local Dask cluster (default: the CPUs, at most 8).",
)
@click.option("--force", is_flag=True, help="Replace an earlier programme in --out.")
@click.option("--json", "as_json", is_flag=True, help="Print programme.json's data for machines.")
@_friendly
def programme(
    programme_file: str,
    out_dir: str,
    scheduler: str | None,
    workers: int | None,
    force: bool,
    as_json: bool,
) -> None:
    """Plan every job's candidate windows on Dask, then share the region's trucks over time."""
    from planner.dispatch.programme_run import dask_client, run_programme, warm_up
    from planner.inputs.programme_file import load_programme
    from planner.outputs.files import claim_out_dir
    from planner.outputs.plan_set import OUTPUTS, plan_files
    from planner.outputs.programme import (
        PROGRAMME_OUTPUTS,
        fleet_svg,
        job_files,
        programme_data,
        programme_json,
        programme_lines,
    )
    from planner.outputs.summaries import dumps

    source = Path(programme_file)
    count = workers or min(os.cpu_count() or 1, 8)
    progress = _Progress()
    with (
        claim_out_dir(out_dir, PROGRAMME_OUTPUTS, force=force, inputs=[source]) as top,
        contextlib.ExitStack() as stack,
    ):
        prog = load_programme(source)
        inputs = [source, *(j.case_path for j in prog.jobs)]
        for job in prog.jobs:
            if job.case.network.path is not None:
                inputs.append(job.case.network.path)
            if job.case.loads.csv_profile is not None:
                inputs.append(job.case.loads.csv_profile.path)
        top.refuse_inputs(inputs)
        claims = {}
        for job in prog.jobs:
            folder = os.path.join(out_dir, job.folder)
            claims[job.folder] = stack.enter_context(
                claim_out_dir(folder, ("case.toml", *OUTPUTS), force=force, inputs=inputs)
            )
        where = scheduler or f"a local Dask cluster of {count} worker processes"
        _say(f"planning {len(prog.jobs)} jobs on {where} ...", err=True)
        client, engine = stack.enter_context(dask_client(scheduler, count))
        # the workers import the planning code while this process writes the windows' cases
        warm_up(client, ("planner.dispatch.pipeline", "planner.outputs.plan_set"))
        try:
            result = run_programme(prog, top.path, client, plan_files, progress=progress)
        finally:
            progress.close()
        result = dataclasses.replace(result, engine={**result.engine, **engine})
        written: list[str] = []
        for r in result.jobs:
            if r.window is None:
                continue
            paths = claims[r.job.folder].commit(job_files(r))
            written += [str(path) for path in paths]
        paths = top.commit(
            {"programme.json": programme_json(result), "fleet_use.svg": fleet_svg(result)}
        )
        written += [str(path) for path in paths]
    if as_json:
        click.echo(dumps({**programme_data(result), "written": written}))
    else:
        _say(*programme_lines(result, written))
    placed = all(r.window is not None for r in result.jobs)
    sys.exit(EXIT_OK if placed else EXIT_VIOLATIONS)
