"""Names from untrusted files reach every sink inert: the terminal, schedule.csv, plan.md and
report.html; plan.json keeps them raw (#14, item 2)."""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandapower as pp
import pandapower.networks as pn
import pytest

from planner.core.text import (
    for_csv_cell,
    for_html,
    for_markdown,
    for_markdown_code,
    for_terminal,
)
from tests.conftest import DATA

HOSTILE = DATA / "hostile" / "names"
NAMES = json.loads((HOSTILE / "names.json").read_text())
REFUSED = json.loads((HOSTILE / "refused.json").read_text())

# every character a terminal, a spreadsheet or a Markdown/HTML reader could act on
RAW_CONTROL = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)

TERMINAL = [
    ("Bus 5", "Bus 5"),
    ("", ""),
    ("\x1b[31mBus 5\x1b]0;pwn\x07", "\\x1b[31mBus 5\\x1b]0;pwn\\x07"),
    ("a\nb\rc\td", "a\\nb\\rc\\td"),
    ("\x00\x7f\x80\x9b\x9f", "\\x00\\x7f\\x80\\x9b\\x9f"),
    ("\u202eevil\u202a\u202b\u202c\u202d", "\\u202eevil\\u202a\\u202b\\u202c\\u202d"),
    (
        "\u2066x\u2067\u2068\u2069\u200e\u200f\u061c",
        "\\u2066x\\u2067\\u2068\\u2069\\u200e\\u200f\\u061c",
    ),
    ("line\u2028para\u2029", "line\\u2028para\\u2029"),
    ("lone \ud800 surrogate", "lone \\ud800 surrogate"),
    # printable text of any script stays, joiners included; a backslash stays as it is
    ("Трансформатор Ü 变电站 क्‍ष", "Трансформатор Ü 变电站 क्‍ष"),
    ("C:\\cases\\x.toml", "C:\\cases\\x.toml"),
]

CSV_CELLS: list[tuple[object, object]] = [
    ("Bus 5", "Bus 5"),
    ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\\t=1"),
    ("\r=1", "'\\r=1"),
    ("|cmd", "'|cmd"),
    ("  =1+1", "'  =1+1"),
    ("\uff1d1+1", "'\uff1d1+1"),
    ("a\nb\x1b", "a\\nb\\x1b"),
    ("a=b", "a=b"),
    ("-12.5", "-12.5"),
    ("+3", "+3"),
    ("1e-3", "1e-3"),
    (-12.5, -12.5),
    (4, 4),
    ("", ""),
]

MARKDOWN = [
    ("Line 2-3 out", "Line 2-3 out"),
    ("bus:RMU Y1-3", "bus:RMU Y1-3"),
    ("bus:#30", "bus:#30"),
    ("0.86", "0.86"),
    ("A\n# FORGED HEADING\n- close all", "A\\\\n# FORGED HEADING\\\\n- close all"),
    ("# heading", "\\# heading"),
    ("- item", "\\- item"),
    ("+ item", "\\+ item"),
    ("= underline", "\\= underline"),
    ("1. item", "1\\. item"),
    ("12) item", "12\\) item"),
    ("a|b", "a\\|b"),
    ("<script>alert(1)</script>", "\\<script\\>alert(1)\\</script\\>"),
    ("[l](http://x)", "\\[l\\](http\\://x)"),
    ("![i](x)", "!\\[i\\](x)"),
    ("www.x.com", "www\\.x.com"),
    ("a@b.c", "a@b.c"),  # GFM may autolink it (mailto, to exactly the text shown)
    ("x #", "x \\#"),  # would close a heading
    ("x ## ", "x \\## "),
    ("*b* _i_ ~s~ `c`", "\\*b\\* \\_i\\_ \\~s\\~ \\`c\\`"),
    ("&amp; $x$ \\", "\\&amp; \\$x\\$ \\\\"),
    ("> quote", "\\> quote"),
    ("\x1b[2J", "\\\\x1b\\[2J"),
]

