"""Network sanity checks before planning: what would make results meaningless, and what is odd.

Errors stop the run (exit 2) and are reported like case errors: the network, the element
(`table:name` or `table:#index`), the field and the value. Warnings go into the plan.
"""

from __future__ import annotations

import numpy as np
import pandapower as pp
import pandas as pd

from planner.core.errors import Problem
from planner.core.refs import ref_for
from planner.inputs.net_shape import check_shape
from planner.inputs.network import BUS_COLUMNS
from planner.inputs.schema import shown

__all__ = ["check_network"]

# (table, field, rule, bound): "pos" > 0, "nonneg" >= 0, "num" any finite number; and at most
# `bound` in size: far beyond any real network (case33bw's unlimited lines say 99,999 kA),
# close enough that no load flow or product of them overflows
_NUMBERS = {
    "bus": (("vn_kv", "pos", 2000.0),),
    "line": (
        ("length_km", "pos", 1e4),
        ("r_ohm_per_km", "nonneg", 1e5),
        ("x_ohm_per_km", "nonneg", 1e5),
        ("c_nf_per_km", "nonneg", 1e7),
        ("max_i_ka", "pos", 1e6),
        ("parallel", "pos", 1000.0),
        ("df", "pos", 1.0),
        ("g_us_per_km", "nonneg", 1e4),
    ),
    "trafo": (
        ("sn_mva", "pos", 1e6),
        ("vn_hv_kv", "pos", 2000.0),
        ("vn_lv_kv", "pos", 2000.0),
        ("vk_percent", "pos", 1e4),
        ("vkr_percent", "nonneg", 1e4),
        ("pfe_kw", "nonneg", 1e6),
        ("i0_percent", "nonneg", 1e4),
    ),
    "load": (
        ("p_mw", "num", 1e5),
        ("q_mvar", "num", 1e5),
        ("scaling", "nonneg", 1000.0),
        *((f"const_{k}_percent", "nonneg", 100.0) for k in ("z_p", "i_p", "z_q", "i_q", "z", "i")),
        ("sn_mva", "nonneg", 1e5),
    ),
    "sgen": (("p_mw", "num", 1e5), ("q_mvar", "num", 1e5), ("scaling", "nonneg", 1000.0)),
    "ext_grid": (("vm_pu", "pos", 2.0), ("va_degree", "num", 360.0)),
}
# columns pandapower fills with a default where a network leaves them empty
_OPTIONAL = frozenset(
    {"df", "g_us_per_km", "va_degree", "parallel", "c_nf_per_km", "pfe_kw", "i0_percent"}
    | {"sn_mva"}
    | {f"const_{k}_percent" for k in ("z_p", "i_p", "z_q", "i_q", "z", "i")}
)
_RULES = {
    "pos": ("must be a number greater than 0", lambda v: v > 0),
    "nonneg": ("must be a number of 0 or more", lambda v: v >= 0),
    "num": ("must be a number", lambda v: np.ones_like(v, dtype=bool)),
}


# the on/off columns every element table must have, as true/false values
_FLAGS = {"switch": ("closed", "in_service")}


def _check_flags(net: pp.pandapowerNet, error) -> None:
    """`in_service` (and a switch's `closed`) must be there and be true/false (or 0/1).

    Valid columns are stored as booleans afterwards, so later code can rely on them.
    """
    for table in ("bus", *BUS_COLUMNS, "dcline"):
        if table not in net or not len(net[table]):
            continue
        df = net[table]
        for field in _FLAGS.get(table, ("in_service",)):
            if field == "in_service" and table == "switch" and field not in df.columns:
                continue  # older pandapower switches have no in_service column
            if field not in df.columns:
                error(table, int(df.index[0]), field, "the column is missing from the table")
                continue
            column = df[field]
            ok = column.map(_is_flag).to_numpy(dtype=bool)
            for index in df.index[~ok]:
                error(table, int(index), field, "must be true or false", column.at[index])
            if ok.all() and column.dtype != bool:
                df[field] = column.astype(bool)


def _numbers(column: pd.Series) -> np.ndarray:
    """Which values are numbers (true/false and text that looks like one are not)."""
    if pd.api.types.is_bool_dtype(column.dtype):
        return np.zeros(len(column), dtype=bool)
    if pd.api.types.is_numeric_dtype(column.dtype):
        return np.ones(len(column), dtype=bool)
    return np.array(
        [
            isinstance(v, int | float | np.integer | np.floating)
            and not isinstance(v, bool | np.bool_)
            for v in column.tolist()
        ],
        dtype=bool,
    )


def _check_pairs(net: pp.pandapowerNet, error) -> None:
    """Values that are wrong together: a line from a bus to itself, a load whose constant
    impedance and current shares pass 100 % (pandapower refuses it mid-run)."""
    if len(net.line):
        line = net.line
        for index in line.index[(line.from_bus == line.to_bus).to_numpy()]:
            error(
                "line",
                int(index),
                "to_bus",
                "is its from_bus: a line joins two buses",
                line.at[index, "to_bus"],
            )
    if len(net.load):
        load = net.load
        for p_or_q in ("p", "q"):
            parts = [
                c
                for c in (f"const_z_{p_or_q}_percent", f"const_i_{p_or_q}_percent")
                if c in load.columns
            ]
            if len(parts) == 2:
                total = load[parts[0]].fillna(0) + load[parts[1]].fillna(0)
                for index in load.index[(total > 100).to_numpy()]:
                    error(
                        "load",
                        int(index),
                        parts[0],
                        f"plus {parts[1]} must be at most 100 %",
                        float(total[index]),
                    )


