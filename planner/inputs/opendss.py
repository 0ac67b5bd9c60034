"""OpenDSS feeders (`.dss`): the network built from the statements `opendss_parse` read.

pandapower's own OpenDSS converter runs the file through the OpenDSS engine, which executes it
as a script (Redirect, Compile, Export and Save read and write other files); a network comes
from other people, so the planner reads the subset it needs as data (`opendss_parse`) and
builds the pandapower network here: buses (voltage from the source through lines and
transformer windings; Buscoords as `geo` points), the Circuit's ext_grid, lines, switches
(`switch=yes` lines as bus-bus switches, `Open Line.X` on another line as an open line
switch at that terminal), two-winding transformers and loads.
"""

from __future__ import annotations

import json
import math
from collections import deque
from pathlib import Path
from typing import Any

import pandapower as pp

from planner.inputs.converters import ConversionError
from planner.inputs.opendss_parse import (
    UNITS_KM,
    DssModel,
    DssObject,
    bus_name,
    parse_dss,
    to_number,
    values,
)

__all__ = ["read_dss"]

_DEFAULT_AMPS = 400.0
_DEFAULT_XHL = 7.0
_DEFAULT_R_WINDING = 0.2
_DEFAULT_PF = 0.88


def read_dss(path: Path, limit: int) -> pp.pandapowerNet:
    """The network of one OpenDSS file (and its Buscoords file), or `ConversionError`."""
    return _build(parse_dss(path, limit))


def _get(obj: DssObject, key: str, default: float | None = None) -> float:
    if key not in obj.props:
        if default is None:
            raise ConversionError(f"{obj.where()}: {key}= is required")
        return default
    return to_number(obj.props[key], f"{obj.where()}: {key}")


def _flag(obj: DssObject, key: str, default: bool) -> bool:
    value = obj.props.get(key)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in ("yes", "y", "true", "t"):
        return True
    if lowered in ("no", "n", "false", "f"):
        return False
    raise ConversionError(f"{obj.where()}: {key}={value[:20]!r} is not yes or no")


def _three_phase(obj: DssObject, key: str = "phases") -> None:
    if key in obj.props and _get(obj, key) != 3:
        raise ConversionError(
            f"{obj.where()}: {key}={obj.props[key][:10]!r}: the planner reads three-phase "
            "networks only"
        )


def _units(obj: DssObject, fallback: str = "none") -> float:
    unit = obj.props.get("units", fallback).lower()
    if unit not in UNITS_KM:
        known = ", ".join(UNITS_KM)
        raise ConversionError(f"{obj.where()}: units={unit[:10]!r} is not one of {known}")
    return UNITS_KM[unit]


def _windings(obj: DssObject) -> list[dict[str, str]]:
    """A transformer's two windings: bus, kv, kva, %r (array form or wdg= form)."""
    if "windings" in obj.props and _get(obj, "windings") != 2:
        raise ConversionError(f"{obj.where()}: windings must be 2")
    _three_phase(obj)
    found = [dict(w) for w in obj.windings] + [{} for _ in range(2 - len(obj.windings))]
    for key, column in (("buses", "bus"), ("kvs", "kv"), ("kvas", "kva"), ("%rs", "%r")):
        if key in obj.props:
            items = values(obj.props[key])
            if len(items) != 2:
                raise ConversionError(f"{obj.where()}: {key} needs two values, got {len(items)}")
            for winding, item in zip(found, items, strict=True):
                winding[column] = item
    for number, winding in enumerate(found, start=1):
        for key in ("bus", "kv"):
            if key not in winding:
                raise ConversionError(f"{obj.where()}: winding {number} has no {key}")
    return found


