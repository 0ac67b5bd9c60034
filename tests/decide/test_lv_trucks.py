"""LV trucks on a SimBench MV/LV grid (tests/data/cases/mixed/mvlv_lv_truck.toml): Line 13 cuts
off MV Bus 16-24 and the LV grid 1.108 (88 kW of design load behind its transformer at MV Bus
22). MV trucks of 520 kW need four for the 1,605 kW; three carry the 1,517 kW left when a 400 kW
LV truck takes the transformer over: the same count, 137.5 kVA less installed, so the mix is
three MV trucks and one LV truck, the transformer's MV-side breaker opened. The plan verifies and
validates; hand-made set-ups that break the LV rules are findings naming the truck. On case33bw
(MV only, tests/data/cases/valid/case33bw_lv_truck.toml) the lateral's end bus goes on an LV
truck the same way."""

from __future__ import annotations

import json
from typing import Any

import pytest

import planner
from planner.checks.stage import StageSetup, check_stage
from planner.checks.validation import validate
from planner.core.refs import ref_for
from planner.core.switching import Switching
from planner.decide.planning import truck_islands
from planner.grid.context import StageContext
from planner.grid.lv_points import lv_points
from planner.grid.powerflow import TruckAt
from planner.inputs.case import Case
from tests.conftest import DATA

CASE = DATA / "cases" / "mixed" / "mvlv_lv_truck.toml"
LV_BUS = 3  # "LV1.108 Bus 4": the transformer's LV bus
BREAKER = 27  # "LV1.108 Switch 30": the transformer's breaker at MV Bus 22


@pytest.fixture(scope="module")
def case() -> Case:
    return planner.load_case(CASE)


@pytest.fixture(scope="module")
def ctx(case: Case) -> StageContext:
    return StageContext.build(case, case.stages[0])


@pytest.fixture(scope="module")
def plan(case: Case) -> dict[str, Any]:
    return json.loads(planner.plan_case(case).to_json())


def _truck(case: Case, truck_id: str, bus: int) -> TruckAt:
    kind = case.fleet.type_of(truck_id)
    assert kind is not None
    return TruckAt(truck_id, bus, kind.rating_kw, kind.rating_kva, kind)


def _mv(case: Case) -> list[TruckAt]:
    return [_truck(case, f"MV-520-{n}", bus) for n, bus in ((1, 58), (2, 60), (3, 65))]


def test_the_transformer_is_the_islands_lv_slot(case: Case, ctx: StageContext) -> None:
    (point,) = lv_points(ctx.base_net).values()
    assert (point.bus, point.mv_bus, point.what, point.opens.text, point.lone) == (
        LV_BUS,
        64,
        "trafo:MV1.101-LV1.108-Trafo 1",
        "switch:LV1.108 Switch 30",
        False,
    )
    (island,) = truck_islands(ctx, Switching())
    assert (round(island.design_kw, 1), island.lower_bound) == (1604.9, 4)
    (slot,) = island.lv
    assert (slot.bus, slot.p_kw, round(slot.q_kvar, 2), slot.name) == (
        LV_BUS,
        88.0,
        34.78,
        "trafo:MV1.101-LV1.108-Trafo 1",
    )


def test_the_plan_is_three_mv_trucks_and_one_lv_truck(plan: dict[str, Any]) -> None:
    (stage,) = plan["stages"]
    assert plan["feasible"] and plan["fleet"]["trucks_used"] == 4
    assert stage["switching"] == {
        "close": [],
        "open": [{"ref": "switch:LV1.108 Switch 30", "table": "switch", "index": BREAKER}],
        "in_service": [],
    }
    assert [
        (t["id"], t["type"], t["bus"], t["island"], t["rating_kw"]) for t in stage["trucks"]
    ] == [
        ("LV-400-1", "LV-400", LV_BUS, "I1", 400.0),
        ("MV-520-1", "MV-520", 58, "I2", 520.0),
        ("MV-520-2", "MV-520", 60, "I2", 520.0),
        ("MV-520-3", "MV-520", 65, "I2", 520.0),
    ]
    islands = [(i["id"], i["supply"], len(i["buses"]), i["design_peak_kw"], i["trucks"])
               for i in stage["islands"]]  # fmt: skip
    assert islands == [
        ("I1", "trucks", 14, 88.0, ["LV-400-1"]),  # the LV grid, on its LV truck
        ("I2", "trucks", 9, 1516.9, ["MV-520-1", "MV-520-2", "MV-520-3"]),
    ]
    verification = stage["verification"]
    assert verification["passed"] and verification["violations"] == []
    assert verification["max_truck_loading_percent"] == 97.25
    # the LV truck synchronises at its bus before its transformer's breaker opens (make before
    # break), and the breaker closes again after the works' line is back
    steps = [(s["action"], s["element"]) for s in stage["sequence"]]
    assert steps[:6] == [
        ("connect_truck", "LV-400-1"),
        ("connect_truck", "MV-520-1"),
        ("connect_truck", "MV-520-2"),
        ("connect_truck", "MV-520-3"),
        ("open", "switch:LV1.108 Switch 30"),
        ("take_out", "line:MV1.101 Line 13"),
    ]
    assert steps[6:8] == [
        ("put_back", "line:MV1.101 Line 13"),
        ("close", "switch:LV1.108 Switch 30"),
    ]
    assert all(s["checked"] for s in stage["sequence"]) and stage["interruptions"] == []
    hour = stage["schedule"][0]
    assert hour["truck_kw"]["LV-400-1"] == pytest.approx(88.3, abs=0.05)


