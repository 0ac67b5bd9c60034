"""`[[fleet.types]]`: a mixed fleet read into truck types (each bad input's exact message is in
tests/data/cases/invalid/expected.json, the `fleet_types_*` files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import planner
from planner.inputs import case_fleet
from planner.inputs.case import Fleet, TruckType
from tests.conftest import DATA
from tests.test_schemas import errors, schema, toml

MIXED = DATA / "cases" / "valid" / "mixed_fleet.toml"
INVALID = DATA / "cases" / "invalid"

_CASE = """[case]
name = "x"
network = "pandapower:create_cigre_network_mv"
[fleet]
{fleet}
{types}
[[stages]]
name = "S1"
start = 2025-01-01T08:00:00+01:00
end = 2025-01-01T10:00:00+01:00
out_of_service = ["line:Line 3-4"]
"""


def _fleet(tmp_path: Path, types: list[dict[str, object]], fleet: str = "") -> Fleet:
    tables = "\n".join(
        "[[fleet.types]]\n" + "\n".join(f"{k} = {v!r}" for k, v in kind.items()) for kind in types
    )
    path = tmp_path / "case.toml"
    path.write_text(_CASE.format(fleet=fleet, types=tables.replace("'", '"')))
    return planner.load_case(path).fleet


def test_a_mixed_fleet_reads_each_type_with_the_fleet_defaults() -> None:
    fleet = planner.load_case(MIXED).fleet
    big, small = fleet.types
    assert big == TruckType(
        "MV-2000", 1, 2000.0, 0.8, fuel_l_per_kwh=0.25, tank_l=2000.0, xds_pu=0.3
    )
    assert small == TruckType(
        "MV-800", 1, 800.0, 0.8, fuel_l_per_kwh=0.3, tank_l=600.0, xdss_pu=0.12, xds_pu=0.3,
        tds_s=0.08, excitation="support", sc_support_multiple=2.5,
    )  # fmt: skip
    assert (small.rating_kva, small.sustained_x_pu, big.sustained_x_pu) == (1000.0, 0.4, 2.0)
    # the fleet: the total, and the largest type's limits (bounds from them stay bounds)
    assert (fleet.trucks, fleet.rating_kw, fleet.power_factor, fleet.rating_kva) == (
        2, 2000.0, 0.8, 2500.0
    )  # fmt: skip
    assert (fleet.min_loading, fleet.xds_pu) == (0.2, 0.3)
    assert fleet.kinds == (big, small)
    assert fleet.truck_ids() == ("MV-2000-1", "MV-800-1")
    assert fleet.type_of("MV-800-1") is small and fleet.type_of("MV-2000-1") is big
    for unknown in ("MV-800-2", "MV-800-0", "MV-800-01", "T1", "MV-2000", ""):
        assert fleet.type_of(unknown) is None
        assert fleet.machine(unknown) == fleet.single  # judged by [fleet]: the largest type
    assert fleet.machine("MV-2000-1", small) is small  # a truck's own kind comes first


def test_a_single_type_fleet_is_one_implicit_type_named_none() -> None:
    fleet = planner.load_case(DATA / "cases" / "valid" / "full.toml").fleet
    (kind,) = fleet.kinds
    assert fleet.types == () and kind.name is None and kind is fleet.single
    assert (kind.trucks, kind.rating_kw, kind.power_factor, kind.vm_setpoint_pu) == (
        4, 1000.0, 0.85, 1.02
    )  # fmt: skip
    machine = (kind.xdss_pu, kind.xds_pu, kind.xd_pu, kind.tds_s, kind.sc_support_multiple)
    assert machine == (0.12, 0.2, 1.8, 0.2, 2.5)
    assert (kind.excitation, kind.mv_earthing, kind.load_step_percent) == (
        "support", "earthed", 40.0
    )  # fmt: skip
    assert (kind.fuel_l_per_kwh, kind.tank_l, kind.tanker_l) == (0.3, 1200.0, 5000.0)
    assert fleet.truck_ids() == ("T1", "T2", "T3", "T4")
    assert fleet.type_of("T4") is kind and fleet.type_of("T5") is None


@pytest.mark.parametrize(
    ("types", "rating_kw", "power_factor", "rating_kva"),
    [
        # the largest type in kW is the largest in kVA too: its own power factor
        ([("A", 800.0, 0.9), ("B", 2000.0, 0.8)], 2000.0, 0.8, 2500.0),
        # 2,000 kW at 1.0 (2,000 kVA) and 1,900 kW at 0.8 (2,375 kVA): the largest of each
        ([("A", 2000.0, 1.0), ("B", 1900.0, 0.8)], 2000.0, 2000.0 / 2375.0, 2375.0),
    ],
)
def test_a_mixed_fleet_bounds_with_the_largest_kw_and_kva(  # type: ignore[no-untyped-def]
    tmp_path, types, rating_kw, power_factor, rating_kva
) -> None:
    kinds = [{"name": n, "trucks": 2, "rating_kw": kw, "power_factor": pf} for n, kw, pf in types]
    fleet = _fleet(tmp_path, kinds)
    assert (fleet.trucks, fleet.rating_kw) == (4, rating_kw)
    assert fleet.power_factor == pytest.approx(power_factor, rel=1e-12)
    assert fleet.rating_kva == pytest.approx(rating_kva, rel=1e-12)


def test_a_type_takes_what_it_does_not_say_from_fleet_else_the_defaults(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fleet = _fleet(
        tmp_path,
        [{"name": "A_1.x", "trucks": 3}, {"name": "B", "trucks": 0, "tank_l": 900.0}],
        'tank_l = 1000.0\nexcitation = "support"\nreserve = "n-1"',
    )
    a, b = fleet.types
    assert (a.rating_kw, a.power_factor, a.connects, a.storage_kwh) == (2000.0, 0.8, "mv", 0.0)
    assert (a.tank_l, b.tank_l, a.excitation, b.excitation) == (1000.0, 900.0, "support", "support")
    assert (a.xdss_pu, a.fuel_l_per_kwh, a.load_step_percent) == (0.15, 0.27, 50.0)
    assert fleet.truck_ids() == ("A_1.x-1", "A_1.x-2", "A_1.x-3")
    assert fleet.reserve == "n-1"


def test_the_case_schema_knows_every_key_of_a_type() -> None:
    node = schema("case")["properties"]["fleet"]["properties"]["types"]["items"]
    assert set(node["properties"]) == case_fleet._TYPE
    assert node["required"] == ["name", "trucks"]


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("fleet_types_with_fleet_trucks", ["fleet: {'trucks': 2, 'types': [{'name': 'MV-2000', "
         "'trucks': 2}]} should not be valid under {'anyOf': "
         "[{'required': ['trucks']}, {'required': ['rating_kw']}, "
         "{'required': ['power_factor']}]}"]),
        ("fleet_types_bad_names", [
            "fleet/types/0/name: 'MV 2000' does not match '^[A-Za-z0-9_.-]{1,40}$'",
            "fleet/types/1/name: 'MV/800\\n' does not match '^[A-Za-z0-9_.-]{1,40}$'",
            "fleet/types/2/name: '' does not match '^[A-Za-z0-9_.-]{1,40}$'",
        ]),
        ("fleet_types_empty", ["fleet/types: [] should be non-empty"]),
    ],
)  # fmt: skip
def test_invalid_fleet_types_fail_the_case_schema(name: str, want: list[str]) -> None:
    assert errors("case", toml(INVALID / f"{name}.toml")) == want


def test_the_mixed_case_passes_the_case_schema() -> None:
    assert errors("case", toml(MIXED)) == []


def test_check_shows_the_mix(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("check", MIXED)
    assert result.exit_code == 0
    line = (
        "  fleet     MV-2000: 1 x 2000 kW (2500 kVA), MV-800: 1 x 800 kW (1000 kVA), reserve none"
    )
    assert line in result.output.splitlines()
    checked = json.loads(cli("check", MIXED, "--json").stdout)
    assert checked["fleet"] == {
        "trucks": 2,
        "rating_kw": 2000.0,
        "rating_kva": 2500.0,
        "reserve": "none",
        "types": [
            {"name": "MV-2000", "trucks": 1, "rating_kw": 2000.0, "rating_kva": 2500.0},
            {"name": "MV-800", "trucks": 1, "rating_kw": 800.0, "rating_kva": 1000.0},
        ],
    }


def test_a_bad_type_name_exits_2_naming_it(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("check", INVALID / "fleet_types_bad_names.toml")
    assert result.exit_code == 2
    assert (
        "fleet.types[1].name: must be 1 to 40 letters, digits, '_', '.' or '-' (it prefixes "
        "the truck ids), got 'MV/800\\n'"
    ) in result.output
    assert "Traceback" not in result.output
