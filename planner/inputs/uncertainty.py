"""Load forecast uncertainty: the `[loads]` keys, the feeders loads share, scenarios, sizing.

The model: each load's actual demand is its forecast (`p_mw x net scaling x case scaling x
profile(t)`, no margin) times `1 + e`, with `e = sigma x (sqrt(rho) x F + sqrt(1 - rho) x E)`:
`F` a standard normal common to the loads of one feeder, `E` one of the load's own, all
independent, `sigma` = `uncertainty_percent` / 100 and `rho` = `feeder_share`, the share of the
error's variance the feeder's loads have in common (two loads of one feeder correlate by `rho`,
of different feeders not at all). A scenario holds for a whole stage (the forecast's level is
off, not each hour on its own); each stage draws its own. Demand never goes below 0.

A load's feeder: the part of the network (in-service lines, closed switches) it reaches without
passing a source busbar (an ext_grid's bus or a transformer's low-voltage bus), so loads fed by
one MV feeder, or from one transformer's busbar, share a factor.

Sizing: a feeder's total demand has the relative standard deviation
`sigma x sqrt(rho + (1 - rho) x sum(w_i^2))` (`w_i` the loads' shares of it), so its `quantile`
is `1 + z_q x` that; each load's design demand is its forecast times the larger of
`1 + margin` and its feeder's uplift. Without uncertainty the design load is as before.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import pandapower as pp
import pandapower.topology as top

from planner.inputs import schema

if TYPE_CHECKING:
    from planner.inputs.case import Case, Loads
    from planner.inputs.schema import Reader

__all__ = [
    "UNCERTAINTY_KEYS",
    "design_factors",
    "feeders",
    "load_uplift",
    "read_uncertainty",
    "scenario_factors",
]

UNCERTAINTY_KEYS = ("uncertainty_percent", "quantile", "seed", "scenarios", "feeder_share")
MAX_UNCERTAINTY_PERCENT = 50
SEED_MAX = 2**32 - 1
SCENARIOS = (10, 100_000)


def read_uncertainty(r: Reader, t: dict[str, Any], d: Loads) -> dict[str, Any]:
    """The uncertainty keys of `[loads]` (table `t`), defaults from `d`; bad values are
    problems in `r`."""
    checks: dict[str, tuple[type, Any]] = {
        "uncertainty_percent": (float, schema.between(0, MAX_UNCERTAINTY_PERCENT)),
        "quantile": (float, schema.between(0.5, 0.999, low_open=True)),
        "seed": (int, schema.between(0, SEED_MAX)),
        "scenarios": (int, schema.between(*SCENARIOS)),
        "feeder_share": (float, schema.between(0, 1)),
    }
    out = {}
    for key, (kind, check) in checks.items():
        value = r.value(t, key, "loads", kind, getattr(d, key), check)
        out[key] = getattr(d, key) if value is None else value
    return out


def feeders(net: pp.pandapowerNet) -> np.ndarray:
    """The feeder of each load (net.load order): 0, 1, ... numbered by lowest bus index."""
    sources = set(net.ext_grid.bus[net.ext_grid.in_service.astype(bool)].tolist())
    for table, column in (("trafo", "lv_bus"), ("trafo3w", "mv_bus"), ("trafo3w", "lv_bus")):
        if table in net and len(net[table]):
            rows = net[table]
            sources |= set(rows[column][rows.in_service.astype(bool)].tolist())
    graph = top.create_nxgraph(
        net, respect_switches=True, include_trafos=False, include_trafo3ws=False,
        include_out_of_service=False,
    )  # fmt: skip
    graph.remove_nodes_from(list(sources))
    group: dict[int, int] = {}

    parts = sorted((sorted(c) for c in nx.connected_components(graph)), key=lambda c: c[0])
    for k, part in enumerate(parts):
        group.update(dict.fromkeys(part, k))
    next_id = len(parts)
    out = []
    for bus in net.load.bus.tolist():
        if bus not in group:  # on a source busbar (or an isolated bus): a group of its own
            group[bus] = next_id
            next_id += 1
        out.append(group[bus])
    return np.asarray(out, dtype=int)


def _relabel(feeder_of: np.ndarray) -> np.ndarray:
    """Feeder numbers made 0..k-1 in order of first appearance."""
    _, first, inverse = np.unique(feeder_of, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[inverse]


def load_uplift(loads: Loads) -> float:
    """A load's `quantile` of demand over its forecast (1 without uncertainty). Every load at
    it bounds every group's total from above (the standard deviation of a sum is at most the sum
    of the standard deviations), so any island the works leave, however small a part of its
    feeder, is sized to at least its quantile."""
    sigma = loads.uncertainty_percent / 100.0
    if sigma <= 0:
        return 1.0
    return 1.0 + NormalDist().inv_cdf(loads.quantile) * sigma


def design_factors(case: Case, net: pp.pandapowerNet) -> np.ndarray:
    """What multiplies each load's forecast to make its design demand: `1 + margin`, or the
    load's quantile uplift where that is larger (`load_uplift`)."""
    loads = case.loads
    margin = np.full(len(net.load), 1.0 + loads.margin)
    return np.maximum(margin, load_uplift(loads))


def scenario_factors(loads: Loads, feeder_of: np.ndarray, stream: int) -> np.ndarray:
    """(scenarios, loads) factors on the forecast, `1 + e` floored at 0; `stream` (a stage's
    position) picks an independent draw for each stage from the one seed. Draw order: the
    feeder factors (scenarios x feeders), then the loads' own (scenarios x loads)."""
    rng = np.random.default_rng([loads.seed, stream])
    feeder_of = _relabel(feeder_of)
    n_feeders = int(feeder_of.max()) + 1 if len(feeder_of) else 0
    common = rng.standard_normal((loads.scenarios, n_feeders))
    own = rng.standard_normal((loads.scenarios, len(feeder_of)))
    rho = loads.feeder_share
    e = math.sqrt(rho) * common[:, feeder_of] + math.sqrt(1.0 - rho) * own
    return np.maximum(1.0 + loads.uncertainty_percent / 100.0 * e, 0.0)
