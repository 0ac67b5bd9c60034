"""A mixed fleet checked truck by truck: one island carried by a 2,000 kW and an 800 kW truck
(tests/data/cases/valid/mixed_fleet.toml, the lateral 28-32 of case33bw), each within its own
type's kW and kVA, sharing by rating; protection with each truck's own machine data; fuel and
tank by type; a plan with those trucks validates, and one whose small truck carries the lateral
alone fails naming it."""

from __future__ import annotations

import math
from typing import Any

import pandapower as pp
import pandapower.networks as pn
import pandapower.shortcircuit as sc
import pytest
from pandapower.toolbox import select_subnet

import planner
from planner.checks.commitment import commit, online_count
from planner.checks.validation import validate
from planner.dispatch.schedule import fleet_timeline
from planner.grid.faults import at_delay_mixed_ka, island_faults
from planner.grid.powerflow import TruckAt
from planner.inputs.case import Case
from tests.checks.hand_placed import check_with, plan_with, trucks_at
from tests.conftest import DATA

MIXED = DATA / "cases" / "valid" / "mixed_fleet.toml"


@pytest.fixture(scope="module")
def case() -> Case:
    return planner.load_case(MIXED)


def test_two_types_in_one_island_share_by_rating_each_within_its_own_limits(case) -> None:  # type: ignore[no-untyped-def]
    check = check_with(case, trucks_at(case, "MV-800-1", "MV-2000-1"))
    assert check.verification.passed and check.verification.violations == ()
    (island,) = check.islands
    assert island.trucks == ("MV-2000-1", "MV-800-1")  # largest first: the order they come online
    assert [(t.id, t.type, t.rating_kw) for t in check.trucks] == [
        ("MV-800-1", "MV-800", 800.0),
        ("MV-2000-1", "MV-2000", 2000.0),
    ]
    assert len(check.hours) == 12
    for hour in check.hours:  # the flat profile: every hour the same
        assert hour.online == ("MV-2000-1", "MV-800-1")
        big, small = hour.truck_kw["MV-2000-1"], hour.truck_kw["MV-800-1"]
        assert big / small == pytest.approx(2500.0 / 1000.0, rel=1e-6)  # P shared by rating
        q_big, q_small = hour.truck_kvar["MV-2000-1"], hour.truck_kvar["MV-800-1"]
        assert q_big / q_small == pytest.approx(2.5, rel=1e-6)
        assert big + small == pytest.approx(682.0 + hour.island_losses_kw["I1"], abs=1e-6)
        assert (round(big, 1), round(small, 1)) == (489.4, 195.8)
        assert (round(q_big, 1), round(q_small, 1)) == (638.7, 255.5)
    # each against its own kVA: 804.7 of 2,500 and 321.9 of 1,000 kVA, 32.19 % both
    loading = {
        t: math.hypot(check.hours[0].truck_kw[t], check.hours[0].truck_kvar[t]) / kva * 100.0
        for t, kva in (("MV-2000-1", 2500.0), ("MV-800-1", 1000.0))
    }
    assert loading["MV-2000-1"] == pytest.approx(loading["MV-800-1"], rel=1e-6)
    assert check.verification.max_truck_loading_percent == pytest.approx(
        max(loading.values()), rel=1e-9
    )
    assert round(loading["MV-800-1"], 2) == 32.19


def test_the_small_truck_alone_is_overloaded_and_named_the_large_one_is_not(case) -> None:  # type: ignore[no-untyped-def]
    small = check_with(case, trucks_at(case, "MV-800-1")).verification
    assert not small.passed
    assert [(v.kind, v.element, v.value, v.limit) for v in small.violations] == [
        ("truck_overload", "MV-800-1", 112.66, 100.0),
        ("unserved", "", 76.6, 0.0),
    ]
    assert small.violations[0].message == (
        "island I1: truck MV-800-1 at 1,127 kVA, 112.7 % of its 1,000 kVA rating"
    )
    large = check_with(case, trucks_at(case, "MV-2000-1")).verification
    assert large.passed and round(large.max_truck_loading_percent, 2) == 45.06


