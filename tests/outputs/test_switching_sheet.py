"""The crew switching sheet (`planner.outputs.switching_sheet`): switching.csv, plan.md, report."""

from __future__ import annotations

import copy
import csv
import dataclasses
import io
import re

import pytest

import planner
from planner.dispatch.pipeline import Dispatch, plan_dispatch
from planner.outputs.places import place_of
from planner.outputs.reports import crew_orders, html_report
from planner.outputs.switching_sheet import (
    CSV_COLUMNS,
    VERBS,
    sheet_rows,
    switching_csv,
)
from planner.outputs.timeline import timeline_html, timeline_markdown
from tests.conftest import CASES

HEADER = ",".join(CSV_COLUMNS)
STAGE = "Line 28 out"
SYNC = (
    "close only within dV 3 %, dθ 10°, df 0.1 Hz (planned dV 0 %); paralleled: voltage control "
    "at the fleet's setpoint"
)
NO_CHANGE = "bus live from the grid; nothing changes in the network"
CABLED = '"0 kW (truck breaker open, engine at no load)"'
# The small case: two 500 kW trucks carry the lateral 28-32 while line 28 is out; the lateral
# is re-joined break-before-make (its line has no breaker), so step 6 cuts its 682 kW.
EXPECTED = [
    f'{STAGE},1,2025-07-01T07:35:00+00:00,5,connect truck,truck T1,CB,"RMU at bus #30, truck '
    f'bay",{CABLED},{NO_CHANGE},T1 on site (set-up done),,,',
    f'{STAGE},2,2025-07-01T07:40:00+00:00,5,connect truck,truck T2,CB,"RMU at bus #32, truck '
    f'bay",{CABLED},{NO_CHANGE},T2 on site (set-up done),,,',
    f'{STAGE},3,2025-07-01T07:45:00+00:00,5,synchronise,truck T1 breaker,CB,"RMU at bus #30, '
    'truck bay",T1 carries 341 kW,0.940 pu at the device; network 0.915-1.000 pu,'
    f'"steps 1 and 2 done; {SYNC}",1,,',
    f'{STAGE},4,2025-07-01T07:50:00+00:00,5,synchronise,truck T2 breaker,CB,"RMU at bus #32, '
    'truck bay",T2 carries 341 kW,0.972 pu at the device; network 0.925-1.000 pu,'
    f'"steps 2 and 3 done; {SYNC}",2,,',
    f"{STAGE},5,2025-07-01T07:55:00+00:00,5,open,line #28,LBS,between bus #28 and bus #29,"
    '"breaks 6 kW, then 0 kW across",0.959 pu at the device; network 0.924-1.003 pu,"step 4 '
    "done; T1, T2 synchronised; no switch in the network at bus #28 and bus #29: isolate and "
    'earth those ends by local rules"'
    ",3,,",
    f'{STAGE},6,2025-07-01T20:00:00+00:00,5,open,"breakers of trucks T1, T2",CB,truck bays of '
    "island I1,island I1 dead: 0 kW; cuts 682 kW for 5 min (break before make),network "
    '0.924-1.000 pu,"step 5 done; works finished, crews clear and work earths removed",4,,',
    f"{STAGE},7,2025-07-01T20:05:00+00:00,5,close,line #28,LBS,between bus #28 and bus #29,"
    "highest line/transformer loading 0.0 %,0.917 pu at the device; network 0.904-1.000 pu,"
    "step 6 done; no switch in the network at bus #28 and bus #29: work earths off those ends "
    "first,5,,",
    f"{STAGE},8,2025-07-01T20:10:00+00:00,5,disconnect truck,truck T1 cable,cable,"
    '"RMU at bus #30, truck bay",breaker open since step 6: take the cable off the bay,0.909 pu '
    "at the device; network 0.904-1.000 pu,step 7 done,6,,",
    f"{STAGE},9,2025-07-01T20:15:00+00:00,5,disconnect truck,truck T2 cable,cable,"
    '"RMU at bus #32, truck bay",breaker open since step 6: take the cable off the bay,0.907 pu '
    "at the device; network 0.904-1.000 pu,step 8 done,7,,",
]


@pytest.fixture(scope="module")
def small() -> tuple[planner.Case, Dispatch]:
    case = planner.load_case(CASES / "case33bw_trucks.toml")
    return case, plan_dispatch(case)


def test_switching_csv_rows(small) -> None:  # type: ignore[no-untyped-def]
    _, dispatch = small
    assert switching_csv(dispatch).splitlines() == [HEADER, *EXPECTED]


def test_the_sheet_covers_every_plan_step_once_in_order(small) -> None:  # type: ignore[no-untyped-def]
    _, dispatch = small
    (rows,) = sheet_rows(dispatch)
    assert [r.step for r in rows] == list(range(1, len(rows) + 1))
    assert [r.plan_step for r in rows if r.plan_step] == [
        s["step"] for s in dispatch.plan.stages[0].sequence
    ]
    assert {r.action for r in rows} <= set(VERBS)
    assert [r.time for r in rows] == sorted(r.time for r in rows)
    for truck in ("T1", "T2"):  # cabled before synchronised, synchronised before disconnected
        mine = [r.action for r in rows if r.truck == truck]
        assert mine == ["connect truck", "synchronise", "disconnect truck"]