MARKDOWN_CODE = [
    ("net.json", "`net.json`"),
    ("a`b", "``a`b``"),
    ("`a", "`` `a ``"),
    ("a\nb", "`a\\nb`"),
    ("", ""),
]

HTML = [
    ("Bus 5", "Bus 5"),
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("\"x\" & 'y'", "&quot;x&quot; &amp; &#x27;y&#x27;"),
    ("a\x1b\nb\u202e", "a\\x1b\\nb\\u202e"),
]


@pytest.mark.parametrize(("text", "shown"), TERMINAL)
def test_for_terminal(text: str, shown: str) -> None:
    assert for_terminal(text) == shown


@pytest.mark.parametrize(("value", "cell"), CSV_CELLS)
def test_for_csv_cell(value: object, cell: object) -> None:
    assert for_csv_cell(value) == cell


@pytest.mark.parametrize(("text", "shown"), MARKDOWN)
def test_for_markdown(text: str, shown: str) -> None:
    assert for_markdown(text) == shown


@pytest.mark.parametrize(("text", "shown"), MARKDOWN_CODE)
def test_for_markdown_code(text: str, shown: str) -> None:
    assert for_markdown_code(text) == shown


@pytest.mark.parametrize(("text", "shown"), HTML)
def test_for_html(text: str, shown: str) -> None:
    assert for_html(text) == shown


def _toml(text: str) -> str:
    """A TOML basic string holding `text` exactly (control characters as \\u escapes)."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        else:
            out.append(f"\\u{ord(char):04x}")
    return '"' + "".join(out) + '"'


def _write(folder: Path, names: dict, fault: dict | None = None) -> Path:
    """The hostile network and a one-stage, 2-hour case on it; returns the case's path."""
    fault = fault or {}
    net = getattr(pn, names["network"])()
    for table, index, name in [*names["rename"], *fault.get("rename", [])]:
        net[table].at[index, "name"] = name
    for table, index, field, value in fault.get("set", []):
        net[table].at[index, field] = value
    folder.mkdir(parents=True, exist_ok=True)
    pp.to_json(net, str(folder / "net.json"))
    points = "".join(
        f"[[connection_points]]\nbus = {_toml(p)}\nbays = 2\n"
        for p in fault.get("points", names["points"])
    )
    case = folder / "case.toml"
    case.write_text(
        f'[case]\nname = {_toml(names["case_name"])}\nnetwork = "net.json"\n'
        "[limits]\nvm_min_pu = 0.90\nmax_trafo_loading_percent = 90.0\n"
        "[fleet]\ntrucks = 5\nrating_kw = 1000.0\n"
        f"{points}"
        "[loads]\nscaling = 0.85\n"
        f"[[stages]]\nname = {_toml(names['stage'])}\n"
        "start = 2025-08-04T07:00:00+02:00\nend = 2025-08-04T09:00:00+02:00\n"
        f"out_of_service = [{_toml(names['out_of_service'])}]\n"
    )
    return case


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, cli):  # type: ignore[no-untyped-def]
    """The hostile case planned once: its folder and the output of every command."""
    folder = tmp_path_factory.mktemp("hostile")
    case = _write(folder, NAMES)
    out = folder / "out"
    results = {"plan": cli("plan", case, "--out", out)}
    results["check"] = cli("check", case)
    results["inspect"] = cli("inspect", case)
    results["inspect --json"] = cli("inspect", case, "--json")
    results["validate"] = cli("validate", case, out / "plan.json")
    return folder, results


def test_hostile_names_plan_and_check_clean(hostile) -> None:  # type: ignore[no-untyped-def]
    _, results = hostile
    assert {name: r.exit_code for name, r in results.items()} == {
        "plan": 0,
        "check": 0,
        "inspect": 0,
        "inspect --json": 0,
        "validate": 0,
    }, {name: r.output for name, r in results.items()}


