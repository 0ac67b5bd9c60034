"""Loading the network a case names: pandapower JSON, MATPOWER, CGMES, UCTE, OpenDSS,
`pandapower:` and `simbench:`. The file's extension chooses the reader (`FORMATS`)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pandas as pd

from planner.core.errors import NetworkError, Problem
from planner.inputs.safe_json import UnsafeNetwork, check_pandapower_json

__all__ = [
    "BUS_COLUMNS",
    "ELEMENT_TABLES",
    "Network",
    "load_network",
    "network_sha256",
    "shipped_networks",
]

log = logging.getLogger(__name__)

# the bus columns of each element table: what ties an element to the network
BUS_COLUMNS: dict[str, tuple[str, ...]] = {
    "line": ("from_bus", "to_bus"),
    "impedance": ("from_bus", "to_bus"),
    "trafo": ("hv_bus", "lv_bus"),
    "trafo3w": ("hv_bus", "mv_bus", "lv_bus"),
    "switch": ("bus",),
    **{
        table: ("bus",)
        for table in (
            "load",
            "sgen",
            "gen",
            "ext_grid",
            "storage",
            "shunt",
            "ward",
            "xward",
            "motor",
            "asymmetric_load",
            "asymmetric_sgen",
        )
    },
}

# the tables whose rows are the network as loaded (results and caches are not)
ELEMENT_TABLES = ("bus", *BUS_COLUMNS, "dcline")

# the largest network file read: pandapower holds a JSON network in memory several times over
MAX_NETWORK_BYTES = 512 * 2**20

SHORTCUTS = ("mv_oberrhein", "case33bw", "create_cigre_network_mv")


@dataclass(frozen=True)
class Network:
    """A loaded network, never modified: the planner works on copies of `net`."""

    source: str
    net: pp.pandapowerNet
    sha256: str
    path: Path | None = None

    @property
    def is_simbench(self) -> bool:
        return self.source.startswith("simbench:")


def network_sha256(net: pp.pandapowerNet) -> str:
    """A fingerprint of the network as loaded: every table with rows (values, columns, index)
    and every scalar and setting of the net (`f_hz`, `sn_mva`, `std_types`, SimBench's
    `profiles`, ...), in key order; results, caches and pandapower's bookkeeping excluded.
    The same for every load of one file and across a `to_json`/`from_json` round trip."""
    digest = hashlib.sha256()
    for key in sorted(k for k in net if isinstance(k, str)):
        if not key.startswith(("res_", "_")) and key not in NOT_INPUT:
            _feed(digest, key, net[key])
    return digest.hexdigest()


# what pandapower keeps on a net beside the network: its versions and the last run's outcome
NOT_INPUT = frozenset({"version", "format_version", "converged", "OPF_converged"})


def _feed(digest: Any, key: str, value: Any) -> None:
    """Add one named value of the net to `digest`: tables by their rows' hashes (numbers
    compared as float64, so 60 and 60.0 agree), dicts key by key, scalars as JSON."""
    if isinstance(value, pd.Series):
        value = value.to_frame()
    if isinstance(value, pd.DataFrame):
        if len(value) == 0:
            return
        table = value.reindex(sorted(value.columns, key=str), axis=1)
        table = table.apply(_canonical_column)
        header = json.dumps([str(c) for c in table.columns])
        digest.update(f"[{key}] {len(table)} {header}\n".encode())
        digest.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
        index = _canonical_column(table.index.to_series())
        digest.update(pd.util.hash_pandas_object(index, index=False).to_numpy().tobytes())
        return
    if isinstance(value, dict):
        for name in sorted(value, key=str):
            _feed(digest, f"{key}.{name}", value[name])
        return
    digest.update(
        f"{key}={json.dumps(_canonical(value), sort_keys=True, default=_named)}\n".encode()
    )


def _canonical_column(column: pd.Series) -> pd.Series:
    """A column as float64 (numbers, booleans, nothing but missing values) or as text (a
    missing value as NUL), so that dtype alone (int or float, object or bool) does not count."""
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return column.astype("float64")
    missing = column.isna()
    kind = pd.api.types.infer_dtype(column[~missing], skipna=False)
    if kind in ("empty", "boolean", "integer", "floating", "mixed-integer-float"):
        return column.where(~missing, np.nan).astype("float64")
    if kind == "string":
        return column.where(~missing, "\0")
    return column.map(_canonical).astype(str)


def _canonical(value: Any) -> Any:
    """A cell or scalar as plain JSON data: numbers as floats, objects by their type's name."""
    if value is None or isinstance(value, str | bool | np.bool_):
        return bool(value) if isinstance(value, np.bool_) else value
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        if math.isnan(number):
            return None  # a missing value, however it is stored
        return number if math.isfinite(number) else repr(number)
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    return _named(value)


