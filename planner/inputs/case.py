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
    "TruckType",
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
class TruckType:
    """One kind of truck: how many, their limits and machine data (a `[[fleet.types]]` entry,
    or the single type `[fleet]` describes, whose name is None and whose ids are T1..Tn)."""

    name: str | None
    trucks: int
    rating_kw: float = 2000.0
    power_factor: float = 0.8
    connects: str = "mv"  # "mv" | "lv"
    storage_kwh: float = 0.0  # > 0: a battery truck
    vm_setpoint_pu: float = 1.0
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
    truck_day: float | None = None  # its own rental per day; None: `[costs] truck_day`
    mobilisation: float | None = None  # its own per truck hired; None: `[costs] mobilisation`

    @property
    def rating_kva(self) -> float:
        """A truck's limit: its apparent power rating."""
        return self.rating_kw / self.power_factor

    @property
    def battery(self) -> bool:
        """A battery (energy-storage) truck: an inverter with `storage_kwh` of energy, no fuel."""
        return self.storage_kwh > 0

    @property
    def sustained_x_pu(self) -> float:
        """The reactance the sustained fault current flows behind: xd without excitation
        support, 1 / `sc_support_multiple` with it."""
        return 1.0 / self.sc_support_multiple if self.excitation == "support" else self.xd_pu

    def ids(self) -> tuple[str, ...]:
        """Its trucks' ids: `<name>-<n>`, or T1..Tn for the single type of `[fleet]`."""
        if self.name is None:
            return tuple(f"T{n}" for n in range(1, self.trucks + 1))
        return tuple(f"{self.name}-{n}" for n in range(1, self.trucks + 1))


# what a truck type takes from `[fleet]` when it does not say (besides its own four keys)
MACHINE_KEYS = (
    "vm_setpoint_pu",
    "fuel_l_per_kwh",
    "tank_l",
    "tanker_l",
    "xdss_pu",
    "xds_pu",
    "xd_pu",
    "tds_s",
    "excitation",
    "sc_support_multiple",
    "mv_earthing",
    "load_step_percent",
)


@dataclass(frozen=True)
class Fleet:
    """`[fleet]`. With `types` (a mixed fleet) `trucks` is their total and `rating_kw`,
    `power_factor` the largest type's: figures used as bounds stay valid bounds."""

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
    types: tuple[TruckType, ...] = ()

    @property
    def rating_kva(self) -> float:
        """A truck's limit: its apparent power rating."""
        return self.rating_kw / self.power_factor

    @functools.cached_property
    def single(self) -> TruckType:
        """The one type `[fleet]` itself describes (for a mixed fleet: its largest type's
        limits with `[fleet]`'s machine data, what a truck of no known type is judged by)."""
        machine = {key: getattr(self, key) for key in MACHINE_KEYS}
        return TruckType(None, self.trucks, self.rating_kw, self.power_factor, **machine)

    @property
    def kinds(self) -> tuple[TruckType, ...]:
        """The fleet's truck types: `types`, or the single implicit one of `[fleet]`."""
        return self.types or (self.single,)

    def truck_ids(self) -> tuple[str, ...]:
        """Every truck of the fleet, type by type."""
        return tuple(i for kind in self.kinds for i in kind.ids())

    @functools.cached_property
    def _by_id(self) -> dict[str, TruckType]:
        return {i: kind for kind in self.kinds for i in kind.ids()}

    def type_of(self, truck_id: str) -> TruckType | None:
        """The type of the truck `truck_id`, or None when the fleet has no such truck."""
        return self._by_id.get(truck_id)

    def machine(self, truck_id: str, kind: TruckType | None = None) -> TruckType:
        """The limits and machine data a truck is judged by: `kind` when given, else its id's
        type, else `single` (a truck the fleet does not know)."""
        return kind or self.type_of(truck_id) or self.single


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
