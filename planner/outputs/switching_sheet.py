"""The crew switching sheet: each stage's checked sequence as numbered steps a crew carries out.

One row per action, `[switching] step_minutes` each, with a verb from `VERBS`, the device by its
name in the network and where it is (substation, RMU or bay: `place_of`), the readings the
step's solved state (`sequence[].solved` in plan.json) expects afterwards, the interlock the
step waits for and an empty column for the crew's tick. A plan step that connects a truck is two
rows: cabling the truck to its bay with its breaker open (before the sequence starts: it changes
nothing in the network) and synchronising it (the plan step itself). Shutting a truck island
down is a "disconnect truck" of its trucks.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandapower as pp

from planner.core.plan import StagePlan
from planner.core.refs import ref_for, resolve_ref
from planner.core.text import for_csv_cell, for_html, for_markdown
from planner.dispatch.pipeline import Dispatch
from planner.grid.devices import RANK, device_of
from planner.inputs.case import Case

__all__ = [
    "CSV_COLUMNS",
    "VERBS",
    "SheetRow",
    "place_of",
    "sheet_html",
    "sheet_markdown",
    "sheet_rows",
    "switching_csv",
]

VERBS = ("open", "close", "connect truck", "synchronise", "disconnect truck")
_VERB_OF = {
    "open": "open",
    "take_out": "open",
    "take_out_of_service": "open",
    "disconnect_load": "open",
    "close": "close",
    "put_back": "close",
    "put_in_service": "close",
    "reconnect_load": "close",
    "connect_truck": "synchronise",
    "disconnect_truck": "disconnect truck",
    "shut_down_island": "disconnect truck",
}
CSV_COLUMNS = (
    "stage",
    "step",
    "time",
    "duration_min",
    "action",
    "device",
    "device_type",
    "location",
    "expected_kw",
    "expected_voltage",
    "interlock",
    "plan_step",
    "problems",
    "check",
)
_BAY_OF = {"l": ("line", "bay to line"), "t": ("trafo", "bay of transformer")}


@dataclass(frozen=True)
class SheetRow:
    """One step of the sheet; texts are raw (escaped where they are written)."""

    stage: str
    step: int
    time: datetime
    minutes: float
    action: str  # one of VERBS
    device: str
    device_type: str  # CB, LBS, DS, or the case's default device
    location: str
    expected_kw: str
    expected_voltage: str
    interlock: str
    plan_step: int | None  # the plan.json sequence step it carries out (None: cabling only)
    problems: tuple[str, ...] = ()  # what the step's load flow found wrong (empty: it holds)
    truck: str = ""  # the truck a connect/synchronise/disconnect truck step is about


def _name(net: pp.pandapowerNet, table: str, index: int) -> str:
    name = net[table].at[index, "name"] if "name" in net[table].columns else None
    return name if isinstance(name, str) and name.strip() else f"#{index}"


def place_of(net: pp.pandapowerNet, bus: int, points: frozenset[int]) -> str:
    """Where a bus is for a crew: "RMU <name>" for a bus marked `rmu` or a connection point,
    "substation <name>" for a bus with a transformer or an ext_grid, else "bus <name>"."""
    name = _name(net, "bus", bus)
    if name.startswith("#"):
        name = f"bus {name}"
    marked = "rmu" in net.bus.columns and net.bus.at[bus, "rmu"] in (True, 1)
    if marked or bus in points:
        kind = "RMU"
    elif bus in set(net.trafo.hv_bus) | set(net.trafo.lv_bus) or bus in set(net.ext_grid.bus):
        kind = "substation"
    else:
        kind = "bus"
    if name.lower().startswith(kind.lower()):
        return name
    return f"{kind} at {name}" if name.startswith("bus #") else f"{kind} {name}"


def _switch_place(net: pp.pandapowerNet, index: int, points: frozenset[int]) -> str:
    sw = net.switch.loc[index]
    where = place_of(net, int(sw.bus), points)
    if sw.et in _BAY_OF:
        table, bay = _BAY_OF[sw.et]
        return f"{where}, {bay} {_name(net, table, int(sw.element))}"
    if sw.et == "b":
        return f"{where}, coupler to {place_of(net, int(sw.element), points)}"
    return where


def _device(net: pp.pandapowerNet, text: str, case: Case) -> tuple[str, str, str]:
    """The device that operates a plan step's element: name, type and location."""
    points = frozenset(p.bus.index for p in case.connection_points)
    default = case.switching.device
    ref = resolve_ref(net, text)
    if isinstance(ref, str):
        return text, default, ""
    kind = device_of(net, ref, default)
    if ref.table == "switch":
        return _name(net, "switch", ref.index), kind, _switch_place(net, ref.index, points)
    if ref.table == "load":
        bus = int(net.load.at[ref.index, "bus"])
        return f"load {_name(net, 'load', ref.index)}", kind, place_of(net, bus, points)
    et = {"line": "l", "trafo": "t", "trafo3w": "t3"}.get(ref.table)
    sw = net.switch
    at_ends = [int(i) for i in sw.index[(sw.et == et) & (sw.element == ref.index)]]
    if at_ends:  # the best switch at its ends operates it
        best = max(at_ends, key=lambda i: RANK[device_of(net, ref_for(net, "switch", i), default)])
        return _name(net, "switch", best), kind, _switch_place(net, best, points)
    if ref.table == "line":
        ends = [int(net.line.at[ref.index, c]) for c in ("from_bus", "to_bus")]
    elif ref.table == "trafo":
        ends = [int(net.trafo.at[ref.index, c]) for c in ("hv_bus", "lv_bus")]
    else:
        return f"{ref.table} {_name(net, ref.table, ref.index)}", kind, ""
    where = " and ".join(place_of(net, b, points) for b in ends)
    return f"{ref.table} {_name(net, ref.table, ref.index)}", kind, f"between {where}"


