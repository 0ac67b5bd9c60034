"""Switching steps and island protection as crews and engineers read them (plan.md, report)."""

from __future__ import annotations

from datetime import datetime

from planner.core.plan import StagePlan
from planner.core.text import for_markdown

__all__ = [
    "PROTECTION_CAPTION",
    "PROTECTION_HEADER",
    "households_text",
    "protection_rows",
    "protection_table",
    "step_sync",
    "step_text",
]


def _when(text: str) -> str:
    return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M")


def step_sync(step: dict) -> str:
    """What a device sees: differences before a closing, the power an opening breaks."""
    if "sync" in step:
        sync = step["sync"]
        joins = f" joins {' + '.join(step['joins'])}" if step.get("joins") else ""
        return f"dV {sync['dv_percent']:g} %, dθ {sync['dtheta_deg']:g}°{joins}"
    if step.get("across_kw") is not None:
        return f"breaks {step['across_kw']:,.0f} kW"
    return ""


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


def protection_table(stage: StagePlan) -> list[str]:
    """Fault currents of each truck island against its relays, earthing, the largest load step
    (Markdown lines, every cell escaped: a `|` in a name cannot add a column)."""
    rows = protection_rows(stage)
    if not rows:
        return []
    out = [
        PROTECTION_CAPTION,
        "",
        "| " + " | ".join(PROTECTION_HEADER) + " |",
        "|" + "---|" * len(PROTECTION_HEADER),
    ]
    for cells, failed in rows:
        shown = [for_markdown(c) for c in cells]
        if failed:
            shown[-1] = f"**{shown[-1]}**"
        out.append("| " + " | ".join(shown) + " |")
    return [*out, ""]


def step_text(step: dict) -> str:
    """One switching step as a crew reads it (Markdown; names escaped)."""
    problems = step.get("violations", [])
    solved = step.get("solved", {})
    verdict = "ok" if not problems else "**" + "; ".join(for_markdown(p) for p in problems) + "**"
    at = f" at {for_markdown(str(step['at']))}" if step.get("at") else ""
    device = f" ({for_markdown(str(step['device']))})" if step.get("device") else ""
    detail = for_markdown(step_sync(step))
    return (
        f"{_when(step['time'])} **{step['action']}** {for_markdown(str(step['element']))}{at}"
        f"{device}{'; ' + detail if detail else ''} — vm {solved.get('min_vm_pu')}-"
        f"{solved.get('max_vm_pu')} pu, {verdict}"
    )
