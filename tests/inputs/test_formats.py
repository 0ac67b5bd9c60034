"""CGMES, UCTE and OpenDSS networks (`planner.inputs.converters`, `opendss`): the same test
feeder pair in each format (tests/data/networks/formats, written by make_feeders.py) loads
to the same network and plans end to end with trucks; hostile or unsupported files are
refused with the file, the spot and the value, never a traceback."""

from __future__ import annotations

import importlib.util
import io
import json
import zipfile
from pathlib import Path

import pandapower as pp
import pytest

from planner.core.errors import NetworkError
from planner.inputs.converters import ConversionError, from_cgmes
from planner.inputs.network import load_network
from tests.conftest import DATA

NETWORKS = DATA / "networks" / "formats"
CASES = DATA / "cases" / "formats"
FILES = {"dss": "feeder.dss", "uct": "feeder.uct", "cgmes": "feeder_cgmes.zip"}


def _maker():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_feeders", NETWORKS / "make_feeders.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_files_are_what_the_script_writes(tmp_path: Path) -> None:
    maker = _maker()
    assert (NETWORKS / "feeder.uct").read_text(encoding="ascii") == maker.ucte()
    assert (NETWORKS / "feeder.dss").read_text(encoding="utf-8") == maker.dss()
    assert (NETWORKS / "feeder_buscoords.csv").read_text(encoding="utf-8") == maker.buscoords()
    maker.write_zip(tmp_path / "again.zip", maker.cgmes())
    assert (tmp_path / "again.zip").read_bytes() == (NETWORKS / "feeder_cgmes.zip").read_bytes()


@pytest.mark.parametrize("fmt", sorted(FILES))
def test_every_format_gives_the_same_feeder(fmt: str) -> None:
    network = load_network(FILES[fmt], NETWORKS, file="case.toml")
    net = network.net
    assert (len(net.bus), len(net.line), len(net.trafo), len(net.load), len(net.ext_grid)) == (
        14,
        12,
        1,
        12,
        1,
    )
    assert sorted(net.bus.vn_kv.tolist()) == [20.0] * 13 + [110.0]
    assert net.line.name.tolist()[:3] == (
        ["A1-A2", "A2-A3", "A3-A4"] if fmt == "cgmes" else ["S-A1", "A1-A2", "A2-A3"]
    )
    assert len(net.switch) == 1 and not net.switch.closed.iloc[0]
    assert net.switch.et.iloc[0] == "b"
    assert round(net.load.p_mw.sum(), 6) == 4.2
    assert network.sha256 == load_network(FILES[fmt], NETWORKS, file="case.toml").sha256
    pp.runpp(net)
    # the same physics whatever the format (UCTE rounds impedances to 4 decimals in ohm)
    assert round(float(net.res_bus.vm_pu.min()), 5) == 0.99081
    assert round(float(net.res_line.loading_percent.max()), 2) == 17.52


def test_cgmes_geographical_locations_become_geodata() -> None:
    net = load_network("feeder_cgmes.zip", NETWORKS, file="case.toml").net
    geo = {
        name: json.loads(g)["coordinates"]
        for name, g in zip(net.bus.name, net.bus.geo, strict=True)
    }
    assert geo["Source 110"] == geo["Sub 20"] == [8.002, 49.0]  # one substation, one place
    assert geo["A4"] == [8.026, 49.004] and geo["B6"] == [8.038, 48.996]
    line = net.line.index[net.line.name == "A2-A3"][0]
    assert json.loads(net.line.geo.at[line]) == {
        "coordinates": [[8.014, 49.004], [8.02, 49.004]],
        "type": "LineString",
    }


