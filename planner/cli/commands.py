"""The single-case commands: check, networks, inspect, plan, validate."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from planner.cli.common import EXIT_OK, EXIT_VIOLATIONS, _friendly, _load, _Progress, _say, main


@main.command()
@click.argument("case", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@_friendly
def check(case: str, as_json: bool) -> None:
    """Check a case file against its network and print a summary."""
    from planner.checks.normal_state import normal_state_findings
    from planner.decide.affected import affected_area, area_warnings, stage_contexts

    c = _load(case)
    progress = _Progress()
    try:
        contexts = stage_contexts(c, progress)
        areas = affected_area(c, contexts, progress)
        progress("solving the normal state before each stage", 0, 1)
        normal = normal_state_findings(contexts)
    finally:
        progress.close()
    needs = area_warnings(areas) + [f.message for f in normal]
    if as_json:
        from planner.outputs.summaries import check_summary, dumps

        summary = check_summary(c, normal)
        summary["warnings"] += needs
        click.echo(dumps(summary))
        return
    net = c.network.net
    _say(f"case {c.name!r}: valid ({c.file})")
    _say(
        f"  network   {c.network.source}: {len(net.bus)} buses, {len(net.line)} lines, "
        f"{len(net.trafo)} transformers, {len(net.switch)} switches, {len(net.load)} loads"
    )
    f = c.fleet
    named = [(f"{k.name}: " if k.name else "", k) for k in f.kinds]  # a mixed fleet's types
    mix = ", ".join(f"{n}{k.trucks} x {k.rating_kw:g} kW ({k.rating_kva:g} kVA)" for n, k in named)
    _say(f"  fleet     {mix}, reserve {f.reserve}")
    bays = sum(p.bays for p in c.connection_points)
    _say(f"  points    {len(c.connection_points)} connection points, {bays} bays")
    _say(
        f"  loads     {len(c.loads.protected)} protected of {len(net.load)}, profile "
        f"{c.loads.profile}, margin {c.loads.margin:g}"
    )
    _say(f"  stages    {len(c.stages)}")
    for warning in (*c.network_warnings, *needs):
        _say(f"  warning   {warning}")
    for s in c.stages:
        works = ", ".join(r.text for r in s.out_of_service) or "nothing"
        _say(
            f"    - {s.name}: {s.start.isoformat()} to {s.end.isoformat()} "
            f"({s.hours:g} h), out: {works}"
        )


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@_friendly
def networks(as_json: bool) -> None:
    """List the shipped networks and the pandapower shortcuts."""
    from planner.inputs.network import shipped_networks

    root = Path(__file__).resolve().parents[2]  # the checkout, when run from one
    from_checkout = (root / "pyproject.toml").is_file() and (root / "networks").is_dir()
    packaged = Path(__file__).resolve().parents[1] / "data"  # an installed planner's own copy
    rows = shipped_networks(root / "networks" if from_checkout else packaged)
    if as_json:  # [{"network": what a case's `network` may say, "description": ...}]
        from planner.outputs.summaries import dumps

        click.echo(dumps([{"network": n, "description": t} for n, t in rows]))
    for name, text in [] if as_json else rows:
        _say(f"{name:<45} {text}")


@main.command()
@click.argument("case", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@_friendly
def inspect(case: str, as_json: bool) -> None:
    """Show, per stage, what the works cut off, the lower bound on trucks and the candidate
    connection points (and which the planner would use)."""
    from planner.decide.affected import affected_area
    from planner.outputs.inspection import inspection_lines

    c = _load(case)
    progress = _Progress()
    try:
        areas = affected_area(c, progress=progress)
    finally:
        progress.close()
    if as_json:
        from planner.outputs.summaries import dumps

        click.echo(dumps([a.as_json() for a in areas]))
        return
    _say(*inspection_lines(areas))


def _inputs_of(case: Any) -> list[Path]:
    """The files a loaded case read besides itself: never to be overwritten by outputs."""
    found = [case.network.path] if case.network.path is not None else []
    if case.loads.csv_profile is not None:
        found.append(case.loads.csv_profile.path)
    return found


@main.command()
@click.argument("case", type=click.Path(dir_okay=False))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Directory for the plan set: plan.json, schedule.csv, switching.csv, plan.md, "
    "report.html, plan.xlsx and (with geodata) map.geojson.",
)
@click.option("--force", is_flag=True, help="Replace an earlier plan in --out.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON for machines.")
@_friendly
def plan(case: str, out_dir: str, force: bool, as_json: bool) -> None:
    """Plan transfers and trucks for every stage, verify every hour and write the dispatch."""
    from planner.api import plan_dispatch
    from planner.outputs.files import claim_out_dir
    from planner.outputs.plan_set import OUTPUTS, plan_files
    from planner.outputs.terminal import plan_lines

    with claim_out_dir(out_dir, OUTPUTS, force=force, inputs=[Path(case)]) as target:
        c = _load(case)
        target.refuse_inputs(_inputs_of(c))
        progress = _Progress()
        try:
            dispatch = plan_dispatch(c, progress=progress)
        finally:
            progress.close()
        result = dispatch.plan
        files = plan_files(c, dispatch)
        try:
            written = target.commit(files)
            if as_json:
                from planner.outputs.summaries import dumps, plan_summary

                click.echo(dumps(plan_summary(result, written)))
            else:
                _say(*plan_lines(c.name, result, written))
        except KeyboardInterrupt:
            if not target.committed:
                raise
            _say("", f"interrupted: the new outputs in {out_dir} were written in full", err=True)
            sys.exit(130)
    sys.exit(EXIT_OK if result.feasible else EXIT_VIOLATIONS)


@main.command()
@click.argument("case", type=click.Path(dir_okay=False))
@click.argument("plan_file", metavar="PLAN", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON for machines.")
@_friendly
def validate(case: str, plan_file: str, as_json: bool) -> None:
    """Re-verify a plan file (hand-edited or from elsewhere) against its case."""
    from planner.api import validate as validate_plan
    from planner.outputs.terminal import verification_lines

    c = _load(case)
    progress = _Progress()
    try:
        report = validate_plan(c, plan_file, progress=progress)
    finally:
        progress.close()
    if as_json:
        from planner.outputs.summaries import dumps, validate_summary

        click.echo(dumps(validate_summary(report, plan_file)))
        sys.exit(EXIT_OK if report.passed else EXIT_VIOLATIONS)
    _say(f"plan {plan_file} for {c.name!r}: {'holds' if report.passed else 'DOES NOT HOLD'}")
    for name, verification in report.verifications():
        _say(*verification_lines(name, verification))
    for v in report.plan_violations:
        _say(f"  plan: {v.kind}: {v.message}")
    sys.exit(EXIT_OK if report.passed else EXIT_VIOLATIONS)
