"""Writes the test feeder in each network format the planner converts (run from anywhere:
`python tests/data/networks/formats/make_feeders.py`); the files beside it are its output.

One 20 kV feeder pair, the same in every format: a 110 kV source, a 110/20 kV 25 MVA
transformer to the substation busbar `Sub 20`, two radial cable feeders A1..A6 and B1..B6
(NA2XS2Y 1x185: 0.161 + j0.117 ohm/km, 273 nF/km, 362 A) and a normally open tie between A6
and B6; each feeder bus has a 350 kW, 115 kvar load. Written by hand from these numbers, not
converted from another tool; only the standard library is used.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

R_KM, X_KM, C_NF_KM, AMPS = 0.161, 0.117, 273.0, 362.0
LOAD_KW, LOAD_KVAR = 350.0, 115.0
TRAFO = {"sn_mva": 25.0, "vk_percent": 12.0, "vkr_percent": 0.4}
FEEDERS = {  # feeder: section lengths in km, from the substation outwards
    "A": (1.2, 0.8, 0.8, 0.6, 0.6, 0.5),
    "B": (1.0, 0.9, 0.7, 0.7, 0.5, 0.5),
}


def _sections() -> list[tuple[str, str, str, float]]:
    """(name, from bus, to bus, km) of every cable section."""
    found = []
    for feeder, lengths in FEEDERS.items():
        previous = "Sub 20"
        for number, km in enumerate(lengths, start=1):
            bus = f"{feeder}{number}"
            found.append((f"{previous.replace('Sub 20', 'S')}-{bus}", previous, bus, km))
            previous = bus
    return found


def _feeder_buses() -> list[str]:
    return [f"{f}{n}" for f, lengths in FEEDERS.items() for n in range(1, len(lengths) + 1)]


def _xy(bus: str) -> tuple[float, float]:
    """Longitude, latitude: the feeders run east from the substation, A north of B."""
    if bus in ("Source 110", "Sub 20"):  # one substation: CGMES places buses by substation
        return (8.002, 49.000)
    feeder, number = bus[0], int(bus[1:])
    return (8.002 + 0.006 * number, 49.004 if feeder == "A" else 48.996)


# --- UCTE-DEF -------------------------------------------------------------------------------

UCTE_CODE = {"Source 110": "DSUB015A", "Sub 20": "DSUB01GA"}
UCTE_CODE.update({b: f"DF{b[0]}00{b[1]}GA" for b in _feeder_buses()})


def _ucte_node(code: str, name: str, kind: int, kv: float, p_mw: float, q_mvar: float) -> str:
    slack = kind == 3
    voltage = f"{kv:6.2f}" if slack else " " * 6
    gen = f"{0:7.2f} {0:7.2f}" if slack else f"{' ' * 7} {' ' * 7}"
    return (f"{code:<8} {name:<12} 0 {kind} {voltage} {p_mw:7.3f} {q_mvar:7.3f} {gen}").rstrip()


def ucte() -> str:
    rows = ["##C 2025.07.01", "Test feeder pair for the planner (tests/data/networks/formats)"]
    rows += ["##N", "##ZDE"]
    rows.append(_ucte_node(UCTE_CODE["Source 110"], "Source 110", 3, 110.0, 0.0, 0.0))
    rows.append(_ucte_node(UCTE_CODE["Sub 20"], "Sub 20", 0, 20.0, 0.0, 0.0))
    for bus in _feeder_buses():
        rows.append(_ucte_node(UCTE_CODE[bus], bus, 0, 20.0, LOAD_KW / 1e3, LOAD_KVAR / 1e3))
    rows.append("##L")
    for name, a, b, km in _sections():
        r, x = R_KM * km, X_KM * km
        b_us = 2 * math.pi * 50 * C_NF_KM * km * 1e-3  # microsiemens
        rows.append(
            f"{UCTE_CODE[a]} {UCTE_CODE[b]} 1 0 {r:6.4f} {x:6.4f} {b_us:8.3f} {AMPS:6.0f} "
            f"{name:<12}"
        )
    rows.append(
        f"{UCTE_CODE['A6']} {UCTE_CODE['B6']} 1 7 {0:6.4f} {0:6.4f} {0:8.3f} {AMPS:6.0f} Tie A6-B6"
    )
    rows.append("##T")
    z = TRAFO["vk_percent"] / 100 * 110.0**2 / TRAFO["sn_mva"]
    r = TRAFO["vkr_percent"] / 100 * 110.0**2 / TRAFO["sn_mva"]
    x = math.sqrt(z * z - r * r)
    rows.append(
        f"{UCTE_CODE['Source 110']} {UCTE_CODE['Sub 20']} 1 0 {110.0:5.1f} {20.0:5.1f} "
        f"{TRAFO['sn_mva']:5.1f} {r:6.3f} {x:6.3f} {0:8.3f} {0:6.3f} {131.2:6.1f} T1 110/20"
    )
    return "\n".join(rows) + "\n"


# --- OpenDSS ---------------------------------------------------------------------------------


def dss() -> str:
    rows = [
        "! Test feeder pair for the planner (tests/data/networks/formats)",
        "Clear",
        "Set DefaultBaseFrequency=50",
        "New Circuit.feeder_pair basekv=110 pu=1.0 angle=0 phases=3 bus1=Source_110 MVAsc3=2000",
        "~ frequency=50",
        f"New LineCode.NA2XS2Y_185 nphases=3 r1={R_KM} x1={X_KM} c1={C_NF_KM} units=km "
        f"normamps={AMPS:g}",
        "New Transformer.T1 phases=3 windings=2 buses=[Source_110 Sub_20] kvs=[110 20] "
        f"kvas=[{TRAFO['sn_mva'] * 1000:g} {TRAFO['sn_mva'] * 1000:g}] "
        f"xhl={math.sqrt(TRAFO['vk_percent'] ** 2 - TRAFO['vkr_percent'] ** 2):.6f} "
        f"%rs=[{TRAFO['vkr_percent'] / 2:g} {TRAFO['vkr_percent'] / 2:g}] conns=[delta wye]",
    ]
    for name, a, b, km in _sections():
        rows.append(
            f"New Line.{name} bus1={a.replace(' ', '_')}.1.2.3 bus2={b}.1.2.3 "
            f"linecode=NA2XS2Y_185 length={km:g} units=km"
        )
    rows.append("New Line.Tie_A6-B6 bus1=A6 bus2=B6 switch=yes")
    rows.append("Open Line.Tie_A6-B6 1")
    for bus in _feeder_buses():
        rows.append(f"New Load.L_{bus} bus1={bus} phases=3 kv=20 kw={LOAD_KW:g} kvar={LOAD_KVAR:g}")
    rows += ["Set voltagebases=[110 20]", "Calcvoltagebases", "Buscoords feeder_buscoords.csv"]
    return "\n".join(rows) + "\n"


def buscoords() -> str:
    names = ["Source 110", "Sub 20", *_feeder_buses()]
    return "".join(f"{n.replace(' ', '_')}, {_xy(n)[0]:.4f}, {_xy(n)[1]:.4f}\n" for n in names)


# --- CGMES 2.4.15 ------------------------------------------------------------------------------

_NS = (
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns:cim="http://iec.ch/TC57/2013/CIM-schema-cim16#" '
    'xmlns:md="http://iec.ch/TC57/61970-552/ModelDescription/1#" '
    'xmlns:entsoe="http://entsoe.eu/CIM/SchemaExtension/3/1#"'
)
_PROFILES = {
    "EQ": "http://entsoe.eu/CIM/EquipmentCore/3/1",
    "SSH": "http://entsoe.eu/CIM/SteadyStateHypothesis/1/1",
    "TP": "http://entsoe.eu/CIM/Topology/4/1",
    "SV": "http://entsoe.eu/CIM/StateVariables/4/1",
    "GL": "http://entsoe.eu/CIM/GeographicalLocation/2/1",
}


def _station(bus: str) -> str:
    """The substation a bus is in: the primary substation, or the feeder bus's own RMU."""
    return "Sub" if bus in ("Source 110", "Sub 20") else f"RMU {bus}"