def test_the_plan_validates(case: Case, plan: dict[str, Any]) -> None:
    report = validate(case, plan)
    assert report.passed, [v.message for _, c in report.stages for v in c.verification.violations]


def _violations(ctx: StageContext, setup: StageSetup) -> list[tuple[str, str]]:
    check = check_stage(ctx, setup)
    return [(v.kind, v.message) for v in check.verification.violations if v.kind.startswith(
        ("lv_", "bays", "no_bay"))]  # fmt: skip


def test_an_lv_truck_on_the_mv_side_of_its_transformer_is_a_finding(
    case: Case, ctx: StageContext
) -> None:
    """Without the breaker opened the LV truck stands in the MV island with the MV trucks."""
    setup = StageSetup(Switching(), (_truck(case, "LV-400-1", LV_BUS), *_mv(case)))
    assert _violations(ctx, setup) == [
        (
            "lv_island",
            "truck LV-400-1 at bus:LV1.108 Bus 4: its island I1 holds 9 bus(es) of 1 kV or more "
            "and truck(s) MV-520-1, MV-520-2, MV-520-3; an LV truck carries "
            "trafo:MV1.101-LV1.108-Trafo 1's LV side alone (open switch:LV1.108 Switch 30)",
        )
    ]


def _case_on(net, tmp_path):  # type: ignore[no-untyped-def]
    """`CASE` on an edited copy of its SimBench network, written beside it."""
    import pandapower as pp

    pp.to_json(net, str(tmp_path / "mvlv.json"))
    text = CASE.read_text(encoding="utf-8")
    text = text.replace('network = "simbench:1-MVLV-rural-1.108-0-sw"', 'network = "mvlv.json"')
    (tmp_path / "case.toml").write_text(text, encoding="utf-8")
    return planner.load_case(tmp_path / "case.toml")


def test_an_lv_truck_at_an_mv_bus_is_a_finding(case: Case, ctx: StageContext) -> None:
    opened = Switching(open=(ref_for(ctx.base_net, "switch", BREAKER),))
    setup = StageSetup(opened, (_truck(case, "LV-400-1", 60), *_mv(case)))
    assert _violations(ctx, setup) == [
        (
            "lv_point",
            "truck LV-400-1 (type LV-400, connects at LV) is at bus:MV1.101 Bus 18, which is not "
            "the low-voltage bus of a distribution transformer (LV side below 1 kV)",
        )
    ]


