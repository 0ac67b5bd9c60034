"""Hostile and odd inputs found by a second reading: FACTS devices step the engine aside, OpenDSS
reads in linear time and never follows a link, a CGMES zip's directory is bounded, UCTE control
characters are refused, non-finite geodata and workbook numbers are handled."""

from __future__ import annotations

from pathlib import Path

import pandapower as pp
import pandapower.networks as pn
import pytest

import planner
from planner.core.errors import NetworkError
from planner.grid.engine import BatchModel, Unsupported
from planner.inputs.network import load_network

ROOT = Path(planner.__file__).resolve().parent.parent
NETWORKS = ROOT / "tests" / "data" / "networks" / "formats"


@pytest.mark.parametrize(
    "add",
    [
        lambda n: pp.create_svc(
            n, 17, x_l_ohm=1, x_cvar_ohm=-10, set_vm_pu=1.0, thyristor_firing_angle_degree=130
        ),
        lambda n: pp.create_tcsc(
            n, 5, 6, x_l_ohm=1, x_cvar_ohm=-10, set_p_to_mw=0.5, thyristor_firing_angle_degree=150
        ),
    ],
    ids=["svc", "tcsc"],
)
def test_a_facts_device_makes_the_engine_step_aside(add) -> None:  # type: ignore[no-untyped-def]
    """HEAD: NotImplementedError raised in planner/grid/model_build.py is not a pandapower
    failure for solver_failure(), so it is re-raised: `planner plan` exits 3 ('internal
    error: NotImplementedError: SVC devices') on any network with an SVC in service."""
    net = pn.case33bw()
    add(net)
    with pytest.raises(Unsupported, match=r"(SVC|TCSC) devices"):
        BatchModel(net)


def _dss(tmp_path: Path, text: str) -> None:
    (tmp_path / "net.dss").write_text(text, encoding="utf-8")


def test_buscoords_never_follows_a_symbolic_link_out_of_the_folder(tmp_path: Path) -> None:
    """HEAD reads the link's target (any file the user can read) and echoes a value of it:
    "Buscoords file 'coords.csv' line 1: y: 'SECRET-TOKEN' is not a number"."""
    secret = tmp_path / "elsewhere.txt"
    secret.write_text("b 1.0 SECRET-TOKEN\n", encoding="utf-8")
    folder = tmp_path / "net"
    folder.mkdir()
    (folder / "coords.csv").symlink_to(secret)
    text = (NETWORKS / "feeder.dss").read_text(encoding="utf-8")
    _dss(folder, text.replace("Buscoords feeder_buscoords.csv", "Buscoords coords.csv"))
    with pytest.raises(NetworkError) as info:
        load_network("net.dss", folder, file="case.toml")
    message = info.value.problems[0].message
    assert "SECRET" not in message
    assert message == (
        "network file 'net.dss' (OpenDSS (the planner's subset)) is refused: line 36: "
        "Buscoords file 'coords.csv' is a symbolic link"
    )


def test_buscoords_from_proc_is_refused_though_its_size_says_0(tmp_path: Path) -> None:
    (tmp_path / "status.csv").symlink_to("/proc/self/status")
    text = (NETWORKS / "feeder.dss").read_text(encoding="utf-8")
    _dss(tmp_path, text.replace("Buscoords feeder_buscoords.csv", "Buscoords status.csv"))
    with pytest.raises(NetworkError) as info:
        load_network("net.dss", tmp_path, file="case.toml")
    assert info.value.problems[0].message.endswith(
        "line 36: Buscoords file 'status.csv' is a symbolic link"
    )


def test_x1r1_of_zero_is_named_not_blamed_on_pandapower(tmp_path: Path) -> None:
    """HEAD: "pandapower's converter failed on it (ZeroDivisionError)": the planner's own
    reader divided by the file's value."""
    (tmp_path / "feeder_buscoords.csv").write_bytes(
        (NETWORKS / "feeder_buscoords.csv").read_bytes()
    )
    text = (NETWORKS / "feeder.dss").read_text(encoding="utf-8")
    _dss(tmp_path, text.replace("MVAsc3=2000", "MVAsc3=2000 x1r1=0"))
    with pytest.raises(NetworkError) as info:
        load_network("net.dss", tmp_path, file="case.toml")
    assert info.value.problems[0].message == (
        "network file 'net.dss' (OpenDSS (the planner's subset)) is refused: "
        "line 4: circuit.'feeder_pair': x1r1=0.0 is not positive"
    )


def test_the_bulk_build_gives_the_same_network_with_line_switches(tmp_path: Path) -> None:
    """Open Line.X [terminal] on lines and a disabled line: the switches' element indices."""
    (tmp_path / "feeder_buscoords.csv").write_bytes(
        (NETWORKS / "feeder_buscoords.csv").read_bytes()
    )
    text = (NETWORKS / "feeder.dss").read_text(encoding="utf-8")
    text = text.replace("New Line.A2-A3 ", "New Line.A2-A3 enabled=no ")
    _dss(tmp_path, text + "Open Line.A1-A2 2\nOpen Line.S-A1\nClose Line.S-A1\nOpen Line.B1-B2 1\n")
    net = load_network("net.dss", tmp_path, file="case.toml").net
    rows = net.switch[["bus", "element", "et", "closed", "name"]].values.tolist()
    assert rows == [
        [3, 1, "l", False, "A1-A2 terminal 2"],
        [8, 7, "l", False, "B1-B2 terminal 1"],
        [7, 13, "b", False, "Tie_A6-B6"],
    ]
    assert net.line.in_service.tolist()[:4] == [True, True, False, True]