def _is_flag(value: object) -> bool:
    if isinstance(value, bool | np.bool_):
        return True
    return isinstance(value, int | float | np.integer | np.floating) and value in (0, 1)


def check_network(net: pp.pandapowerNet, source: str) -> tuple[list[Problem], list[str]]:
    """Problems that stop planning, and warnings worth printing in the plan."""
    problems: list[Problem] = []
    warnings: list[str] = []

    def error(table: str, index: int, field: str, message: str, value: object = None) -> None:
        ref = ref_for(net, table, index).text
        if isinstance(value, np.generic):
            value = value.item()
        got = "" if value is None else f", got {shown(value)}"
        problems.append(Problem(source, f"{ref}.{field}", f"{message}{got}"))

    problems += check_shape(net, source)
    if problems:  # every later check reads these tables and columns
        return problems, warnings
    _check_flags(net, error)
    if problems:  # later checks read these columns
        return problems, warnings
    for table, fields in BUS_COLUMNS.items():
        if table not in net or not len(net[table]):
            continue
        df = net[table]
        for field in fields:
            missing = ~pd.to_numeric(df[field], errors="coerce").isin(net.bus.index)
            for index in df.index[missing.to_numpy()]:
                error(
                    table,
                    int(index),
                    field,
                    "refers to a bus the network does not have",
                    df.at[index, field],
                )
    if len(net.switch):
        sw = net.switch
        kinds = {"b": "bus", "l": "line", "t": "trafo", "t3": "trafo3w"}
        for index in sw.index[~sw.et.isin(list(kinds)).to_numpy()]:
            error(
                "switch", int(index), "et", "must be one of 'b', 'l', 't', 't3'", sw.at[index, "et"]
            )
        for et, table in kinds.items():
            known = net[table].index if table in net else []
            rows = (sw.et == et).to_numpy()
            missing = rows & ~pd.to_numeric(sw.element, errors="coerce").isin(known).to_numpy()
            for index in sw.index[missing]:
                error(
                    "switch",
                    int(index),
                    "element",
                    f"refers to a {table} the network does not have",
                    sw.at[index, "element"],
                )
    for table, checks in _NUMBERS.items():
        if table not in net or not len(net[table]):
            continue
        df = net[table]
        for field, rule, bound in checks:
            if field not in df.columns:
                continue
            text, ok = _RULES[rule]
            column = df[field]
            values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
            with np.errstate(invalid="ignore"):
                bad = ~np.isfinite(values) | ~ok(values) | ~_numbers(column)
                if field in _OPTIONAL:  # pandapower's own default where missing
                    bad &= ~column.isna().to_numpy()
                large = ~bad & (np.abs(values) > bound)
            for index in df.index[bad]:
                error(table, int(index), field, text, df.at[index, field])
            for index in df.index[large]:
                error(table, int(index), field, f"must be at most {bound:g}", df.at[index, field])
            if not (bad.any() or large.any()) and column.dtype == object:
                df[field] = values  # numbers from here on, as pandapower expects
    if problems:  # the checks below compare these numbers
        return problems, warnings
    _check_pairs(net, error)
    if len(net.line):
        line = net.line
        zero = (line.r_ohm_per_km.fillna(-1) == 0) & (line.x_ohm_per_km.fillna(-1) == 0)
        for index in line.index[zero]:
            error(
                "line",
                int(index),
                "r_ohm_per_km",
                "r_ohm_per_km and x_ohm_per_km are both 0: the line has no impedance; "
                "model it as a bus-bus switch",
            )
    if len(net.trafo):
        trafo = net.trafo
        for index in trafo.index[trafo.vkr_percent.fillna(0) > trafo.vk_percent.fillna(np.inf)]:
            error(
                "trafo",
                int(index),
                "vkr_percent",
                f"must not exceed vk_percent ({trafo.at[index, 'vk_percent']})",
                trafo.at[index, "vkr_percent"],
            )
    in_service_grid = (
        net.ext_grid[net.ext_grid.in_service.astype(bool)] if len(net.ext_grid) else []
    )
    if len(in_service_grid) == 0:
        problems.append(
            Problem(
                source, "ext_grid", "the network has no in-service ext_grid: nothing supplies it"
            )
        )
    if problems:
        return problems, warnings
    if len(net.load):
        out = ~net.bus.in_service.astype(bool)
        stranded = net.load.in_service.astype(bool) & net.load.bus.isin(net.bus.index[out])
        for index in net.load.index[stranded.to_numpy()]:
            bus = int(net.load.at[index, "bus"])
            warnings.append(
                f"{ref_for(net, 'load', int(index)).text} is on out-of-service "
                f"{ref_for(net, 'bus', bus).text}: it is never supplied"
            )
        negative = net.load.index[net.load.p_mw.fillna(0) < 0]
        for index in negative:
            warnings.append(
                f"{ref_for(net, 'load', int(index)).text} has negative p_mw "
                f"({net.load.at[index, 'p_mw']}): generation modelled as a load"
            )
    return problems, warnings
