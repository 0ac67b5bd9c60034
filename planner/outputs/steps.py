"""Island protection as engineers read it (plan.md, report); the switching steps are the crew
sheet of `switching_sheet`."""

from __future__ import annotations

from planner.core.plan import StagePlan
from planner.core.text import for_markdown

__all__ = [
    "PROTECTION_CAPTION",
    "PROTECTION_HEADER",
    "households_text",
    "protection_rows",
    "protection_table",
    "table_head",
]


def households_text(count: int | None) -> str:
    return f"{count:,} households, " if count else ""


PROTECTION_CAPTION = (
    "Protection of the truck islands (IEC 60909, minimum 2-phase fault, fewest trucks online):"
)
PROTECTION_HEADER = (
    "island",
    "online",
    "fault at bus",
    "I''k2 kA",
    "I'k2 kA",
    "at delay kA",
    "needed kA",
    "grid-fed kA",
    "I''k3 max kA",
    "earthing",
    "load step",
    "verdict",
)


def protection_rows(stage: StagePlan) -> list[tuple[list[str], bool]]:
    """Per truck island: the cells of `PROTECTION_HEADER` as plain text, and whether it fails."""
    rows = []
    for island in stage.islands:
        if not island.protection:
            continue
        p, d = island.protection or {}, island.dynamic or {}
        needed = p.get("required_at_delay_ka") or 0.0
        verdict = {True: "passes", False: "FAILS", None: "not required"}[p.get("passed")]
        if p.get("violations") and p.get("passed") is None:
            verdict = "warning: " + "; ".join(p["violations"])
        step = (
            f"{d.get('largest_step_kw', 0):,.0f} kW ({d.get('step_percent', 0):g} % of "
            f"{d.get('limit_percent', 0):g} %)"
            if d.get("event")
            else "no trip event"
        )
        cells = [
            island.id,
            ", ".join(p.get("online", [])),
            str(p.get("fault_bus")),
            str(p.get("ik2_min_subtransient_ka")),
            str(p.get("ik2_min_transient_ka")),
            str(p.get("ik2_min_at_delay_ka")),
            f"{needed:.2f}",
            str(p.get("grid_ik2_min_ka")),
            str(p.get("ik3_max_ka")),
            p.get("earthing") or "none",
            step,
            verdict,
        ]
        rows.append((cells, p.get("passed") is False))
    return rows


def table_head(caption: str, header: tuple[str, ...] | list[str]) -> list[str]:
    """A Markdown table's caption and header lines (the header names are the planner's own)."""
    return [caption, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]


def protection_table(stage: StagePlan) -> list[str]:
    """Fault currents of each truck island against its relays, earthing, the largest load step
    (Markdown lines, every cell escaped: a `|` in a name cannot add a column)."""
    rows = protection_rows(stage)
    if not rows:
        return []
    out = table_head(PROTECTION_CAPTION, PROTECTION_HEADER)
    for cells, failed in rows:
        shown = [for_markdown(c) for c in cells]
        if failed:
            shown[-1] = f"**{shown[-1]}**"
        out.append("| " + " | ".join(shown) + " |")
    return [*out, ""]