def _build(model: DssModel) -> pp.pandapowerNet:
    circuits = [o for o in model.objects if o.cls == "circuit"]
    if len(circuits) != 1:
        raise ConversionError(f"expected one New Circuit, found {len(circuits)}")
    circuit = circuits[0]
    _three_phase(circuit)
    frequency = _get(circuit, "frequency", model.frequency)
    source = bus_name(circuit.props.get("bus1", "sourcebus"))
    codes = {o.name.lower(): o for o in model.objects if o.cls == "linecode"}
    kv = _voltages(model, source, _get(circuit, "basekv"))
    net = pp.create_empty_network(f_hz=frequency)
    names = list(kv)
    created = pp.create_buses(net, len(names), vn_kv=[kv[n] for n in names], name=names)
    buses = {name.lower(): int(index) for name, index in zip(names, created, strict=True)}
    if model.coords:
        net.bus["geo"] = [_point(model.coords.get(k)) for k in buses]
    short_circuit = {}
    if "mvasc3" in circuit.props:
        short_circuit["s_sc_max_mva"] = _get(circuit, "mvasc3")
    if "x1r1" in circuit.props:
        x1r1 = _get(circuit, "x1r1")
        if x1r1 <= 0:
            raise ConversionError(f"{circuit.where()}: x1r1={x1r1!r} is not positive")
        short_circuit["rx_max"] = 1.0 / x1r1
    pp.create_ext_grid(
        net,
        buses[source.lower()],
        vm_pu=_get(circuit, "pu", 1.0),
        va_degree=_get(circuit, "angle", 0.0),
        name=circuit.name,
        **short_circuit,
    )
    # rows per table, each table created in one call: pandapower's create_* of one element
    # copies its table (about 5 ms an element here, hours for a file the size bound admits)
    rows: dict[str, list[dict[str, Any]]] = {"line": [], "switch": [], "trafo": [], "load": []}
    for obj in model.objects:
        if obj.cls == "line":
            _line(rows, obj, buses, codes, model.opened.get(("line", obj.name.lower())))
        elif obj.cls == "transformer":
            rows["trafo"].append(_transformer(obj, buses))
        elif obj.cls == "load":
            rows["load"].append(_load(obj, buses))
    unknown = {n for _, n in model.opened} - {
        o.name.lower() for o in model.objects if o.cls == "line"
    }
    if unknown:
        raise ConversionError(f"Open names a line that is not defined: {sorted(unknown)[0]!r}")
    for table, create, ends in (
        ("line", pp.create_lines_from_parameters, ("from_bus", "to_bus")),
        ("switch", pp.create_switches, ("bus", "element")),
        ("trafo", pp.create_transformers_from_parameters, ("hv_bus", "lv_bus")),
        ("load", pp.create_loads, ("bus",)),
    ):
        if rows[table]:
            columns = {key: [row[key] for row in rows[table]] for key in rows[table][0]}
            create(net, *(columns.pop(end) for end in ends), **columns)
    return net


def _point(xy: tuple[float, float] | None) -> str | None:
    """A bus's `geo` cell: a GeoJSON Point, as pandapower 3 keeps it."""
    return None if xy is None else json.dumps({"type": "Point", "coordinates": list(xy)})


def _ends(obj: DssObject) -> list[str]:
    if obj.cls == "line":
        for key in ("bus1", "bus2"):
            if key not in obj.props:
                raise ConversionError(f"{obj.where()}: {key}= is required")
        return [bus_name(obj.props["bus1"]), bus_name(obj.props["bus2"])]
    if obj.cls == "transformer":
        return [bus_name(w["bus"]) for w in _windings(obj)]
    if obj.cls == "load":
        if "bus1" not in obj.props:
            raise ConversionError(f"{obj.where()}: bus1= is required")
        return [bus_name(obj.props["bus1"])]
    return []


def _voltages(model: DssModel, source: str, basekv: float) -> dict[str, float]:
    """Every bus's voltage, from the source outwards; in order of first mention."""
    order: dict[str, str] = {source.lower(): source}
    links: dict[str, list[tuple[str, float | None, DssObject]]] = {}
    for obj in model.objects:
        ends = _ends(obj)
        for end in ends:
            order.setdefault(end.lower(), end)
        if obj.cls == "line":
            a, b = (e.lower() for e in ends)
            links.setdefault(a, []).append((b, None, obj))
            links.setdefault(b, []).append((a, None, obj))
        elif obj.cls == "transformer":
            windings = _windings(obj)
            kvs = [to_number(w["kv"], f"{obj.where()}: kv") for w in windings]
            a, b = (e.lower() for e in ends)
            links.setdefault(a, []).append((b, kvs[1], obj))
            links.setdefault(b, []).append((a, kvs[0], obj))
    if not 0 < basekv <= 2000:
        raise ConversionError(f"Circuit basekv {basekv!r} is not in (0, 2000] kV")
    kv = {source.lower(): basekv}
    queue = deque([source.lower()])
    while queue:
        bus = queue.popleft()
        for other, fixed, obj in links.get(bus, []):
            value = kv[bus] if fixed is None else fixed
            if other in kv:
                if not math.isclose(kv[other], value, rel_tol=1e-6):
                    raise ConversionError(
                        f"{obj.where()}: bus {order[other]!r} would be both {kv[other]:g} kV "
                        f"and {value:g} kV"
                    )
                continue
            kv[other] = value
            queue.append(other)
    for key, name in order.items():
        if key not in kv:
            raise ConversionError(
                f"bus {name!r} is not connected to the circuit's source {source!r} by any "
                "line or transformer"
            )
    return {order[k]: kv[k] for k in order}


