"""Reading a case file: bytes, TOML, digest; the builder checks and resolves what it says."""

from __future__ import annotations

import hashlib
import stat
import tomllib
from pathlib import Path
from typing import Any

from planner.core.errors import CaseError, InputError, Problem
from planner.inputs.case import Case
from planner.inputs.case_builder import CaseBuilder

__all__ = ["MAX_CASE_BYTES", "load_case", "read_case_data", "read_toml_file"]

MAX_CASE_BYTES = 4_000_000  # a case is a page of TOML; thousands of load names fit in this


def load_case(path: str | Path) -> Case:
    """Read, check and resolve a case file. Raises `CaseError` listing every problem."""
    path = Path(path)
    data, raw = read_case_data(path)
    return CaseBuilder(str(path), path.parent, hashlib.sha256(raw).hexdigest()).build(data)


def read_case_data(path: Path) -> tuple[dict[str, Any], bytes]:
    """A case file's parsed TOML and its bytes, read within `MAX_CASE_BYTES`; nothing checked
    beyond being TOML. Raises `CaseError` naming the file."""
    return read_toml_file(
        path, "case file", MAX_CASE_BYTES, CaseError, "; a case is a page of TOML"
    )


def read_toml_file(
    path: Path, what: str, max_bytes: int, error: type[InputError], too_large: str = ""
) -> tuple[dict[str, Any], bytes]:
    """A TOML file (a `what`: "case file", "programme file") read as untrusted input: a regular
    file of at most `max_bytes`, UTF-8, TOML. Its data and bytes; else `error` naming the file."""
    file = str(path)

    def fail(message: str) -> InputError:
        return error([Problem(file, "", message)])

    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO or device would block or never end
            raise fail(f"cannot read {what}: not a regular file")
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise fail(f"cannot read {what}: {exc.strerror}") from exc
    except ValueError as exc:  # a NUL in the path
        raise fail(f"cannot read {what}: the path holds a NUL character") from exc
    if len(raw) > max_bytes:
        raise fail(f"the {what} is larger than {max_bytes:,} bytes{too_large}")
    try:
        return tomllib.loads(raw.decode("utf-8")), raw
    except UnicodeDecodeError as exc:
        raise fail(f"{what} is not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise fail(f"not valid TOML: {exc}") from exc
    except RecursionError as exc:
        raise fail("not valid TOML: arrays or tables nested too deeply") from exc
    except ValueError as exc:  # Python refuses to read whole numbers of over 4,300 digits
        raise fail("not valid TOML: a number too long to read") from exc
