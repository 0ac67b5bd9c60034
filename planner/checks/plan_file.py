"""Reading a plan file as untrusted input: bounded size, depth and strings, finite numbers,
no key twice; and quoting its values in messages without echoing the file."""

from __future__ import annotations

import json
import math
import reprlib
import stat
from collections import Counter
from pathlib import Path
from typing import Any

from planner.core.errors import PlanFileError, Problem
from planner.inputs.case import Case
from planner.inputs.schema import join_key

__all__ = ["MAX_PLAN_BYTES", "plan_size_limit", "read_plan", "shown"]

MAX_PLAN_BYTES = 256 * 2**20  # the most any plan file is read, whatever the case
MAX_DEPTH = 32  # JSON nesting; a plan is 8 deep
MAX_TEXT = 10_000  # characters in any string of a plan (its longest are notes of ~100)
MAX_NAME = 1_000  # characters in a name the validator reads and may quote
NAMES = frozenset(
    {"id", "name", "table", "ref", "action", "element", "at", "time", "start", "end",
     "format", "online", "sha256", "network_sha256", "profile_sha256"}
)  # fmt: skip
SHOWN = 60  # the most characters of a plan's value a message quotes
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict = 2, 4, 4
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = SHOWN


def shown(value: Any, *, raw: bool = False) -> str:
    """A value from a plan as a message quotes it: its repr (control characters escaped),
    or `raw` text as it is, cut to about 60 characters; never more of the file."""
    text = value[: SHOWN + 1] if raw and isinstance(value, str) else _REPR.repr(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."


def plan_size_limit(case: Case) -> int:
    """The most bytes a plan of `case` may take: 16 MiB, plus 1 KiB per truck (and one more)
    for each check time (quarter hours, or the CSV profile's rows if finer), plus 16 bytes per
    bus for each stage's island lists; at most 256 MiB. Real plans are far smaller (the
    reference case's is 0.4 MB), and every byte read must fit in memory as Python objects."""
    rows = 0
    times = case.loads.csv_profile.times if case.loads.csv_profile is not None else ()
    for stage in case.stages:
        inside = sum(1 for t in times if stage.start <= t < stage.end)
        rows += max(int(stage.hours * 4) + 1, inside)
    per_row = 1024 * (case.fleet.trucks + 1)
    size = 16 * 2**20 + rows * per_row + 16 * len(case.network.net.bus) * len(case.stages)
    return min(size, MAX_PLAN_BYTES)


def read_plan(path: str | Path, max_bytes: int = MAX_PLAN_BYTES) -> dict[str, Any]:
    """A plan file as JSON, read as untrusted input: at most `max_bytes`, nested at most
    `MAX_DEPTH` deep, finite numbers only, no key twice in an object, bounded strings."""
    path = Path(path)
    file = str(path)

    def fail(message: str, key: str = "") -> PlanFileError:
        return PlanFileError([Problem(file, key, message)])

    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise fail("not a regular file")
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise fail(f"cannot read plan: {exc.strerror}") from exc
    if len(raw) > max_bytes:
        raise fail(
            f"larger than {max_bytes:,} bytes, more than any plan of this case can be; "
            "refused unread"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise fail("plan is not UTF-8 text") from exc
    try:
        data = json.loads(
            text,
            parse_constant=_Bad.constant,
            parse_float=_Bad.number,
            parse_int=_Bad.whole,
            object_pairs_hook=_Object.build,
        )
    except RecursionError as exc:
        raise fail(f"the JSON is nested too deeply (a plan is at most {MAX_DEPTH} deep)") from exc
    except json.JSONDecodeError as exc:
        raise fail(f"not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise fail("expected a JSON object")
    problems = _untrusted(data, file)
    if problems:
        raise PlanFileError(problems)
    return data


class _Bad:
    """A JSON value a plan may not hold (NaN, Infinity, 1e400, a 300-digit number), kept
    in place by the parser so that the walk can name its key."""

    def __init__(self, text: str, why: str) -> None:
        self.text, self.why = text, why

    @classmethod
    def constant(cls, text: str) -> _Bad:
        return cls(text, "is not a number: a plan holds finite numbers only")

    @classmethod
    def number(cls, text: str) -> float | _Bad:
        if len(text) > 40:
            return cls(text, f"has {len(text)} characters: too long for a number")
        value = float(text)
        return value if math.isfinite(value) else cls(text, "is out of range: not a finite number")

    @classmethod
    def whole(cls, text: str) -> int | _Bad:
        return int(text) if len(text) <= 20 else cls(text, f"has {len(text)} digits: too large")


class _Object(dict[str, Any]):
    """A JSON object; `repeated` lists the keys it held twice (the later value wins)."""

    repeated: tuple[str, ...] = ()

    @classmethod
    def build(cls, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = cls(pairs)
        if len(out) != len(pairs):
            counts = Counter(k for k, _ in pairs)
            out.repeated = tuple(sorted(k for k, n in counts.items() if n > 1))
        return out


def _untrusted(data: dict[str, Any], file: str) -> list[Problem]:
    """What the parser kept for the walk: bad numbers, repeated keys, nesting, long strings."""
    problems: list[Problem] = []
    stack: list[tuple[Any, str, int, str]] = [(data, "", 0, "")]
    while stack and len(problems) < 20:
        item, at, depth, name = stack.pop()
        if depth > MAX_DEPTH:
            return [Problem(file, "", f"nested more than {MAX_DEPTH} deep; a plan is 8 deep")]
        if isinstance(item, _Bad):
            problems.append(Problem(file, at, f"{shown(item.text, raw=True)} {item.why}"))
        elif isinstance(item, str):
            limit = MAX_NAME if name in NAMES else MAX_TEXT
            if len(item) > limit:
                message = f"a string of {len(item):,} characters (at most {limit:,}): {shown(item)}"
                problems.append(Problem(file, at, message))
        elif isinstance(item, list):
            stack.extend(
                (x, join_key(at, i), depth + 1, name) for i, x in reversed(list(enumerate(item)))
            )
        elif isinstance(item, dict):
            for key in getattr(item, "repeated", ()):
                problems.append(Problem(file, at, f"the key {shown(key)} appears twice"))
            for key, x in reversed(item.items()):
                part = key if key.isidentifier() and len(key) <= 60 else shown(key)
                stack.append((x, join_key(at, part), depth + 1, key))
    return problems