def _vm(solved: dict[str, Any]) -> str:
    lo, hi = solved.get("min_vm_pu"), solved.get("max_vm_pu")
    text = f"network {lo:.3f}-{hi:.3f} pu" if lo is not None else "no load flow result"
    if solved.get("point_vm_pu") is not None:
        text = f"{solved['point_vm_pu']:.3f} pu at the device; {text}"
    return text


def _truck_kw(solved: dict[str, Any], truck: str) -> str:
    own = solved.get("truck_kw", {}).get(truck)
    if own is not None:
        return f"{truck} carries {own:,.0f} kW"
    return f"{truck} ramped to its share (trucks at most {solved.get('max_truck_kw', 0):,.0f} kW)"


def _stage_rows(stage: StagePlan, net: pp.pandapowerNet, case: Case) -> list[SheetRow]:
    minutes = case.switching.step_minutes
    slot = timedelta(minutes=minutes)
    rules = case.switching
    points = frozenset(p.bus.index for p in case.connection_points)
    bays = {t.id: (t.bus, t.connection_point) for t in stage.trucks}
    island_trucks = {i.id: list(i.trucks) for i in stage.islands}
    start = datetime.fromisoformat(stage.start)
    steps = list(stage.sequence)
    connects = [s for s in steps if s["action"] == "connect_truck"]
    rows: list[SheetRow] = []
    first = datetime.fromisoformat(steps[0]["time"]) if steps else start
    cabled: dict[str, int] = {}
    for k, step in enumerate(connects):
        truck = str(step["element"])
        bus = bays.get(truck, (None, ""))[0]
        where = place_of(net, bus, points) if bus is not None else str(step.get("at", ""))
        cabled[truck] = len(rows) + 1
        rows.append(
            SheetRow(
                stage.name,
                len(rows) + 1,
                first - slot * (len(connects) - k),
                minutes,
                "connect truck",
                f"truck {truck}",
                "CB",
                f"{where}, truck bay",
                "0 kW (truck breaker open, engine at no load)",
                "bus live from the grid; nothing changes in the network",
                f"{truck} on site (set-up done)",
                None,
                truck=truck,
            )
        )
    synchronised: list[str] = []
    works_back = False
    for step in steps:
        action, element = step["action"], str(step["element"])
        solved = step.get("solved", {})
        verb = _VERB_OF.get(action, action)
        when = datetime.fromisoformat(step["time"])
        previous = f"step {len(rows)} done" if rows else "none"
        interlock = previous
        if action in ("connect_truck", "disconnect_truck"):
            bus = bays.get(element, (None, ""))[0]
            where = place_of(net, bus, points) if bus is not None else ""
            device, kind, location = f"truck {element} breaker", "CB", f"{where}, truck bay"
        elif action == "shut_down_island":
            trucks = island_trucks.get(element, [])
            device, kind = f"breakers of trucks {', '.join(trucks)}", "CB"
            verb = "open"
            location = f"truck bays of island {element}"
        else:
            device, kind, location = _device(net, element, case)
        if action == "connect_truck":
            kw = _truck_kw(solved, element)
            sync = step.get("sync", {})
            cable = cabled.get(element, len(rows))
            done = f"step {cable}" if cable == len(rows) else f"steps {cable} and {len(rows)}"
            interlock = (
                f"{done} done; close only within dV "
                f"{rules.sync_max_dv_percent:g} %, dθ {rules.sync_max_dtheta_deg:g}°, df "
                f"{rules.sync_max_df_hz:g} Hz (planned dV {sync.get('dv_percent', 0):g} %)"
            )
            synchronised.append(element)
        elif action == "disconnect_truck":
            kw = f"{element} ramped down to {step.get('across_kw') or 0:,.0f} kW, then off"
        elif step.get("across_kw") is not None:
            kw = f"breaks {step['across_kw']:,.0f} kW, then 0 kW across"
        elif action == "shut_down_island":
            kw = f"island {element} dead: 0 kW"
        else:
            kw = f"highest line/transformer loading {solved.get('max_loading_percent')} %"
        if "sync" in step and action != "connect_truck":
            sync = step["sync"]
            interlock += (
                f"; dV {sync['dv_percent']:g} % (limit {rules.sync_max_dv_percent:g} %), "
                f"dθ {sync['dtheta_deg']:g}° (limit {rules.sync_max_dtheta_deg:g}°)"
            )
            if sync.get("vm_setpoint_pu") is not None:
                interlock += f"; trucks of {', '.join(step.get('joins', [])[:1])} set to "
                interlock += f"{sync['vm_setpoint_pu']:g} pu"
        for cut in stage.interruptions:
            if cut.get("step") == step["step"]:
                kw += f"; cuts {cut['kw']:,.0f} kW for {cut['minutes']:g} min (break before make)"
        if when <= start and verb == "open" and synchronised:
            interlock += f"; {', '.join(synchronised)} synchronised"
        if when >= datetime.fromisoformat(stage.end) and not works_back:
            interlock += "; works finished, crews clear and work earths removed"
            works_back = True
        rows.append(
            SheetRow(
                stage.name,
                len(rows) + 1,
                when,
                minutes,
                verb,
                device,
                kind,
                location,
                kw,
                _vm(solved),
                interlock,
                int(step["step"]),
                tuple(str(p) for p in step.get("violations", [])),
                element if action in ("connect_truck", "disconnect_truck") else "",
            )
        )
    return rows