def test_buscoords_become_bus_geodata() -> None:
    net = load_network("feeder.dss", NETWORKS, file="case.toml").net
    geo = {
        name: json.loads(g)["coordinates"]
        for name, g in zip(net.bus.name, net.bus.geo, strict=True)
    }
    assert geo["Source_110"] == [8.002, 49.0] and geo["A4"] == [8.026, 49.004]
    assert geo["B6"] == [8.038, 48.996]


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from planner.cli import main

    found = {}
    for fmt in sorted(FILES):
        out = tmp_path_factory.mktemp(fmt) / "out"
        result = CliRunner().invoke(
            main, ["plan", str(CASES / f"feeder_{fmt}.toml"), "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        assert "feasible, 2 of 3 trucks used" in result.output
        found[fmt] = out
    return found


@pytest.mark.parametrize("fmt", sorted(FILES))
def test_each_format_plans_end_to_end_with_trucks(planned, fmt: str, cli) -> None:  # type: ignore[no-untyped-def]
    out = planned[fmt]
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert plan["feasible"] is True and plan["warnings"] == []
    stage = plan["stages"][0]
    assert stage["outage_free"] is True and stage["verification"]["passed"] is True
    assert [(t["id"], t["connection_point"], t["island"]) for t in stage["trucks"]] == [
        ("T1", "bus:A4", "I1"),
        ("T2", "bus:A6", "I1"),
    ]
    assert [(i["id"], i["supply"], i["buses"]) for i in stage["islands"]] == [
        ("I1", "trucks", [4, 5, 6, 7])
    ]
    assert stage["verification"]["min_vm_pu"] == 0.99235
    assert stage["verification"]["max_truck_loading_percent"] == 77.0
    assert stage["out_of_service"][0]["ref"] == "line:A2-A3"
    result = cli("validate", CASES / f"feeder_{fmt}.toml", out / "plan.json")
    assert result.exit_code == 0, result.output
    # OpenDSS (Buscoords) and CGMES (the GL profile) carry coordinates, UCTE has none
    assert (out / "map.geojson").exists() == (fmt != "uct")


@pytest.mark.parametrize("fmt", ["cgmes", "dss"])
def test_the_map_puts_trucks_and_works_at_the_networks_coordinates(planned, fmt: str) -> None:  # type: ignore[no-untyped-def]
    data = json.loads((planned[fmt] / "map.geojson").read_text(encoding="utf-8"))
    trucks = [f for f in data["features"] if f["properties"]["kind"] == "truck"]
    assert [(f["properties"]["id"], f["geometry"]["coordinates"]) for f in trucks] == [
        ("T1", [8.026, 49.004]),
        ("T2", [8.038, 49.004]),
    ]
    assert [f["properties"]["kw_peak"] for f in trucks] == [770.0, 770.0]
    [works] = [f for f in data["features"] if f["properties"]["kind"] == "works"]
    assert works["properties"]["element"] == "line:A2-A3"
    assert works["geometry"] == {
        "type": "LineString",
        "coordinates": [[8.014, 49.004], [8.02, 49.004]],
    }


# --- refused files: (file name, text or bytes, the message's end) ----------------------------

_DSS = (NETWORKS / "feeder.dss").read_text(encoding="utf-8")
_UCT = (NETWORKS / "feeder.uct").read_text(encoding="ascii")
_EQ_HEAD = '<?xml version="1.0"?>\n'
_BOMB = (
    '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">&b;</rdf:RDF>\n'
)
_XXE = (
    '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">&x;</rdf:RDF>\n'
)
REFUSED_DSS = [
    (
        _DSS + "Redirect other.dss\n",
        "line 37: command 'redirect' is not supported (the planner "
        "reads New, Set voltagebases, Open/Close Line, Buscoords; one file, no Redirect)",
    ),
    (
        _DSS + "Export voltages\n",
        "line 37: command 'export' is not supported (the planner reads "
        "New, Set voltagebases, Open/Close Line, Buscoords; one file, no Redirect)",
    ),
    (
        _DSS.replace("kw=350 kvar=115\nNew Load.L_A2", "kw=350 kvar=115 daily=x\nNew Load.L_A2"),
        "line 22: load.'L_A1': unknown property 'daily' (known: bus1, conn, enabled, kv, kvar, "
        "kw, model, pf, phases)",
    ),
    (
        _DSS.replace("New Load.L_A1 bus1=A1 phases=3", "New Load.L_A1 bus1=A1 phases=1"),
        "line 22: load.'L_A1': phases='1': the planner reads three-phase networks only",
    ),
    (
        _DSS.replace("New Load.L_A1 bus1=A1", "New Load.L_A1 A1"),
        "line 22: load.'L_A1': positional value 'A1': write key=value",
    ),
    (
        _DSS.replace("New Load.L_A1 bus1=A1", "New Load.L_A1 bus1=Z9"),
        "bus 'Z9' is not connected to the circuit's source 'Source_110' by any line or transformer",
    ),
    (
        _DSS.replace("Buscoords feeder_buscoords.csv", "Buscoords ../feeder_buscoords.csv"),
        "line 36: Buscoords '../feeder_buscoords.csv': a file in the same folder only",
    ),
    (
        _DSS.replace("linecode=NA2XS2Y_185 length=1.2", "linecode=nope length=1.2"),
        "line 8: line.'S-A1': linecode 'nope' is not defined",
    ),
    (
        _DSS.replace(
            "New Line.Tie_A6-B6 bus1=A6 bus2=B6 switch=yes",
            "New Transformer.T2 buses=[A6 B6] kvs=[20 10]",
        ),
        "line 20: transformer.'T2': bus 'B6' would be both 20 kV and 10 kV",
    ),
    (
        _DSS.replace("New Load.L_A1", "New Capacitor.C1"),
        "line 22: element 'Capacitor.C1' is not one of circuit, line, linecode, load, transformer",
    ),
    (
        _DSS.replace("kw=350 kvar=115\nNew Load.L_A2", "kw=nan kvar=115\nNew Load.L_A2"),
        "line 22: load.'L_A1': kw: 'nan' is not a finite number up to 1e9",
    ),
    (
        _DSS.replace("New Load.L_A1", "New Load.L_\x1b[2JA1"),
        "line 22: control character in 'New Load.L_\\x1b[2JA1 bus1=A1 phases=3 kv=20'",
    ),
]
REFUSED_UCT = [
    (
        _UCT.replace("A1          ", "Ä1          "),
        "line 7: byte b'\\xc3' is not ASCII (UCTE-DEF files are ASCII)",
    ),
    (_UCT.replace("##T", "##Q"), "line 33: unknown UCTE record '##Q'"),
    (
        _UCT.replace("Sub 20", "Sub\x1b20"),
        "line 6: control character in 'DSUB01GA Sub\\x1b20       0 0          0.000'",
    ),
    ("hello\n", "line 1: data before the first ## record"),
]


@pytest.mark.parametrize(("text", "message"), REFUSED_DSS)
def test_opendss_files_outside_the_subset_are_refused(
    text: str, message: str, tmp_path: Path
) -> None:
    (tmp_path / "feeder_buscoords.csv").write_bytes(
        (NETWORKS / "feeder_buscoords.csv").read_bytes()
    )
    (tmp_path / "net.dss").write_text(text, encoding="utf-8")
    with pytest.raises(NetworkError) as info:
        load_network("net.dss", tmp_path, file="case.toml")
    [problem] = info.value.problems
    assert (problem.file, problem.key) == ("case.toml", "case.network")
    assert problem.message == (
        f"network file 'net.dss' (OpenDSS (the planner's subset)) is refused: {message}"
    )


@pytest.mark.parametrize(("text", "message"), REFUSED_UCT)
def test_ucte_files_outside_the_format_are_refused(text: str, message: str, tmp_path: Path) -> None:
    (tmp_path / "net.uct").write_bytes(text.encode("utf-8"))
    with pytest.raises(NetworkError) as info:
        load_network("net.uct", tmp_path, file="case.toml")
    assert info.value.problems[0].message == (
        f"network file 'net.uct' (UCTE-DEF) is refused: {message}"
    )


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _profiles() -> dict[str, bytes]:
    with zipfile.ZipFile(NETWORKS / "feeder_cgmes.zip") as archive:
        return {n: archive.read(n) for n in archive.namelist()}


REFUSED_CGMES = [
    (
        {**_profiles(), "feeder_EQ.xml": (_EQ_HEAD + _BOMB).encode()},
        "profile 'feeder_EQ.xml': has a DTD (<!DOCTYPE or <!ENTITY>); CGMES never needs one",
    ),
    (
        {**_profiles(), "feeder_SV.xml": (_EQ_HEAD + _XXE).encode()},
        "profile 'feeder_SV.xml': has a DTD (<!DOCTYPE or <!ENTITY>); CGMES never needs one",
    ),
    (  # the same bomb in UTF-16, where the bytes do not spell <!DOCTYPE: lxml's view counts
        {"feeder_EQ.xml": ('<?xml version="1.0" encoding="UTF-16"?>\n' + _BOMB).encode("utf-16")},
        "profile 'feeder_EQ.xml': has a DTD; CGMES never needs one",
    ),
    (
        {**_profiles(), "../evil.xml": b"<x/>"},
        "zip member '../evil.xml' is refused: only .xml/.rdf profiles with plain names",
    ),
    (
        {**_profiles(), "run.py": b"print(1)"},
        "zip member 'run.py' is refused: only .xml/.rdf profiles with plain names",
    ),
    (
        {"a/feeder_EQ.xml": b"<x/>", "b/feeder_EQ.xml": b"<x/>"},
        "zip member 'b/feeder_EQ.xml': a profile of that name twice",
    ),
    ({f"p{i}.xml": b"<x/>" for i in range(33)}, "33 files in the zip, more than 32"),
    (
        {"feeder_EQ.xml": b"<rdf:RDF"},
        "profile 'feeder_EQ.xml': not well-formed XML "
        "('Namespace prefix rdf on RDF is not defined, line 1, column 9')",
    ),
    (
        {"feeder_EQ.xml": b"<html/>"},
        "profile 'feeder_EQ.xml': the root element is 'html', not rdf:RDF",
    ),
    ({}, "the zip holds no .xml/.rdf profile"),
]


@pytest.mark.parametrize(("members", "message"), REFUSED_CGMES)
def test_cgmes_files_are_checked_before_the_converter(
    members, message: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "net.zip").write_bytes(_zip(members))
    with pytest.raises(NetworkError) as info:
        load_network("net.zip", tmp_path, file="case.toml")
    assert info.value.problems[0].message == (
        f"network file 'net.zip' (CGMES 2.4.15 profiles (zip)) is refused: {message}"
    )


def test_a_zip_bomb_is_stopped_while_it_unpacks(tmp_path: Path) -> None:
    (tmp_path / "bomb.zip").write_bytes(_zip({"feeder_EQ.xml": b" " * 3_000_000}))
    assert (tmp_path / "bomb.zip").stat().st_size < 10_000
    with pytest.raises(
        ConversionError, match=r"^the zip unpacks to more than 1,048,576 bytes; refused$"
    ):
        from_cgmes(tmp_path / "bomb.zip", 2**20)


def test_not_a_zip_and_unknown_formats(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "net.zip").write_bytes(b"not a zip")
    with pytest.raises(NetworkError) as info:
        load_network("net.zip", tmp_path, file="case.toml")
    assert info.value.problems[0].message.endswith("is refused: not a readable zip (BadZipFile)")
    (tmp_path / "net.raw").write_text("x")
    with pytest.raises(NetworkError) as info:
        load_network("net.raw", tmp_path, file="case.toml")
    assert info.value.problems[0].message == (
        "network file 'net.raw': unknown format '.raw' (use .json, .m, .mat, .zip, .xml, .uct, "
        ".dss)"
    )
    case = tmp_path / "case.toml"
    case.write_text(
        (CASES / "feeder_dss.toml")
        .read_text()
        .replace('"../../networks/formats/feeder.dss"', '"net.dss"')
    )
    (tmp_path / "net.dss").write_text("Redirect /etc/passwd\n")
    result = cli("check", case)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert (
        "network file 'net.dss' (OpenDSS (the planner's subset)) is refused: line 1: command "
        "'redirect' is not supported"
    ) in result.output


def test_a_profile_set_without_ssh_is_refused_by_the_sanity_checks_quietly(
    tmp_path: Path, cli, caplog
) -> None:  # type: ignore[no-untyped-def]
    """The converter logs errors with tracebacks for a model without its SSH profile; none of
    that reaches the user, who gets the network's problems by element and field."""
    (tmp_path / "net.zip").write_bytes(_zip({"feeder_EQ.xml": _profiles()["feeder_EQ.xml"]}))
    caplog.set_level("DEBUG")
    net = load_network("net.zip", tmp_path, file="case.toml").net
    assert caplog.records == []
    assert net.line.in_service.isna().all()
    case = tmp_path / "case.toml"
    case.write_text(
        (CASES / "feeder_cgmes.toml")
        .read_text()
        .replace('"../../networks/formats/feeder_cgmes.zip"', '"net.zip"')
    )
    result = cli("check", case)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "error: invalid case: 27 problems" in result.output
    assert "  - net.zip: line:A2-A3.in_service: must be true or false, got <NA>" in result.output