def test_a_truck_the_fleet_does_not_have_or_rated_off_its_type_is_a_violation(case) -> None:  # type: ignore[no-untyped-def]
    trucks = (TruckAt("MV-800-2", 30, 800.0, 1000.0), TruckAt("MV-2000-1", 30, 800.0, 1000.0))
    v = check_with(case, trucks).verification
    assert [(x.kind, x.element, x.message) for x in v.violations] == [
        (
            "truck_id",
            "MV-800-2",
            "truck MV-800-2 is not a truck of the fleet (its trucks: MV-2000-1, MV-800-1)",
        ),
        (
            "truck_rating",
            "MV-2000-1",
            "truck MV-2000-1 is rated 800 kW / 1000 kVA, its type MV-2000 2000 kW / 2500 kVA",
        ),
    ]


@pytest.mark.parametrize(
    ("p_kw", "q_kvar", "ratings", "min_loading", "n_1", "expected"),
    [
        # 682 kW / 1,070 kVA on 2,500 + 1,000 kVA: one truck carries it at 43 %, both at 31 %
        (682.0, 800.0, [(2000.0, 2500.0), (800.0, 1000.0)], 0.2, False, (2, True)),
        (682.0, 800.0, [(2000.0, 2500.0), (800.0, 1000.0)], 0.35, False, (1, True)),
        # beyond the largest: both; n-1 needs the rest to carry it without the largest
        (2100.0, 0.0, [(2000.0, 2500.0), (800.0, 1000.0)], 0.3, False, (2, True)),
        (700.0, 0.0, [(2000.0, 2500.0), (800.0, 1000.0), (800.0, 1000.0)], 0.9, True, (2, False)),
        (900.0, 0.0, [(2000.0, 2500.0), (800.0, 1000.0), (800.0, 1000.0)], 0.0, True, (3, True)),
        # nothing carries it: every truck, min_loading kept
        (5000.0, 0.0, [(2000.0, 2500.0), (800.0, 1000.0)], 0.3, False, (2, True)),
        # at low load the least loaded truck is below min_loading with two: one runs
        (300.0, 0.0, [(2000.0, 2500.0), (800.0, 1000.0)], 0.3, False, (1, False)),
        # a low power factor type runs the small truck hotter in kW: its kW decides
        (1400.0, 0.0, [(2000.0, 2500.0), (800.0, 1600.0)], 0.3, False, (2, True)),
    ],
)
def test_commitment_by_capacity_largest_first(  # type: ignore[no-untyped-def]
    p_kw, q_kvar, ratings, min_loading, n_1, expected
) -> None:
    assert commit(p_kw, q_kvar, ratings, min_loading, n_1) == expected


@pytest.mark.parametrize("n_1", [False, True])
@pytest.mark.parametrize("p_kw", [0.0, 300.0, 1999.0, 2000.0, 2001.0, 4500.0, 9000.0])
def test_commitment_with_equal_ratings_is_the_single_type_count(p_kw: float, n_1: bool) -> None:
    for placed in (1, 2, 3):
        want = online_count(p_kw, 0.6 * p_kw, placed, 2000.0, 2500.0, 0.3, n_1)
        assert commit(p_kw, 0.6 * p_kw, [(2000.0, 2500.0)] * placed, 0.3, n_1) == want


def _independent_2ph_min(case: Case, buses: list[int], machines: list[tuple]) -> dict[int, float]:
    """pandapower's IEC 60909 2-phase minimum currents of the island on `buses` fed by
    generators (bus, kVA, x''d in pu, cos phi), set up here from the network alone."""
    net = pn.case33bw()
    island = select_subnet(net, buses)
    island.ext_grid.drop(island.ext_grid.index, inplace=True)
    island.load.drop(island.load.index, inplace=True)
    island.line["endtemp_degree"] = 80.0
    for k, (bus, kva, x, cos_phi) in enumerate(machines):
        vn, sn = float(island.bus.at[bus, "vn_kv"]), kva / 1000.0
        pp.create_gen(
            island, bus, p_mw=0.0, vm_pu=1.0, sn_mva=sn, vn_kv=vn, xdss_pu=x,
            rdss_ohm=0.07 * x * vn**2 / sn, cos_phi=cos_phi, slack=k == 0,
        )  # fmt: skip
    sc.calc_sc(island, fault="2ph", case="min", branch_results=False)
    return {int(b): float(v) for b, v in island.res_bus_sc.ikss_ka.items()}