@pytest.mark.parametrize("command", ["plan", "check", "inspect", "inspect --json", "validate"])
def test_terminal_shows_no_raw_control_character(hostile, command: str) -> None:  # type: ignore[no-untyped-def]
    output = hostile[1][command].output
    assert not RAW_CONTROL.findall(output)
    for line in output.splitlines():
        assert not line.startswith(("# FORGED", "- close all")), line


def test_terminal_lines_show_the_names_escaped(hostile) -> None:  # type: ignore[no-untyped-def]
    _, results = hostile
    stage = "=1+2\\n# FORGED HEADING\\n- close all breakers\\x1b[2J"
    case = "'Case \\u202eevil\\u2066 <b>x</b>\\r\\n[l](http://x) \\x9b31m'"
    check = results["check"].stdout.splitlines()  # progress lines: stderr
    assert check[0].startswith(f"case {case}: valid (")
    assert check[-1] == (
        f"    - {stage}: 2025-08-04T07:00:00+02:00 to 2025-08-04T09:00:00+02:00 (2 h), "
        'out: line:=HYPERLINK("http://x")'
    )
    inspect = results["inspect"].stdout.splitlines()
    assert inspect[0].startswith(f"stage '{stage}' (2025-08-04T07:00:00+02:00 to ")
    assert inspect[2].endswith(
        "  points: bus:<script>alert(1)</script>|Bus 4 x2, "
        "bus:\\x1b[31mBus 5\\x1b]0;pwn\\x07 x2, bus:Bus 9 x2"
    )
    assert inspect[3].strip() == "ties: switch:@S2\\u2028tie, switch:S3, switch:S1"
    plan = results["plan"].output.splitlines()
    assert f"plan for {case}: feasible, 5 of 5 trucks used" in plan
    assert f"  {stage}: I1 trucks (5 trucks)" in plan
    assert f"{stage}: verifying 5 truck(s)" in plan  # the progress label
    validate = results["validate"].output.splitlines()
    assert f"{stage}: re-verifying the plan" in validate  # the progress label, escaped too
    assert any(line.endswith(f"for {case}: holds") for line in validate)


def test_inspect_json_is_ascii_with_the_raw_names(hostile) -> None:  # type: ignore[no-untyped-def]
    output = hostile[1]["inspect --json"].stdout
    assert output.isascii()
    [area] = json.loads(output)
    assert area["name"] == NAMES["stage"]
    assert area["islands"][0]["ties"][0] == "switch:" + NAMES["rename"][3][2]
    assert [p["bus"] for p in area["islands"][0]["connection_points"]] == NAMES["points"]


def test_schedule_csv_cells_are_no_formulas(hostile) -> None:  # type: ignore[no-untyped-def]
    folder, _ = hostile
    text = (folder / "out" / "schedule.csv").read_text()
    assert not RAW_CONTROL.findall(text)
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    assert len(body) == 5 * 4  # five trucks from two hours of set-up to the stage's end
    assert {len(r) for r in rows} == {len(header)}
    text_columns = [header.index(c) for c in ("truck", "status", "stage", "location", "island")]
    for row in body:
        for k in text_columns:
            assert not row[k].startswith(("=", "+", "-", "@", "\t", "\r", "|")), row
    assert {r[header.index("stage")] for r in body} == {
        "'=1+2\\n# FORGED HEADING\\n- close all breakers\\x1b[2J"
    }
    assert {r[header.index("location")] for r in body} == {
        "bus:<script>alert(1)</script>|Bus 4",
        "bus:\\x1b[31mBus 5\\x1b]0;pwn\\x07",
        "bus:Bus 9",
    }


