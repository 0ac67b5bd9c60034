"""Each truck over the works (arrive, connect, online, refuels, disconnect, leave) and the tanker
rounds that fuel them: tables for plan.md and the report, and a chart (inline SVG, no scripts).

A truck's visit is a run of schedule rows at one bay: it arrives when its set-up starts,
connects and disconnects at its steps of the switching sheet (the "connect truck" step and the
end of the "disconnect truck" step; without a sheet, the first and last hour it stands at the
bay online or on standby) and leaves when it sets off for another bay or the works end (or,
later, once disconnected).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from planner.core.text import for_html, for_markdown
from planner.dispatch.schedule import FleetHour
from planner.outputs.switching_sheet import SheetRow

__all__ = [
    "Visit",
    "fuel_html",
    "fuel_markdown",
    "timeline_html",
    "timeline_markdown",
    "truck_visits",
]

_AT_BAY = ("online", "standby")
_COLOURS = {"setup": "#b0b0b0", "online": "#e67e22", "standby": "#85c1e9", "idle": "#e5e5e5"}


@dataclass(frozen=True)
class Visit:
    truck: str
    location: str
    arrive: datetime
    connect: datetime | None
    online_h: float
    refuels: int
    refuel_l: float
    disconnect: datetime | None
    leave: datetime


def _end(row: FleetHour) -> datetime:
    return row.time + timedelta(hours=row.hours)


def _runs(rows: list[FleetHour]) -> list[list[FleetHour]]:
    """A truck's rows away from the depot, split where it moves to another bay."""
    runs: list[list[FleetHour]] = []
    for row in rows:
        if row.status == "depot":
            continue
        if runs and runs[-1][-1].location == row.location and runs[-1][-1].status != "depot":
            runs[-1].append(row)
        else:
            runs.append([row])
    return runs


def _sheet_times(
    truck: str, arrive: datetime, until: datetime | None, sheet: list[SheetRow]
) -> tuple[datetime | None, datetime | None]:
    """When the sheet connects and disconnects `truck` between `arrive` and `until`."""
    mine = [
        r for r in sheet if r.truck == truck and arrive <= r.time and (not until or r.time < until)
    ]
    on = [r.time for r in mine if r.action == "connect truck"]
    off = [r.time + timedelta(minutes=r.minutes) for r in mine if r.action == "disconnect truck"]
    return (min(on) if on else None), (max(off) if off else None)


def truck_visits(
    fleet_hours: tuple[FleetHour, ...] | list[FleetHour], sheet: list[SheetRow] | None = None
) -> list[Visit]:
    """Every truck's visits to its bays, trucks in name order, each truck's in time order."""
    by_truck: dict[str, list[FleetHour]] = {}
    for row in sorted(fleet_hours, key=lambda r: r.time):
        by_truck.setdefault(row.truck, []).append(row)
    visits = []
    for truck in sorted(by_truck, key=lambda t: (len(t), t)):
        runs = _runs(by_truck[truck])
        for k, run in enumerate(runs):
            bay = [r for r in run if r.status in _AT_BAY]
            connect, disconnect = (bay[0].time, _end(bay[-1])) if bay else (None, None)
            if sheet:
                until = runs[k + 1][0].time if k + 1 < len(runs) else None
                on, off = _sheet_times(truck, run[0].time, until, sheet)
                connect = on or connect
                # with daily windows the sheet gives day one's; the schedule, the last day's
                disconnect = max(off, disconnect) if off and disconnect else off or disconnect
            leave = max(_end(run[-1]), disconnect or _end(run[-1]))
            visits.append(
                Visit(
                    truck,
                    run[0].location,
                    run[0].time,
                    connect,
                    sum(r.hours for r in run if r.online),
                    sum(1 for r in run if r.refuel_l > 0),
                    sum(r.refuel_l for r in run),
                    disconnect,
                    leave,
                )
            )
    return visits


