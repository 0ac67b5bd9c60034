"""SimBench networks kept on disk: building one from SimBench's CSV tables takes seconds (the
10,458-bus MV+LV grid with its profiles about 6 s), reading it back as pandapower JSON a third
of that.

A cache file is keyed by the SimBench code, the simbench and pandapower versions and this
module's `FORMAT` (its name is their hash), and lives under `$XDG_CACHE_HOME/planner/simbench`
(else `~/.cache/planner/simbench`); `PLANNER_CACHE=off` turns it off. It is written atomically
(a temporary file renamed into place) and never trusted: it is read by the allow-list check that
every pandapower JSON network passes (`safe_json`, never pickle) and used only when it is the
user's own file, its header names the same code and versions, and the network read back has the
fingerprint (`network_sha256`) its header records from the build that wrote it (a check that
the file is whole and unedited, not a second build). Anything else (a missing, corrupt,
truncated, foreign or edited file, or one that cannot be written) means a fresh load: the cache
can only save time. A file the planner did not write (not a regular file of the user's own,
named by and headed with its key) is never overwritten.

pandapower's own `to_json` writes numbers with 15 significant digits (0.47100000000000003
comes back as 0.471), so tables are written here with Python's exact float text instead, in
pandapower's own layout, and read back by pandapower's own reader.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import math
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FORMAT", "cache_dir", "cache_path", "cached_simbench", "exact_json", "file_text"]

log = logging.getLogger(__name__)

FORMAT = 1  # raised whenever what is written changes

# the largest cache file read back (the 10,458-bus grid with its profiles takes 26 MB)
MAX_CACHE_BYTES = 128 * 2**20

Loader = Callable[[str], Any]  # code -> pandapowerNet
Fingerprint = Callable[[Any], str]  # net -> sha256


def cache_dir() -> Path | None:
    """Where SimBench networks are cached, or None when `PLANNER_CACHE=off`."""
    if os.environ.get("PLANNER_CACHE", "").strip().lower() in ("off", "0", "no", "false"):
        return None
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "planner" / "simbench"


def _key(code: str) -> dict[str, Any]:
    import pandapower
    import simbench

    return {
        "format": FORMAT,
        "code": code,
        "simbench": str(simbench.__version__),
        "pandapower": str(pandapower.__version__),
    }


def cache_path(code: str) -> Path | None:
    """The cache file of SimBench network `code` for the installed versions (None: no cache)."""
    folder = cache_dir()
    if folder is None:
        return None
    return folder / _file_name(_key(code))


def _file_name(key: dict[str, Any]) -> str:
    """A cache file's name: its key's hash."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    return f"{digest[:40]}.json"


def cached_simbench(code: str, load: Loader, fingerprint: Fingerprint) -> tuple[Any, str]:
    """SimBench network `code` and its fingerprint: from the cache when it holds the very
    network, else from `load` (then cached for the next run)."""
    path = cache_path(code)
    if path is not None:
        net = _read(path, code, fingerprint)
        if net is not None:
            return net
    net = load(code)
    sha = fingerprint(net)
    if path is not None and _ours_or_none(path):
        _write(path, code, net, sha)
    return net, sha


