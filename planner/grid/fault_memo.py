"""Short-circuit results kept by what determines them (`fault_memo`): the protection checks ask
pandapower the same questions at every commitment round, stage and check."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np
import pandapower as pp
import pandas as pd

__all__ = ["MEMO_SIZE", "FaultMemo", "fault_memo", "fingerprint"]

MEMO_SIZE = 512  # short-circuit results kept per process (a few kB each)


class FaultMemo:
    """Short-circuit results by what determines them: the content of the fault network's tables
    (never the Python identity of a network) and the machines added to it. Plans ask for the
    same island with the same trucks at every commitment round, stage and check; pandapower's
    `calc_sc` is run once per distinct question. Bounded (least recently used out first) and
    safe to share between threads."""

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._data: OrderedDict[tuple, dict[int, float]] = OrderedDict()

    def get(self, key: tuple) -> dict[int, float] | None:
        with self._lock:
            found = self._data.get(key)
            if found is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: tuple, value: dict[int, float]) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.hits = self.misses = 0


fault_memo = FaultMemo()  # one per process: results are pure functions of their key


def fingerprint(net: pp.pandapowerNet) -> bytes:
    """A digest of everything in `net` a short-circuit run can read: every element table (all
    rows, all columns, with dtypes), the base power and frequency. Result tables are left out."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(repr((float(net.sn_mva), float(net.f_hz))).encode())
    for name in sorted(k for k in net if isinstance(k, str)):
        table = net[name]
        if not isinstance(table, pd.DataFrame) or name.startswith("res_") or not len(table):
            continue
        digest.update(f"|{name}|{len(table)}|".encode())
        digest.update(_as_bytes(table.index.to_numpy()))
        for column in table.columns:
            digest.update(f"|{column}|{table[column].dtype}|".encode())
            digest.update(_as_bytes(table[column].to_numpy()))
    return digest.digest()


def _as_bytes(values: np.ndarray) -> bytes:
    """The values themselves: raw bytes of numbers, the text of anything else."""
    if values.dtype.kind in "biufc":
        return np.ascontiguousarray(values).tobytes()
    return repr(values.tolist()).encode()
