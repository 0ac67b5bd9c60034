"""plan.xlsx (`planner.outputs.workbook`): schedule, sequence, fuel and costs sheets, the same
cells as the CSV files, text never a formula, the same bytes for the same plan."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from planner.outputs.workbook import NUMBER_COLUMNS, plan_workbook
from tests.conftest import CASES

COSTS = """
[costs]
truck_day = 1800.0
mobilisation = 950.0
fuel_per_l = 1.45
currency = "EUR"
"""


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """The Oberrhein transfer-and-trucks case with [costs], planned once through the CLI."""
    from click.testing import CliRunner

    from planner.cli import main

    folder = tmp_path_factory.mktemp("book")
    case = folder / "case.toml"
    case.write_text((CASES / "oberrhein_transfer_and_trucks.toml").read_text() + COSTS)
    result = CliRunner().invoke(main, ["plan", str(case), "--out", str(folder / "out")])
    assert result.exit_code == 0, result.output
    assert f"wrote {folder / 'out' / 'plan.xlsx'}" in result.output
    return folder / "out"


def _rows(sheet: Any) -> list[list[Any]]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize(
    ("sheet", "csv_name"), [("schedule", "schedule.csv"), ("sequence", "switching.csv")]
)
def test_sheets_hold_the_csv_cells(planned: Path, sheet: str, csv_name: str) -> None:
    book = openpyxl.load_workbook(planned / "plan.xlsx")
    assert book.sheetnames == ["schedule", "sequence", "fuel", "costs"]
    rows = _rows(book[sheet])
    expected = list(csv.reader(io.StringIO((planned / csv_name).read_text(encoding="utf-8"))))
    assert len(rows) == len(expected) > 1
    assert [str(h) for h in rows[0]] == expected[0]
    numbers = NUMBER_COLUMNS[sheet]
    for got, want in zip(rows[1:], expected[1:], strict=True):
        assert len(got) == len(want)
        for column, value, text in zip(expected[0], got, want, strict=True):
            if text == "":
                assert value is None
            elif column in numbers:
                assert isinstance(value, int | float) and value == float(text), (column, text)
            else:
                assert value == text, column


def test_fuel_is_every_refuel_in_its_tanker_round(planned: Path) -> None:
    plan = json.loads((planned / "plan.json").read_text(encoding="utf-8"))
    rows = _rows(openpyxl.load_workbook(planned / "plan.xlsx")["fuel"])
    assert rows[0] == ["day", "round", "time", "truck", "location", "litres"]
    refuels = sorted(
        (r["time"], r["truck"], r["location"], r["litres"]) for r in plan["refuelling"]
    )
    assert sorted((r[2], r[3], r[4], r[5]) for r in rows[1:]) == refuels
    assert len(rows) == 1 + 9
    assert rows[1] == ["2025-06-10", 1, "2025-06-10T10:00:00+02:00", "T1", "bus:Bus 57", 1302.9]
    logistics = plan["summary"]["fuel_logistics"]
    assert round(sum(r[5] for r in rows[1:]), 1) == logistics["litres_total"]


def test_costs_sheet_is_summary_costs(planned: Path) -> None:
    costs = json.loads((planned / "plan.json").read_text(encoding="utf-8"))["summary"]["costs"]
    rows = _rows(openpyxl.load_workbook(planned / "plan.xlsx")["costs"])
    assert rows[0] == ["item", "value"]
    got = {k: v for k, v in rows[1:]}
    assert got["currency"] == "EUR"
    assert got["not_given"] == "value_of_lost_load_per_kwh"
    for key in ("truck_days", "trucks_hired", "rental", "mobilisation", "fuel_l", "fuel", "total"):
        assert got[key] == costs[key]
    assert got["trucks_hired"] == 3 and got["mobilisation"] == 2850.0
    assert "customer_cost_avoided" in got and got["customer_cost_avoided"] is None


def test_without_costs_the_sheet_says_so() -> None:
    data = plan_workbook("time\n", "stage\n", {"summary": {"costs": None}})
    rows = _rows(openpyxl.load_workbook(io.BytesIO(data))["costs"])
    assert rows == [["item", "value"], ["costs", "the case has no [costs] table"]]


def test_text_is_never_a_formula() -> None:
    schedule = "time,truck,status,bus,p_kw\n2025-01-01T00:00:00+00:00,'=HYPERLINK(1),online,3,1.5\n"
    plan = {
        "summary": {
            "fuel_logistics": {
                "rounds": [
                    {
                        "day": "=1+1",
                        "round": 1,
                        "stops": [
                            {
                                "truck": "@SUM(A1)",
                                "time": "t",
                                "location": "=cmd|' /C calc'!A0",
                                "litres": 10.0,
                            }
                        ],
                    }
                ]
            },
            "costs": {"currency": "+EUR", "total": 5.0, "not_given": ["=x"]},
        }
    }
    data = plan_workbook(schedule, "stage,step\n-x,1\n", plan)
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert _rows(book["schedule"])[1] == [
        "2025-01-01T00:00:00+00:00",
        "'=HYPERLINK(1)",
        "online",
        3,
        1.5,
    ]
    assert _rows(book["sequence"])[1] == ["-x", 1]
    assert _rows(book["fuel"])[1] == ["'=1+1", 1, "t", "'@SUM(A1)", "'=cmd|' /C calc'!A0", 10.0]
    assert _rows(book["costs"])[1:] == [["currency", "'+EUR"], ["total", 5.0], ["not_given", "'=x"]]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and all(b"<f>" not in archive.read(n) for n in sheets)
    for sheet in book:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type in ("s", "n"), (sheet.title, cell.coordinate)


def test_the_same_plan_gives_the_same_bytes(planned: Path) -> None:
    plan = json.loads((planned / "plan.json").read_text(encoding="utf-8"))
    schedule = (planned / "schedule.csv").read_text(encoding="utf-8")
    switching = (planned / "switching.csv").read_text(encoding="utf-8")
    first = plan_workbook(schedule, switching, plan)
    assert first == plan_workbook(schedule, switching, plan)
    assert first == (planned / "plan.xlsx").read_bytes()
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z" in core
