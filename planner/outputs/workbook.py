"""plan.xlsx: the plan for the planning office's spreadsheet, next to schedule.csv.

Four sheets: `schedule` and `sequence` hold exactly the cells of schedule.csv and switching.csv
(the crew's switching sheet), numbers as numbers; `fuel` every tanker stop of
`summary.fuel_logistics` (each refuel of `refuelling` in its round); `costs` the figures of
`summary.costs`, or a line saying the case has no `[costs]`. Every text cell is stored as text
(never a formula) and escaped as in the CSV files (`for_csv_cell`: a leading `'` where a
spreadsheet would run it). The same plan gives the same bytes: fixed document times and zip
entry times.
"""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from planner.core.text import for_csv_cell

__all__ = ["FUEL_COLUMNS", "NUMBER_COLUMNS", "WORKBOOK_NAME", "plan_workbook"]

WORKBOOK_NAME = "plan.xlsx"

# the columns of each sheet written as numbers (an empty cell stays empty)
NUMBER_COLUMNS = {
    "schedule": frozenset(
        {
            "bus",
            "online",
            "p_kw",
            "q_kvar",
            "loading_percent",
            "fuel_l",
            "tank_l",
            "refuel_l",
            "battery_kwh",
        }
    ),
    "sequence": frozenset({"step", "duration_min", "plan_step"}),
    "fuel": frozenset({"round", "litres"}),
}
FUEL_COLUMNS = ("day", "round", "time", "truck", "location", "litres")

_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)

# the document's own times: fixed, so that the file depends on the plan alone
_EPOCH = datetime(2000, 1, 1)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def plan_workbook(schedule_csv: str, switching_csv: str, plan: dict[str, Any]) -> bytes:
    """The workbook's bytes from the plan set's CSV texts and plan.json's data."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = "schedule"
    _fill(sheet, list(csv.reader(io.StringIO(schedule_csv))))
    _fill(book.create_sheet("sequence"), list(csv.reader(io.StringIO(switching_csv))))
    _fill(book.create_sheet("fuel"), _fuel_rows(plan), escape=True)
    _fill(book.create_sheet("costs"), _cost_rows(plan), escape=True)
    book.properties.creator = "planner"
    book.properties.created = _EPOCH
    book.properties.modified = _EPOCH
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(book, archive).write_data()  # not save(): that stamps the time
    return _fixed_times(buffer.getvalue())


def _fill(sheet: Worksheet, rows: list[list[Any]], *, escape: bool = False) -> None:
    """Write a header row and its rows: number columns as numbers, all else as text."""
    if not rows:
        return
    header = [str(h) for h in rows[0]]
    numbers = NUMBER_COLUMNS.get(sheet.title, frozenset())
    sheet.append(header)
    # the row number counted here: `sheet.max_row` looks at every cell written so far
    for r, values in enumerate(rows[1:], start=2):
        sheet.append([None] * len(values))
        for c, value in enumerate(values, start=1):
            column = header[c - 1] if c <= len(header) else ""
            cell = sheet.cell(row=r, column=c)
            if value is None or value == "":
                continue
            if column in numbers or (escape and isinstance(value, int | float)):
                number = _number(value)
                if number is not None:
                    cell.value = number
                    continue
            text = for_csv_cell(str(value)) if escape else str(value)
            cell.value = text
            cell.data_type = "s"  # text, even where it starts like a formula
    sheet.freeze_panes = "A2"


def _number(value: Any) -> int | float | None:
    """A finite number, from a number or from text that is exactly a plain decimal (not
    `nan`, `inf`, `1_000` or other digits Python's int() and float() also take); else None,
    and the cell keeps the text, as the CSV file says it."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    text = str(value)
    if not _DECIMAL.fullmatch(text):
        return None
    if _INTEGER.fullmatch(text):
        return int(text)
    number = float(text)
    return number if math.isfinite(number) else None


def _fuel_rows(plan: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = [list(FUEL_COLUMNS)]
    logistics = (plan.get("summary") or {}).get("fuel_logistics") or {}
    for round_ in logistics.get("rounds") or []:
        for stop in round_.get("stops") or []:
            rows.append(
                [
                    round_.get("day"),
                    round_.get("round"),
                    stop.get("time"),
                    stop.get("truck"),
                    stop.get("location"),
                    stop.get("litres"),
                ]
            )
    return rows


def _cost_rows(plan: dict[str, Any]) -> list[list[Any]]:
    costs = (plan.get("summary") or {}).get("costs")
    if not costs:
        return [["item", "value"], ["costs", "the case has no [costs] table"]]
    rows: list[list[Any]] = [["item", "value"]]
    for key, value in costs.items():
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        rows.append([key, value])
    return rows


def _fixed_times(data: bytes) -> bytes:
    """The same zip with every entry dated 1980-01-01, in the same order."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, source.read(info.filename))
    return out.getvalue()