def sheet_rows(dispatch: Dispatch) -> list[list[SheetRow]]:
    """Every stage's sheet, in the plan's stage order."""
    return [
        _stage_rows(stage, ctx.base_net, ctx.case)
        for stage, ctx in zip(dispatch.plan.stages, dispatch.contexts, strict=True)
    ]


def switching_csv(dispatch: Dispatch) -> str:
    """switching.csv: every stage's sheet, one row per step; names as inert cells."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for rows in sheet_rows(dispatch):
        for r in rows:
            writer.writerow(
                [
                    for_csv_cell(r.stage),
                    r.step,
                    r.time.isoformat(),
                    f"{r.minutes:g}",
                    r.action,
                    for_csv_cell(r.device),
                    for_csv_cell(r.device_type),
                    for_csv_cell(r.location),
                    for_csv_cell(r.expected_kw),
                    for_csv_cell(r.expected_voltage),
                    for_csv_cell(r.interlock),
                    "" if r.plan_step is None else r.plan_step,
                    for_csv_cell("; ".join(r.problems)),
                    "",
                ]
            )
    return buffer.getvalue()


_CAPTION = "Switching sheet (each step load-flow checked; tick the last column when done):"
_HEADER = (
    "step",
    "time",
    "min",
    "action",
    "device (type)",
    "location",
    "expected kW",
    "expected voltage",
    "interlock",
    "done ✓",
)


def _cells(r: SheetRow) -> list[str]:
    return [
        str(r.step),
        r.time.strftime("%Y-%m-%d %H:%M"),
        f"{r.minutes:g}",
        r.action,
        f"{r.device} ({r.device_type})",
        r.location,
        r.expected_kw,
        r.expected_voltage,
        r.interlock,
        "",
    ]


def sheet_markdown(rows: list[SheetRow]) -> list[str]:
    """The sheet of one stage as a Markdown table (every cell escaped)."""
    if not rows:
        return []
    out = [
        _CAPTION,
        "",
        "| " + " | ".join(_HEADER) + " |",
        "|" + "---|" * len(_HEADER),
    ]
    for r in rows:
        out.append("| " + " | ".join(for_markdown(c) for c in _cells(r)) + " |")
    out.append("")
    for r in rows:
        if r.problems:
            out.append(f"- **step {r.step} fails:** {for_markdown('; '.join(r.problems))}")
    return [*out, ""] if any(r.problems for r in rows) else out


def sheet_html(rows: list[SheetRow]) -> list[str]:
    """The sheet of one stage as an HTML table (every cell escaped)."""
    if not rows:
        return []
    out = [
        f"<p>{for_html(_CAPTION)}</p>",
        "<table><tr>" + "".join(f"<th>{for_html(h)}</th>" for h in _HEADER) + "</tr>",
    ]
    for r in rows:
        cells = "".join(f"<td>{for_html(c)}</td>" for c in _cells(r))
        if r.problems:
            cells += f'<td class="bad">{for_html("; ".join(r.problems))}</td>'
        out.append(f"<tr>{cells}</tr>")
    return [*out, "</table>"]