def test_plan_md_and_report_show_the_sheet(small) -> None:  # type: ignore[no-untyped-def]
    case, dispatch = small
    md = crew_orders(case, dispatch)
    assert (
        "| step | time | min | action | device (type) | location | expected kW | expected "
        "voltage | interlock | done ✓ |"
    ) in md
    assert (
        "| 5 | 2025-07-01 07:55 | 5 | open | line #28 (LBS) | between bus #28 and bus #29 "
        "| breaks 6 kW, then 0 kW across | 0.959 pu at the device; network 0.924-1.003 pu | "
        "step 4 done; T1, T2 synchronised; no switch in the network at bus #28 and bus #29: "
        "isolate and earth those ends by local rules |  |"
    ) in md
    assert "- sheet step 6 (plan step 4): 682 kW off for 5 min" in md
    html = html_report(case, dispatch)
    assert (
        "<tr><td>6</td><td>2025-07-01 20:00</td><td>5</td><td>open</td><td>breakers of trucks "
        "T1, T2 (CB)</td><td>truck bays of island I1</td>"
    ) in html
    assert "Not outage-free: sheet step 6: 682 kW off for 5 min" in html


def test_timeline_takes_connect_and_disconnect_from_the_sheet(small) -> None:  # type: ignore[no-untyped-def]
    _, dispatch = small
    sheet = [r for rows in sheet_rows(dispatch) for r in rows]
    assert timeline_markdown(dispatch.fleet_hours, sheet)[2:6] == [
        "| truck | bay | arrive | connect | online h | refuels | refuelled L | disconnect | "
        "leave |",
        "|---|---|---|---|---|---|---|---|---|",
        "| T1 | bus:#30 | 2025-07-01 06:00 | 2025-07-01 07:35 | 12 h | 0 | 0 L | "
        "2025-07-01 20:15 | 2025-07-01 20:15 |",
        "| T2 | bus:#32 | 2025-07-01 06:00 | 2025-07-01 07:40 | 12 h | 0 | 0 L | "
        "2025-07-01 20:20 | 2025-07-01 20:20 |",
    ]


def test_names_are_inert_in_the_csv(small) -> None:  # type: ignore[no-untyped-def]
    _, dispatch = small
    hostile = copy.deepcopy(dispatch)
    hostile.contexts[0].base_net.bus.loc[30, "name"] = "=HYPERLINK(1)\nx"
    stage = dataclasses.replace(hostile.plan.stages[0], name="@SUM(A1)")
    plan = dataclasses.replace(hostile.plan, stages=(stage,))
    rows = list(csv.reader(io.StringIO(switching_csv(dataclasses.replace(hostile, plan=plan)))))
    assert len(rows) == 1 + len(EXPECTED)  # a newline in a name never starts a record
    assert rows[1][0] == "'@SUM(A1)"
    assert rows[1][7] == "RMU =HYPERLINK(1)\\nx, truck bay"


@pytest.mark.parametrize(
    ("bus", "expected"),
    [
        (7, "RMU Y1-3"),  # marked in the network's rmu column, named so already
        (3, "substation Qiaonan 10 kV section I"),  # has a transformer
        (0, "substation Yingkou 220 kV"),  # has the ext_grid
    ],
)
def test_place_of(bus: int, expected: str) -> None:
    case = planner.load_case(CASES / "dashiqiao.toml")
    points = frozenset(p.bus.index for p in case.connection_points)
    assert place_of(case.network.net, bus, points) == expected


def test_timeline_chart_lanes_and_ticks(small) -> None:  # type: ignore[no-untyped-def]
    _, dispatch = small
    heading, svg, *table = timeline_html(dispatch.fleet_hours)
    assert heading == "<h2>Truck timeline</h2>" and table[-1] == "</table>"
    assert "<script" not in svg
    assert (
        '<rect x="60.0" y="33" width="117.1" height="16" fill="#b0b0b0"><title>T1 setup '
        "2025-07-01 06:00 to 2025-07-01 08:00</title></rect>"
    ) in svg
    assert (
        '<rect x="177.1" y="55" width="702.9" height="16" fill="#e67e22"><title>T2 online '
        "2025-07-01 08:00 to 2025-07-01 20:00</title></rect>"
    ) in svg
    ticks = re.findall(r'text-anchor="middle">([^<]+)</text>', svg)
    assert ticks == ["06:00", "08:00", "10:00", "12:00", "14:00", "16:00", "18:00", "20:00"]


def test_a_line_is_isolated_at_every_end_best_device_first() -> None:
    import pandapower as pp

    from planner.core.refs import ref_for
    from planner.outputs.places import ends_of

    net = pp.create_empty_network()
    a, b, c = (pp.create_bus(net, 10.0, name=n) for n in ("A", "B", "C"))
    line = pp.create_line_from_parameters(net, a, b, 1.0, 0.1, 0.1, 10.0, 0.4)
    bare = pp.create_line_from_parameters(net, b, c, 1.0, 0.1, 0.1, 10.0, 0.4)
    ds = pp.create_switch(net, b, line, "l", type="DS", name="far disconnector")
    cb = pp.create_switch(net, a, line, "l", type="CB", name="feeder breaker")
    ends = ends_of(net, ref_for(net, "line", line), "LBS")
    assert ends is not None and ends.switches == [cb, ds] and ends.bare == []
    ends = ends_of(net, ref_for(net, "line", bare), "LBS")
    assert ends is not None and ends.switches == [] and ends.bare == [b, c]
    assert ends_of(net, ref_for(net, "bus", a), "LBS") is None