def test_a_transformer_without_a_switch_is_taken_out_of_service(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The same grid without the transformer's two breakers: the plan takes the transformer
    itself out of service for its LV truck and back in after the works; a load-break switch
    cannot synchronise the LV island to the grid, so the LV truck comes off first: a
    break-before-make of the LV grid's 88 kW for one step, which the plan reports."""
    import simbench as sb

    net = sb.get_simbench_net("1-MVLV-rural-1.108-0-sw")
    net.switch = net.switch.drop(index=[8, BREAKER])
    case = _case_on(net, tmp_path)
    (point,) = lv_points(case.network.net).values()
    assert point.opens.text == "trafo:MV1.101-LV1.108-Trafo 1"
    data = json.loads(planner.plan_case(case).to_json())
    (stage,) = data["stages"]
    assert stage["switching"]["open"] == [
        {"ref": "trafo:MV1.101-LV1.108-Trafo 1", "table": "trafo", "index": 0}
    ]
    assert [(t["id"], t["bus"]) for t in stage["trucks"]] == [
        ("LV-400-1", LV_BUS),
        ("MV-520-1", 58),
        ("MV-520-2", 60),
        ("MV-520-3", 65),
    ]
    steps = [(s["action"], s["element"], s["device"]) for s in stage["sequence"]]
    assert steps[4:9] == [
        ("take_out_of_service", "trafo:MV1.101-LV1.108-Trafo 1", "LBS"),
        ("take_out", "line:MV1.101 Line 13", "CB"),
        ("put_back", "line:MV1.101 Line 13", "CB"),
        ("shut_down_island", "I1", "CB"),
        ("put_in_service", "trafo:MV1.101-LV1.108-Trafo 1", "LBS"),
    ]
    assert stage["verification"]["passed"]
    assert [
        (i["step"], i["kw"], i["minutes"], len(i["loads"])) for i in stage["interruptions"]
    ] == [(8, 88.0, 5.0, 13)]
    assert validate(case, data).passed


MV_ONLY = DATA / "cases" / "valid" / "case33bw_lv_truck.toml"


def test_on_an_mv_only_network_a_feeder_end_is_an_lv_point() -> None:
    """case33bw has no LV bus: each bus with loads fed by one line (the ends of the feeder and
    its laterals) is an LV point, separated by taking that line out (it has no switch)."""
    case = planner.load_case(MV_ONLY)
    points = lv_points(case.network.net)
    assert [(p.bus, p.mv_bus, p.what, p.opens.text, p.lone) for p in points.values()] == [
        (17, 16, "the loads at bus:#17", "line:#16", True),
        (21, 20, "the loads at bus:#21", "line:#20", True),
        (24, 23, "the loads at bus:#24", "line:#23", True),
        (32, 31, "the loads at bus:#32", "line:#31", True),
    ]
    ctx = StageContext.build(case, case.stages[0])
    (island,) = truck_islands(ctx, Switching())
    assert (round(island.design_kw, 1), round(island.design_kva, 1), island.lower_bound) == (
        682.0,
        1122.1,
        3,
    )
    (slot,) = island.lv
    assert (slot.bus, slot.p_kw, round(slot.q_kvar, 6), slot.name) == (
        32,
        66.0,
        44.0,
        "the loads at bus:#32",
    )


def test_on_an_mv_only_network_the_lateral_end_goes_on_an_lv_truck() -> None:
    """Two 440 kW trucks for the lateral 28-31 and a 100 kW LV truck for bus 32's loads (three
    440 kW trucks by count alone: the same number, 425 kVA less installed); line 31 has no
    switch, so each island comes off before the line that re-joins it goes back (the plan says
    so under `interruptions`, as for any island on this network); it verifies and validates."""
    case = planner.load_case(MV_ONLY)
    data = json.loads(planner.plan_case(case).to_json())
    (stage,) = data["stages"]
    assert stage["switching"]["open"] == [{"ref": "line:#31", "table": "line", "index": 31}]
    assert [(t["id"], t["type"], t["bus"], t["island"]) for t in stage["trucks"]] == [
        ("MV-440-1", "MV-440", 30, "I1"),
        ("MV-440-2", "MV-440", 30, "I1"),
        ("LV-100-1", "LV-100", 32, "I2"),
    ]
    islands = [(i["id"], i["buses"], i["design_peak_kw"], i["trucks"]) for i in stage["islands"]]
    assert islands == [
        ("I1", [29, 30, 31], 616.0, ["MV-440-1", "MV-440-2"]),
        ("I2", [32], 66.0, ["LV-100-1"]),
    ]
    verification = stage["verification"]
    assert verification["passed"] and verification["max_truck_loading_percent"] == 95.6
    steps = [(s["action"], s["element"]) for s in stage["sequence"]]
    assert steps[3:9] == [
        ("take_out_of_service", "line:#31"),
        ("take_out", "line:#28"),
        ("shut_down_island", "I1"),
        ("put_back", "line:#28"),
        ("shut_down_island", "I2"),
        ("put_in_service", "line:#31"),
    ]
    assert [(i["step"], i["kw"], i["loads"]) for i in stage["interruptions"]] == [
        (6, 616.0, ["load:#28", "load:#29", "load:#30"]),
        (8, 66.0, ["load:#31"]),
    ]
    assert validate(case, data).passed
    hour = stage["schedule"][0]
    assert hour["truck_kw"]["LV-100-1"] == 66.0


def test_on_an_mv_only_network_an_lv_truck_mid_feeder_is_a_finding() -> None:
    case = planner.load_case(MV_ONLY)
    ctx = StageContext.build(case, case.stages[0])
    setup = StageSetup(trucks=(_truck(case, "LV-100-1", 30), _truck(case, "MV-440-1", 30)))
    assert _violations(ctx, setup) == [
        (
            "lv_point",
            "truck LV-100-1 (type LV-100, connects at LV) is at bus:#30, which is not the "
            "low-voltage bus of a distribution transformer (LV side below 1 kV) nor, the "
            "network having no LV bus, a bus with loads fed by one branch",
        )
    ]
    # at the lateral's end but with line 31 in: the LV truck stands in the MV trucks' island
    setup = StageSetup(trucks=(_truck(case, "LV-100-1", 32), _truck(case, "MV-440-1", 30)))
    assert _violations(ctx, setup) == [
        (
            "lv_island",
            "truck LV-100-1 at bus:#32: its island I1 holds 3 bus(es) besides bus:#32 and "
            "truck(s) MV-440-1; an LV truck carries the loads at bus:#32 alone (open line:#31)",
        )
    ]


def test_an_lv_truck_at_a_transformer_the_works_leave_alone_or_two_at_one_are_findings(
    tmp_path,
) -> None:  # type: ignore[no-untyped-def]
    """Line 20 cuts off MV Bus 23-24 only: the LV grid's transformer (at MV Bus 22) stays
    grid-fed, so an LV truck there (its breaker opened) is a finding, and so is a second LV
    truck at the same transformer."""
    text = CASE.read_text(encoding="utf-8").replace("trucks = 1\n", "trucks = 2\n")
    text = text.replace('"line:MV1.101 Line 13"', '"line:MV1.101 Line 20"')
    (tmp_path / "case.toml").write_text(text, encoding="utf-8")
    case = planner.load_case(tmp_path / "case.toml")
    ctx = StageContext.build(case, case.stages[0])
    opened = Switching(open=(ref_for(ctx.base_net, "switch", BREAKER),))
    trucks = (
        _truck(case, "LV-400-1", LV_BUS),
        _truck(case, "LV-400-2", LV_BUS),
        _truck(case, "MV-520-1", 65),
    )
    # one finding of a kind per element (the bus): the first truck's
    assert _violations(ctx, StageSetup(opened, trucks)) == [
        ("bays", "bus:LV1.108 Bus 4: 2 LV trucks placed, one per transformer"),
        (
            "lv_island",
            "truck LV-400-1 at bus:LV1.108 Bus 4: its island I1 holds truck(s) LV-400-2; an LV "
            "truck carries trafo:MV1.101-LV1.108-Trafo 1's LV side alone (open "
            "switch:LV1.108 Switch 30)",
        ),
        (
            "lv_point",
            "truck LV-400-1 at bus:LV1.108 Bus 4: the works do not cut off "
            "trafo:MV1.101-LV1.108-Trafo 1's MV side (bus:MV1.101 Bus 22); an LV truck carries "
            "a transformer the works cut off",
        ),
    ]


def test_inspect_lists_the_lv_point(case: Case) -> None:
    from planner.decide.affected import affected_area

    (area,) = affected_area(case)
    (island,) = area.islands
    assert island.as_json()["lv_points"] == [
        {"bus": "bus:LV1.108 Bus 4", "transformer": "trafo:MV1.101-LV1.108-Trafo 1",
         "protected_kw": 88.0}
    ]  # fmt: skip


def test_the_transformers_breaker_is_opened_before_a_disconnector_of_lower_index(
    tmp_path,
) -> None:  # type: ignore[no-untyped-def]
    """The transformer's MV-side breaker made a disconnector (switch 27, the lower index) with a
    breaker beside it at MV Bus 22 (switch 232): the LV point opens the breaker, not the first
    closed switch found, and the plan's sequence opens it make-before-break, with no break."""
    import pandapower as pp
    import simbench as sb

    net = sb.get_simbench_net("1-MVLV-rural-1.108-0-sw")
    net.switch.at[BREAKER, "type"] = "DS"
    added = pp.create_switch(net, 64, 0, et="t", closed=True, type="CB", name="Trafo 1 CB")
    assert added == 232
    case = _case_on(net, tmp_path)
    (point,) = lv_points(case.network.net).values()
    assert point.opens.text == "switch:Trafo 1 CB"
    data = json.loads(planner.plan_case(case).to_json())
    (stage,) = data["stages"]
    assert stage["switching"]["open"] == [
        {"ref": "switch:Trafo 1 CB", "table": "switch", "index": 232}
    ]
    steps = [(s["action"], s["element"], s["device"]) for s in stage["sequence"]]
    assert steps[4:8] == [
        ("open", "switch:Trafo 1 CB", "CB"),
        ("take_out", "line:MV1.101 Line 13", "CB"),
        ("put_back", "line:MV1.101 Line 13", "CB"),
        ("close", "switch:Trafo 1 CB", "CB"),
    ]
    assert stage["verification"]["passed"] and stage["interruptions"] == []
    assert validate(case, data).passed