def _ours_or_none(path: Path) -> bool:
    """Whether `path` may be (re)written: there is no file there, or it is a cache file the
    planner wrote: a regular file (not a link) of the user's own, its first line the header
    `file_text` writes, with exactly its keys, and named by that key. Anything else is left
    alone."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    if not stat.S_ISREG(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
        return False
    try:
        with path.open("rb") as handle:
            header = json.loads(handle.readline(4096))
    except (OSError, ValueError):
        return False
    if not isinstance(header, dict) or set(header) != {"key", "sha256"}:
        return False
    key = header["key"]
    return (
        isinstance(key, dict)
        and set(key) == {"format", "code", "simbench", "pandapower"}
        and all(isinstance(value, str | int) for value in key.values())
        and path.name == _file_name(key)
    )


def _read(path: Path, code: str, fingerprint: Fingerprint) -> tuple[Any, str] | None:
    """The cached network and its fingerprint, or None (logged) when the file is not there or
    not exactly the network it claims to be."""
    from planner.inputs.safe_json import check_pandapower_json

    try:
        if not path.is_file():
            return None
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            if info.st_size > MAX_CACHE_BYTES:
                return None
            if hasattr(os, "getuid") and info.st_uid != os.getuid():
                log.info("SimBench cache %s belongs to another user: not used", path)
                return None
            data = handle.read(MAX_CACHE_BYTES + 1)  # whatever it grew to since
        if len(data) > MAX_CACHE_BYTES:
            return None
        head, _, body = data.decode("utf-8").partition("\n")
        del data
        header = json.loads(head)
        if not isinstance(header, dict) or header.get("key") != _key(code):
            log.info("SimBench cache %s is for another code or version: not used", path)
            return None
        check_pandapower_json(body)
        net = _quiet(_from_json, body)
        sha = fingerprint(net)
        if sha != header.get("sha256"):
            log.info("SimBench cache %s does not hold the network it names: not used", path)
            return None
        return net, sha
    except Exception as exc:  # whatever is wrong with the file, a fresh load follows
        log.info("SimBench cache %s not used (%s)", path, type(exc).__name__)
        return None


def _from_json(text: str) -> Any:
    import pandapower as pp

    return pp.from_json_string(text)


def _write(path: Path, code: str, net: Any, sha: str) -> None:
    """Write the cache file atomically; a failure is logged, never raised."""
    tmp: str | None = None
    try:
        text = file_text(code, net, sha)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
        tmp = None
    except Exception as exc:  # a read-only or full disk: the run goes on uncached
        log.info("SimBench cache %s not written (%s)", path, type(exc).__name__)
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def file_text(code: str, net: Any, sha: str) -> str:
    """A cache file: a line of JSON with the key and the fingerprint, then the network."""
    header = json.dumps({"key": _key(code), "sha256": sha}, sort_keys=True)
    return header + "\n" + exact_json(net)


def exact_json(net: Any) -> str:
    """`net` as pandapower JSON whose tables keep every float exactly (see the module
    docstring); a table this cannot write exactly keeps pandapower's own text."""
    from pandapower.io_utils import PPJSONEncoder

    class Exact(PPJSONEncoder):
        def default(self, o: Any) -> Any:
            d = super().default(o)
            if isinstance(o, pd.DataFrame) and isinstance(d, dict) and d.get("orient") == "split":
                text = _split_text(o)
                if text is not None:
                    d["_object"] = text
            return d

    return json.dumps(net, cls=Exact, indent=None)


def _split_text(table: pd.DataFrame) -> str | None:
    """`table` as pandas' `split` JSON (columns, index, rows) with exact floats; None when a
    column or the index holds anything but numbers, booleans, text and missing values."""
    if isinstance(table.index, pd.MultiIndex) or not len(table.columns):
        return None
    if not all(isinstance(name, str) for name in table.columns):
        return None
    columns = []
    for name in table.columns:
        cells = _cells(table[name])
        if cells is None:
            return None
        columns.append(cells)
    index = _cells(table.index.to_series())
    if index is None or any(cell is None for cell in index):
        return None
    rows = [list(row) for row in zip(*columns, strict=True)] if columns else []
    try:
        return json.dumps(
            {"columns": list(table.columns), "index": index, "data": rows},
            allow_nan=False,
        )
    except ValueError:  # an infinity: pandas' own text is kept
        return None


def _cells(column: pd.Series) -> list[Any] | None:
    kind = column.dtype.kind
    if not isinstance(column.dtype, np.dtype):  # pandas' own types: Int64 and boolean here
        if kind not in "iub":
            return None
        return [None if value is pd.NA else value for value in column.tolist()]
    if kind in "iub":
        return column.tolist()
    if kind == "f":
        return [None if math.isnan(v) else v for v in column.tolist()]
    if kind != "O":
        return None
    cells: list[Any] = []
    for value in column.tolist():
        if value is None or isinstance(value, str | bool | int):
            cells.append(value)
        elif isinstance(value, float):
            cells.append(None if math.isnan(value) else value)
        else:
            return None
    return cells


def _quiet(func: Callable[..., Any], *args: Any) -> Any:
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        return func(*args)
