"""Reading a pandapower JSON network without running anything the file names.

pandapower's `from_json` imports the module an object's `_module` field names before its own
checks, and lets pandas read a DataFrame's `_object` string, which may name a file or a URL. A
network file comes from other people, so its JSON is checked first: every object must be one of
the few types a network consists of (the net itself, DataFrames and Series) and every table's data
must be inline JSON text of plain values (no object in a cell: pandapower would build whatever
it names). Only then is it handed to pandapower (which keeps its own dtype and
format handling). Anything else is refused, without echoing what the file says.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["UnsafeNetwork", "check_pandapower_json"]

ALLOWED = frozenset(
    {
        ("pandapower.auxiliary", "pandapowerNet"),
        ("pandas.core.frame", "DataFrame"),
        ("pandas.core.series", "Series"),
    }
)
TABLES = frozenset({("pandas.core.frame", "DataFrame"), ("pandas.core.series", "Series")})


class UnsafeNetwork(ValueError):
    """The file is not a pandapower network the planner reads (the message says where)."""


def check_pandapower_json(text: str) -> None:
    """Refuse a network file that names anything but a network's own types, or whose tables
    are not inline JSON."""
    try:
        data = json.loads(text)
    except RecursionError as exc:
        raise UnsafeNetwork("the JSON is nested too deeply") from exc
    except json.JSONDecodeError as exc:
        raise UnsafeNetwork(f"not valid JSON (line {exc.lineno}, column {exc.colno})") from exc
    if not isinstance(data, dict) or (data.get("_module"), data.get("_class")) != (
        "pandapower.auxiliary",
        "pandapowerNet",
    ):
        raise UnsafeNetwork("not a pandapower network (expected a pandapowerNet object)")
    if not isinstance(data.get("_object"), dict):  # a string would be parsed again, unchecked
        raise UnsafeNetwork("the network's content is not an inline JSON object")
    _walk(data, "network")


def _walk(value: Any, where: str) -> None:
    stack = [(value, where)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, list):
            stack.extend((x, at) for x in item)
            continue
        if not isinstance(item, dict):
            continue
        if "_module" in item or "_class" in item:
            kind = (item.get("_module"), item.get("_class"))
            if kind not in ALLOWED:
                raise UnsafeNetwork(f"{at}: an object of a type the planner does not load")
            if kind in TABLES:
                raw = item.get("_object")
                if not isinstance(raw, str) or not raw.lstrip().startswith(("{", "[")):
                    raise UnsafeNetwork(f"{at}: a table whose data is not inline JSON")
                _plain_table(raw, at)
                continue
        for key, child in item.items():
            stack.append((child, f"{at}.{key}" if at != "network" else str(key)))


def _plain_table(raw: str, at: str) -> None:
    """A table's inline JSON may hold only plain values: pandapower turns any object in it
    (a cell like `{"_module": ..., "_class": ...}`) into whatever that names. Every object of
    the table passes `_plain_object` as the parser builds it (lists of numbers, the bulk of a
    table, never reach Python code)."""
    try:
        json.loads(raw, object_hook=_plain_object)
    except RecursionError as exc:
        raise UnsafeNetwork(f"{at}: the table's JSON is nested too deeply") from exc
    except json.JSONDecodeError as exc:
        raise UnsafeNetwork(f"{at}: the table's data is not valid JSON") from exc
    except _ObjectInCell as exc:
        raise UnsafeNetwork(f"{at}: a table cell holds an object, not a plain value") from exc


class _ObjectInCell(Exception):
    """A JSON object of a table names a type (`_module`, `_class` or `_object`)."""


def _plain_object(item: dict[str, Any]) -> dict[str, Any]:
    if "_module" in item or "_class" in item or "_object" in item:
        raise _ObjectInCell
    return item
