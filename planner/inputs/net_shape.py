"""The shape of a network before its values are checked: what every later check reads.

Every element table a network has must be a table (a DataFrame) indexed by whole numbers, with
the columns the planner and pandapower read; `sn_mva` and `f_hz` must be sane numbers. A network
that fails here is refused (exit 2) before anything looks at its values.
"""

from __future__ import annotations

import math

import numpy as np
import pandapower as pp
import pandas as pd

from planner.core.errors import Problem
from planner.inputs.network import BUS_COLUMNS
from planner.inputs.schema import shown

__all__ = ["REQUIRED", "check_shape"]

# the columns each element table must have (beyond its bus columns; `in_service` and a
# switch's `closed` are the on/off columns sanity checks)
REQUIRED: dict[str, tuple[str, ...]] = {
    "bus": ("vn_kv",),
    "line": ("length_km", "r_ohm_per_km", "x_ohm_per_km", "c_nf_per_km", "max_i_ka"),
    "trafo": ("sn_mva", "vn_hv_kv", "vn_lv_kv", "vk_percent", "vkr_percent"),
    "load": ("p_mw", "q_mvar"),
    "sgen": ("p_mw",),
    "ext_grid": ("vm_pu",),
    "switch": ("element", "et"),
}
# the network's own numbers: (low, high), both exclusive of nonsense
_SCALARS = {"sn_mva": (0.0, 1e6), "f_hz": (1.0, 1000.0)}


def check_shape(net: pp.pandapowerNet, source: str) -> list[Problem]:
    problems: list[Problem] = []
    for key, (low, high) in _SCALARS.items():
        if key not in net:
            continue
        value = net[key]
        number = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
            value, bool | np.bool_
        )
        if not number or not math.isfinite(float(value)) or not low < float(value) <= high:
            problems.append(
                Problem(
                    source,
                    key,
                    f"must be a number above {low:g} and at most {high:g}, got {shown(value)}",
                )
            )
    for table in ("bus", *BUS_COLUMNS):
        if table not in net:
            continue
        df = net[table]
        if not isinstance(df, pd.DataFrame):
            problems.append(Problem(source, table, "must be a table of elements"))
            continue
        if not len(df):
            continue
        if not pd.api.types.is_integer_dtype(df.index.dtype):
            problems.append(
                Problem(source, table, "its rows must be numbered by whole numbers (the index)")
            )
            continue
        wanted = (*BUS_COLUMNS.get(table, ()), *REQUIRED.get(table, ()))
        for column in wanted:
            if column not in df.columns:
                problems.append(Problem(source, f"{table}.{column}", "the column is missing"))
    return problems