def _line(
    rows: dict[str, list[dict[str, Any]]],
    obj: DssObject,
    buses: dict[str, int],
    codes: dict[str, DssObject],
    opened: int | None,
) -> None:
    """A line's row (and its open terminal's switch row), or a bus-bus switch's row; a line's
    index is its place among the lines (the network starts empty)."""
    _three_phase(obj)
    a, b = (buses[e.lower()] for e in _ends(obj))
    if a == b:
        raise ConversionError(f"{obj.where()}: bus1 and bus2 are the same bus")
    in_service = _flag(obj, "enabled", True)
    if _flag(obj, "switch", False):
        closed = opened is None and in_service
        switch = {"bus": a, "element": b, "et": "b", "closed": closed, "name": obj.name}
        rows["switch"].append(switch)
        return
    code = None
    if "linecode" in obj.props:
        code = codes.get(obj.props["linecode"].lower())
        if code is None:
            raise ConversionError(
                f"{obj.where()}: linecode {obj.props['linecode'][:40]!r} is not defined"
            )
        _three_phase(code, "nphases")
    own = any(k in obj.props for k in ("r1", "x1", "c1"))
    if code is None and not own:
        raise ConversionError(f"{obj.where()}: needs a linecode or r1/x1/c1")
    z_from = obj if own or code is None else code
    z_unit = _units(z_from)
    length_unit = _units(obj, code.props.get("units", "none") if code is not None else "none")
    length = _get(obj, "length", 1.0)
    if length <= 0:
        raise ConversionError(f"{obj.where()}: length {length!r} is not positive")
    amps = _get(obj, "normamps", _get(code, "normamps", _DEFAULT_AMPS) if code else _DEFAULT_AMPS)
    index = len(rows["line"])
    rows["line"].append(
        {
            "from_bus": a,
            "to_bus": b,
            "length_km": length * length_unit,
            "r_ohm_per_km": _get(z_from, "r1", 0.058) / z_unit,
            "x_ohm_per_km": _get(z_from, "x1", 0.1206) / z_unit,
            "c_nf_per_km": _get(z_from, "c1", 3.4) / z_unit,
            "max_i_ka": amps / 1000.0,
            "name": obj.name,
            "in_service": in_service,
        }
    )
    if opened is not None:
        bus = a if opened == 1 else b
        name = f"{obj.name} terminal {opened}"
        rows["switch"].append(
            {"bus": bus, "element": index, "et": "l", "closed": False, "name": name}
        )


def _transformer(obj: DssObject, buses: dict[str, int]) -> dict[str, Any]:
    windings = _windings(obj)
    kvs = [to_number(w["kv"], f"{obj.where()}: kv") for w in windings]
    kvas = [to_number(w.get("kva", "1000"), f"{obj.where()}: kva") for w in windings]
    if kvas[0] <= 0 or any(k <= 0 for k in kvs):
        raise ConversionError(f"{obj.where()}: kv and kva must be positive")
    r = [to_number(w.get("%r", str(_DEFAULT_R_WINDING)), f"{obj.where()}: %r") for w in windings]
    vkr = _get(obj, "%loadloss", sum(r))
    vk = math.hypot(_get(obj, "xhl", _DEFAULT_XHL), vkr)
    hv = 0 if kvs[0] >= kvs[1] else 1
    lv = 1 - hv
    conns = values(obj.props.get("conns", "")) or [w.get("conn", "wye") for w in windings]
    delta = [c.lower().startswith(("d", "ll")) for c in conns]
    return {
        "hv_bus": buses[bus_name(windings[hv]["bus"]).lower()],
        "lv_bus": buses[bus_name(windings[lv]["bus"]).lower()],
        "sn_mva": kvas[0] / 1000.0,
        "vn_hv_kv": kvs[hv],
        "vn_lv_kv": kvs[lv],
        "vkr_percent": vkr,
        "vk_percent": vk,
        "pfe_kw": _get(obj, "%noloadloss", 0.0) / 100.0 * kvas[0],
        "i0_percent": _get(obj, "%imag", 0.0),
        "shift_degree": 30.0 if len(set(delta)) == 2 else 0.0,
        "name": obj.name,
        "in_service": _flag(obj, "enabled", True),
    }


def _load(obj: DssObject, buses: dict[str, int]) -> dict[str, Any]:
    _three_phase(obj)
    if "model" in obj.props and _get(obj, "model") != 1:
        raise ConversionError(
            f"{obj.where()}: model={obj.props['model'][:10]!r}: only model=1 (constant power)"
        )
    kw = _get(obj, "kw", 10.0)
    if "kvar" in obj.props:
        kvar = _get(obj, "kvar")
    else:
        pf = _get(obj, "pf", _DEFAULT_PF)
        if not 0 < abs(pf) <= 1:
            raise ConversionError(f"{obj.where()}: pf={pf!r} is not in (0, 1]")
        kvar = math.copysign(abs(kw) * math.tan(math.acos(abs(pf))), pf)
    return {
        "bus": buses[_ends(obj)[0].lower()],
        "p_mw": kw / 1000.0,
        "q_mvar": kvar / 1000.0,
        "name": obj.name,
        "in_service": _flag(obj, "enabled", True),
    }