def _stations() -> list[str]:
    return ["Sub", *(f"RMU {b}" for b in _feeder_buses())]


def _rid(kind: str, name: str) -> str:
    """A stable rdf:ID from the element's kind and name (no random UUIDs: the same bytes
    every time the script runs)."""
    return "_" + kind + "_" + "".join(c if c.isalnum() else "_" for c in name)


def _document(profile: str, body: list[str]) -> str:
    head = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<rdf:RDF {_NS}>",
        f'  <md:FullModel rdf:about="urn:uuid:planner-test-feeder-{profile.lower()}">',
        "    <md:Model.scenarioTime>2025-07-01T00:00:00Z</md:Model.scenarioTime>",
        "    <md:Model.created>2025-07-01T00:00:00Z</md:Model.created>",
        f"    <md:Model.profile>{_PROFILES[profile]}</md:Model.profile>",
        "  </md:FullModel>",
    ]
    return "\n".join([*head, *body, "</rdf:RDF>"]) + "\n"


def _obj(kind: str, rid: str, fields: dict[str, str], about: bool = False) -> list[str]:
    attr = f'rdf:about="#{rid}"' if about else f'rdf:ID="{rid}"'
    rows = [f"  <cim:{kind} {attr}>"]
    for key, value in fields.items():
        if value.startswith("#") or value.startswith("http"):
            rows.append(f'    <cim:{key} rdf:resource="{value}"/>')
        else:
            rows.append(f"    <cim:{key}>{value}</cim:{key}>")
    rows.append(f"  </cim:{kind}>")
    return rows


