"""What placing trucks, pricing a mix and explaining a shortfall read of an island left to
trucks (`planning.IslandInfo` has it): one protocol for `allocation`, `mix` and `shortfall`."""

from __future__ import annotations

from typing import Protocol

from planner.decide.mix_needs import LvSlot

__all__ = ["Island"]


class Island(Protocol):
    """An island left to trucks: its buses, design load and energy over the stage, connection
    points (bus, bays, cost 0..1) and the transformers LV trucks may take over."""

    @property
    def buses(self) -> frozenset[int]: ...
    @property
    def design_kw(self) -> float: ...
    @property
    def design_kva(self) -> float: ...
    @property
    def design_kvar(self) -> float: ...
    @property
    def design_kwh(self) -> float: ...
    @property
    def points(self) -> tuple[tuple[int, int, float], ...]: ...
    @property
    def lv(self) -> tuple[LvSlot, ...]: ...
