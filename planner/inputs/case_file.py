"""Reading a case file: bytes, TOML, digest; the builder checks and resolves what it says."""

from __future__ import annotations

import hashlib
import stat
import tomllib
from pathlib import Path
from typing import Any

from planner.core.errors import CaseError, Problem
from planner.inputs.case import Case
from planner.inputs.case_builder import CaseBuilder

__all__ = ["MAX_CASE_BYTES", "load_case", "read_case_data"]

MAX_CASE_BYTES = 4_000_000  # a case is a page of TOML; thousands of load names fit in this


def load_case(path: str | Path) -> Case:
    """Read, check and resolve a case file. Raises `CaseError` listing every problem."""
    path = Path(path)
    data, raw = read_case_data(path)
    return CaseBuilder(str(path), path.parent, hashlib.sha256(raw).hexdigest()).build(data)


def read_case_data(path: Path) -> tuple[dict[str, Any], bytes]:
    """A case file's parsed TOML and its bytes, read within `MAX_CASE_BYTES`; nothing checked
    beyond being TOML. Raises `CaseError` naming the file."""
    file = str(path)

    def fail(message: str) -> CaseError:
        return CaseError([Problem(file, "", message)])

    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO or device would block or never end
            raise fail("cannot read case file: not a regular file")
        with path.open("rb") as handle:
            raw = handle.read(MAX_CASE_BYTES + 1)
    except OSError as exc:
        raise fail(f"cannot read case file: {exc.strerror}") from exc
    except ValueError as exc:  # a NUL in the path
        raise fail("cannot read case file: the path holds a NUL character") from exc
    if len(raw) > MAX_CASE_BYTES:
        raise fail(
            f"the case file is larger than {MAX_CASE_BYTES:,} bytes; a case is a page of TOML"
        )
    try:
        return tomllib.loads(raw.decode("utf-8")), raw
    except UnicodeDecodeError as exc:
        raise fail("case file is not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise fail(f"not valid TOML: {exc}") from exc
    except RecursionError as exc:
        raise fail("not valid TOML: arrays or tables nested too deeply") from exc
    except ValueError as exc:  # Python refuses to read whole numbers of over 4,300 digits
        raise fail("not valid TOML: a number too long to read") from exc
