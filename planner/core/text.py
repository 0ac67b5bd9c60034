"""Untrusted text shown safely: one escaping rule per sink (terminal, CSV, Markdown, HTML).

Names of stages, elements, trucks and the case come from files other people wrote. Shown as
they are, an escape sequence drives the terminal, a leading `=` is a live spreadsheet formula
and a newline forges a heading in plan.md. Each function here makes a name inert for one sink
and leaves ordinary names (`Line 2-3`, `bus:RMU Y1-3`, `bus:#30`) as they were. The data files
(plan.json) keep the raw names: there the JSON encoding is the escaping.
"""

from __future__ import annotations

import html
import re

__all__ = [
    "for_csv_cell",
    "for_html",
    "for_markdown",
    "for_markdown_code",
    "for_terminal",
    "visible_controls",
]

# C0 controls (with TAB, LF, CR, ESC), DEL, C1 controls, the bidi controls (Bidi_Control: U+061C,
# U+200E/F, U+202A-E, U+2066-9), the line and paragraph separators, and lone surrogates, which
# no UTF-8 output can encode. Other format characters (ZWJ, ZWNJ) stay: names in many
# scripts need them, and they drive nothing.
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _SHORT.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible_controls(text: str) -> str:
    """`text` with every control character written as an escape (`\\x1b`, `\\n`, `\\u202e`)."""
    return _CONTROL.sub(_visible, text)


def for_terminal(text: str) -> str:
    """One line for stdout/stderr: no character reaches the terminal that it would act on."""
    return visible_controls(text)


# What a spreadsheet reads as the start of a formula (OWASP "CSV injection"), with the
# full-width forms some spreadsheets also accept.
_FORMULA_START = frozenset("=+-@\t\r|\uff1d\uff0b\uff0d\uff20")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def for_csv_cell(value: object) -> object:
    """A CSV cell: text that a spreadsheet would run as a formula gets a leading `'`.

    Numbers (and text that is exactly a decimal number) stay as they are; control characters
    are escaped, so a cell never spans records. Quoting is left to the `csv` module.
    """
    if not isinstance(value, str):
        return value
    if _NUMBER.fullmatch(value):
        return value
    head = value.lstrip(" ")[:1]
    if value[:1] in _FORMULA_START or head in _FORMULA_START:
        value = "'" + value
    return visible_controls(value)


# Inline Markdown anywhere in a line: escapes, code, emphasis, strikethrough, links and images,
# HTML tags and entities, table cells, math. All are ASCII punctuation, which CommonMark lets a
# backslash make literal (GFM tables honour `\|` in a cell). URL and www autolinks are broken
# by escaping their `:` and `.` (_MD_URL). An e-mail-like name (`a@b.c`) can still become a
# mailto link in GFM: its autolinker reads the text after escapes are undone, so no escape
# prevents it; its target is then exactly the text shown.
_MD_INLINE = re.compile(r"([\\`*_~\[\]<>|&$])")
# Block constructs open only at the start of a line: headings, bullets, thematic breaks, setext
# underlines (`#`, `+`, `-`, `=`) and ordered lists (`1.` / `1)` before a space); a name is
# escaped at its start in case it is put there. (Quotes, fences and `*`/`_` rules are escaped
# everywhere above.)
_MD_BLOCK_START = re.compile(r"^( *)([#+\-=]|\d+[.)](?=[ \t]|$))")
_MD_URL = re.compile(r"(?i)(?<=www)\.|:(?=//)")
# `#`s closing a heading: a name ending in " #" would lose them there.
_MD_HEADING_END = re.compile(r"(?<= )#(?=#* *$)")


def for_markdown(text: str) -> str:
    """Text inside a Markdown line, shown literally: it cannot start a heading, list item, table
    cell, link, autolink or HTML tag, and it holds no newline.
    """
    text = _MD_INLINE.sub(r"\\\1", visible_controls(text))
    text = _MD_URL.sub(lambda m: "\\" + m.group(), text)
    text = _MD_HEADING_END.sub(r"\\#", text)
    return _MD_BLOCK_START.sub(_escape_block_start, text, count=1)


def _escape_block_start(match: re.Match[str]) -> str:
    spaces, marker = match.group(1), match.group(2)
    if marker[0].isdigit():
        return f"{spaces}{marker[:-1]}\\{marker[-1]}"
    return f"{spaces}\\{marker}"


def for_markdown_code(text: str) -> str:
    """A Markdown code span showing `text` literally (outside tables: there `|` needs `\\|`)."""
    text = visible_controls(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith(("`", " ")) or text.endswith(("`", " ")) else ""
    return f"{fence}{pad}{text}{pad}{fence}" if text else ""


def for_html(text: str) -> str:
    """Text for HTML or SVG content and quoted attribute values: `& < > " '` as entities."""
    return html.escape(visible_controls(text), quote=True)