def test_a_zip_directory_of_many_entries_is_refused_before_zipfile_reads_it(
    tmp_path: Path,
) -> None:
    """HEAD: zipfile.ZipFile() makes a ZipInfo per entry before the count is checked: 300,000
    empty entries (24.5 MiB) cost 158 MiB and 3.4 s; a 512 MiB zip about 3 GiB."""
    import tracemalloc
    import zipfile

    path = tmp_path / "net.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for i in range(20_000):
            archive.writestr(zipfile.ZipInfo(f"{i:x}"), b"")
    tracemalloc.start()
    with pytest.raises(NetworkError) as info:
        load_network("net.zip", tmp_path, file="case.toml")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert info.value.problems[0].message == (
        "network file 'net.zip' (CGMES 2.4.15 profiles (zip)) is refused: the zip's directory "
        "has 995,632 bytes, more than 32 profiles with plain names take (32,768)"
    )
    assert peak < 4 * 2**20


@pytest.mark.parametrize("control", ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e"])
def test_ucte_control_characters_that_splitlines_eats_are_refused(
    control: str, tmp_path: Path
) -> None:
    """HEAD: check_ucte uses str.splitlines, which ends a line at these characters, so the
    control-character check never sees them; pandapower's reader (universal newlines) keeps
    them in the line: the bus is named 'Sub\\x0c20'."""
    text = (NETWORKS / "feeder.uct").read_text(encoding="ascii")
    (tmp_path / "net.uct").write_bytes(text.replace("Sub 20", f"Sub{control}20").encode())
    with pytest.raises(NetworkError) as info:
        load_network("net.uct", tmp_path, file="case.toml")
    shown = repr(control)[1:-1]
    assert info.value.problems[0].message == (
        "network file 'net.uct' (UCTE-DEF) is refused: line 6: control character in "
        f"'DSUB01GA Sub{shown}20       0 0          0.000'"
    )


def test_a_non_finite_legacy_line_path_does_not_break_the_map(tmp_path: Path) -> None:
    """HEAD: layout.line_geodata() keeps `Infinity` from a network file's legacy line_geodata
    (JSON allows it, safe_json and the sanity checks pass it); map_geojson's json.dumps(
    allow_nan=False) then raises: `planner plan` exits 3 after planning, no plan set written."""
    import json

    import pandas as pd

    from planner.outputs.geojson import map_geojson

    net = pn.mv_oberrhein()
    line = int(net.line.index[0])
    net.line.at[line, "geo"] = None
    pp.to_json(net, tmp_path / "plain.json")
    net["line_geodata"] = pd.DataFrame({"coords": [[(0.0, 0.0), (123456.0, 1.0)]]}, index=[line])
    pp.to_json(net, tmp_path / "with_path.json")
    text = (tmp_path / "with_path.json").read_text(encoding="utf-8")
    (tmp_path / "net.json").write_text(text.replace("123456.0", "Infinity"), encoding="utf-8")
    loaded = load_network("net.json", tmp_path, file="case.toml").net
    plan = {
        "stages": [
            {"name": "s", "out_of_service": [{"ref": "line:x", "table": "line", "index": line}]}
        ]
    }
    data = json.loads(map_geojson(loaded, plan) or "")
    [works] = data["features"]
    assert works["geometry"]["type"] == "LineString"  # between its buses, as without a path
    plain = load_network("plain.json", tmp_path, file="case.toml").net
    assert (
        works["geometry"] == json.loads(map_geojson(plain, plan) or "")["features"][0]["geometry"]
    )


def test_the_workbook_keeps_what_schedule_csv_says_of_a_non_finite_number() -> None:
    """HEAD: _number('nan') is float nan, which openpyxl writes as an empty <v></v>: the cell
    reads back empty where schedule.csv says nan (a truck's kW of an hour whose load flow
    failed); and _number('1_000') is 1000."""
    import io

    import openpyxl

    from planner.dispatch.schedule import CSV_COLUMNS
    from planner.outputs.workbook import plan_workbook

    row = ["2026-01-01T00:00:00+00:00", "T1", "online", "s", "loc", "3", "I1", "1", "nan",
           "inf", "-inf", "1_000", "2.0", "0.0"]  # fmt: skip
    text = ",".join(CSV_COLUMNS) + "\n" + ",".join(row) + "\n"
    book = openpyxl.load_workbook(io.BytesIO(plan_workbook(text, "step\n", {})))
    assert [c.value for c in book["schedule"][2][5:14]] == [
        3,
        "I1",
        1,
        "nan",
        "inf",
        "-inf",
        "1_000",
        2.0,
        0.0,
    ]