def test_protection_with_two_types_uses_each_trucks_own_machine_data(case) -> None:  # type: ignore[no-untyped-def]
    check = check_with(case, trucks_at(case, "MV-800-1", "MV-2000-1"))
    p = check.islands[0].protection
    buses = list(check.islands[0].buses)

    # MV-2000: x''d 0.15, x'd 0.3 ([fleet]), xd 2.0, T'd 0.15 s; MV-800: x''d 0.12, x'd 0.3,
    # support 2.5 x rated (behind 1 / 2.5 = 0.4 pu), T'd 0.08 s. The transient and sustained
    # runs enter x / c_max at cos phi 1 (pandapower's K_G turns that back into x).
    def run(big: float, small: float, cos_phi: float) -> dict[int, float]:
        machines = [(30, 2500.0, big, cos_phi), (30, 1000.0, small, cos_phi)]
        return _independent_2ph_min(case, buses, machines)

    sub, tr, sus = (
        run(0.15, 0.12, 0.8),
        run(0.3 / 1.1, 0.3 / 1.1, 1.0),
        run(2.0 / 1.1, 0.4 / 1.1, 1.0),
    )
    bus = min(sub, key=sub.__getitem__)
    assert p["fault_bus"] == bus == 29
    assert p["ik2_min_subtransient_ka"] == round(sub[bus], 3) == 0.82
    assert p["ik2_min_transient_ka"] == round(tr[bus], 3)
    # the decaying part split by kVA, each share with its own T'd
    decay = (2500.0 * math.exp(-0.5 / 0.15) + 1000.0 * math.exp(-0.5 / 0.08)) / 3500.0
    assert p["ik2_min_at_delay_ka"] == round(sus[bus] + (tr[bus] - sus[bus]) * decay, 3)
    assert p["online"] == ["MV-2000-1", "MV-800-1"] and p["earthing"] is None
    # unrounded: the fault module with each truck's own values, on the island as selected here
    levels = island_faults(
        select_subnet(pn.case33bw(), buses),
        list(trucks_at(case, "MV-2000-1", "MV-800-1")),
        xdss_pu=(0.15, 0.12),
        xds_pu=(0.3, 0.3),
        sustained_x_pu=(2.0, 0.4),
        power_factor=(0.8, 0.8),
    )
    assert levels is not None and levels.bus == 29
    assert levels.subtransient_ka == pytest.approx(sub[29], rel=1e-9)
    assert levels.transient_ka == pytest.approx(tr[29], rel=1e-9)
    assert levels.sustained_ka == pytest.approx(sus[29], rel=1e-9)
    delayed = at_delay_mixed_ka(levels, 0.5, (0.15, 0.08), (2500.0, 1000.0))
    assert delayed == pytest.approx(sus[29] + (tr[29] - sus[29]) * decay, rel=1e-9)