def test_plan_md_forges_no_heading_order_or_column(hostile) -> None:  # type: ignore[no-untyped-def]
    folder, _ = hostile
    md = (folder / "out" / "plan.md").read_text()
    assert not RAW_CONTROL.findall(md)
    lines = md.splitlines()
    assert not [x for x in lines if x.startswith(("# FORGED", "- close all"))]
    assert lines[0] == (
        "# Dispatch plan: Case \\\\u202eevil\\\\u2066 \\<b\\>x\\</b\\>\\\\r\\\\n"
        "\\[l\\](http\\://x) \\\\x9b31m"
    )
    assert "## Stage 1: \\=1+2\\\\n# FORGED HEADING\\\\n- close all breakers\\\\x1b\\[2J" in lines
    assert 'Works: line:=HYPERLINK("http\\://x").' in md
    # every row of the trucks table has its 7 cells: an escaped `|` adds none
    rows = [x for x in lines if x.startswith("| T") and "| I1 |" in x and "bus:" in x]
    assert len(rows) == 5
    for row in rows:
        assert len(re.findall(r"(?<!\\)\|", row)) == 8, row
    assert "| T1 | bus:\\<script\\>alert(1)\\</script\\>\\|Bus 4 | 4 | I1 |" in md
    assert "| T3 | bus:\\\\x1b\\[31mBus 5\\\\x1b\\]0;pwn\\\\x07 | 5 | I1 |" in md
    assert '| open | line =HYPERLINK("http\\://x") (LBS) | between Bus 2 and Bus 3 |' in md


class _Page(HTMLParser):
    """The tags of a page and the text of its first h1."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.h1 = ""
        self._in_h1 = False

    def handle_starttag(self, tag: str, attrs: list) -> None:  # type: ignore[type-arg]
        self.tags.add(tag)
        self._in_h1 = tag == "h1"

    def handle_endtag(self, tag: str) -> None:
        self._in_h1 = False

    def handle_data(self, data: str) -> None:
        if self._in_h1:
            self.h1 += data


def test_report_html_escapes_names(hostile) -> None:  # type: ignore[no-untyped-def]
    folder, _ = hostile
    page = (folder / "out" / "report.html").read_text()
    assert "<script" not in page and not RAW_CONTROL.findall(page)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;|Bus 4" in page
    parsed = _Page()
    parsed.feed(page)
    assert "script" not in parsed.tags
    assert parsed.h1 == (
        "Dispatch plan: Case \\u202eevil\\u2066 <b>x</b>\\r\\n[l](http://x) \\x9b31m"
    )
    assert 'aria-label="network drawing of =1+2\\n# FORGED HEADING' in page


def test_plan_json_keeps_the_raw_names(hostile) -> None:  # type: ignore[no-untyped-def]
    folder, _ = hostile
    plan = json.loads((folder / "out" / "plan.json").read_text())
    [stage] = plan["stages"]
    assert plan["case"]["name"] == NAMES["case_name"]
    assert stage["name"] == NAMES["stage"]
    assert [r["ref"] for r in stage["out_of_service"]] == [NAMES["out_of_service"]]
    assert {t["connection_point"] for t in stage["trucks"]} == set(NAMES["points"])


def _escaped_path(path: Path) -> str:
    return str(path).replace("\x1b", "\\x1b").replace("\n", "\\n")


@pytest.mark.parametrize("name", sorted(REFUSED["faults"]))
def test_refused_input_names_are_escaped_one_problem_a_line(name: str, tmp_path, cli) -> None:  # type: ignore[no-untyped-def]
    fault = REFUSED["faults"][name]
    case = _write(tmp_path, NAMES, fault)
    if "case_file" in fault:
        case = tmp_path / fault["case_file"]
    for command in ("check", "plan"):
        args = ("--out", tmp_path / "out") if command == "plan" else ()
        result = cli(command, case, *args)
        assert result.exit_code == 2
        assert not RAW_CONTROL.findall(result.output)
        expect = [line.replace("{case}", _escaped_path(case)) for line in fault["expect"]]
        assert result.output.splitlines() == expect
