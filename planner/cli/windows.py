"""`planner windows`: plan variants of a stage (daily windows, start shifts) and compare them."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import os
import sys
from pathlib import Path
from typing import Any

import click

from planner.cli.common import EXIT_OK, EXIT_VIOLATIONS, _friendly, _Progress, _say, main
from planner.inputs.case_variant import MAX_SHIFT_DAYS, daily_window

DEFAULT_WINDOWS = ("08:00-18:00", "22:00-06:00")
DEFAULT_SHIFT_DAYS = 3


def _windows_given(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> Any:
    """--daily: each a window HH:MM-HH:MM; not with --no-daily."""
    if value and ctx.params.get("no_daily"):
        raise click.BadParameter("not with --no-daily", ctx, param)
    for text in value:
        try:
            daily_window(text)
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx, param) from None
    return value


def _no_daily_given(ctx: click.Context, param: click.Parameter, value: bool) -> Any:
    if value and ctx.params.get("dailies"):
        raise click.BadParameter("not with --daily", ctx, param)
    return value


@main.command()
@click.argument("case", type=click.Path(dir_okay=False))
@click.option(
    "--stage",
    "stage_name",
    metavar="NAME",
    help="The stage the daily windows apply to (default: the longest).",
)
@click.option(
    "--daily",
    "dailies",
    multiple=True,
    metavar="HH:MM-HH:MM",
    callback=_windows_given,
    help="A daily work window to try on the stage; repeat for more "
    f"(default: {' and '.join(DEFAULT_WINDOWS)}).",
)
@click.option("--no-daily", is_flag=True, callback=_no_daily_given, help="Try no daily window.")
@click.option(
    "--shift-days",
    type=click.IntRange(0, MAX_SHIFT_DAYS),
    default=DEFAULT_SHIFT_DAYS,
    show_default=True,
    help="Also try the whole works started 1 to N days later (0: no shifts).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Write each variant's case.toml and plan set into OUT/<variant>/.",
)
@click.option("--force", is_flag=True, help="Replace the planner's earlier variant sets in --out.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON for machines.")
@_friendly
def windows(
    case: str,
    stage_name: str | None,
    dailies: tuple[str, ...],
    no_daily: bool,
    shift_days: int,
    out_dir: str | None,
    force: bool,
    as_json: bool,
) -> None:
    """Plan variants of a stage: as given, in daily windows and started later; compare them.

    A daily window whose plan is not outage-free (or not feasible) is tried once more an hour
    shorter, started an hour later and ended an hour earlier (e.g. daily-0800-1700): its
    switching then meets a lighter load."""
    from planner.cli.commands import _inputs_of
    from planner.core.errors import CaseError, OutputError, Problem
    from planner.dispatch.variants import VariantJob, VariantResult, longest_stage, plan_windows
    from planner.inputs.case_builder import CaseBuilder
    from planner.inputs.case_file import read_case_data
    from planner.inputs.case_variant import Variant, window_variants
    from planner.outputs.files import claim_out_dir
    from planner.outputs.plan_set import OUTPUTS, plan_files
    from planner.outputs.windows import windows_json, windows_lines

    if out_dir is not None and not out_dir.strip():
        raise OutputError("--out is empty: name the directory for the variants")
    path = Path(case)
    if sys.stderr.isatty():
        _say(f"reading {case} and its network ...", err=True)
    data, raw = read_case_data(path)  # read once: the variants are made from these same bytes
    c = CaseBuilder(case, path.parent, hashlib.sha256(raw).hexdigest()).build(copy.deepcopy(data))
    if stage_name is None:
        stage = longest_stage(c)
    else:
        found = [s for s in c.stages if s.name == stage_name]
        if not found:
            names = ", ".join(repr(s.name) for s in c.stages)
            message = f"--stage {stage_name!r}: no stage has that name (the stages: {names})"
            raise CaseError([Problem(case, "stages", message)])
        stage = found[0]
    tried = () if no_daily else (dailies or DEFAULT_WINDOWS)
    variants = window_variants(stage.name, list(tried), shift_days)
    with contextlib.ExitStack() as claims:
        progress = _Progress()
        written: dict[str, Path] = {}
        targets: list[Any] = []  # the round's claimed folders, in its jobs' order

        def jobs(round_variants: list[Variant]) -> list[VariantJob]:
            """Each variant's folder under --out claimed; its case is its case.toml there, its
            paths seen from there."""
            assert out_dir is not None
            targets.clear()
            out = []
            for variant in round_variants:
                target = claims.enter_context(
                    claim_out_dir(
                        os.path.join(out_dir, variant.name),
                        (*OUTPUTS, "case.toml"),
                        force=force,
                        inputs=[path],
                    )
                )
                target.refuse_inputs(_inputs_of(c))
                targets.append(target)
                out.append(VariantJob(variant, str(target.path / "case.toml"), target.path))
            return out

        def write(done: list[VariantResult]) -> None:
            """Write a round's variants into their folders (a refused one leaves none)."""
            try:
                for result, target in zip(done, targets, strict=True):
                    if result.figures is not None:
                        target.commit({"case.toml": result.case_text, **result.files})
                        written[result.name] = target.path
            except KeyboardInterrupt:
                if not written:
                    raise
                _say("", f"interrupted: written in full: {', '.join(written)}", err=True)
                sys.exit(130)

        try:
            results = plan_windows(
                data,
                case,
                path.parent,
                variants,
                stage.name,
                jobs=jobs if out_dir is not None else None,
                render=plan_files if out_dir is not None else None,
                progress=progress,
                planned=write if out_dir is not None else None,
            )
        finally:
            progress.close()
    has_costs = c.costs is not None
    if as_json:
        from planner.outputs.summaries import dumps

        click.echo(dumps(windows_json(c.name, case, stage.name, results, has_costs, written)))
    else:
        _say(*windows_lines(c.name, case, stage.name, results, has_costs, written))
    sys.exit(EXIT_OK if all(r.feasible for r in results) else EXIT_VIOLATIONS)
