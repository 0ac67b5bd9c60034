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
    from planner.dispatch.variants import VariantJob, longest_stage, plan_variants
    from planner.inputs.case_builder import CaseBuilder
    from planner.inputs.case_file import read_case_data
    from planner.inputs.case_variant import narrowed_variants, window_variants
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
        results: list[Any] = []
        written: dict[str, Path] = {}

        def plan_round(round_variants: list[Any]) -> list[Any]:
            """Plan `round_variants` (each written under --out when given, as it is planned)."""
            targets = []
            # without --out nothing is written: each variant is named after the case, its
            # paths as the case has them; with it, a variant's case is its case.toml, paths
            # seen from there
            jobs = [VariantJob(v, f"{case} [{v.name}]", path.parent) for v in round_variants]
            if out_dir is not None:
                jobs = []
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
                    jobs.append(VariantJob(variant, str(target.path / "case.toml"), target.path))
            done = plan_variants(
                data,
                case,
                path.parent,
                jobs,
                render=plan_files if out_dir is not None else None,
                progress=progress,
            )
            try:
                for result, target in zip(done, targets, strict=False):
                    if result.figures is not None:  # a refused variant leaves no folder behind
                        target.commit({"case.toml": result.case_text, **result.files})
                        written[result.name] = target.path
            except KeyboardInterrupt:
                if not written:
                    raise
                _say("", f"interrupted: written in full: {', '.join(written)}", err=True)
                sys.exit(130)
            return done

        try:
            results = plan_round(variants)
            # a daily window that did not plan outage-free: the same an hour shorter, once
            tried_names = {v.name for v in variants}
            narrower: dict[str, Any] = {}
            for variant, result in zip(variants, results, strict=True):
                planned = result.figures is not None
                if planned and not (result.feasible and result.figures["outage_free"]):
                    for shorter in narrowed_variants(variant, stage.name):
                        if shorter.name not in tried_names:
                            narrower.setdefault(shorter.name, shorter)
            if narrower:
                results += plan_round(list(narrower.values()))
        finally:
            progress.close()
    has_costs = c.costs is not None
    if as_json:
        from planner.outputs.summaries import dumps

        click.echo(dumps(windows_json(c.name, case, stage.name, results, has_costs, written)))
    else:
        _say(*windows_lines(c.name, case, stage.name, results, has_costs, written))
    sys.exit(EXIT_OK if all(r.feasible for r in results) else EXIT_VIOLATIONS)
