"""The migration case (`planner.case/1`) as frozen dataclasses: what a checked case holds."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from planner.core.refs import ElementRef
from planner.inputs.case_costs import Costs
from planner.inputs.network import Network
from planner.inputs.profiles import CsvProfile
from planner.inputs.windows_daily import DailyWindow, daily_notes, works_windows

__all__ = [
    "FORMAT",
    "Case",
    "ConnectionPoint",
    "Fleet",
    "Limits",
    "Loads",
    "Protection",
    "Reserve",
    "SgenMode",
    "Stage",
    "SwitchingRules",
]

FORMAT = "planner.case/1"


class Reserve(StrEnum):
    NONE = "none"
    N_1 = "n-1"


class SgenMode(StrEnum):
    TRIP = "trip"
    KEEP = "keep"


@dataclass(frozen=True)
class Limits:
    vm_min_pu: float = 0.93
    vm_max_pu: float = 1.07
    max_line_loading_percent: float = 100.0
    max_trafo_loading_percent: float = 100.0


@dataclass(frozen=True)
class Fleet:
    trucks: int
    rating_kw: float = 2000.0
    power_factor: float = 0.8
    vm_setpoint_pu: float = 1.0
    min_loading: float = 0.3
    reserve: Reserve = Reserve.NONE
    setup_hours: float = 2.0
    fuel_l_per_kwh: float = 0.27
    tank_l: float = 1500.0
    tanker_l: float = 6000.0
    xdss_pu: float = 0.15
    xds_pu: float = 0.25
    xd_pu: float = 2.0
    tds_s: float = 0.15
    excitation: str = "none"
    sc_support_multiple: float = 3.0
    mv_earthing: str = "none"
    load_step_percent: float = 50.0

    @property
    def rating_kva(self) -> float:
        """A truck's limit: its apparent power rating."""
        return self.rating_kw / self.power_factor


DEVICES = ("CB", "LBS", "DS")


@dataclass(frozen=True)
class SwitchingRules:
    """`[switching]`: how steps are carried out and what a closing device must see."""

    device: str = "LBS"  # type of a switch whose `type` column is empty or unknown
    sync_max_dv_percent: float = 3.0
    sync_max_dtheta_deg: float = 10.0
    sync_max_df_hz: float = 0.1
    step_minutes: float = 5.0


@dataclass(frozen=True)
class Protection:
    """`[protection]`: the overcurrent devices that clear faults in truck islands."""

    pickup_a: float = 600.0
    delay_s: float = 0.5
    sensitivity: float = 1.5
    require_earthing: bool = False
    shed: str | tuple[ElementRef, ...] = "none"


@dataclass(frozen=True)
class ConnectionPoint:
    bus: ElementRef
    bays: int = 1


@dataclass(frozen=True)
class Loads:
    protected: frozenset[int]
    profile: str = "flat"
    csv_profile: CsvProfile | None = None
    scaling: float = 1.0
    margin: float = 0.1
    # forecast uncertainty (`planner.inputs.uncertainty`): 0 plans deterministically
    uncertainty_percent: float = 0.0  # standard deviation of each load's forecast error, %
    quantile: float = 0.9  # the share of load scenarios the design load covers
    seed: int = 1  # of the scenarios: the same seed gives the same scenarios
    scenarios: int = 1000
    feeder_share: float = 0.5  # share of the error's variance common to a feeder's loads


@dataclass(frozen=True)
class Stage:
    name: str
    start: datetime
    end: datetime
    out_of_service: tuple[ElementRef, ...]
    after: tuple[tuple[ElementRef, tuple[tuple[str, Any], ...]], ...] = ()
    daily: DailyWindow | None = None  # None: the works are out round the clock

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600.0

    @functools.cached_property
    def windows(self) -> tuple[tuple[datetime, datetime], ...]:
        """When the works are out: each day's `daily` window within the stage, or the stage."""
        return tuple(works_windows(self.start, self.end, self.daily))

    @property
    def daily_notes(self) -> tuple[str, ...]:
        """The plan's note on the daily windows (none without `daily`)."""
        return daily_notes(self.daily, self.windows)

    @property
    def works_hours(self) -> float:
        """Hours the works are out: the windows' total (the stage's hours without `daily`)."""
        if self.daily is None:
            return self.hours
        return sum((b - a).total_seconds() for a, b in self.windows) / 3600.0


@dataclass(frozen=True)
class Case:
    """A checked case: every reference resolved against `network`."""

    name: str
    file: str
    network: Network
    fleet: Fleet
    stages: tuple[Stage, ...]
    connection_points: tuple[ConnectionPoint, ...]
    loads: Loads
    sha256: str
    description: str = ""
    limits: Limits = field(default_factory=Limits)
    islanded_sgen: SgenMode = SgenMode.TRIP
    ties: tuple[ElementRef, ...] | None = None  # None: "auto"
    ties_mode: str = "auto"
    network_warnings: tuple[str, ...] = ()
    conventional_outage_hours: float | None = None  # [benefit]; None: each stage's duration
    switching: SwitchingRules = field(default_factory=SwitchingRules)
    protection: Protection | None = None  # None: no [protection] table in the case
    costs: Costs | None = None  # None: no [costs] table in the case
    max_switching_operations: int | None = None  # [transfer] max_operations; None: default

    def bays_at(self, bus: int) -> int:
        for point in self.connection_points:
            if point.bus.index == bus:
                return point.bays
        return 0
