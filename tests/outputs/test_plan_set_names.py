"""The plan set's optional names (`map.geojson`) and binary file (`plan.xlsx`) in `--out`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.core.errors import OutputError
from planner.outputs.files import MANIFEST, claim_out_dir
from planner.outputs.plan_set import OPTIONAL, OUTPUTS

WITHOUT_MAP = tuple(n for n in OUTPUTS if n not in OPTIONAL)


def _files(names: tuple[str, ...], tag: str) -> dict[str, str | bytes]:
    return {n: (f"{tag} {n}".encode() if n.endswith(".xlsx") else f"{tag} {n}\n") for n in names}


def test_the_plan_set_claims_every_name() -> None:
    assert OUTPUTS == (
        "plan.json",
        "schedule.csv",
        "plan.md",
        "report.html",
        "switching.csv",
        "plan.xlsx",
        "map.geojson",
    )
    assert OPTIONAL == ("map.geojson",)


def test_bytes_are_written_as_they_are(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with claim_out_dir(str(out), OUTPUTS, force=False) as claim:
        written = claim.commit(_files(OUTPUTS, "first"))
    assert [p.name for p in written] == list(OUTPUTS)
    assert (out / "plan.xlsx").read_bytes() == b"first plan.xlsx"
    assert set(json.loads((out / MANIFEST).read_text())["files"]) == set(OUTPUTS)


def test_an_earlier_map_goes_when_the_new_plan_has_none(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with claim_out_dir(str(out), OUTPUTS, force=False) as claim:
        claim.commit(_files(OUTPUTS, "first"))
    with claim_out_dir(str(out), OUTPUTS, force=True) as claim:
        claim.commit(_files(WITHOUT_MAP, "second"))
    assert not (out / "map.geojson").exists()  # a map of another plan would mislead
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST, *WITHOUT_MAP])
    assert set(json.loads((out / MANIFEST).read_text())["files"]) == set(WITHOUT_MAP)


def test_a_users_map_is_never_replaced_even_when_no_map_is_due(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "map.geojson").write_text("my own map\n")
    with (
        pytest.raises(
            OutputError, match=r"map\.geojson was not written by planner or was changed since"
        ),
        claim_out_dir(str(out), OUTPUTS, force=True) as claim,
    ):
        claim.commit(_files(WITHOUT_MAP, "x"))
    assert sorted(p.name for p in out.iterdir()) == ["map.geojson"]
    assert (out / "map.geojson").read_text() == "my own map\n"


def test_a_users_workbook_is_never_replaced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "plan.xlsx").write_bytes(b"PK my workbook")
    with (
        pytest.raises(OutputError, match=r"plan\.xlsx was not written by planner"),
        claim_out_dir(str(out), OUTPUTS, force=True),
    ):
        pass
    assert (out / "plan.xlsx").read_bytes() == b"PK my workbook"