def _t(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M") if when else "-"


_HEADER = (
    "truck",
    "bay",
    "arrive",
    "connect",
    "online h",
    "refuels",
    "refuelled L",
    "disconnect",
    "leave",
)


def _cells(v: Visit) -> list[str]:
    return [
        v.truck,
        v.location,
        _t(v.arrive),
        _t(v.connect),
        f"{v.online_h:g} h",
        str(v.refuels),
        f"{v.refuel_l:,.0f} L",
        _t(v.disconnect),
        _t(v.leave),
    ]


def timeline_markdown(
    fleet_hours: tuple[FleetHour, ...], sheet: list[SheetRow] | None = None
) -> list[str]:
    """plan.md's per-truck timeline (local time of the stages)."""
    visits = truck_visits(fleet_hours, sheet)
    if not visits:
        return []
    out = [
        "## Truck timeline",
        "",
        "| " + " | ".join(_HEADER) + " |",
        "|" + "---|" * len(_HEADER),
    ]
    out += ["| " + " | ".join(for_markdown(c) for c in _cells(v)) + " |" for v in visits]
    return [*out, ""]


def _ticks(start: datetime, end: datetime) -> list[tuple[datetime, str]]:
    """Axis ticks with their labels: whole hours ("HH:MM") over two days or less, else days
    ("MM-DD"), at most about twelve."""
    hours = (end - start).total_seconds() / 3600
    if hours <= 48:
        step = next(h for h in (1, 2, 3, 6, 12) if hours / h <= 12)
        when = start.replace(minute=0, second=0, microsecond=0)
        when += timedelta(hours=(-when.hour) % step)
        form, delta = "%H:%M", timedelta(hours=step)
    else:
        days = (end.date() - start.date()).days + 1
        when = datetime.combine(start.date(), datetime.min.time(), start.tzinfo)
        form, delta = "%m-%d", timedelta(days=max(1, -(-days // 8)))
    out = []
    while when <= end:
        if when >= start:
            out.append((when, when.strftime(form)))
        when += delta
    return out


def _chart(fleet_hours: tuple[FleetHour, ...]) -> str:
    """Gantt chart: one lane per truck, its status over time, a tick at each refuel."""
    rows = [r for r in fleet_hours if r.status != "depot"]
    trucks = sorted({r.truck for r in fleet_hours}, key=lambda t: (len(t), t))
    start, end = min(r.time for r in rows), max(_end(r) for r in rows)
    span = max((end - start).total_seconds(), 1.0)
    left, width, lane = 60, 820, 22
    height = 40 + lane * len(trucks) + 50

    def x(when: datetime) -> float:
        return left + width * (when - start).total_seconds() / span

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {left + width + 20} {height}" '
        f'width="{left + width + 20}" height="{height}" font-size="11" role="img">',
        "<title>Truck timeline: set-up, online, standby and idle hours, refuels</title>",
    ]
    for k, truck in enumerate(trucks):
        y = 30 + k * lane
        parts.append(f'<text x="4" y="{y + 14}">{for_html(truck)}</text>')
        own = sorted((r for r in rows if r.truck == truck), key=lambda r: r.time)
        run: list[FleetHour] = []
        for row in [*own, None]:
            if run and (row is None or row.status != run[0].status or row.time != _end(run[-1])):
                a, b = x(run[0].time), x(_end(run[-1]))
                parts.append(
                    f'<rect x="{a:.1f}" y="{y + 3}" width="{max(b - a, 0.5):.1f}" height="16" '
                    f'fill="{_COLOURS.get(run[0].status, "#ccc")}"><title>{for_html(truck)} '
                    f"{run[0].status} {_t(run[0].time)} to {_t(_end(run[-1]))}</title></rect>"
                )
                run = []
            if row is not None:
                run.append(row)
        for r in own:
            if r.refuel_l > 0:
                parts.append(
                    f'<line x1="{x(r.time):.1f}" x2="{x(r.time):.1f}" y1="{y + 1}" y2="{y + 21}" '
                    f'stroke="#222" stroke-width="1"/>'
                )
    axis = 30 + lane * len(trucks) + 4
    parts.append(f'<line x1="{left}" x2="{left + width}" y1="{axis}" y2="{axis}" stroke="#444"/>')
    for when, label in _ticks(start, end):
        parts.append(
            f'<line x1="{x(when):.1f}" x2="{x(when):.1f}" y1="{axis}" y2="{axis + 4}" '
            f'stroke="#444"/><text x="{x(when):.1f}" y="{axis + 16}" text-anchor="middle">'
            f"{label}</text>"
        )
    parts.append(
        f'<text x="{left + width}" y="{axis + 30}" text-anchor="end">local time of the stages'
        "</text>"
    )
    legend = " ".join(
        f'<rect x="{left + 120 * i}" y="8" width="12" height="12" fill="{c}"/>'
        f'<text x="{left + 120 * i + 16}" y="18">{s}</text>'
        for i, (s, c) in enumerate(_COLOURS.items())
    )
    parts.append(
        legend + f'<line x1="{left + 480}" x2="{left + 480}" y1="7" y2="21" stroke="#222"/>'
        f'<text x="{left + 486}" y="18">refuel</text>'
    )
    return "\n".join([*parts, "</svg>"])


def timeline_html(
    fleet_hours: tuple[FleetHour, ...], sheet: list[SheetRow] | None = None
) -> list[str]:
    """The report's truck timeline: the chart, then the table."""
    visits = truck_visits(fleet_hours, sheet)
    if not visits:
        return []
    out = ["<h2>Truck timeline</h2>", _chart(fleet_hours), "<table><tr>"]
    out[-1] += "".join(f"<th>{for_html(h)}</th>" for h in _HEADER) + "</tr>"
    out += [
        "<tr>" + "".join(f"<td>{for_html(c)}</td>" for c in _cells(v)) + "</tr>" for v in visits
    ]
    return [*out, "</table>"]


def _fuel_tables(logistics: dict[str, Any]) -> tuple[list[list[str]], list[list[str]]]:
    days = [
        [d["day"], str(d["rounds"]), f"{d['litres']:,.0f} L", ", ".join(d["trucks"])]
        for d in logistics["days"]
    ]
    rounds = []
    for r in logistics["rounds"]:
        first = datetime.fromisoformat(r["first_stop"]).strftime("%H:%M")
        last = datetime.fromisoformat(r["last_stop"]).strftime("%H:%M")
        served = ", ".join(
            f"{s['truck']} at {s['location']} {s['litres']:,.0f} L" for s in r["stops"]
        )
        when = first if first == last else f"{first}-{last}"
        rounds.append([r["day"], str(r["round"]), when, f"{r['litres']:,.0f} L", served])
    return days, rounds


_DAY_HEADER = ("day", "tanker rounds", "litres", "trucks served")
_ROUND_HEADER = ("day", "round", "stops at", "litres", "trucks served (bay, litres each)")


def _intro(logistics: dict[str, Any]) -> str:
    return (
        f"Tanker of {logistics['tanker_l']:,.0f} L: {logistics['rounds_total']} rounds, "
        f"{logistics['litres_total']:,.0f} L in all ({logistics['rule']}). Each truck is "
        "refuelled in place to a full tank; times are local time of the stage."
    )


def fuel_markdown(logistics: dict[str, Any] | None) -> list[str]:
    """plan.md's fuel logistics: rounds per day, then every round and whom it serves."""
    out = ["## Fuel logistics", ""]
    if not logistics or not logistics["rounds"]:
        return [*out, "No refuelling needed.", ""]
    days, rounds = _fuel_tables(logistics)
    out += [_intro(logistics), ""]
    for header, rows in ((_DAY_HEADER, days), (_ROUND_HEADER, rounds)):
        out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(for_markdown(c) for c in row) + " |" for row in rows]
        out.append("")
    return out


def fuel_html(logistics: dict[str, Any] | None) -> list[str]:
    """The report's fuel logistics: rounds per day and every round."""
    out = ["<h2>Fuel logistics</h2>"]
    if not logistics or not logistics["rounds"]:
        return [*out, "<p>No refuelling needed.</p>"]
    days, rounds = _fuel_tables(logistics)
    out.append(f"<p>{for_html(_intro(logistics))}</p>")
    for header, rows in ((_DAY_HEADER, days), (_ROUND_HEADER, rounds)):
        out.append("<table><tr>" + "".join(f"<th>{for_html(h)}</th>" for h in header) + "</tr>")
        out += ["<tr>" + "".join(f"<td>{for_html(c)}</td>" for c in row) + "</tr>" for row in rows]
        out.append("</table>")
    return out
