"""map.geojson (`planner.outputs.geojson`): the plan's islands, trucks, works and switching on
the network's geodata, one FeatureCollection whose features carry their stage."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pandapower.networks as pn
import pytest

from planner.outputs.geojson import map_geojson
from tests.conftest import CASES

GEOMETRIES = {"Point", "MultiPoint", "LineString"}


@pytest.fixture(scope="module")
def oberrhein(tmp_path_factory) -> tuple[dict[str, Any], dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Planned once through the CLI: (map.geojson, plan.json) as data."""
    from click.testing import CliRunner

    from planner.cli import main

    out = tmp_path_factory.mktemp("map") / "out"
    case = CASES / "oberrhein_transfer_and_trucks.toml"
    result = CliRunner().invoke(main, ["plan", str(case), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out / 'map.geojson'}" in result.output
    return (
        json.loads((out / "map.geojson").read_text(encoding="utf-8")),
        json.loads((out / "plan.json").read_text(encoding="utf-8")),
    )


def _bus_xy() -> dict[int, list[float]]:
    net = pn.mv_oberrhein()
    return {int(b): json.loads(g)["coordinates"] for b, g in net.bus.geo.items()}


def _positions(geometry: dict[str, Any]) -> list[list[float]]:
    coords = geometry["coordinates"]
    return [coords] if geometry["type"] == "Point" else coords


def test_the_map_is_a_valid_feature_collection(oberrhein) -> None:  # type: ignore[no-untyped-def]
    data, plan = oberrhein
    assert data["type"] == "FeatureCollection"
    assert data["case"] == plan["case"]["name"]
    assert data["stages"] == ["Line 70 out"]
    for feature in data["features"]:
        assert set(feature) == {"type", "geometry", "properties"}
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] in GEOMETRIES
        positions = _positions(feature["geometry"])
        assert positions
        for x, y in positions:
            assert math.isfinite(x) and math.isfinite(y)
        assert feature["properties"]["stage"] == "Line 70 out"
        assert feature["properties"]["stage_index"] == 0
    kinds = [
        (f["properties"]["kind"], f["properties"].get("id") or f["properties"]["element"])
        for f in data["features"]
    ]
    assert kinds == [
        ("island", "I1"),
        ("island", "I2"),
        ("truck", "T1"),
        ("truck", "T2"),
        ("truck", "T3"),
        ("works", "line:Line 70"),
        ("closed", "switch:Switch 144"),
        ("opened", "switch:Switch 165"),
    ]


def test_islands_are_their_buses_at_the_networks_coordinates(oberrhein) -> None:  # type: ignore[no-untyped-def]
    data, plan = oberrhein
    xy = _bus_xy()
    islands = [f for f in data["features"] if f["properties"]["kind"] == "island"]
    for feature, island in zip(islands, plan["stages"][0]["islands"], strict=True):
        props = feature["properties"]
        assert props["id"] == island["id"] and props["supply"] == island["supply"]
        assert props["buses"] == island["buses"] and props["trucks"] == island["trucks"]
        assert feature["geometry"] == {
            "type": "MultiPoint",
            "coordinates": [xy[b] for b in island["buses"]],
        }
    assert [f["properties"]["supply"] for f in islands] == ["trucks", "transfer"]


def test_trucks_match_plan_json(oberrhein) -> None:  # type: ignore[no-untyped-def]
    data, plan = oberrhein
    xy = _bus_xy()
    stage = plan["stages"][0]
    trucks = [f for f in data["features"] if f["properties"]["kind"] == "truck"]
    assert len(trucks) == len(stage["trucks"]) == 3
    for feature, truck in zip(trucks, stage["trucks"], strict=True):
        props = feature["properties"]
        for key in ("id", "bus", "connection_point", "island", "rating_kw", "type"):
            assert props[key] == truck[key]
        assert feature["geometry"] == {"type": "Point", "coordinates": xy[truck["bus"]]}
        peak = max(
            row["truck_kw"][truck["id"]]
            for row in stage["schedule"]
            if truck["id"] in row["truck_kw"]
        )
        assert props["kw_peak"] == peak
    assert [f["properties"]["kw_peak"] for f in trucks] == [1608.5, 1608.5, 1608.5]
    assert [f["properties"]["bus"] for f in trucks] == [94, 100, 161]


def test_works_and_switching_are_placed_from_the_network(oberrhein) -> None:  # type: ignore[no-untyped-def]
    data, _ = oberrhein
    net = pn.mv_oberrhein()
    xy = _bus_xy()
    by_kind = {f["properties"]["kind"]: f for f in data["features"]}
    works = by_kind["works"]
    assert works["properties"]["table"] == "line" and works["properties"]["index"] == 70
    line = json.loads(net.line.geo.at[70])
    assert works["geometry"] == {"type": "LineString", "coordinates": line["coordinates"]}
    for kind, index in (("closed", 144), ("opened", 165)):
        feature = by_kind[kind]
        assert feature["properties"]["index"] == index
        bus = int(net.switch.bus.at[index])
        assert feature["geometry"] == {"type": "Point", "coordinates": xy[bus]}


def test_no_geodata_no_map() -> None:
    net = pn.mv_oberrhein()
    net.bus["geo"] = None
    assert map_geojson(net, {"stages": []}) is None
    one_missing = pn.mv_oberrhein()
    one_missing.bus.loc[one_missing.bus.index[0], "geo"] = None
    assert map_geojson(one_missing, {"stages": []}) is None


def test_names_are_plain_json_strings(oberrhein) -> None:  # type: ignore[no-untyped-def]
    _, plan = oberrhein
    hostile = copy.deepcopy(plan)
    name = "</script><img src=x onerror=alert(1)>\u202e=cmd\n"
    hostile["stages"][0]["name"] = name
    hostile["stages"][0]["trucks"][0]["id"] = name
    text = map_geojson(pn.mv_oberrhein(), hostile)
    assert text is not None and text.isascii() and "\n=cmd" not in text
    data = json.loads(text)
    assert data["stages"] == [name]
    assert data["features"][2]["properties"]["id"] == name
    assert {f["properties"]["stage"] for f in data["features"]} == {name}


def test_a_network_without_geodata_writes_no_map(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    case = tmp_path / "case.toml"
    net = pn.case33bw()
    net.bus["geo"] = None
    import pandapower as pp

    pp.to_json(net, str(tmp_path / "feeder.json"))
    text = (CASES / "case33bw_trucks.toml").read_text()
    case.write_text(text.replace('"pandapower:case33bw"', '"feeder.json"'))
    result = cli("plan", case, "--out", out)
    assert result.exit_code == 0, result.output
    assert not (out / "map.geojson").exists()
    assert (out / "plan.xlsx").is_file()
