"""OpenDSS feeders (`.dss`), read as data: the statements of the subset the planner takes.

pandapower's own converter runs the file through the OpenDSS engine (OpenDSSDirect.py, not a
dependency here), which executes it as a script: `Redirect`, `Compile`, `Export` and `Save`
read and write other files. A network comes from other people, so it is read here as data:

- commands `Clear`, `New`, `Set voltagebases=... / defaultbasefrequency=...`,
  `Calcvoltagebases`, `Solve` (ignored), `Open`/`Close Line.X [terminal]` and
  `Buscoords FILE` (a plain file name in the same folder: `bus, x, y` per line); any other
  command (Redirect, Compile, Edit, Export, ...) is refused;
- classes `Circuit` (the source: an ext_grid at `bus1`), `LineCode`, `Line` (with a
  `linecode` or `r1`/`x1`/`c1`; `switch=yes` is a bus-bus switch), `Transformer` (two
  windings: `buses`/`kvs`/`kvas`/`%rs` arrays or `wdg=`, `xhl`, `%noloadloss`, `%imag`) and
  `Load` (`kw` with `kvar` or `pf`); three-phase only; every property `key=value` and known
  (positional properties and unknown keys are refused, naming the line and object);
- buses take their voltage from the source's `basekv` through lines and transformer
  windings; a bus no element ties to the source, or given two voltages, is refused.

Lengths and impedances use `units` (none, km, m, mi, kft, ft, in, cm; none reads as km, as
pandapower's converter does: the impedance in ohm is the same). Defaults are OpenDSS's own
(`normamps` 400 A, `xhl` 7 %, `%r` 0.2 % a winding, load `pf` 0.88, frequency 60 Hz).
"""

from __future__ import annotations

import math
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from planner.inputs.converters import ConversionError

__all__ = ["UNITS_KM", "DssModel", "DssObject", "bus_name", "parse_dss", "to_number", "values"]

UNITS_KM = {
    "none": 1.0,
    "km": 1.0,
    "m": 1e-3,
    "mi": 1.609344,
    "kft": 0.3048,
    "ft": 3.048e-4,
    "in": 2.54e-5,
    "cm": 1e-5,
}
MAX_COORD_BYTES = 16 * 2**20
_PROPERTIES = {
    "circuit": {
        "bus1",
        "basekv",
        "pu",
        "angle",
        "phases",
        "frequency",
        "mvasc3",
        "mvasc1",
        "x1r1",
        "x0r0",
    },
    "linecode": {"nphases", "r1", "x1", "c1", "r0", "x0", "c0", "units", "normamps", "emergamps"},
    "line": {
        "bus1",
        "bus2",
        "linecode",
        "length",
        "units",
        "r1",
        "x1",
        "c1",
        "r0",
        "x0",
        "c0",
        "normamps",
        "emergamps",
        "phases",
        "switch",
        "enabled",
    },
    "transformer": {
        "phases",
        "windings",
        "buses",
        "kvs",
        "kvas",
        "conns",
        "xhl",
        "%rs",
        "wdg",
        "bus",
        "kv",
        "kva",
        "conn",
        "%r",
        "%loadloss",
        "%noloadloss",
        "%imag",
        "enabled",
    },
    "load": {"bus1", "phases", "kv", "kw", "kvar", "pf", "model", "conn", "enabled"},
}
_IGNORED = ("clear", "calcvoltagebases", "calcv", "solve")
_TOKEN = re.compile(r"""\s*(?:([^\s=]+)\s*=\s*)?("[^"]*"|'[^']*'|\[[^\]]*\]|\([^)]*\)|[^\s]+)""")


@dataclass
class DssObject:
    cls: str
    name: str
    line: int
    props: dict[str, str] = field(default_factory=dict)
    windings: list[dict[str, str]] = field(default_factory=list)

    def where(self) -> str:
        return f"line {self.line}: {self.cls}.{self.name!r}"