def test_an_earthed_type_earths_the_island_and_load_steps_are_per_type(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = MIXED.read_text().replace(
        'sc_support_multiple = 2.5', 'sc_support_multiple = 2.5\nmv_earthing = "earthed"\n'
        "load_step_percent = 25.0"
    )  # fmt: skip
    path = tmp_path / "case.toml"
    path.write_text(text)
    case = planner.load_case(path)
    check = check_with(case, trucks_at(case, "MV-2000-1", "MV-800-1"))
    island = check.islands[0]
    assert island.protection is not None and island.dynamic is not None
    assert island.protection["earthing"] == "truck MV-800-1"  # the only earthed one
    # the island forming: its losses on both trucks, whose limit is 50 % of 2,000 kW and
    # 25 % of 800 kW: 42.9 % of their 2,800 kW
    dyn = island.dynamic
    assert (dyn["event"], dyn["limit_percent"]) == ("island forms", pytest.approx(1200 / 28))
    assert dyn["largest_step_kw"] == round(check.hours[0].island_losses_kw["I1"], 1) == 3.2


def test_fuel_and_tank_by_type(case) -> None:  # type: ignore[no-untyped-def]
    check = check_with(case, trucks_at(case, "MV-800-1", "MV-2000-1"))
    rows, refuels = fleet_timeline(case, [(case.stages[0], check)])
    first: dict[str, Any] = {}
    for row in rows:
        if row.status == "online":
            first.setdefault(row.truck, row)
    small, big = first["MV-800-1"], first["MV-2000-1"]
    assert small.fuel_l == pytest.approx(small.p_kw * 0.3) and small.tank_l == pytest.approx(
        600.0 - small.fuel_l
    )
    assert big.fuel_l == pytest.approx(big.p_kw * 0.25) and big.tank_l == pytest.approx(
        2000.0 - big.fuel_l
    )
    assert round(small.loading_percent, 2) == round(big.loading_percent, 2) == 32.19
    # 58.7 L an hour from 600 L: refuelled before the hour that would leave less than 60 L
    assert [(r.truck, r.time, round(r.litres, 1)) for r in refuels] == [
        ("MV-800-1", "2025-07-01T17:00:00+00:00", 528.6)
    ]


def test_a_plan_with_both_types_validates(case, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    data = plan_with(case, ("MV-800-1", "MV-2000-1"), monkeypatch)
    trucks = data["stages"][0]["trucks"]
    assert [(t["id"], t["type"], t["rating_kw"]) for t in trucks] == [
        ("MV-800-1", "MV-800", 800.0),
        ("MV-2000-1", "MV-2000", 2000.0),
    ]
    assert data["feasible"] and data["fleet"]["trucks_used"] == 2
    schedule = data["stages"][0]["schedule"][0]
    assert schedule["truck_kw"] == {"MV-2000-1": 489.4, "MV-800-1": 195.8}
    assert schedule["fuel_l"] == {"MV-2000-1": 122.4, "MV-800-1": 58.7}
    report = validate(case, data)
    assert report.passed, [v.message for _, c in report.stages for v in c.verification.violations]
    # the plan's word on a truck's type and rating is checked against its id's type
    trucks[0]["type"] = "MV-2000"
    trucks[1]["rating_kw"] = 800.0
    with pytest.raises(planner.PlanFileError) as info:
        validate(case, data)
    assert [(p.key, p.message) for p in info.value.problems] == [
        ("stages[0].trucks[0].type", "truck MV-800-1 is of type 'MV-800', the plan says 'MV-2000'"),
        (
            "stages[0].trucks[1].rating_kw",
            "truck MV-2000-1 is of type 'MV-2000', whose trucks are rated 2000 kW; the plan "
            "says 800.0",
        ),
    ]


def test_a_plan_whose_small_truck_carries_the_island_alone_fails_naming_it(  # type: ignore[no-untyped-def]
    case, monkeypatch
) -> None:
    data = plan_with(case, ("MV-800-1",), monkeypatch)
    report = validate(case, data)
    assert not report.passed
    (stage,) = report.stages
    overloads = [v for v in stage[1].verification.violations if v.kind == "truck_overload"]
    assert [(v.element, v.message) for v in overloads] == [
        ("MV-800-1", "island I1: truck MV-800-1 at 1,127 kVA, 112.7 % of its 1,000 kVA rating")
    ]


def test_n_1_trips_the_largest_truck_and_judges_the_rest_by_their_own_type(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "case.toml"
    path.write_text(
        MIXED.read_text().replace("min_loading = 0.2", 'min_loading = 0.2\nreserve = "n-1"')
    )
    case = planner.load_case(path)
    check = check_with(case, trucks_at(case, "MV-800-1", "MV-2000-1"))
    assert [(v.kind, v.element, v.value, v.message) for v in check.verification.violations] == [
        (
            "reserve",
            "MV-800-1",
            112.66,
            "island I1 with truck MV-2000-1 tripped: truck MV-800-1 at 1,127 kVA, 112.7 % of its "
            "1,000 kVA rating",
        )
    ]
    dyn = check.islands[0].dynamic
    assert dyn is not None
    # the large truck's 489.4 kW falls on the 800 kW one: 61.2 %, against its 50 %
    assert (dyn["event"], dyn["largest_step_kw"], dyn["step_percent"], dyn["limit_percent"]) == (
        "trip MV-2000-1",
        489.4,
        61.2,
        50.0,
    )