def cgmes() -> dict[str, str]:
    """EQ, SSH, TP, SV and GL profiles of the feeder pair (node-breaker: one ConnectivityNode
    and one TopologicalNode per bus; each feeder bus its own RMU substation, so that the GL
    profile, which places buses by substation, gives each its own point)."""
    eq: list[str] = []
    ssh: list[str] = []
    tp: list[str] = []
    sv: list[str] = []
    voltages = {"Source 110": 110.0, "Sub 20": 20.0, **{b: 20.0 for b in _feeder_buses()}}
    for kv in sorted(set(voltages.values())):
        eq += _obj(
            "BaseVoltage",
            _rid("BV", f"{kv:g}"),
            {"IdentifiedObject.name": f"{kv:g} kV", "BaseVoltage.nominalVoltage": f"{kv:g}"},
        )
    eq += _obj("GeographicalRegion", "_GR", {"IdentifiedObject.name": "Test"})
    eq += _obj(
        "SubGeographicalRegion",
        "_SGR",
        {"IdentifiedObject.name": "Test", "SubGeographicalRegion.Region": "#_GR"},
    )
    for station in _stations():
        eq += _obj(
            "Substation",
            _rid("SUB", station),
            {"IdentifiedObject.name": station, "Substation.Region": "#_SGR"},
        )
    for bus, kv in voltages.items():
        eq += _obj(
            "VoltageLevel",
            _rid("VL", bus),
            {
                "IdentifiedObject.name": f"{bus} {kv:g} kV",
                "VoltageLevel.BaseVoltage": "#" + _rid("BV", f"{kv:g}"),
                "VoltageLevel.Substation": "#" + _rid("SUB", _station(bus)),
            },
        )
    for bus, kv in voltages.items():
        cn, tn = _rid("CN", bus), _rid("TN", bus)
        eq += _obj(
            "ConnectivityNode",
            cn,
            {
                "IdentifiedObject.name": bus,
                "ConnectivityNode.ConnectivityNodeContainer": "#" + _rid("VL", bus),
            },
        )
        tp += _obj(
            "TopologicalNode",
            tn,
            {
                "IdentifiedObject.name": bus,
                "TopologicalNode.BaseVoltage": "#" + _rid("BV", f"{kv:g}"),
                "TopologicalNode.ConnectivityNodeContainer": "#" + _rid("VL", bus),
            },
        )
        tp += _obj(
            "ConnectivityNode", cn, {"ConnectivityNode.TopologicalNode": "#" + tn}, about=True
        )
        sv += _obj(
            "SvVoltage",
            _rid("SV", bus),
            {
                "SvVoltage.TopologicalNode": "#" + tn,
                "SvVoltage.v": f"{kv:g}",
                "SvVoltage.angle": "0",
            },
        )

    def terminals(equipment: str, buses: list[str]) -> None:
        nonlocal eq, ssh, tp
        for number, bus in enumerate(buses, start=1):
            rid = _rid("T", f"{equipment}_{number}")
            eq += _obj(
                "Terminal",
                rid,
                {
                    "IdentifiedObject.name": f"{equipment} {number}",
                    "ACDCTerminal.sequenceNumber": str(number),
                    "Terminal.ConductingEquipment": "#" + equipment,
                    "Terminal.ConnectivityNode": "#" + _rid("CN", bus),
                },
            )
            ssh += _obj("Terminal", rid, {"ACDCTerminal.connected": "true"}, about=True)
            tp += _obj(
                "Terminal", rid, {"Terminal.TopologicalNode": "#" + _rid("TN", bus)}, about=True
            )

    grid = _rid("ENI", "Grid")
    eq += _obj(
        "ExternalNetworkInjection",
        grid,
        {
            "IdentifiedObject.name": "Grid 110 kV",
            "Equipment.EquipmentContainer": "#" + _rid("VL", "Source 110"),
            "RegulatingCondEq.RegulatingControl": "#_RC_Grid",
            "ExternalNetworkInjection.maxInitialSymShCCurrent": "10497",
            "ExternalNetworkInjection.minInitialSymShCCurrent": "10497",
            "ExternalNetworkInjection.maxR1ToX1Ratio": "0.1",
            "ExternalNetworkInjection.minR1ToX1Ratio": "0.1",
            "ExternalNetworkInjection.governorSCD": "0",
            "ExternalNetworkInjection.maxP": "100",
            "ExternalNetworkInjection.minP": "-100",
            "ExternalNetworkInjection.maxQ": "100",
            "ExternalNetworkInjection.minQ": "-100",
        },
    )
    ssh += _obj(
        "ExternalNetworkInjection",
        grid,
        {
            "ExternalNetworkInjection.referencePriority": "1",
            "RegulatingCondEq.controlEnabled": "true",
            "ExternalNetworkInjection.p": "0",
            "ExternalNetworkInjection.q": "0",
        },
        about=True,
    )
    terminals(grid, ["Source 110"])
    eq += _obj(
        "RegulatingControl",
        "_RC_Grid",
        {
            "IdentifiedObject.name": "Grid voltage",
            "RegulatingControl.mode": "http://iec.ch/TC57/2013/CIM-schema-cim16#RegulatingControlModeKind.voltage",
            "RegulatingControl.Terminal": "#" + _rid("T", f"{grid}_1"),
        },
    )
    ssh += _obj(
        "RegulatingControl",
        "_RC_Grid",
        {
            "RegulatingControl.discrete": "false",
            "RegulatingControl.enabled": "true",
            "RegulatingControl.targetDeadband": "0",
            "RegulatingControl.targetValue": "110",
        },
        about=True,
    )

    trafo = _rid("PT", "T1")
    eq += _obj(
        "PowerTransformer",
        trafo,
        {
            "IdentifiedObject.name": "T1 110/20",
            "Equipment.EquipmentContainer": "#" + _rid("SUB", "Sub"),
        },
    )
    terminals(trafo, ["Source 110", "Sub 20"])
    z = TRAFO["vk_percent"] / 100 * 110.0**2 / TRAFO["sn_mva"]
    r = TRAFO["vkr_percent"] / 100 * 110.0**2 / TRAFO["sn_mva"]
    ends = ((1, 110.0, r, math.sqrt(z * z - r * r)), (2, 20.0, 0.0, 0.0))
    for number, kv, r_end, x_end in ends:
        eq += _obj(
            "PowerTransformerEnd",
            _rid("PTE", f"T1_{number}"),
            {
                "IdentifiedObject.name": f"T1 end {number}",
                "PowerTransformerEnd.PowerTransformer": "#" + trafo,
                "TransformerEnd.endNumber": str(number),
                "TransformerEnd.Terminal": "#" + _rid("T", f"{trafo}_{number}"),
                "TransformerEnd.BaseVoltage": "#" + _rid("BV", f"{kv:g}"),
                "PowerTransformerEnd.ratedS": f"{TRAFO['sn_mva']:g}",
                "PowerTransformerEnd.ratedU": f"{kv:g}",
                "PowerTransformerEnd.r": f"{r_end:.6f}",
                "PowerTransformerEnd.x": f"{x_end:.6f}",
                "PowerTransformerEnd.b": "0",
                "PowerTransformerEnd.g": "0",
                "PowerTransformerEnd.r0": f"{r_end:.6f}",
                "PowerTransformerEnd.x0": f"{x_end:.6f}",
                "PowerTransformerEnd.b0": "0",
                "PowerTransformerEnd.g0": "0",
                "PowerTransformerEnd.phaseAngleClock": "0",
                "PowerTransformerEnd.connectionKind": "http://iec.ch/TC57/2013/CIM-schema-cim16#WindingConnection.Y",
                "TransformerEnd.grounded": "true",
            },
        )

    limit_type = "_OLT_PATL"
    eq += _obj(
        "OperationalLimitType",
        limit_type,
        {
            "IdentifiedObject.name": "PATL",
            "OperationalLimitType.limitType": "http://entsoe.eu/CIM/SchemaExtension/3/1#LimitTypeKind.patl",
        },
    )
    for name, a, b, km in _sections():
        line = _rid("ACL", name)
        eq += _obj(
            "ACLineSegment",
            line,
            {
                "IdentifiedObject.name": name,
                "Equipment.EquipmentContainer": "#" + _rid("VL", a),
                "ConductingEquipment.BaseVoltage": "#" + _rid("BV", "20"),
                "Conductor.length": f"{km:g}",
                "ACLineSegment.r": f"{R_KM * km:.6f}",
                "ACLineSegment.x": f"{X_KM * km:.6f}",
                "ACLineSegment.bch": f"{2 * math.pi * 50 * C_NF_KM * km * 1e-9:.12e}",
                "ACLineSegment.gch": "0",
                "ACLineSegment.r0": f"{3 * R_KM * km:.6f}",
                "ACLineSegment.x0": f"{3 * X_KM * km:.6f}",
                "ACLineSegment.b0ch": "0",
                "ACLineSegment.g0ch": "0",
                "ACLineSegment.shortCircuitEndTemperature": "160",
            },
        )
        terminals(line, [a, b])
        for number in (1, 2):
            limits = _rid("OLS", f"{name}_{number}")
            eq += _obj(
                "OperationalLimitSet",
                limits,
                {
                    "IdentifiedObject.name": "limits",
                    "OperationalLimitSet.Terminal": "#" + _rid("T", f"{line}_{number}"),
                },
            )
            eq += _obj(
                "CurrentLimit",
                _rid("CL", f"{name}_{number}"),
                {
                    "IdentifiedObject.name": "PATL",
                    "OperationalLimit.OperationalLimitSet": "#" + limits,
                    "OperationalLimit.OperationalLimitType": "#" + limit_type,
                    "CurrentLimit.value": f"{AMPS:g}",
                },
            )
    tie = _rid("LBS", "Tie A6-B6")
    eq += _obj(
        "LoadBreakSwitch",
        tie,
        {
            "IdentifiedObject.name": "Tie A6-B6",
            "Equipment.EquipmentContainer": "#" + _rid("VL", "A6"),
            "Switch.normalOpen": "true",
            "Switch.retained": "false",
            "Switch.ratedCurrent": f"{AMPS:g}",
        },
    )
    ssh += _obj("LoadBreakSwitch", tie, {"Switch.open": "true"}, about=True)
    terminals(tie, ["A6", "B6"])
    for bus in _feeder_buses():
        load = _rid("EC", bus)
        eq += _obj(
            "EnergyConsumer",
            load,
            {
                "IdentifiedObject.name": f"Load {bus}",
                "Equipment.EquipmentContainer": "#" + _rid("VL", bus),
                "ConductingEquipment.BaseVoltage": "#" + _rid("BV", "20"),
            },
        )
        ssh += _obj(
            "EnergyConsumer",
            load,
            {"EnergyConsumer.p": f"{LOAD_KW / 1e3:g}", "EnergyConsumer.q": f"{LOAD_KVAR / 1e3:g}"},
            about=True,
        )
        terminals(load, [bus])
    gl = _obj(
        "CoordinateSystem",
        "_CRS",
        {
            "IdentifiedObject.name": "WGS 84",
            "CoordinateSystem.crsUrn": "urn:ogc:def:crs:EPSG::4326",
        },
    )
    places = [(_rid("SUB", st), [_xy("Sub 20" if st == "Sub" else st[4:])]) for st in _stations()]
    places += [(_rid("ACL", name), [_xy(a), _xy(b)]) for name, a, b, _ in _sections()]
    for resource, points in places:
        location = _rid("LOC", resource)
        gl += _obj(
            "Location",
            location,
            {"Location.PowerSystemResources": "#" + resource, "Location.CoordinateSystem": "#_CRS"},
        )
        for number, (x, y) in enumerate(points, start=1):
            gl += _obj(
                "PositionPoint",
                _rid("PP", f"{resource}_{number}"),
                {
                    "PositionPoint.Location": "#" + location,
                    "PositionPoint.sequenceNumber": str(number),
                    "PositionPoint.xPosition": f"{x:.4f}",
                    "PositionPoint.yPosition": f"{y:.4f}",
                },
            )
    return {
        "feeder_EQ.xml": _document("EQ", eq),
        "feeder_SSH.xml": _document("SSH", ssh),
        "feeder_TP.xml": _document("TP", tp),
        "feeder_SV.xml": _document("SV", sv),
        "feeder_GL.xml": _document("GL", gl),
    }


def write_zip(path: Path, files: dict[str, str]) -> None:
    """The profiles in one zip, with fixed entry times (the same bytes on every run)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            entry = zipfile.ZipInfo(name, date_time=(2025, 7, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, text.encode("utf-8"))


def main() -> None:
    (HERE / "feeder.uct").write_text(ucte(), encoding="ascii")
    (HERE / "feeder.dss").write_text(dss(), encoding="utf-8")
    (HERE / "feeder_buscoords.csv").write_text(buscoords(), encoding="utf-8")
    write_zip(HERE / "feeder_cgmes.zip", cgmes())


if __name__ == "__main__":
    main()
