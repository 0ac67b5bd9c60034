"""The crew switching sheet: each stage's checked sequence as numbered steps a crew carries out.

One row per action, `[switching] step_minutes` each, with a verb from `VERBS`, the device by its
name in the network and where it is (substation, RMU or bay: `place_of`), the readings the
step's solved state (`sequence[].solved` in plan.json) expects afterwards, the interlock the
step waits for and an empty column for the crew's tick. A plan step that connects a truck is two
rows: cabling the truck to its bay with its breaker open (before the sequence starts: it changes
nothing in the network) and synchronising it (the plan step itself). Shutting a truck island
down is an "open" of its trucks' breakers; a truck disconnected after that has its cable taken
off (its breaker is open already).
"""

from __future__ import annotations

import csv
import dataclasses
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandapower as pp

from planner.core.plan import StagePlan
from planner.core.refs import ref_for, resolve_ref
from planner.core.text import for_csv_cell, for_html, for_markdown
from planner.dispatch.pipeline import Dispatch
from planner.grid.context import StageContext
from planner.grid.devices import device_of
from planner.inputs.case import Case
from planner.outputs.places import device_at, ends_of, name_of, place_of, switch_place
from planner.outputs.steps import table_head

__all__ = [
    "CSV_COLUMNS",
    "VERBS",
    "SheetRow",
    "sheet_html",
    "sheet_markdown",
    "sheet_rows",
    "switching_csv",
]

CONTROL_TEXT = {
    "setpoint": "voltage control at the fleet's setpoint",
    "power_factor": "power-factor control at the island's P and Q share",
    "voltage": "voltage control, holding the voltage synchronised at",
}
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
    daily: bool = False  # repeated at every daily works window of the stage (`time`: day one's)


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


def _stage_rows(
    stage: StagePlan, net: pp.pandapowerNet, case: Case, ctx: StageContext | None = None
) -> list[SheetRow]:
    """The sheet of one stage; with `daily` windows (from `ctx`, the stage's context) the steps
    of the first day's window, marked as repeated daily."""
    rows = _sheet(stage, net, case, ctx.stage.windows[0] if ctx is not None else None)
    windows = ctx.stage.windows if ctx is not None and ctx.stage.daily is not None else ()
    if not windows:
        return rows
    every = (
        f"every day of the works at the same time: {len(windows)} window(s) "
        f"{stage.daily}, {windows[0][0]:%Y-%m-%d} to {windows[-1][1]:%Y-%m-%d}"
    )
    out = []
    for k, row in enumerate(rows):
        first = k == 0 or (row.time >= windows[0][1] > rows[k - 1].time)
        note = f"{every}; {row.interlock}" if first else row.interlock
        out.append(dataclasses.replace(row, daily=True, interlock=note))
    return out


def _sheet(
    stage: StagePlan,
    net: pp.pandapowerNet,
    case: Case,
    window: tuple[datetime, datetime] | None,
) -> list[SheetRow]:
    minutes = case.switching.step_minutes
    slot = timedelta(minutes=minutes)
    rules = case.switching
    points = frozenset(p.bus.index for p in case.connection_points)
    bays = {t.id: (t.bus, t.connection_point) for t in stage.trucks}
    island_trucks = {i.id: list(i.trucks) for i in stage.islands}
    start = datetime.fromisoformat(stage.start) if window is None else window[0]
    end = datetime.fromisoformat(stage.end) if window is None else window[1]
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
    shut: dict[str, int] = {}  # truck -> the row that opened its breaker with its island
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
            shut.update({t: len(rows) + 1 for t in trucks})
            device, kind = f"breakers of trucks {', '.join(trucks)}", "CB"
            verb = "open"
            location = f"truck bays of island {element}"
        else:
            device, kind, location = device_at(net, element, case)
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
        elif action == "disconnect_truck" and element in shut:  # its breaker is open already
            device, kind = f"truck {element} cable", "cable"
            kw = f"breaker open since step {shut[element]}: take the cable off the bay"
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
        if step.get("control") in CONTROL_TEXT:  # how the trucks run while paralleled
            interlock += f"; paralleled: {CONTROL_TEXT[step['control']]}"
        for cut in stage.interruptions:
            if cut.get("step") == step["step"]:
                kw += f"; cuts {cut['kw']:,.0f} kW for {cut['minutes']:g} min (break before make)"
        if when <= start and verb == "open" and synchronised:
            interlock += f"; {', '.join(synchronised)} synchronised"
        if when >= end and not works_back:
            interlock += "; works finished, crews clear and work earths removed"
            works_back = True
        main = SheetRow(
            stage.name,
            0,
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
        main, others = _other_ends(net, element, case, main)
        group = [main, *others]
        if verb == "close":  # make with the best device last, after the others are closed
            group = group[1:] + group[:1]
        for row in group:
            rows.append(dataclasses.replace(row, step=len(rows) + 1))
    return rows


def _other_ends(
    net: pp.pandapowerNet, text: str, case: Case, main: SheetRow
) -> tuple[SheetRow, list[SheetRow]]:
    """For a line or transformer: `main` with ends that have no switch named in its interlock,
    and a row for each other switch at its ends (opened after, closed before, the main one)."""
    ref = resolve_ref(net, text)
    ends = None if isinstance(ref, str) else ends_of(net, ref, case.switching.device)
    if ends is None:
        return main, []
    points = frozenset(p.bus.index for p in case.connection_points)
    rows = []
    for index in ends.switches[1:]:
        kind = device_of(net, ref_for(net, "switch", index), case.switching.device)
        what = "isolates" if main.action == "open" else "readies"
        rows.append(
            dataclasses.replace(
                main,
                device=name_of(net, "switch", index),
                device_type=kind,
                location=switch_place(net, index, points),
                expected_kw=f"{what} the other end of {main.device}: no load through it",
                interlock=f"{main.device} {'open' if main.action == 'open' else 'still open'}",
            )
        )
    if ends.bare:
        where = " and ".join(place_of(net, bus, points) for bus in ends.bare)
        them = "that end" if len(ends.bare) == 1 else "those ends"
        todo = (
            f"isolate and earth {them} by local rules"
            if main.action == "open"
            else f"work earths off {them} first"
        )
        main = dataclasses.replace(
            main, interlock=f"{main.interlock}; no switch in the network at {where}: {todo}"
        )
    return main, rows


def sheet_rows(dispatch: Dispatch) -> list[list[SheetRow]]:
    """Every stage's sheet, in the plan's stage order."""
    return [
        _stage_rows(stage, ctx.base_net, ctx.case, ctx)
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
        f"daily, {r.time:%H:%M}" if r.daily else r.time.strftime("%Y-%m-%d %H:%M"),
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
    out = table_head(_CAPTION, _HEADER)
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
