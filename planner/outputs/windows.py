"""What `planner windows` shows: the variants of a stage side by side, cheapest first.

Order: outage-free variants first, then feasible ones that interrupt protected load while
switching, then infeasible ones, then variants whose case was refused;
within each, by cost (`summary.costs.total`) when the case has `[costs]`, else by trucks and
then fuel; equal variants keep the order they were asked for (as given, daily windows, shifts).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from planner.dispatch.variants import VariantResult

__all__ = ["COLUMNS", "sort_rule", "sorted_results", "windows_json", "windows_lines"]

COLUMNS = (
    "variant",
    "trucks",
    "transfers",
    "peak truck loading",
    "fuel l",
    "cost",
    "customer-hours avoided",
    "plan",
)
_RIGHT = {"trucks", "transfers", "peak truck loading", "fuel l", "cost", "customer-hours avoided"}


def sort_rule(has_costs: bool) -> str:
    """The order of the rows, as said under the table (and in the JSON's `sorted_by`)."""
    if has_costs:
        return "sorted by cost (summary.costs.total), lowest first"
    return "sorted by trucks, then fuel: the case has no [costs] table to price them"


def sorted_results(results: list[VariantResult], has_costs: bool) -> list[VariantResult]:
    """`results` in the table's order (module docstring)."""

    def key(result: VariantResult) -> tuple[float, ...]:
        figures = result.figures
        if figures is None:
            return (2.0,)
        # outage-free plans first, then feasible ones that interrupt protected load while
        # switching, then infeasible ones: protected load served comes before fewer trucks
        rank = 0.0 if figures["outage_free"] else 0.5 if figures["feasible"] else 1.0
        if has_costs:
            cost = figures["cost"]
            return (rank, math.inf if cost is None else float(cost))
        return (rank, float(figures["trucks"]), float(figures["fuel_l"]))

    return sorted(results, key=key)


def _status(result: VariantResult) -> str:
    if result.figures is None:
        return "refused"
    if not result.figures["feasible"]:
        return "INFEASIBLE"
    return "outage-free" if result.figures["outage_free"] else "with interruptions"


def _cells(result: VariantResult) -> list[str]:
    f = result.figures
    if f is None:
        return [result.name, "-", "-", "-", "-", "-", "-", _status(result)]
    cost = _shown(f["cost"], ",.2f")
    return [
        result.name,
        str(f["trucks"]),
        str(f["transfers"]),
        _shown(f["peak_truck_loading_percent"], ".1f", " %"),
        _shown(f["fuel_l"], ",.0f"),
        cost if f["currency"] is None or cost == "-" else f"{f['currency']} {cost}",
        _shown(f["customer_hours_avoided"], ",.0f"),  # None: the network counts no households
        _status(result),
    ]


def _shown(value: float | None, spec: str, unit: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{unit}"


def windows_lines(
    case_name: str,
    case_file: str,
    stage: str,
    results: list[VariantResult],
    has_costs: bool,
    written: dict[str, Path] | None = None,
) -> list[str]:
    """The table, its order, what was refused and what was written; lines for `_say`."""
    ordered = sorted_results(results, has_costs)
    rows = [list(COLUMNS), *(_cells(r) for r in ordered)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]

    def line(row: list[str]) -> str:
        cells = [
            cell.rjust(width) if name in _RIGHT else cell.ljust(width)
            for name, cell, width in zip(COLUMNS, row, widths, strict=True)
        ]
        return "  ".join(cells).rstrip()

    out = [f"case {case_name!r} ({case_file}): variants of stage {stage!r}", ""]
    out += [line(row) for row in rows]
    out += ["", sort_rule(has_costs)]
    out += _fewer_trucks(results)
    for result in ordered:
        out += [f"{result.name} refused: {problem}" for problem in result.problems]
    for name, folder in (written or {}).items():
        out.append(f"written: {folder}/ (case.toml and the plan set of {name})")
    return out


def _fewer_trucks(results: list[VariantResult]) -> list[str]:
    """The issue's question in one line: does any variant need fewer trucks than as given?
    Where the first is outage-free, only outage-free variants count; a feasible one with
    fewer trucks that interrupts protected load while switching is named as such."""
    base = results[0].figures if results else None
    if base is None or not base["feasible"]:
        return []
    name, trucks = results[0].name, base["trucks"]
    fewer = [  # (variant, trucks, outage-free) of the feasible variants with fewer trucks
        (r.name, r.figures["trucks"], r.figures["outage_free"])
        for r in results[1:]
        if r.figures is not None and r.feasible and r.figures["trucks"] < trucks
    ]
    better = [(n, t) for n, t, free in fewer if free or not base["outage_free"]]
    if better:
        best, count = min(better, key=lambda b: b[1])
        return [f"fewest trucks: {best}, {count} against {trucks} for {name}"]
    if not fewer:
        return [f"no variant needs fewer trucks than {name} ({trucks})"]
    return [f"no outage-free variant needs fewer trucks than {name} ({trucks})"] + [
        f"{n} needs {t} but interrupts protected load while switching (see its plan's "
        "interruptions)"
        for n, t, _ in fewer
    ]


def windows_json(
    case_name: str,
    case_file: str,
    stage: str,
    results: list[VariantResult],
    has_costs: bool,
    written: dict[str, Path] | None = None,
) -> dict[str, Any]:
    """`windows --json`: `{case, file, stage, sorted_by, variants: [row, ...]}`, rows in the
    table's order."""
    written = written or {}
    rows = []
    for result in sorted_results(results, has_costs):
        figures = result.figures or {}
        rows.append(
            {
                "variant": result.name,
                "refused": result.figures is None,
                "feasible": result.feasible,
                "outage_free": bool(figures.get("outage_free", False)),
                "trucks": figures.get("trucks"),
                "transfers": figures.get("transfers"),
                "peak_truck_loading_percent": figures.get("peak_truck_loading_percent"),
                "fuel_l": figures.get("fuel_l"),
                "cost": figures.get("cost"),
                "currency": figures.get("currency"),
                "customer_hours_avoided": figures.get("customer_hours_avoided"),
                "problems": list(result.problems),
                "dir": str(written[result.name]) if result.name in written else None,
            }
        )
    return {
        "case": case_name,
        "file": case_file,
        "stage": stage,
        "sorted_by": "cost" if has_costs else "trucks, fuel",
        "variants": rows,
    }
