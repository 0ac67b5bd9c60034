"""A network file names nothing that runs and reads no other file: hostile pandapower JSON is
refused before pandapower sees it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT

CASE = """[case]
name = "hostile"
network = "net.json"
[fleet]
trucks = 1
[[stages]]
name = "s"
start = 2025-01-01T08:00:00+01:00
end = 2025-01-01T10:00:00+01:00
out_of_service = []
"""


def _reference() -> dict:  # type: ignore[type-arg]
    return json.loads((ROOT / "networks" / "dashiqiao.json").read_text())


def _module_import(d: dict) -> None:  # type: ignore[type-arg]
    d["_object"]["bus"]["_module"] = "planner_evil_module"


def _function_reference(d: dict) -> None:  # type: ignore[type-arg]
    d["_object"]["name"] = {"_module": "os", "_class": "system", "_object": "echo owned"}


def _dataframe_from_a_path(d: dict) -> None:  # type: ignore[type-arg]
    d["_object"]["bus"]["_object"] = "/etc/hostname"


def _not_a_network(d: dict) -> None:  # type: ignore[type-arg]
    d["_class"] = "Something"


def _net_as_a_string(d: dict) -> None:  # type: ignore[type-arg]
    inner = {"_module": "pandapower.auxiliary", "_class": "pandapowerNet", "_object": d["_object"]}
    inner["_object"]["bus"]["_module"] = "planner_evil_module"
    d["_object"] = json.dumps(inner)  # pandapower parses it again, unchecked


def _object_in_a_cell(d: dict) -> None:  # type: ignore[type-arg]
    table = json.loads(d["_object"]["bus"]["_object"])
    table["data"][0][0] = {"_module": "os", "_class": "function", "_object": "system"}
    d["_object"]["bus"]["_object"] = json.dumps(table)


def _module_in_a_cell(d: dict) -> None:  # type: ignore[type-arg]
    table = json.loads(d["_object"]["line"]["_object"])
    table["data"][1][0] = {"_module": "planner_evil_module", "_class": "X", "_object": "{}"}
    d["_object"]["line"]["_object"] = json.dumps(table)


HOSTILE = {
    "network as a string": (_net_as_a_string, "the network's content is not an inline JSON"),
    "function in a table cell": (_object_in_a_cell, "bus: a table cell holds an object"),
    "module in a table cell": (_module_in_a_cell, "line: a table cell holds an object"),
    "module import": (_module_import, "bus: an object of a type the planner does not load"),
    "function reference": (_function_reference, "name: an object of a type the planner does not"),
    "DataFrame read from a path": (_dataframe_from_a_path, "bus: a table whose data is not inline"),
    "not a network": (_not_a_network, "not a pandapower network"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_network_files_are_refused(name: str, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    edit, message = HOSTILE[name]
    data = _reference()
    edit(data)
    (tmp_path / "net.json").write_text(json.dumps(data))
    (tmp_path / "planner_evil_module.py").write_text(
        f"open({str(tmp_path / 'ran')!r}, 'w').write('ran')\n"
    )
    (tmp_path / "case.toml").write_text(CASE)
    result = cli("check", tmp_path / "case.toml")
    assert result.exit_code == 2, result.output
    assert "network file 'net.json' is refused: " in result.output
    assert message in result.output
    assert not (tmp_path / "ran").exists()  # nothing the file named was imported
    assert "echo owned" not in result.output and "/etc/hostname" not in result.output


def test_deeply_nested_json_is_refused(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "net.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "case.toml").write_text(CASE)
    result = cli("check", tmp_path / "case.toml")
    assert result.exit_code == 2
    assert "network file 'net.json' is refused: the JSON is nested too deeply" in result.output


def test_the_reference_network_still_loads(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "net.json").write_text((ROOT / "networks" / "dashiqiao.json").read_text())
    (tmp_path / "case.toml").write_text(CASE)
    result = cli("check", tmp_path / "case.toml")
    assert result.exit_code == 0, result.output
    assert "31 buses" in result.output


def test_an_oversized_network_file_is_refused_unread(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with (tmp_path / "net.json").open("wb") as handle:  # sparse: nothing is really written
        handle.truncate(600 * 2**20)
    (tmp_path / "case.toml").write_text(CASE)
    result = cli("check", tmp_path / "case.toml")
    assert result.exit_code == 2
    assert (
        "network file 'net.json' has 629,145,600 bytes, more than the 536,870,912 a network "
        "file may have" in result.output
    )
