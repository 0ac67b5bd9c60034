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
from planner.inputs.windows_daily import DailyWindow, read_daily, window_step_hours, works_windows
from planner.outputs.benefit import benefit_text, customer_hours_text
from planner.outputs.charts import line_chart
from planner.outputs.costs import costs_text
from planner.outputs.drawing import network_svg
from planner.outputs.facts import facts_html, facts_markdown, mix_used, trucks_of
from planner.outputs.optimality import optimality_text
from planner.outputs.risk import risk_text
from planner.outputs.steps import (
    PROTECTION_CAPTION,
    PROTECTION_HEADER,
    households_text,
    protection_rows,
    protection_table,
)
from planner.outputs.switching_sheet import SheetRow, sheet_html, sheet_markdown, sheet_rows
from planner.outputs.timeline import fuel_html, fuel_markdown, timeline_html, timeline_markdown

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
        f"{plan.trucks_used} of {plan.trucks_available} trucks {md(trucks_of(plan))}",
        f"- Households kept supplied: {s['households_kept_supplied']:,}",
        f"- Benefit: {benefit_text(s)}",
        f"- Trucks: {optimality_text(s['optimality'], plan.trucks_used)}",
        f"- Truck energy {s['truck_energy_kwh']:,.0f} kWh, fuel {s['fuel_l']:,.0f} L, "
        f"{s['refuels']} refuels, {s['truck_running_hours']:,} truck-hours running",
    ]
    if (cost := costs_text(s)) is not None:
        out.append(f"- Costs: {md(cost)}")
    if (risk := risk_text(s)) is not None:
        out.append(f"- Risk: {md(risk)}")
    out.append("")
    out += facts_markdown(case)
    sheets = sheet_rows(dispatch)
    for number, (stage, sheet) in enumerate(zip(plan.stages, sheets, strict=True), start=1):
        out += _stage_orders(number, stage, setup, sheet)
    out += _fleet_table(dispatch)
    out += timeline_markdown(dispatch.fleet_hours, [r for rows in sheets for r in rows])
    out += fuel_markdown(s.get("fuel_logistics"))
    return "\n".join(out)


def _windows(stage: StagePlan) -> list[tuple[datetime, datetime]]:
    """When a planned stage's works are out: its daily windows, or the whole stage."""
    start, end = datetime.fromisoformat(stage.start), datetime.fromisoformat(stage.end)
    daily = read_daily(stage.daily) if stage.daily else None
    return works_windows(start, end, daily if isinstance(daily, DailyWindow) else None)


def _stage_orders(
    number: int, stage: StagePlan, setup: timedelta, sheet: list[SheetRow]
) -> list[str]:
    start = _windows(stage)[0][0]
    daily = f", daily {stage.daily} (local time) only" if stage.daily else ""
    out = [
        f"## {_heading(number, stage.name, md)}",
        "",
        f"{_when(stage.start)} to {_when(stage.end)}{daily}. Works: "
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
    for known in v.preexisting:
        out.append(f"- broken as in the normal state (not counted): {md(known.message)}")
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
        durations = window_step_hours(times, _windows(stage))
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
    out += sheet_markdown(sheet)
    if stage.interruptions:
        out.append(
            f"**Not outage-free:** {len(stage.interruptions)} break-before-make transfer(s) "
            "where no device can synchronise, or make-before-break breaks a limit"
            + (
                f", each on every day of the works ({stage.interruptions[0]['days']} days):"
                if "days" in stage.interruptions[0]
                else ":"
            )
        )
        sheet_step = {r.plan_step: r.step for r in sheet if r.plan_step is not None}
        for cut in stage.interruptions:
            out.append(
                f"- sheet step {sheet_step.get(cut['step'], '?')} (plan step {cut['step']}): "
                f"{households_text(cut['households'])}{cut['kw']:,.0f} kW "
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
        (
            "trucks",
            f"{plan.trucks_used} of {plan.trucks_available}"
            + ("" if (mix := mix_used(plan)) is None else f" ({mix})"),
        ),
        ("households kept supplied", f"{s['households_kept_supplied']:,}"),
        ("benefit", customer_hours_text(s)),
        ("truck energy", f"{s['truck_energy_kwh']:,.0f} kWh"),
        ("fuel", f"{s['fuel_l']:,.0f} L"),
        ("refuels", f"{s['refuels']}"),
    ]
    if s.get("costs"):
        c = s["costs"]
        cards.append(("cost of the trucks", f"{c['currency']} {c['total']:,.0f}".strip()))
    body = [
        f"<h1>Dispatch plan: {escape(plan.case_name)}</h1>",
        f"<p>Network <code>{escape(plan.network)}</code>; {status}.</p>",
        '<div class="cards">'
        + "".join(f'<div class="card"><b>{escape(v)}</b>{escape(k)}</div>' for k, v in cards)
        + "</div>",
    ]
    if (cost := costs_text(s)) is not None:
        body.append(f"<p>Costs: {escape(cost)}</p>")
    if (risk := risk_text(s)) is not None:
        body.append(f"<p>Risk: {escape(risk)}</p>")
    body += facts_html(case)
    sheets = sheet_rows(dispatch)
    for number, (stage, ctx) in enumerate(zip(plan.stages, dispatch.contexts, strict=True), 1):
        body += _stage_html(number, stage, ctx.base_net, case, sheets[number - 1])
    body += timeline_html(dispatch.fleet_hours, [r for rows in sheets for r in rows])
    body += fuel_html(s.get("fuel_logistics"))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(plan.case_name)}: dispatch plan</title><style>{CSS}</style></head>"
        "<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _stage_html(number: int, stage: StagePlan, net, case: Case, sheet: list[SheetRow]) -> list[str]:
    v = stage.verification
    verdict = '<span class="ok">passed</span>' if v.passed else '<span class="bad">FAILED</span>'
    out = [
        f"<h2>{_heading(number, stage.name, escape)}</h2>",
        f"<p>{_when(stage.start)} to {_when(stage.end)}"
        f"{escape(f', daily {stage.daily} (local time) only') if stage.daily else ''}; works: "
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
                    fleet.machine(t.id).rating_kw,  # its own type's, in a mixed fleet
                    fleet.machine(t.id).rating_kva,
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
    if v.preexisting:
        out.append(
            "<p>Broken as in the network's normal state (not counted against the plan):</p><ul>"
            + "".join(f"<li>{escape(x.message)}</li>" for x in v.preexisting)
            + "</ul>"
        )
    rows = protection_rows(stage)
    if rows:
        out.append(f"<p>{escape(PROTECTION_CAPTION)}</p><table>")
        out.append("<tr>" + "".join(f"<th>{escape(c)}</th>" for c in PROTECTION_HEADER) + "</tr>")
        for cells, _ in rows:
            out.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
        out.append("</table>")
    out += sheet_html(sheet)
    sheet_step = {r.plan_step: r.step for r in sheet if r.plan_step is not None}
    if stage.interruptions:
        out.append(
            '<p class="bad">Not outage-free: '
            + "; ".join(
                f"sheet step {sheet_step.get(c['step'], '?')}: {c['kw']:,.0f} kW off for "
                f"{c['minutes']:g} min"
                for c in stage.interruptions
            )
            + "</p>"
        )
    supplies = {i.supply for i in stage.islands}
    if Supply.NONE in supplies and not stage.verification.passed:
        out.append('<p class="bad">Some cut-off load has no supply in this stage.</p>')
    return out
