"""Typed field reading for TOML/JSON input that collects problems instead of stopping at one."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from planner.core.errors import Problem

__all__ = ["MISSING", "YEARS", "Reader", "join_key", "shown"]

MISSING: Any = object()

# the years a case or plan time may be in: wide enough for any works, narrow enough that every
# time, plus any stage or set-up duration, stays a valid date in every time zone
YEARS = (1900, 2200)

_TYPE_NAMES = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "a table",
    datetime: "an offset date-time",
}


def join_key(parent: str, key: str | int) -> str:
    """`stages[1]` + `name` -> `stages[1].name`; `stages` + 1 -> `stages[1]`."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if not key.isprintable() or len(key) > _SHOWN:  # control characters escaped, cut short
        inner = repr(key)[1:-1]
        key = f'"{inner if len(inner) <= _SHOWN else inner[: _SHOWN - 3] + "..."}"'
    return f"{parent}.{key}" if parent else key


class Reader:
    """Reads typed values out of nested dicts, recording a `Problem` for each bad one."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def error(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.file, key, message))

    def table(
        self,
        parent: dict[str, Any],
        key: str,
        path: str,
        known: set[str],
        *,
        required: bool = False,
    ) -> dict[str, Any] | None:
        """A sub-table; unknown keys in it are reported. None when absent or of the wrong type."""
        value = parent.get(key, MISSING)
        if value is MISSING:
            if required:
                self.error(path, "required table is missing")
            return None if required else {}
        if not isinstance(value, dict):
            self.error(path, f"expected a table, got {_describe(value)}")
            return None
        self.unknown_keys(value, path, known)
        return value

    def unknown_keys(self, data: dict[str, Any], path: str, known: set[str]) -> None:
        import difflib

        for key in data:
            if key not in known:
                close = difflib.get_close_matches(key, sorted(known), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                allowed = ", ".join(sorted(known))
                self.error(join_key(path, key), f"unknown key (allowed: {allowed}){hint}")

    def value(
        self,
        data: dict[str, Any],
        key: str,
        path: str,
        kind: type,
        default: Any = MISSING,
        check: Callable[[Any], str | None] | None = None,
    ) -> Any:
        """A scalar of `kind`; `check` returns a message when the value is out of range."""
        full = join_key(path, key)
        raw = data.get(key, MISSING)
        if raw is MISSING:
            if default is MISSING:
                self.error(full, "required key is missing")
            return None if default is MISSING else default
        value = self.convert(raw, kind, full)
        if value is None:
            return None
        if check is not None:
            message = check(value)
            if message:
                self.error(full, f"{message}, got {shown(raw)}")
                return None
        return value

    def convert(self, raw: Any, kind: type, key: str) -> Any:
        """`raw` as `kind`, or None with a problem recorded."""
        ok = True
        if kind is float:
            ok = isinstance(raw, int | float) and not isinstance(raw, bool)
            if ok and isinstance(raw, int) and abs(raw) > _FLOAT_INT:
                self.error(key, f"is too large, got {shown(raw)}")
                return None
            if ok and not math.isfinite(raw):
                self.error(key, f"expected a finite number, got {shown(raw)}")
                return None
            raw = float(raw) if ok else raw
        elif kind is int:
            ok = isinstance(raw, int) and not isinstance(raw, bool)
        elif kind is datetime:
            raw = _as_datetime(raw)
            if isinstance(raw, datetime) and raw.tzinfo is None:
                self.error(
                    key,
                    "expected an offset date-time such as 2025-05-12T06:00:00+08:00"
                    " (the time zone offset is missing)",
                )
                return None
            if isinstance(raw, datetime) and not YEARS[0] <= raw.year <= YEARS[1]:
                self.error(
                    key,
                    f"must be in the years {YEARS[0]} to {YEARS[1]}, got {raw.isoformat()}",
                )
                return None
            ok = isinstance(raw, datetime)
        else:
            ok = isinstance(raw, kind) and not (kind is int and isinstance(raw, bool))
        if not ok:
            self.error(
                key, f"expected {_TYPE_NAMES.get(kind, kind.__name__)}, got {_describe(raw)}"
            )
            return None
        return raw


_FLOAT_INT = (
    10**300
)  # a whole number beyond this is no sane value of any key (and near float's end)
_SHOWN = 60


def shown(value: Any, limit: int = _SHOWN) -> str:
    """`repr(value)` for a message, control characters escaped, cut short past `limit`."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**limit:
        return f"a whole number of {len(str(abs(value)))} digits"
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 5]}... ({len(text)} characters)"


def _as_datetime(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return datetime.fromisoformat(raw)
        except ValueError:
            return raw
    return raw


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {value!r}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, datetime):
        return f"date-time {value.isoformat()}"
    return f"{type(value).__name__} {shown(value)}"


def positive(value: float) -> str | None:
    return None if value > 0 else "must be greater than 0"


def non_negative(value: float) -> str | None:
    return None if value >= 0 else "must be 0 or more"


def between(low: float, high: float, *, low_open: bool = False) -> Callable[[float], str | None]:
    def check(value: float) -> str | None:
        inside = (value > low if low_open else value >= low) and value <= high
        bracket = "(" if low_open else "["
        return None if inside else f"must be in {bracket}{low}, {high}]"

    return check


def at_most(high: float) -> Callable[[float], str | None]:
    def check(value: float) -> str | None:
        return None if value <= high else f"must be at most {high:g}"

    return check


def at_least(low: float) -> Callable[[float], str | None]:
    def check(value: float) -> str | None:
        return None if value >= low else f"must be at least {low:g}"

    return check


def all_of(*checks: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    """The first complaint of `checks`, in order (so a sign error reads as before a bound)."""

    def check(value: Any) -> str | None:
        for each in checks:
            message = each(value)
            if message:
                return message
        return None

    return check


def one_of(*choices: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value in choices else f"must be one of {', '.join(map(repr, choices))}"

    return check
