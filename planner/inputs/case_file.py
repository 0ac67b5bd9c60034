"""Reading a case file: bytes, TOML, digest; the builder checks and resolves what it says."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

from planner.core.errors import CaseError, Problem
from planner.inputs.case import Case
from planner.inputs.case_builder import CaseBuilder

__all__ = ["load_case"]


def load_case(path: str | Path) -> Case:
    """Read, check and resolve a case file. Raises `CaseError` listing every problem."""
    path = Path(path)
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CaseError([Problem(file, "", f"cannot read case file: {exc.strerror}")]) from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CaseError([Problem(file, "", "case file is not UTF-8 text")]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise CaseError([Problem(file, "", f"not valid TOML: {exc}")]) from exc
    return CaseBuilder(file, path.parent, hashlib.sha256(raw).hexdigest()).build(data)
