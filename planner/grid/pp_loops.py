"""Array forms of two per-element Python loops pandapower runs when numba is absent.

Every model build (`model_build.internal_model`, pandapower's `_pd2ppc`) selects the elements
in service through `pandapower.auxiliary.set_elements_oos` (once per element table: every load,
sgen, ...) and `set_isolated_buses_oos` (every bus). With numba these are compiled; without it,
as here, pandapower's `jit` stand-in returns its plain Python loops, about a third of a build's
time at 10,000 buses. `array_loops()` puts numpy forms in their place for the length of a
`with` and puts pandapower's own back after it. The numpy forms write the same arrays, and raise
where the loops raise (an index out of range). tests/grid/test_pp_loops.py compares them with
pandapower's loops.

Nothing changes where pandapower has numba's compiled loops: it keeps them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pandapower.auxiliary as aux

__all__ = ["array_loops", "set_elements_oos", "set_isolated_buses_oos"]

_LOOPS = {
    "set_elements_oos": getattr(aux, "_python_set_elements_oos", None),
    "set_isolated_buses_oos": getattr(aux, "_python_set_isolated_buses_oos", None),
}


def set_elements_oos(ti: np.ndarray, tis: np.ndarray, bis: np.ndarray, lis: np.ndarray) -> None:
    """`lis[i] = True` where element i is in service (`tis[i]`) and so is its bus
    (`bis[ti[i]]`), as `pandapower.auxiliary._python_set_elements_oos` sets it."""
    if ti.dtype.kind not in "iu" or bis.dtype != bool:  # pandapower's loop, as it would run
        _LOOPS["set_elements_oos"](ti, tis, bis, lis)  # type: ignore[misc]
        return
    on = np.flatnonzero(tis)  # the loop's `if tis[i]`: truth of each entry
    lis[on[bis[ti[on]]]] = True  # buses looked up only for elements in service, as the loop does


def set_isolated_buses_oos(
    bus_in_service: np.ndarray, ppc_bus_isolated: np.ndarray, bus_lookup: np.ndarray
) -> None:
    """`bus_in_service[k] = False` where bus k's internal bus is isolated, as
    `pandapower.auxiliary._python_set_isolated_buses_oos` sets it."""
    if bus_lookup.dtype.kind not in "iu" or ppc_bus_isolated.dtype != bool:
        _LOOPS["set_isolated_buses_oos"](bus_in_service, ppc_bus_isolated, bus_lookup)  # type: ignore[misc]
        return
    internal = bus_lookup[np.arange(len(bus_in_service))]  # IndexError where the loop's is
    bus_in_service[ppc_bus_isolated[internal]] = False


_ARRAYS = {"set_elements_oos": set_elements_oos, "set_isolated_buses_oos": set_isolated_buses_oos}


@contextlib.contextmanager
def array_loops() -> Iterator[None]:
    """pandapower's two Python loops replaced by their array forms inside the `with` (where
    pandapower runs the Python loops: numba absent). Restored after it, also on an error."""
    swapped = [
        name
        for name, loop in _LOOPS.items()
        if loop is not None and getattr(aux, name, None) is loop
    ]
    for name in swapped:
        setattr(aux, name, _ARRAYS[name])
    try:
        yield
    finally:
        for name in swapped:
            setattr(aux, name, _LOOPS[name])
