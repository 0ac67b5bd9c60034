"""Topology of a network state: energised buses, islands, splits and radiality.

Built directly on the element tables with scipy's sparse graph routines (pandapower's networkx
graph is too slow to rebuild for every candidate switching); the tests check it against
`pandapower.topology`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandapower as pp
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = [
    "Graph",
    "Toggled",
    "build_graph",
    "components",
    "cyclomatic",
    "energised_buses",
    "islands_of",
]


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


def _bools(values: pd.Series) -> np.ndarray:
    """A column as booleans, missing values false (pandapower's object columns may hold NaN)."""
    array = values.to_numpy()
    if array.dtype == bool:
        return array
    return pd.Series(array).fillna(False).to_numpy(dtype=bool)


def _switches(net: pp.pandapowerNet) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The elements behind open switches by element type ("l", "t", "t3"), and the closed
    bus-bus switches' (bus, element) pairs. Types are compared as objects, the open ones only
    where they can be (a text conversion of the whole column costs more than the graph)."""
    sw = net.switch
    closed = sw.closed.to_numpy(dtype=bool)
    et, element = sw.et.to_numpy(), sw.element.to_numpy()
    open_et, open_element = et[~closed], element[~closed]
    opened = {kind: open_element[open_et == kind].astype(int) for kind in ("l", "t", "t3")}
    bus_bus = (et == "b") & closed
    return opened, np.column_stack([sw.bus.to_numpy()[bus_bus], element[bus_bus]])


def _live(table: pd.DataFrame, opened: np.ndarray) -> np.ndarray:
    """In-service rows of a branch table whose index is not among `opened` (open switches)."""
    live = table.in_service.to_numpy(dtype=bool)
    if len(opened):
        live = live & ~np.isin(table.index.to_numpy(), opened)
    return live


def build_graph(net: pp.pandapowerNet) -> Graph:
    """The connectivity graph of `net` as it stands (switch states and in_service respected)."""
    bus = net.bus
    index = bus.index.to_numpy()
    buses = index[bus.in_service.to_numpy(dtype=bool)]
    size = int(max(index.max(), 0)) + 1
    pos = np.full(size, -1, dtype=int)
    pos[buses] = np.arange(len(buses))
    ends: list[np.ndarray] = []
    ohms: list[np.ndarray] = []

    def add(a: np.ndarray, b: np.ndarray, ohm: np.ndarray) -> None:
        pa, pb = pos[a.astype(int)], pos[b.astype(int)]
        keep = (pa >= 0) & (pb >= 0)
        ends.append(np.column_stack([pa[keep], pb[keep]]))
        ohms.append(np.asarray(ohm, dtype=float)[keep])

    open_of, bus_bus = _switches(net)
    line = net.line
    live = _live(line, open_of["l"])
    z = (
        np.hypot(line.r_ohm_per_km.to_numpy(), line.x_ohm_per_km.to_numpy())
        * line.length_km.to_numpy()
        / line.parallel.to_numpy()
    )
    add(line.from_bus.to_numpy()[live], line.to_bus.to_numpy()[live], z[live])
    trafo = net.trafo
    if len(trafo):
        live = _live(trafo, open_of["t"])
        add(trafo.hv_bus.to_numpy()[live], trafo.lv_bus.to_numpy()[live], np.zeros(live.sum()))
    if "trafo3w" in net and len(net.trafo3w):
        t3 = net.trafo3w
        live = _live(t3, open_of["t3"])
        for other in ("mv_bus", "lv_bus"):
            add(t3.hv_bus.to_numpy()[live], t3[other].to_numpy()[live], np.zeros(live.sum()))
    if "impedance" in net and len(net.impedance):
        imp = net.impedance
        live = imp.in_service.to_numpy(dtype=bool)
        add(imp.from_bus.to_numpy()[live], imp.to_bus.to_numpy()[live], np.zeros(live.sum()))
    if len(bus_bus):
        add(bus_bus[:, 0], bus_bus[:, 1], np.zeros(len(bus_bus)))
    sources: set[int] = set()
    eg = net.ext_grid
    if len(eg):
        fed = eg.bus.to_numpy()[eg.in_service.to_numpy(dtype=bool)].astype(int)
        sources |= {int(b) for b in fed if pos[b] >= 0}
    gen = net.gen
    if len(gen) and "slack" in gen.columns:
        slack = gen.in_service.to_numpy(dtype=bool) & _bools(gen.slack)
        sources |= {int(b) for b in gen.bus.to_numpy()[slack].astype(int) if pos[b] >= 0}
    edges = np.vstack(ends) if ends else np.zeros((0, 2), dtype=int)
    return Graph(
        buses, edges.astype(int), np.concatenate(ohms) if ohms else np.zeros(0), frozenset(sources)
    )


def components(n: int, edges: np.ndarray) -> np.ndarray:
    """The connected components of `n` nodes joined by `edges` ((m, 2) node numbers): each
    node's label is the smallest node of its component, so labels sort components as scipy's
    `connected_components` numbers them. For the small graphs of a contracted network, where
    scipy's set-up costs far more than the search: hooking roots to the smaller root, then
    pointer jumping, until every edge joins one root."""
    parent = np.arange(n)
    if not len(edges):
        return parent
    a, b = edges[:, 0], edges[:, 1]
    while True:
        ra, rb = parent[a], parent[b]
        apart = ra != rb
        if not apart.any():
            return parent
        low, high = np.minimum(ra[apart], rb[apart]), np.maximum(ra[apart], rb[apart])
        np.minimum.at(parent, high, low)
        while True:
            jumped = parent[parent]
            if (jumped == parent).all():
                break
            parent = jumped


class Toggled:
    """`components` of graphs that differ from one reference graph by a few edges. A spanning
    forest of the reference is rooted once, each subtree a range of its depth-first order:
    a graph's dropped forest edges split subtrees off by ranges, and its few other edges
    (the reference's outside the forest, and new ones) join the pieces after. A graph too far
    from the reference takes `components` itself."""

    def __init__(self, n: int, edges: np.ndarray, on: np.ndarray, limit: int = 16) -> None:
        self.n, self.edges, self.limit = n, edges, limit
        self.nodes = np.arange(n)
        near: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        for e in np.flatnonzero(on).tolist():
            a, b = int(edges[e, 0]), int(edges[e, 1])
            near[a].append((b, e))
            near[b].append((a, e))
        self.tree = np.zeros(len(edges), dtype=bool)
        self.child = np.full(len(edges), -1)  # the far end of each forest edge from its root
        self.tin = np.full(n, -1)
        self.tout = np.zeros(n, dtype=int)
        self.owner = np.zeros(n, dtype=int)  # each depth-first position's tree root
        order = 0
        for root in range(n):
            if self.tin[root] >= 0:
                continue
            self.tin[root] = order
            self.owner[order] = root
            order += 1
            stack = [(root, iter(near[root]))]
            while stack:
                node, rest = stack[-1]
                for other, e in rest:
                    if self.tin[other] < 0:
                        self.tree[e], self.child[e] = True, other
                        self.tin[other] = order
                        self.owner[order] = root
                        order += 1
                        stack.append((other, iter(near[other])))
                        break
                else:
                    self.tout[node] = order
                    stack.pop()

    def labels(self, on: np.ndarray) -> np.ndarray:
        """Each node's smallest node of its component over the edges `on`."""
        dropped = np.flatnonzero(self.tree & ~on)
        other = np.flatnonzero(on & ~self.tree)
        if len(dropped) > self.limit or len(other) > self.limit:
            return components(self.n, self.edges[on])
        owner = self.owner.copy()
        tops = self.child[dropped]
        for top in tops[np.argsort(self.tin[tops])].tolist():  # outer subtrees first
            owner[self.tin[top] : self.tout[top]] = top
        piece = owner[self.tin]
        if len(other):
            piece = components(self.n, piece[self.edges[other]])[piece]
        smallest = np.full(self.n, self.n)
        np.minimum.at(smallest, piece, self.nodes)
        return smallest[piece]


def energised_buses(graph: Graph) -> frozenset[int]:
    """Buses with a path to a source."""
    if not graph.sources:
        return frozenset()
    labels = graph.components()
    is_source = np.isin(graph.buses, list(graph.sources))
    fed = np.isin(labels, labels[is_source])
    return frozenset(graph.buses[fed].tolist())


def islands_of(graph: Graph, buses: frozenset[int] | set[int]) -> list[frozenset[int]]:
    """Connected components of the graph restricted to `buses`, ordered by smallest bus index."""
    keep = np.isin(graph.buses, np.fromiter(buses, dtype=int, count=len(buses)))
    if not keep.any():
        return []
    sub_buses = graph.buses[keep]
    new_pos = -np.ones(len(graph.buses), dtype=int)
    new_pos[keep] = np.arange(keep.sum())
    mask = keep[graph.edges[:, 0]] & keep[graph.edges[:, 1]] if len(graph.edges) else []
    sub_edges = new_pos[graph.edges[mask]] if len(graph.edges) else np.zeros((0, 2), int)
    sub = Graph(sub_buses, sub_edges, np.zeros(len(sub_edges)), frozenset())
    labels = sub.components()
    order = np.argsort(labels, kind="stable")
    cuts = np.flatnonzero(np.diff(labels[order])) + 1
    groups = [frozenset(chunk.tolist()) for chunk in np.split(sub_buses[order], cuts)]
    return sorted(groups, key=min)


def cyclomatic(graph: Graph, buses: frozenset[int] | set[int]) -> int:
    """Independent loops among `buses` (edges - nodes + components); 0 means radial."""
    keep = np.isin(graph.buses, np.fromiter(buses, dtype=int, count=len(buses)))
    if not keep.any():
        return 0
    mask = keep[graph.edges[:, 0]] & keep[graph.edges[:, 1]] if len(graph.edges) else []
    n_edges = int(np.count_nonzero(mask)) if len(graph.edges) else 0
    return n_edges - int(keep.sum()) + len(islands_of(graph, buses))