def _named(value: Any) -> str:
    kind = type(value)
    return f"<{kind.__module__}.{kind.__qualname__}>"


def load_network(source: str, base_dir: Path, *, file: str, key: str = "case.network") -> Network:
    """Load the network named by `source`; a failure raises `NetworkError` naming file and key."""

    def fail(message: str) -> NetworkError:
        return NetworkError([Problem(file, key, message)])

    if not isinstance(source, str) or not source.strip() or "\x00" in source:
        raise fail(
            f"expected a network path or 'pandapower:NAME' / 'simbench:CODE', got {source!r}"
        )
    path: Path | None = None
    sha: str | None = None
    if source.startswith("pandapower:"):
        net = _from_pandapower(source.removeprefix("pandapower:"), fail)
    elif source.startswith("simbench:"):
        net, sha = _from_simbench(source.removeprefix("simbench:"), fail)
    else:
        path = (base_dir / source).resolve()
        net = _from_file(path, source, fail)
    if not isinstance(net, pp.pandapowerNet) or "bus" not in net:
        raise fail(f"{source!r} did not give a pandapower network")
    if len(net.bus) == 0:
        raise fail(f"{source!r}: the network has no buses")
    return Network(source=source, net=net, sha256=sha or network_sha256(net), path=path)


def _quiet(func, *args):
    """Call a loader with its prints and warnings kept off the user's terminal."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        return func(*args)


def _from_pandapower(name: str, fail) -> pp.pandapowerNet:
    func = getattr(pn, name, None)
    if name.startswith("_") or not callable(func):
        import difflib

        names = [n for n in dir(pn) if not n.startswith("_") and callable(getattr(pn, n))]
        close = difflib.get_close_matches(name, names, n=3)
        hint = f"; close matches: {', '.join(close)}" if close else ""
        raise fail(f"pandapower.networks has no network function {name!r}{hint}")
    try:
        return _quiet(func)
    except Exception as exc:
        raise fail(f"pandapower.networks.{name}() failed: {exc}") from exc


def _from_simbench(code: str, fail) -> tuple[pp.pandapowerNet, str]:
    """SimBench network `code` and its fingerprint, from the disk cache when it holds exactly
    that network (`simbench_cache`)."""
    try:
        import simbench
    except ImportError as exc:
        raise fail(
            "simbench networks need the 'simbench' package: "
            "pip install 'outage-free-planner[simbench]'"
        ) from exc
    from planner.inputs.simbench_cache import cached_simbench

    def fresh(name: str) -> pp.pandapowerNet:
        try:
            return _quiet(simbench.get_simbench_net, name)
        except Exception as exc:
            raise fail(f"simbench has no network {name!r} ({exc})") from exc

    return cached_simbench(code, fresh, network_sha256)


def _from_file(path: Path, source: str, fail) -> pp.pandapowerNet:
    if not path.is_file():
        raise fail(f"network file {source!r} not found (looked at {path})")
    size = path.stat().st_size
    if size > MAX_NETWORK_BYTES:
        raise fail(
            f"network file {source!r} has {size:,} bytes, more than the {MAX_NETWORK_BYTES:,} "
            "a network file may have (the 10,458-bus SimBench grid takes 25 MB); "
            "refused unread"
        )
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(FORMATS)
        raise fail(f"network file {source!r}: unknown format {suffix!r} (use {known})")
    if suffix in CONVERTED:
        return _converted(path, source, suffix, fail)
    if suffix == ".json":
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise fail(f"cannot read network file {source!r}: {type(exc).__name__}") from exc
        try:
            check_pandapower_json(text)
        except UnsafeNetwork as exc:
            raise fail(f"network file {source!r} is refused: {exc}") from exc
    try:
        if suffix == ".json":
            return _quiet(pp.from_json_string, text)
        from pandapower.converter.matpower import from_mpc

        return _quiet(from_mpc, str(path))
    except Exception as exc:
        raise fail(f"cannot read network file {source!r}: {type(exc).__name__}") from exc


# a network file's extension -> what it holds
FORMATS = {
    ".json": "pandapower JSON",
    ".m": "MATPOWER case",
    ".mat": "MATPOWER case",
    ".zip": "CGMES 2.4.15 profiles (zip)",
    ".xml": "CGMES 2.4.15 profile (XML)",
    ".uct": "UCTE-DEF",
    ".dss": "OpenDSS (the planner's subset)",
}
CONVERTED = (".zip", ".xml", ".uct", ".dss")


@contextlib.contextmanager
def _silenced() -> Iterator[None]:
    """The converters' warnings and log records (with tracebacks, under loggers named after
    their classes) kept off the user's terminal: what matters reaches the user as the
    network's problems."""
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


