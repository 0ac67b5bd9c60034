"""map.geojson: what each stage does, on the network's own geodata, for a GIS.

One FeatureCollection for the whole plan (the plan set's file names are claimed before the
case is read, so there is one name, not one per stage); every feature carries its stage's
`stage` name and `stage_index` (0-based, as `stages[i]` of plan.json). Features, in stage
order: the stage's islands (MultiPoint of their buses), trucks (Point at the bus each feeds),
works (the elements taken out of service) and switching (ties closed, switches opened, branches
put in service). Everything is taken from plan.json's data and the network as loaded, so the
map says nothing the plan does not. Written only when every bus has geodata
(`layout.bus_geodata`, the rule the report's map follows); coordinates are the network's own.
"""

from __future__ import annotations

import json
from typing import Any

import pandapower as pp

from planner.outputs.layout import Point, bus_geodata, line_geodata

__all__ = ["MAP_NAME", "map_geojson"]

MAP_NAME = "map.geojson"

# what each element table's row stands on: one bus, or a path through several
_POINT_TABLES = ("load", "sgen", "gen", "ext_grid", "storage", "shunt", "ward", "xward")
_PATH_COLUMNS = {
    "trafo": ("hv_bus", "lv_bus"),
    "trafo3w": ("hv_bus", "mv_bus", "lv_bus"),
    "impedance": ("from_bus", "to_bus"),
}


def map_geojson(net: pp.pandapowerNet, plan: dict[str, Any]) -> str | None:
    """The plan's map as GeoJSON text, or None when the network lacks bus geodata."""
    buses = bus_geodata(net)
    if buses is None:
        return None
    places = _Places(net, buses)
    features: list[dict[str, Any]] = []
    for index, stage in enumerate(plan.get("stages", [])):
        base = {"stage": stage.get("name"), "stage_index": index}
        features += _islands(stage, base, places)
        features += _trucks(stage, base, places)
        for item in stage.get("out_of_service", []):
            features += places.element(item, {**base, "kind": "works"})
        switching = stage.get("switching") or {}
        for key, kind in (("close", "closed"), ("open", "opened"), ("in_service", "in_service")):
            for item in switching.get(key, []):
                features += places.element(item, {**base, "kind": kind})
    case = plan.get("case") or {}
    collection = {
        "type": "FeatureCollection",
        "case": case.get("name"),
        "network": case.get("network"),
        "stages": [s.get("name") for s in plan.get("stages", [])],
        "features": features,
    }
    return json.dumps(collection, indent=1, ensure_ascii=True, allow_nan=False) + "\n"


class _Places:
    """Where an element of the network is: its bus, its buses or its line's own path."""

    def __init__(self, net: pp.pandapowerNet, buses: dict[int, Point]) -> None:
        self.net = net
        self.buses = buses
        self.lines = line_geodata(net)

    def bus(self, bus: Any) -> list[float] | None:
        try:
            x, y = self.buses[int(bus)]
        except (KeyError, TypeError, ValueError):
            return None
        return [x, y]

    def geometry(self, table: str, index: int) -> dict[str, Any] | None:
        """An element's geometry, or None where the network does not place it."""
        frame = self.net.get(table)
        if frame is None or index not in frame.index:
            return None
        row = frame.loc[index]
        if table == "bus":
            point = self.bus(index)
            return None if point is None else {"type": "Point", "coordinates": point}
        if table == "line":
            path = self.lines.get(index)
            if path is not None:
                return {"type": "LineString", "coordinates": [[x, y] for x, y in path]}
            return self._path((row.from_bus, row.to_bus))
        if table in _PATH_COLUMNS:
            return self._path(tuple(row[c] for c in _PATH_COLUMNS[table]))
        if table == "switch" or table in _POINT_TABLES:
            point = self.bus(row.bus)
            return None if point is None else {"type": "Point", "coordinates": point}
        return None

    def _path(self, ends: tuple[Any, ...]) -> dict[str, Any] | None:
        points = [self.bus(b) for b in ends]
        if any(p is None for p in points):
            return None
        return {"type": "LineString", "coordinates": points}

    def element(self, item: dict[str, Any], properties: dict[str, Any]) -> list[dict[str, Any]]:
        """A plan.json element reference (`{ref, table, index}`) as a feature, if placed."""
        table, index = item.get("table"), item.get("index")
        if not isinstance(table, str) or not isinstance(index, int):
            return []
        geometry = self.geometry(table, index)
        if geometry is None:
            return []
        props = {**properties, "element": item.get("ref"), "table": table, "index": index}
        return [_feature(geometry, props)]


def _feature(geometry: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def _islands(stage: dict[str, Any], base: dict[str, Any], places: _Places) -> list[dict]:
    found = []
    for island in stage.get("islands", []):
        points = [p for p in (places.bus(b) for b in island.get("buses", [])) if p is not None]
        if not points:
            continue
        props = {
            **base,
            "kind": "island",
            "id": island.get("id"),
            "supply": island.get("supply"),
            "buses": island.get("buses"),
            "trucks": island.get("trucks", []),
            "design_peak_kw": island.get("design_peak_kw"),
            "households": island.get("households"),
        }
        found.append(_feature({"type": "MultiPoint", "coordinates": points}, props))
    return found


def _trucks(stage: dict[str, Any], base: dict[str, Any], places: _Places) -> list[dict]:
    peaks: dict[str, float] = {}
    for row in stage.get("schedule", []):
        for truck, kw in (row.get("truck_kw") or {}).items():
            if isinstance(kw, int | float):
                peaks[truck] = max(peaks.get(truck, kw), kw)
    found = []
    for truck in stage.get("trucks", []):
        point = places.bus(truck.get("bus"))
        if point is None:
            continue
        props = {
            **base,
            "kind": "truck",
            "id": truck.get("id"),
            "bus": truck.get("bus"),
            "connection_point": truck.get("connection_point"),
            "island": truck.get("island"),
            "rating_kw": truck.get("rating_kw"),
            "type": truck.get("type"),
            "kw_peak": peaks.get(truck.get("id")),
        }
        found.append(_feature({"type": "Point", "coordinates": point}, props))
    return found
