"""Loading the network a case names: pandapower JSON, MATPOWER, `pandapower:` and `simbench:`."""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import pandapower as pp
import pandapower.networks as pn

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
    """A fingerprint of the element tables as loaded (results and caches excluded)."""
    digest = hashlib.sha256()
    for table in ELEMENT_TABLES:
        if table not in net or len(net[table]) == 0:
            continue
        df = net[table]
        digest.update(f"[{table}]\n".encode())
        digest.update(df.reindex(sorted(df.columns), axis=1).to_csv(float_format="%.17g").encode())
    return digest.hexdigest()


def load_network(source: str, base_dir: Path, *, file: str, key: str = "case.network") -> Network:
    """Load the network named by `source`; a failure raises `NetworkError` naming file and key."""

    def fail(message: str) -> NetworkError:
        return NetworkError([Problem(file, key, message)])

    if not isinstance(source, str) or not source.strip():
        raise fail(
            f"expected a network path or 'pandapower:NAME' / 'simbench:CODE', got {source!r}"
        )
    path: Path | None = None
    if source.startswith("pandapower:"):
        net = _from_pandapower(source.removeprefix("pandapower:"), fail)
    elif source.startswith("simbench:"):
        net = _from_simbench(source.removeprefix("simbench:"), fail)
    else:
        path = (base_dir / source).resolve()
        net = _from_file(path, source, fail)
    if not isinstance(net, pp.pandapowerNet) or "bus" not in net:
        raise fail(f"{source!r} did not give a pandapower network")
    if len(net.bus) == 0:
        raise fail(f"{source!r}: the network has no buses")
    return Network(source=source, net=net, sha256=network_sha256(net), path=path)


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


def _from_simbench(code: str, fail) -> pp.pandapowerNet:
    try:
        import simbench
    except ImportError as exc:
        raise fail(
            "simbench networks need the 'simbench' package: pip install 'planner[simbench]'"
        ) from exc
    try:
        return _quiet(simbench.get_simbench_net, code)
    except Exception as exc:
        raise fail(f"simbench has no network {code!r} ({exc})") from exc


def _from_file(path: Path, source: str, fail) -> pp.pandapowerNet:
    if not path.is_file():
        raise fail(f"network file {source!r} not found (looked at {path})")
    suffix = path.suffix.lower()
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
        if suffix in (".m", ".mat"):
            from pandapower.converter.matpower import from_mpc

            return _quiet(from_mpc, str(path))
    except Exception as exc:
        raise fail(f"cannot read network file {source!r}: {type(exc).__name__}") from exc
    raise fail(f"network file {source!r}: unknown format {suffix!r} (use .json, .m or .mat)")


def shipped_networks(networks_dir: Path) -> list[tuple[str, str]]:
    """The networks shipped in `networks/` and the `pandapower:` shortcuts, with a description."""
    rows: list[tuple[str, str]] = []
    if networks_dir.is_dir():
        for path in sorted(networks_dir.glob("*.json")):
            rows.append((str(path), "pandapower JSON"))
        for path in sorted([*networks_dir.glob("*.m"), *networks_dir.glob("*.mat")]):
            rows.append((str(path), "MATPOWER case"))
    descriptions = {
        "mv_oberrhein": "MV Oberrhein, 20 kV, 179 buses, two 110/20 kV substations",
        "case33bw": "IEEE 33-bus Baran & Wu, 12.66 kV, five tie lines",
        "create_cigre_network_mv": "CIGRE MV benchmark, 20 kV, 15 buses, three tie switches",
    }
    for name in SHORTCUTS:
        rows.append((f"pandapower:{name}", descriptions[name]))
    rows.append(("simbench:<code>", "any SimBench network, e.g. simbench:1-MV-urban--0-sw"))
    return rows
