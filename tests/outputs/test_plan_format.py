"""plan.json carries every field of the `planner.plan/1` contract, with the documented types."""

from __future__ import annotations

import json

import planner
from planner.outputs.facts import facts_markdown
from tests.conftest import CASES

NUMBER = (int, float)
CONTRACT = {
    "format": str,
    "planner_version": str,
    "case": {"name": str, "file": str, "network": str},
    "feasible": bool,
    "fleet": {
        "trucks_available": int,
        "trucks_used": int,
        "rating_kw": NUMBER,
        "power_factor": NUMBER,
    },
    "summary": {
        "households_kept_supplied": int,
        "truck_energy_kwh": NUMBER,
        "fuel_l": NUMBER,
        "fuel_logistics": {  # an added field (#17): the tanker plan
            "tanker_l": NUMBER,
            "rule": str,
            "rounds_total": int,
            "litres_total": NUMBER,
            "days": list,
            "rounds": list,
        },
    },
}
STAGE = {
    "name": str,
    "start": str,
    "end": str,
    "out_of_service": list,
    "switching": {"close": list, "open": list, "in_service": list},
    "trucks": list,
    "islands": list,
    "demand": {"design_peak_kw": NUMBER, "peak_factor": NUMBER, "margin": NUMBER},
    "verification": {
        "passed": bool,
        "time_steps": int,
        "min_vm_pu": NUMBER,
        "max_vm_pu": NUMBER,
        "max_line_loading_percent": NUMBER,
        "max_trafo_loading_percent": NUMBER,
        "max_truck_loading_percent": NUMBER,
        "unserved_protected_kw": NUMBER,
        "violations": list,
    },
    "schedule": list,
    "sequence": list,
}
REF = {"ref": str, "table": str, "index": int}
TRUCK = {
    "id": str,
    "bus": int,
    "connection_point": str,
    "island": str,
    "rating_kw": NUMBER,
    "type": type(None),  # a single-type fleet
}
ISLAND = {
    "id": str,
    "buses": list,
    "supply": str,
    "design_peak_kw": NUMBER,
    "trucks": list,
    "households": int,
}
SCHEDULE = {"time": str, "online": list, "truck_kw": dict}
STEP = {
    "step": int,
    "time": str,
    "action": str,
    "element": str,
    "device": str,
    "checked": bool,
    "solved": {"at": list, "min_vm_pu": NUMBER, "max_vm_pu": NUMBER, "max_truck_kw": NUMBER},
}
INTERRUPTION = {"step": int, "kw": NUMBER, "minutes": NUMBER, "reason": str}


def _conforms(data: dict, shape: dict, where: str) -> None:  # type: ignore[type-arg]
    for key, kind in shape.items():
        assert key in data, f"{where}.{key} is missing"
        if isinstance(kind, dict):
            _conforms(data[key], kind, f"{where}.{key}")
        else:
            assert isinstance(data[key], kind) and not (
                kind is int and isinstance(data[key], bool)
            ), f"{where}.{key}: {data[key]!r}"


def test_plan_json_follows_the_contract(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert (
        cli("plan", CASES / "oberrhein_transfer_and_trucks.toml", "--out", tmp_path).exit_code == 0
    )
    data = json.loads((tmp_path / "plan.json").read_text())
    _conforms(data, CONTRACT, "plan")
    assert data["format"] == "planner.plan/1"
    for i, stage in enumerate(data["stages"]):
        where = f"stages[{i}]"
        _conforms(stage, STAGE, where)
        for part in ("close", "open", "in_service"):
            for ref in stage["switching"][part]:
                _conforms(ref, REF, f"{where}.switching.{part}")
        for ref in stage["out_of_service"]:
            _conforms(ref, REF, f"{where}.out_of_service")
        for truck in stage["trucks"]:
            _conforms(truck, TRUCK, f"{where}.trucks")
        for island in stage["islands"]:
            _conforms(island, ISLAND, f"{where}.islands")
            assert island["supply"] in ("grid", "transfer", "trucks", "none")
        for entry in stage["schedule"]:
            _conforms(entry, SCHEDULE, f"{where}.schedule")
        for step in stage["sequence"]:
            _conforms(step, STEP, f"{where}.sequence")
            if step["action"] == "connect_truck":
                assert isinstance(step["at"], str) and step["at"].startswith("bus:")
            if step["action"] in ("open", "take_out", "disconnect_load"):
                assert isinstance(step["across_kw"], NUMBER)
            if "joins" in step:
                _conforms(
                    step["sync"],
                    {"dv_percent": NUMBER, "dtheta_deg": NUMBER, "df_hz": NUMBER},
                    where,
                )
        assert isinstance(stage["interruptions"], list)
        for cut in stage["interruptions"]:
            _conforms(cut, INTERRUPTION, f"{where}.interruptions")
            assert cut["households"] is None or isinstance(cut["households"], int)
        assert stage["outage_free"] is (
            not stage["interruptions"] and stage["verification"]["passed"]
        )
        assert stage["schedule"] and stage["sequence"] and stage["switching"]["close"]


def test_plan_md_states_its_rules_and_limits() -> None:
    case = planner.load_case(CASES / "case33bw_trucks.toml")
    assert facts_markdown(case) == [
        "## Rules and limits",
        "",
        "- reserve rule: none: the trucks online carry each island's load, no spare",
        "- min_loading: 30 % of a truck's rating: as many trucks run as stay above it (hours "
        "where even one is below are listed)",
        "- trucks: 500 kW, power factor 0.8 (625 kVA), voltage set-point 1 pu, set-up 2 h",
        # case33bw carries pandapower's OPF bus limits: the slack bus is held at 1.0 pu
        "- voltage band: 0.9 to 1.07 pu; the network's own min\\_vm\\_pu 0.9 to 1 pu on 33 "
        "bus(es), max\\_vm\\_pu 1 to 1.1 pu on 33 bus(es) (where tighter, they apply)",
        "- loading limits: lines 100 %, transformers 100 %, trucks 100 % of kW and kVA",
        "- design load: profile flat, scaling 1, margin 10 %",
        "- switching: 5 min per step; closing within dV 3 %, dθ 10°, df 0.1 Hz; a switch of "
        "unknown type is a LBS",
        "- protection: not required by the case: fault currents are reported as warnings",
        "- fuel: 0.27 L/kWh, tank 1,500 L (refuelled before it would drop below 10 %), tanker "
        "6,000 L",
        "",
    ]
