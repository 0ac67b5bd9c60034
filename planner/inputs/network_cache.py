"""Networks read once per process: a run that builds many cases on one network (the variants of
`planner windows`, the windows of a programme's jobs) passes `process_networks()` as the case
builder's loader.

A loaded `Network` is never modified (the planner works on copies of its `net`), so the cases of
one process can share it. A file is read again when its modification time or size changed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from planner.inputs.network import Network, load_network

__all__ = ["NetworkCache", "forget_networks", "process_networks"]


class NetworkCache:
    """`load`, answering again from memory for the same source, base and file state."""

    def __init__(self, load: Callable[..., Network]) -> None:
        self.load = load
        self.networks: dict[tuple[str, str, str], Network] = {}

    def __call__(self, source: str, base_dir: Path, *, file: str, key: str = "case.network"):
        target: Path | None = None
        try:
            target = (Path(base_dir) / source).resolve() if isinstance(source, str) else None
            stamp = target.stat() if target is not None else None
            state = f"{stamp.st_mtime_ns}:{stamp.st_size}" if stamp else ""
        except (OSError, ValueError):  # a shortcut (pandapower:NAME), or what the loader reports
            state = ""
        index = (str(source), str(target), state)
        if index not in self.networks:
            self.networks[index] = self.load(source, base_dir, file=file, key=key)
        return self.networks[index]


_PROCESS: list[NetworkCache] = []  # this process's cache, made on first use


def process_networks() -> NetworkCache:
    """This process's network cache: each network is read once per process (see the module
    docstring)."""
    if not _PROCESS:
        _PROCESS.append(NetworkCache(load_network))
    return _PROCESS[0]


def forget_networks() -> None:
    """Drop this process's cache: the next case reads its network afresh."""
    _PROCESS.clear()
