"""Topology of a network state: energised buses, islands, splits and radiality.

Built directly on the element tables with scipy's sparse graph routines (pandapower's networkx
graph is too slow to rebuild for every candidate switching); the tests check it against
`pandapower.topology`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandapower as pp
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["Graph", "build_graph", "cyclomatic", "energised_buses", "islands_of"]


@dataclass(frozen=True)
class Graph:
    """Buses (in-service ones) and the closed, in-service branches between them."""

    buses: np.ndarray  # pandapower bus indices, position = node number
    edges: np.ndarray  # (m, 2) node numbers
    edge_ohm: np.ndarray  # (m,) series impedance magnitude of each edge, 0 for switches
    sources: frozenset[int]  # bus indices with an in-service ext_grid (or slack gen)

    def components(self) -> np.ndarray:
        n = len(self.buses)
        if n == 0:
            return np.zeros(0, dtype=int)
        rows, cols = self.edges[:, 0], self.edges[:, 1]
        matrix = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
        return connected_components(matrix, directed=False)[1]


def _open_line_switches(net: pp.pandapowerNet) -> set[int]:
    sw = net.switch
    if len(sw) == 0:
        return set()
    mask = (sw.et == "l") & ~sw.closed.astype(bool)
    return {int(x) for x in sw.element[mask]}


def _open_trafo_switches(net: pp.pandapowerNet, et: str) -> set[int]:
    sw = net.switch
    if len(sw) == 0:
        return set()
    mask = (sw.et == et) & ~sw.closed.astype(bool)
    return {int(x) for x in sw.element[mask]}


def build_graph(net: pp.pandapowerNet) -> Graph:
    """The connectivity graph of `net` as it stands (switch states and in_service respected)."""
    bus = net.bus
    buses = bus.index[bus.in_service.astype(bool)].to_numpy()
    pos = {int(b): i for i, b in enumerate(buses)}
    pairs: list[tuple[int, int]] = []
    ohms: list[float] = []

    def add(a: int, b: int, ohm: float) -> None:
        if a in pos and b in pos:
            pairs.append((pos[a], pos[b]))
            ohms.append(ohm)

    open_lines = _open_line_switches(net)
    line = net.line[net.line.in_service.astype(bool)]
    z = np.hypot(line.r_ohm_per_km, line.x_ohm_per_km) * line.length_km / line.parallel
    for idx, fb, tb, zz in zip(line.index, line.from_bus, line.to_bus, z, strict=True):
        if int(idx) not in open_lines:
            add(int(fb), int(tb), float(zz))
    open_trafos = _open_trafo_switches(net, "t")
    for idx, hv, lv in zip(net.trafo.index, net.trafo.hv_bus, net.trafo.lv_bus, strict=True):
        if net.trafo.at[idx, "in_service"] and int(idx) not in open_trafos:
            add(int(hv), int(lv), 0.0)
    if len(net.trafo3w):
        open_t3 = _open_trafo_switches(net, "t3")
        t3 = net.trafo3w
        for idx in t3.index[t3.in_service.astype(bool)]:
            if int(idx) not in open_t3:
                add(int(t3.at[idx, "hv_bus"]), int(t3.at[idx, "mv_bus"]), 0.0)
                add(int(t3.at[idx, "hv_bus"]), int(t3.at[idx, "lv_bus"]), 0.0)
    for table in ("impedance",):
        if table in net and len(net[table]):
            df = net[table][net[table].in_service.astype(bool)]
            for fb, tb in zip(df.from_bus, df.to_bus, strict=True):
                add(int(fb), int(tb), 0.0)
    sw = net.switch
    if len(sw):
        closed_bb = sw[(sw.et == "b") & sw.closed.astype(bool)]
        for a, b in zip(closed_bb.bus, closed_bb.element, strict=True):
            add(int(a), int(b), 0.0)
    sources = set()
    eg = net.ext_grid
    sources |= {int(b) for b in eg.bus[eg.in_service.astype(bool)] if int(b) in pos}
    if len(net.gen) and "slack" in net.gen.columns:
        gen = net.gen[net.gen.in_service.astype(bool) & net.gen.slack.fillna(False).astype(bool)]
        sources |= {int(b) for b in gen.bus if int(b) in pos}
    edges = np.array(pairs, dtype=int).reshape(-1, 2)
    return Graph(buses, edges, np.array(ohms, dtype=float), frozenset(sources))


def energised_buses(graph: Graph) -> frozenset[int]:
    """Buses with a path to a source."""
    if not graph.sources:
        return frozenset()
    labels = graph.components()
    pos = {int(b): i for i, b in enumerate(graph.buses)}
    fed = {labels[pos[b]] for b in graph.sources}
    return frozenset(int(b) for b, lab in zip(graph.buses, labels, strict=True) if lab in fed)


def islands_of(graph: Graph, buses: frozenset[int] | set[int]) -> list[frozenset[int]]:
    """Connected components of the graph restricted to `buses`, ordered by smallest bus index."""
    keep = np.array([int(b) in buses for b in graph.buses], dtype=bool)
    if not keep.any():
        return []
    sub_buses = graph.buses[keep]
    new_pos = -np.ones(len(graph.buses), dtype=int)
    new_pos[keep] = np.arange(keep.sum())
    mask = keep[graph.edges[:, 0]] & keep[graph.edges[:, 1]] if len(graph.edges) else []
    sub_edges = new_pos[graph.edges[mask]] if len(graph.edges) else np.zeros((0, 2), int)
    sub = Graph(sub_buses, sub_edges, np.zeros(len(sub_edges)), frozenset())
    labels = sub.components()
    groups: dict[int, set[int]] = {}
    for b, lab in zip(sub_buses, labels, strict=True):
        groups.setdefault(int(lab), set()).add(int(b))
    return sorted((frozenset(g) for g in groups.values()), key=min)


def cyclomatic(graph: Graph, buses: frozenset[int] | set[int]) -> int:
    """Independent loops among `buses` (edges - nodes + components); 0 means radial."""
    keep = np.array([int(b) in buses for b in graph.buses], dtype=bool)
    if not keep.any():
        return 0
    mask = keep[graph.edges[:, 0]] & keep[graph.edges[:, 1]] if len(graph.edges) else []
    n_edges = int(np.count_nonzero(mask)) if len(graph.edges) else 0
    return n_edges - int(keep.sum()) + len(islands_of(graph, buses))
