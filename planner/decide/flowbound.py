"""A switch set whose AC screen cannot pass, told without a load flow.

In a network whose part beyond a branch holds nothing but loads (no source, generator,
storage, shunt or equivalent), the branch carries at least that part's active load into it:
losses only add. Its current at that end is at least P / (sqrt(3) x V), and V is at most
`vm_max_pu` times the bus's rated voltage, unless the bus is itself outside its limits. So when
that current is beyond the branch's loading limit, the switch set breaks a limit (the branch,
or the voltage at its end) that the works state does not break already, and the AC screen
would reject it. Used only to skip screens that must fail; every switch set kept is still
AC-screened, and the plan's switching is verified hour by hour.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from planner.core.switching import Switching
from planner.grid.context import StageContext
from planner.grid.switch_topology import Topology
from planner.inputs.demand import StepGroup

__all__ = ["FlowBound"]

# tables whose elements inject or draw power other than a load's: a part holding one is skipped
OTHERS = (
    "sgen",
    "gen",
    "storage",
    "ward",
    "xward",
    "motor",
    "shunt",
    "ext_grid",
    "asymmetric_sgen",
    "asymmetric_load",
    "svc",
    "tcsc",
    "ssc",
    "vsc",
)
MAX_BRANCHES = 3_000  # larger networks: no bound (each branch costs a graph search)
SLACK = 0.98  # the bound must exceed the limit by 2 %, for rounding of ratings and results


class FlowBound:
    """Loads per bus at the screening hours, and each branch's limit in MW at `vm_max_pu`."""

    def __init__(self, ctx: StageContext, topo: Topology, groups: list[StepGroup]) -> None:
        net, limits = ctx.works_net, ctx.case.limits
        self.topo = topo
        n = len(topo.buses)
        self.p = np.zeros((len(groups), n))
        self.other = np.zeros(n, dtype=bool)
        self.cap = np.full((len(topo.element), 2), np.inf)
        if len(topo.element) > MAX_BRANCHES:
            return  # no bound (`must_fail`): nothing to work out
        load = net.load
        on = load.in_service.to_numpy(dtype=bool)
        bus_pos = topo.pos[load.bus.to_numpy(dtype=int)]
        keep = on & (bus_pos >= 0)
        rows = pd.Index(ctx.demand.loads).get_indexer(load.index)
        for k, group in enumerate(groups):
            np.add.at(self.p[k], bus_pos[keep], group.p_mw[rows][keep])
        for table in OTHERS:
            if table in net and len(net[table]) and "bus" in net[table].columns:
                df = net[table]
                if "in_service" in df.columns:
                    df = df[df.in_service.astype(bool)]
                at = topo.pos[df.bus.to_numpy(dtype=int)]
                self.other[at[at >= 0]] = True
        if "dcline" in net and len(net.dcline):
            for column in ("from_bus", "to_bus"):
                at = topo.pos[net.dcline[column].to_numpy(dtype=int)]
                self.other[at[at >= 0]] = True
        vn = net.bus.vn_kv
        vmax = limits.vm_max_pu
        # per edge and end (0: first bus, 1: second): the MW that breaks its loading limit
        for e, (table, idx) in enumerate(topo.element):
            if table == "line":
                row = net.line.loc[idx]
                kv = float(vn.at[int(row.from_bus)])
                amps = float(row.max_i_ka) * float(row.df) * float(row.parallel)
                mw = math.sqrt(3) * vmax * kv * amps * limits.max_line_loading_percent / 100
                self.cap[e, :] = mw
            elif table == "trafo":
                row = net.trafo.loc[idx]
                rating = float(row.sn_mva) * float(row.parallel) * float(row.get("df", 1.0))
                share = limits.max_trafo_loading_percent / 100 * vmax
                self.cap[e, 0] = rating * share * float(vn.at[int(row.hv_bus)]) / row.vn_hv_kv
                self.cap[e, 1] = rating * share * float(vn.at[int(row.lv_bus)]) / row.vn_lv_kv
        self.cap *= 1 / SLACK

    def must_fail(self, switching: Switching, baseline: set[tuple[str, int]]) -> bool:
        """Does some branch have to carry more than its limit (a new problem for sure)?"""
        topo = self.topo
        if len(topo.element) > MAX_BRANCHES:
            return False
        live, labels = topo.state(switching)
        fed = topo.energised(labels)
        for e in np.flatnonzero(live & fed[topo.ends[:, 0]] & np.isfinite(self.cap[:, 0])):
            table, idx = topo.element[e]
            if (table, idx) in baseline:
                continue
            without = live.copy()
            without[e] = False
            parts = topo.labels(without)
            a, b = topo.ends[e]
            if parts[a] == parts[b]:
                continue  # on a loop: not a bridge
            for far in (b, a):
                side = parts == parts[far]
                if topo.is_source[side].any() or self.other[side].any():
                    continue
                bus = int(topo.buses[far])
                if ("bus", bus) in baseline:
                    continue
                which = 1 if far == topo.ends[e, 1] else 0
                if (self.p[:, side].sum(axis=1) > self.cap[e, which]).any():
                    return True
        return False
