"""Switching steps and island protection as crews and engineers read them (plan.md, report)."""

from __future__ import annotations

from datetime import datetime

from planner.core.plan import StagePlan

__all__ = ["households_text", "protection_table", "step_sync", "step_text"]


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


def protection_table(stage: StagePlan) -> list[str]:
    """Fault currents of each truck island against its relays, earthing, the largest load step."""
    rows = [i for i in stage.islands if i.protection]
    if not rows:
        return []
    out = [
        "Protection of the truck islands (IEC 60909, minimum 2-phase fault, fewest trucks online):",
        "",
        "| island | online | fault at bus | I''k2 kA | I'k2 kA | at delay kA | needed kA "
        "| grid-fed kA | I''k3 max kA | earthing | load step | verdict |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for island in rows:
        p, d = island.protection or {}, island.dynamic or {}
        needed = p.get("required_at_delay_ka") or 0.0
        verdict = {True: "passes", False: "**FAILS**", None: "not required"}[p.get("passed")]
        if p.get("violations") and p.get("passed") is None:
            verdict = "warning: " + "; ".join(p["violations"])
        step = (
            f"{d.get('largest_step_kw', 0):,.0f} kW ({d.get('step_percent', 0):g} % of "
            f"{d.get('limit_percent', 0):g} %)"
            if d.get("event")
            else "no trip event"
        )
        out.append(
            f"| {island.id} | {', '.join(p.get('online', []))} | {p.get('fault_bus')} "
            f"| {p.get('ik2_min_subtransient_ka')} | {p.get('ik2_min_transient_ka')} "
            f"| {p.get('ik2_min_at_delay_ka')} | {needed:.2f} | {p.get('grid_ik2_min_ka')} "
            f"| {p.get('ik3_max_ka')} | {p.get('earthing') or 'none'} | {step} | {verdict} |"
        )
    return [*out, ""]


def step_text(step: dict) -> str:
    """One switching step as a crew reads it."""
    problems = step.get("violations", [])
    solved = step.get("solved", {})
    verdict = "ok" if not problems else "**" + "; ".join(problems) + "**"
    at = f" at {step['at']}" if step.get("at") else ""
    device = f" ({step['device']})" if step.get("device") else ""
    detail = step_sync(step)
    return (
        f"{_when(step['time'])} **{step['action']}** {step['element']}{at}{device}"
        f"{'; ' + detail if detail else ''} — vm {solved.get('min_vm_pu')}-"
        f"{solved.get('max_vm_pu')} pu, {verdict}"
    )