def _converted(path: Path, source: str, suffix: str, fail) -> pp.pandapowerNet:
    """A CGMES, UCTE or OpenDSS file: refused with the reason where the checks or the
    converter find a problem (never the file's text beyond the value at fault)."""
    from planner.inputs.converters import ConversionError, from_cgmes, from_ucte
    from planner.inputs.opendss import read_dss

    kind = FORMATS[suffix]
    try:
        with _silenced():
            if suffix in (".zip", ".xml"):
                net = _quiet(from_cgmes, path, MAX_NETWORK_BYTES)
            elif suffix == ".uct":
                net = _quiet(from_ucte, path)
            else:
                net = read_dss(path, MAX_NETWORK_BYTES)
    except ConversionError as exc:
        raise fail(f"network file {source!r} ({kind}) is refused: {exc}") from exc
    except OSError as exc:
        raise fail(f"cannot read network file {source!r}: {type(exc).__name__}") from exc
    except Exception as exc:  # the converter's own failure on a file it cannot take
        raise fail(
            f"network file {source!r} ({kind}): pandapower's converter failed on it "
            f"({type(exc).__name__})"
        ) from exc
    return net


def shipped_networks(networks_dir: Path) -> list[tuple[str, str]]:
    """The networks shipped in `networks/` and the `pandapower:` shortcuts, with a description."""
    rows: list[tuple[str, str]] = []
    if networks_dir.is_dir():
        for path in sorted(networks_dir.glob("*.json")):
            rows.append((str(path), "pandapower JSON"))
        for suffix in [s for s in FORMATS if s != ".json"]:
            for path in sorted(networks_dir.glob(f"*{suffix}")):
                rows.append((str(path), FORMATS[suffix]))
    descriptions = {
        "mv_oberrhein": "MV Oberrhein, 20 kV, 179 buses, two 110/20 kV substations",
        "case33bw": "IEEE 33-bus Baran & Wu, 12.66 kV, five tie lines",
        "create_cigre_network_mv": "CIGRE MV benchmark, 20 kV, 15 buses, three tie switches",
    }
    for name in SHORTCUTS:
        rows.append((f"pandapower:{name}", descriptions[name]))
    rows.append(("simbench:<code>", "any SimBench network, e.g. simbench:1-MV-urban--0-sw"))
    return rows