@dataclass
class DssModel:
    objects: list[DssObject] = field(default_factory=list)
    opened: dict[tuple[str, str], int] = field(default_factory=dict)  # (cls, name) -> terminal
    frequency: float = 60.0
    coords: dict[str, tuple[float, float]] = field(default_factory=dict)
    defined: set[tuple[str, str]] = field(default_factory=set)  # (cls, name lowered)


def parse_dss(path: Path, limit: int) -> DssModel:
    """The statements of one OpenDSS file (and its Buscoords file), or `ConversionError`."""
    data = path.read_bytes()
    if len(data) > limit:
        raise ConversionError(f"{len(data):,} bytes, more than {limit:,}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConversionError(f"line {line}: not UTF-8 text") from None
    read = DssModel()
    for number, statement in _statements(text):
        _command(statement, number, read, path.parent)
    return read


def _statements(text: str) -> list[tuple[int, str]]:
    """(line number, statement) with comments cut and `~` continuations joined (in time
    linear in the text: the parts of a statement are joined once)."""
    found: list[tuple[int, list[str]]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _uncomment(raw).strip()
        if any(ord(c) < 32 and c != "\t" for c in line):
            raise ConversionError(f"line {number}: control character in {line[:40]!r}")
        if not line:
            continue
        if line.startswith("~") or line.lower().startswith("more "):
            if not found:
                raise ConversionError(f"line {number}: a continuation with nothing before it")
            found[-1][1].append(line[1:] if line.startswith("~") else line[5:])
        else:
            found.append((number, [line]))
    return [(number, " ".join(parts)) for number, parts in found]


def _uncomment(line: str) -> str:
    quote = ""
    for i, c in enumerate(line):
        if quote:
            quote = "" if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c == "!" or line.startswith("//", i):
            return line[:i]
    return line


def _tokens(statement: str, number: int) -> list[tuple[str | None, str]]:
    tokens: list[tuple[str | None, str]] = []
    position = 0
    while position < len(statement):
        match = _TOKEN.match(statement, position)
        if match is None or match.end() == position:
            break
        key, value = match.group(1), match.group(2)
        tokens.append((key.lower() if key else None, _unquote(value)))
        position = match.end()
    if statement[position:].strip():
        raise ConversionError(f"line {number}: cannot read {statement[position:][:40]!r}")
    return tokens


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] + value[-1] in ('""', "''", "[]", "()"):
        return value[1:-1].strip()
    return value


def _command(statement: str, number: int, read: DssModel, folder: Path) -> None:
    tokens = _tokens(statement, number)
    verb = (tokens[0][1] if tokens[0][0] is None else "").lower()
    args = tokens[1:]
    if verb in _IGNORED:
        return
    if verb == "new":
        _new(args, number, read)
    elif verb == "set":
        for key, value in args:
            if key == "voltagebases":
                continue
            if key == "defaultbasefrequency":
                read.frequency = to_number(value, f"line {number}: defaultbasefrequency")
            else:
                raise ConversionError(f"line {number}: Set {key or value!r} is not supported")
    elif verb in ("open", "close"):
        if not args or args[0][0] not in (None, "object"):
            raise ConversionError(f"line {number}: {verb} needs an element, e.g. Line.L1")
        cls, _, name = args[0][1].partition(".")
        if cls.lower() != "line" or not name:
            raise ConversionError(f"line {number}: only lines open or close, not {args[0][1]!r}")
        terminal = int(to_number(args[1][1], f"line {number}: terminal")) if len(args) > 1 else 1
        if terminal not in (1, 2):
            raise ConversionError(f"line {number}: terminal {terminal!r} is not 1 or 2")
        line_key = ("line", name.lower())
        if verb == "open":
            read.opened[line_key] = terminal
        else:
            read.opened.pop(line_key, None)
    elif verb in ("buscoords", "latlongcoords"):
        if len(args) != 1:
            raise ConversionError(f"line {number}: {verb} takes one file name")
        _coordinates(args[0][1], number, folder, read)
    else:
        raise ConversionError(
            f"line {number}: command {verb or statement[:20]!r} is not supported (the planner "
            "reads New, Set voltagebases, Open/Close Line, Buscoords; one file, no Redirect)"
        )


def _new(args: list[tuple[str | None, str]], number: int, read: DssModel) -> None:
    if not args or args[0][0] not in (None, "object"):
        raise ConversionError(f"line {number}: New needs Class.name first")
    cls, _, name = args[0][1].partition(".")
    cls = cls.lower()
    if cls not in _PROPERTIES or not name:
        known = ", ".join(sorted(_PROPERTIES))
        raise ConversionError(f"line {number}: element {args[0][1]!r} is not one of {known}")
    obj = DssObject(cls, name, number)
    for key, value in args[1:]:
        if key is None:
            raise ConversionError(f"{obj.where()}: positional value {value!r}: write key=value")
        if key not in _PROPERTIES[cls]:
            known = ", ".join(sorted(_PROPERTIES[cls]))
            raise ConversionError(f"{obj.where()}: unknown property {key!r} (known: {known})")
        if cls == "transformer" and key == "wdg":
            index = int(to_number(value, f"{obj.where()}: wdg"))
            if index not in (1, 2):
                raise ConversionError(f"{obj.where()}: wdg={value!r}: two windings only")
            while len(obj.windings) < index:
                obj.windings.append({})
            obj.props["wdg"] = str(index)
        elif cls == "transformer" and key in ("bus", "kv", "kva", "conn", "%r"):
            if "wdg" not in obj.props:
                raise ConversionError(f"{obj.where()}: {key}= before wdg=")
            obj.windings[int(obj.props["wdg"]) - 1][key] = value
        else:
            obj.props[key] = value
    if (cls, name.lower()) in read.defined:
        raise ConversionError(f"{obj.where()}: defined twice")
    read.defined.add((cls, name.lower()))
    read.objects.append(obj)


def _coordinates(name: str, number: int, folder: Path, read: DssModel) -> None:
    if "/" in name or "\\" in name or name.startswith("."):
        raise ConversionError(f"line {number}: Buscoords {name!r}: a file in the same folder only")
    data = _read_beside(folder / name, name, number)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConversionError(f"Buscoords file {name!r}: not UTF-8 text") from None
    for row, raw in enumerate(text.splitlines(), start=1):
        line = _uncomment(raw).strip()
        if not line:
            continue
        cells = [c for c in re.split(r"[,\s]+", line) if c]
        where = f"Buscoords file {name!r} line {row}"
        if len(cells) != 3:
            raise ConversionError(f"{where}: expected bus, x, y; got {len(cells)} values")
        read.coords[bus_name(cells[0]).lower()] = (
            to_number(cells[1], f"{where}: x"),
            to_number(cells[2], f"{where}: y"),
        )


def _read_beside(path: Path, name: str, number: int) -> bytes:
    """A plain file in the network's folder, read with its bound enforced while reading: never
    through a symbolic link (which could lead out of the folder), never a device, pipe or
    /proc file (whose size says 0), never more than `MAX_COORD_BYTES`."""
    if path.is_symlink():
        raise ConversionError(f"line {number}: Buscoords file {name!r} is a symbolic link")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ConversionError(f"line {number}: Buscoords file {name!r} not found") from None
    except OSError as exc:
        raise ConversionError(
            f"line {number}: Buscoords file {name!r} cannot be read ({type(exc).__name__})"
        ) from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ConversionError(f"line {number}: Buscoords file {name!r} is not a plain file")
        data = handle.read(MAX_COORD_BYTES + 1)
    if len(data) > MAX_COORD_BYTES:
        raise ConversionError(
            f"line {number}: Buscoords file {name!r} is over {MAX_COORD_BYTES:,} bytes"
        )
    return data


def to_number(value: str, where: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConversionError(f"{where}: {value[:40]!r} is not a number") from None
    if not math.isfinite(number) or abs(number) > 1e9:
        raise ConversionError(f"{where}: {value[:40]!r} is not a finite number up to 1e9")
    return number


def values(value: str) -> list[str]:
    return [v for v in re.split(r"[,\s]+", _unquote(value)) if v]


def bus_name(value: str) -> str:
    """A bus name without its phase suffix (`b1.1.2.3` is `b1`)."""
    return value.split(".", 1)[0]
