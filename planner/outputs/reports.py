"""Human outputs of a dispatch: crew orders (plan.md) and a self-contained report (report.html)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from planner.core.plan import StagePlan, Supply
from planner.core.text import for_html as escape
from planner.core.text import for_markdown as md
from planner.core.text import for_markdown_code as md_code
from planner.dispatch.pipeline import Dispatch
from planner.grid.powerflow import truck_loading_percent
from planner.inputs.case import Case
from planner.inputs.profiles import step_hours
from planner.outputs.benefit import benefit_text, customer_hours_text
from planner.outputs.drawing import line_chart, network_svg
from planner.outputs.optimality import optimality_text
from planner.outputs.steps import (
    PROTECTION_CAPTION,
    PROTECTION_HEADER,
    households_text,
    protection_rows,
    protection_table,
    step_sync,
    step_text,
)

__all__ = ["crew_orders", "html_report"]


def _when(text: str) -> str:
    return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M")


def _truck_hours(dispatch: Dispatch) -> dict[str, dict[str, float]]:
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in dispatch.fleet_hours:
        t = totals[row.truck]
        t["online_h"] += row.hours if row.online else 0
        t["energy_kwh"] += row.energy_kwh
        t["fuel_l"] += row.fuel_l
        t["refuels"] += 1 if row.refuel_l > 0 else 0
    return totals


def _fleet_table(dispatch: Dispatch) -> list[str]:
    totals = _truck_hours(dispatch)
    if not totals:
        return []
    out = [
        "## Trucks over the whole works",
        "",
        "| truck | hours online | energy kWh | fuel L | refuels |",
        "|---|---|---|---|---|",
    ]
    for truck in sorted(totals, key=lambda t: (len(t), t)):
        t = totals[truck]
        out.append(
            f"| {md(truck)} | {t['online_h']:.0f} | {t['energy_kwh']:,.0f} | "
            f"{t['fuel_l']:,.0f} | {t['refuels']:.0f} |"
        )
    return [*out, ""]


def crew_orders(case: Case, dispatch: Dispatch) -> str:
    """plan.md: where each truck goes and when, which bay, the switching order, and fuel.

    Every name from the case or the network goes through `for_markdown` (or a code span):
    it shows literally and cannot open a heading, list item, table cell, link or tag.
    """
    plan = dispatch.plan
    setup = timedelta(hours=case.fleet.setup_hours)
    s = plan.summary
    out = [
        f"# Dispatch plan: {md(plan.case_name)}",
        "",
        f"- Network: {md_code(plan.network)}; case file {md_code(plan.case_file)}",
        f"- Result: **{'feasible, every stage verified' if plan.feasible else 'NOT FEASIBLE'}**; "
        f"{plan.trucks_used} of {plan.trucks_available} trucks of {plan.rating_kw:g} kW "
        f"(pf {plan.power_factor:g}, {plan.rating_kw / plan.power_factor:g} kVA)",
        f"- Households kept supplied: {s['households_kept_supplied']:,}",
        f"- Benefit: {benefit_text(s)}",
        f"- Trucks: {optimality_text(s['optimality'], plan.trucks_used)}",
        f"- Truck energy {s['truck_energy_kwh']:,.0f} kWh, fuel {s['fuel_l']:,.0f} L, "
        f"{s['refuels']} refuels, {s['truck_running_hours']:,} truck-hours running",
        "",
    ]
    for number, stage in enumerate(plan.stages, start=1):
        out += _stage_orders(number, stage, setup)
    out += _fleet_table(dispatch)
    out += ["## Refuelling", ""]
    if not dispatch.refuels:
        out.append("No refuelling needed.")
    by_day: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for r in dispatch.refuels:
        when = datetime.fromisoformat(r.time)
        by_day[when.strftime("%Y-%m-%d")][r.truck].append(when.strftime("%H:%M"))
    if dispatch.refuels:
        out += [
            "Refuel in place to a full tank "
            f"({case.fleet.tank_l:g} L) at these times (local time of the stage):",
            "",
            "| day | truck | times |",
            "|---|---|---|",
        ]
        for day in sorted(by_day):
            for truck in sorted(by_day[day], key=lambda t: (len(t), t)):
                out.append(f"| {day} | {md(truck)} | {', '.join(by_day[day][truck])} |")
    out.append("")
    return "\n".join(out)


def _stage_orders(number: int, stage: StagePlan, setup: timedelta) -> list[str]:
    start = datetime.fromisoformat(stage.start)
    out = [
        f"## {_heading(number, stage.name, md)}",
        "",
        f"{_when(stage.start)} to {_when(stage.end)}. Works: "
        f"{', '.join(md(r.text) for r in stage.out_of_service) or 'none'}.",
        "",
    ]
    v = stage.verification
    out.append(
        f"Verification: **{'passed' if v.passed else 'FAILED'}** over {v.time_steps} "
        f"time steps ({v.load_flows} load flows)."
    )
    for violation in v.violations:
        out.append(f"- {md(violation.message)}")
    out.append("")
    if stage.islands:
        out += [
            "| island | buses | supply | design peak kW | trucks | households |",
            "|---|---|---|---|---|---|",
        ]
        for i in stage.islands:
            out.append(
                f"| {md(i.id)} | {len(i.buses)} | {md(i.supply)} | {i.design_peak_kw:,.0f} | "
                f"{md(', '.join(i.trucks)) or '-'} | {i.households:,} |"
            )
        out.append("")
    if stage.trucks:
        out += [
            f"Trucks: be connected and synchronised by {(start).strftime('%Y-%m-%d %H:%M')}"
            f" (leave {setup.total_seconds() / 3600:g} h for driving, connecting and "
            "synchronising).",
            "",
            "| truck | bay (connection point) | bus | island | hours online | energy kWh | "
            "fuel L |",
            "|---|---|---|---|---|---|---|",
        ]
        online: dict[str, float] = defaultdict(float)
        energy: dict[str, float] = defaultdict(float)
        fuel: dict[str, float] = defaultdict(float)
        times = [datetime.fromisoformat(h["time"]) for h in stage.schedule]
        durations = step_hours(times, datetime.fromisoformat(stage.end))
        for hour, duration in zip(stage.schedule, durations, strict=True):
            for t in hour["online"]:
                online[t] += duration
                energy[t] += max(hour["truck_kw"].get(t, 0.0), 0.0) * duration
                fuel[t] += hour["fuel_l"].get(t, 0.0)
        for t in stage.trucks:
            out.append(
                f"| {md(t.id)} | {md(t.connection_point)} | {t.bus} | {md(t.island)} "
                f"| {online[t.id]:g} "
                f"| {energy[t.id]:,.0f} | {fuel[t.id]:,.0f} |"
            )
        out.append("")
    out += protection_table(stage)
    if stage.sequence:
        out += [
            "Switching sequence (every step load-flow checked at its own time and the stage's "
            "worst time):",
            "",
        ]
        for step in stage.sequence:
            out.append(f"{step['step']}. {step_text(step)}")
        out.append("")
    if stage.interruptions:
        out.append(
            f"**Not outage-free:** {len(stage.interruptions)} break-before-make transfer(s) "
            "where no device can synchronise:"
        )
        for cut in stage.interruptions:
            out.append(
                f"- step {cut['step']}: {households_text(cut['households'])}{cut['kw']:,.0f} kW "
                f"off for {cut['minutes']:g} min"
            )
        out.append("")
    for note in stage.notes:
        out.append(f"- note: {md(note)}")
    if stage.notes:
        out.append("")
    return out


CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}
h1{font-size:24px}
h2{font-size:19px;border-bottom:2px solid #e67e22;padding-bottom:4px;margin-top:34px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 7px} th{background:#f3f0ea}
.ok{color:#1e8449;font-weight:bold} .bad{color:#c0392b;font-weight:bold}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{background:#f7f4ee;border-radius:6px;padding:10px 14px}
.card b{display:block;font-size:20px}
svg{max-width:100%;height:auto;border:1px solid #ddd;margin:6px 0}
"""


