"""Element references `table:name` / `table:#index`, resolved against a pandapower net."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import pandapower as pp

__all__ = ["TABLES", "ElementRef", "Namer", "ref_for", "resolve_ref", "unique_names"]

TABLES = ("bus", "line", "trafo", "trafo3w", "switch", "load", "sgen", "gen", "ext_grid")


@dataclass(frozen=True, order=True)
class ElementRef:
    """A resolved reference: the text as written and the pandapower element it names."""

    table: str
    index: int
    text: str

    def as_json(self) -> dict[str, object]:
        return {"ref": self.text, "table": self.table, "index": self.index}


def ref_for(net: pp.pandapowerNet, table: str, index: int) -> ElementRef:
    """The canonical reference of an element: by unique name when it has one, else by index.

    A name starting with `#` is never used: `table:#3` always means index 3, so a bus named "#3"
    cannot pass for bus 3 (in findings, exemptions or a crew's sheet)."""
    name = net[table].at[index, "name"] if "name" in net[table].columns else None
    if (
        isinstance(name, str)
        and name
        and not name.startswith("#")
        and (net[table]["name"] == name).sum() == 1
    ):
        return ElementRef(table, int(index), f"{table}:{name}")
    return ElementRef(table, int(index), f"{table}:#{int(index)}")


def unique_names(net: pp.pandapowerNet, table: str) -> dict[int, str]:
    """The elements of `table` that `ref_for` names by name: index -> its name (a non-empty
    text not starting with `#` that no other element of the table has)."""
    df = net[table]
    if "name" not in df.columns or not len(df):
        return {}
    names = df["name"]
    texts = names[names.map(lambda n: isinstance(n, str) and bool(n) and not n.startswith("#"))]
    counts = names[names.map(lambda n: isinstance(n, str))].value_counts()
    once = set(counts.index[counts.to_numpy() == 1])
    return {int(i): n for i, n in texts.items() if n in once}


class Namer:
    """`ref_for` for many elements of one network whose names do not change while it is used:
    each table's unique names are found once (`unique_names`), not once per reference."""

    def __init__(self, net: pp.pandapowerNet) -> None:
        self.net = net
        self._names: dict[str, dict[int, str]] = {}

    def __call__(self, table: str, index: int) -> ElementRef:
        names = self._names.get(table)
        if names is None:
            names = self._names[table] = unique_names(self.net, table)
        name = names.get(int(index))
        text = f"{table}:#{int(index)}" if name is None else f"{table}:{name}"
        return ElementRef(table, int(index), text)


def resolve_ref(
    net: pp.pandapowerNet, text: object, tables: tuple[str, ...] = TABLES
) -> ElementRef | str:
    """Resolve `text`; returns the reference, or a message saying what is wrong with it."""
    if not isinstance(text, str):
        return f"expected a reference like 'line:NAME' or 'line:#3', got {text!r}"
    table, sep, rest = text.partition(":")
    if not sep or not rest:
        return f"{text!r} is not a reference: expected 'table:name' or 'table:#index'"
    if table not in tables:
        allowed = ", ".join(tables)
        return f"{text!r}: table {table!r} is not allowed here (allowed: {allowed})"
    df = net[table]
    if rest.startswith("#"):
        digits = rest[1:]
        if not digits.isdigit():
            return f"{text!r}: index {digits!r} is not a whole number"
        index = int(digits)
        if index not in df.index:
            return f"{text!r}: the network has no {table} with index {index}"
        return ElementRef(table, index, text)
    names = df["name"] if "name" in df.columns else None
    if names is None:
        return f"{text!r}: {table} elements of this network have no names; use '{table}:#index'"
    hits = df.index[names == rest]
    if len(hits) == 1:
        return ElementRef(table, int(hits[0]), text)
    if len(hits) > 1:
        shown = ", ".join(f"#{int(i)}" for i in hits[:6])
        return (
            f"{text!r}: {len(hits)} {table} elements are named {rest!r} ({shown}); "
            f"use '{table}:#index'"
        )
    candidates = sorted({n for n in names if isinstance(n, str)})
    close = difflib.get_close_matches(rest, candidates, n=3, cutoff=0.6)
    hint = f"; close matches: {', '.join(repr(c) for c in close)}" if close else ""
    return f"{text!r}: no {table} named {rest!r}{hint}"