def _heading(number: int, name: str, show) -> str:
    """`Stage 2: name`, or just the name when it already says which stage it is."""
    if name.strip().lower() == f"stage {number}":
        return show(name)
    return f"Stage {number}: {show(name)}"


def html_report(case: Case, dispatch: Dispatch) -> str:
    """report.html: self-contained (inline CSS and SVG, no scripts, nothing fetched)."""
    plan = dispatch.plan
    s = plan.summary
    status = (
        '<span class="ok">feasible, every stage verified</span>'
        if plan.feasible
        else '<span class="bad">NOT FEASIBLE</span>'
    )
    cards = [
        ("trucks", f"{plan.trucks_used} of {plan.trucks_available}"),
        ("households kept supplied", f"{s['households_kept_supplied']:,}"),
        ("benefit", customer_hours_text(s)),
        ("truck energy", f"{s['truck_energy_kwh']:,.0f} kWh"),
        ("fuel", f"{s['fuel_l']:,.0f} L"),
        ("refuels", f"{s['refuels']}"),
    ]
    body = [
        f"<h1>Dispatch plan: {escape(plan.case_name)}</h1>",
        f"<p>Network <code>{escape(plan.network)}</code>; {status}.</p>",
        '<div class="cards">'
        + "".join(f'<div class="card"><b>{escape(v)}</b>{escape(k)}</div>' for k, v in cards)
        + "</div>",
    ]
    for number, (stage, ctx) in enumerate(zip(plan.stages, dispatch.contexts, strict=True), 1):
        body += _stage_html(number, stage, ctx.base_net, case)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(plan.case_name)}: dispatch plan</title><style>{CSS}</style></head>"
        "<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _stage_html(number: int, stage: StagePlan, net, case: Case) -> list[str]:
    v = stage.verification
    verdict = '<span class="ok">passed</span>' if v.passed else '<span class="bad">FAILED</span>'
    out = [
        f"<h2>{_heading(number, stage.name, escape)}</h2>",
        f"<p>{_when(stage.start)} to {_when(stage.end)}; works: "
        f"{escape(', '.join(r.text for r in stage.out_of_service) or 'none')}; "
        f"verification {verdict} over {v.time_steps} time steps.</p>",
        network_svg(net, stage),
    ]
    if stage.islands:
        out.append(
            "<table><tr><th>island</th><th>buses</th><th>supply</th><th>design peak kW</th>"
            "<th>trucks</th><th>households</th></tr>"
        )
        for i in stage.islands:
            out.append(
                f"<tr><td>{escape(i.id)}</td><td>{len(i.buses)}</td><td>{escape(i.supply)}</td>"
                f"<td>{i.design_peak_kw:,.0f}</td><td>{escape(', '.join(i.trucks) or '-')}"
                f"</td><td>{i.households:,}</td></tr>"
            )
        out.append("</table>")
    if stage.trucks:
        out.append(
            "<table><tr><th>truck</th><th>connection point</th><th>bus</th><th>island</th></tr>"
        )
        for t in stage.trucks:
            out.append(
                f"<tr><td>{escape(t.id)}</td><td>{escape(t.connection_point)}</td>"
                f"<td>{t.bus}</td><td>{escape(t.island)}</td></tr>"
            )
        out.append("</table>")
    labels = [datetime.fromisoformat(h["time"]).strftime("%d %H:%M") for h in stage.schedule]
    if stage.trucks and stage.schedule:
        fleet = case.fleet
        series = {
            t.id: [
                truck_loading_percent(
                    h["truck_kw"].get(t.id, 0.0),
                    h["truck_kvar"].get(t.id, 0.0),
                    fleet.rating_kw,
                    fleet.rating_kva,
                )
                for h in stage.schedule
            ]
            for t in stage.trucks
        }
        out.append(
            line_chart(
                series,
                labels,
                "Truck loading over time",
                "% of kVA rating",
                (100.0, case.fleet.min_loading * 100),
            )
        )
    if stage.schedule:
        vm = {
            "min vm": [
                h["min_vm_pu"] if h["min_vm_pu"] is not None else float("nan")
                for h in stage.schedule
            ],
            "max vm": [
                h["max_vm_pu"] if h["max_vm_pu"] is not None else float("nan")
                for h in stage.schedule
            ],
        }
        out.append(
            line_chart(
                vm,
                labels,
                "Voltage range over time",
                "pu",
                (case.limits.vm_min_pu, case.limits.vm_max_pu),
            )
        )
    worst = v.worst
    if worst:
        out.append("<ul>")
        for key, label in (
            ("min_vm", "lowest voltage"),
            ("max_vm", "highest voltage"),
            ("max_line", "highest line loading"),
            ("max_trafo", "highest transformer loading"),
            ("max_truck", "highest truck loading"),
        ):
            if key in worst:
                w = worst[key]
                out.append(
                    f"<li>{label}: {w['value']:.4g} at {escape(w['element'])}, "
                    f"{_when(w['time'])}</li>"
                )
        out.append("</ul>")
    if v.violations:
        out.append(
            '<ul class="bad">'
            + "".join(f"<li>{escape(x.message)}</li>" for x in v.violations)
            + "</ul>"
        )
    rows = protection_rows(stage)
    if rows:
        out.append(f"<p>{escape(PROTECTION_CAPTION)}</p><table>")
        out.append("<tr>" + "".join(f"<th>{escape(c)}</th>" for c in PROTECTION_HEADER) + "</tr>")
        for cells, _ in rows:
            out.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
        out.append("</table>")
    if stage.sequence:
        out.append(
            "<table><tr><th>step</th><th>time</th><th>action</th><th>element</th><th>device</th>"
            "<th>sync / across</th><th>vm pu</th><th>result</th></tr>"
        )
        for step in stage.sequence:
            solved = step.get("solved", {})
            problems = step.get("violations", [])
            result = (
                '<span class="ok">ok</span>'
                if not problems
                else f'<span class="bad">{escape("; ".join(problems))}</span>'
            )
            out.append(
                f"<tr><td>{step['step']}</td><td>{_when(step['time'])}</td>"
                f"<td>{escape(step['action'])}</td><td>{escape(step['element'])}</td>"
                f"<td>{escape(str(step.get('device', '')))}</td><td>{escape(step_sync(step))}</td>"
                f"<td>{solved.get('min_vm_pu')}-{solved.get('max_vm_pu')}</td>"
                f"<td>{result}</td></tr>"
            )
        out.append("</table>")
    if stage.interruptions:
        out.append(
            '<p class="bad">Not outage-free: '
            + "; ".join(
                f"step {c['step']}: {c['kw']:,.0f} kW off for {c['minutes']:g} min"
                for c in stage.interruptions
            )
            + "</p>"
        )
    supplies = {i.supply for i in stage.islands}
    if Supply.NONE in supplies and not stage.verification.passed:
        out.append('<p class="bad">Some cut-off load has no supply in this stage.</p>')
    return out
