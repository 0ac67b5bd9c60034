"""Hostile case and profile files: `planner check` refuses each with exit 2, naming the culprit.

Each row of HOSTILE is a case (the base case with one part replaced, or a whole text) and the
files beside it; `planner check` must exit 2 with the exact problem line, print no traceback, and
never echo a line of any file the case names (a profile path may name any file).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import planner
from planner.core.errors import CaseError
from planner.inputs import demand
from planner.inputs.case import Loads, Stage
from planner.inputs.demand import count_check_times, memory_problems
from planner.inputs.profiles import SIMBENCH_STEP, steps_of

SECRET = "SECRET-MARKER-7f3a"

BASE = {
    "case": 'name = "hostile"\nnetwork = "pandapower:create_cigre_network_mv"',
    "fleet": "trucks = 2",
    "points": '[[connection_points]]\nbus = "bus:Bus 5"\nbays = 2',
    "loads": "",
    "switching": "",
    "window": "start = 2025-07-01T08:00:00+00:00\nend = 2025-07-01T11:00:00+00:00",
    "stage": "",
}

PROFILE_OK = (
    "time,factor\n2025-07-01T00:00:00+00:00,0.5\n2025-07-01T09:00:00+00:00,1.0\n"
    "2025-07-01T12:00:00+00:00,0.7\n"
)
PASSWD = f"root:x:0:0:{SECRET}:/root:/bin/bash\n"


def _case(**parts: str) -> str:
    p = {**BASE, **parts}
    return (
        f"[case]\n{p['case']}\n[fleet]\n{p['fleet']}\n{p['points']}\n[loads]\n{p['loads']}\n"
        f'[switching]\n{p["switching"]}\n[[stages]]\nname = "S1"\n{p["window"]}\n'
        f'out_of_service = ["line:Line 3-4"]\n{p["stage"]}\n'
    )


def _profile(rows: str) -> dict[str, Any]:
    return {"case": _case(loads='profile = "profile.csv"'), "files": {"profile.csv": rows}}


# id -> (case text, files beside it, the expected problem line after "<case path>: ")
HOSTILE: dict[str, tuple[str, dict[str, str], str]] = {
    # [loads] protected: wrong shapes and selectors that select nothing
    "protected_number": (
        _case(loads="protected = 3"),
        {},
        'loads.protected: expected "all", a list of load references such as ["load:Name"] or '
        '{ column = "...", equals = "..." }, got int 3',
    ),
    "protected_other_word": (
        _case(loads='protected = "none"'),
        {},
        'loads.protected: expected "all", a list of load references such as ["load:Name"] or '
        '{ column = "...", equals = "..." }, got str \'none\'',
    ),
    "protected_unknown_key": (
        _case(loads='protected = { column = "name", equals = "Load R1", where = "x" }'),
        {},
        "loads.protected.where: unknown key (allowed: column, equals)",
    ),
    "protected_list_of_numbers": (
        _case(loads="protected = [1]"),
        {},
        "loads.protected[0]: expected a load reference string, got int 1",
    ),
    "protected_empty_list": (
        _case(loads="protected = []"),
        {},
        'loads.protected: the empty list protects no load; expected "all", a list of load '
        'references such as ["load:Name"] or { column = "...", equals = "..." }',
    ),
    "protected_matches_nothing": (
        _case(loads='protected = { column = "name", equals = "Load R99" }'),
        {},
        "loads.protected.equals: no load has name equal to 'Load R99': the selector would "
        "leave loads unprotected",
    ),
    "protected_one_value_matches_nothing": (
        _case(loads='protected = { column = "name", equals = ["Load R1", "Load R99"] }'),
        {},
        "loads.protected.equals[1]: no load has name equal to 'Load R99': the selector would "
        "leave loads unprotected",
    ),
    "protected_equals_a_table": (
        _case(loads='protected = { column = "name", equals = { a = 1 } }'),
        {},
        "loads.protected.equals: expected a string or a number, got a table with keys 'a'",
    ),
    "protected_listed_twice": (
        _case(loads='protected = ["load:#0", "load:#0"]'),
        {},
        "loads.protected[1]: 'load:#0' is listed twice",
    ),
    # CSV profiles: strict header, rows and numbers; never quoting the file
    "profile_duplicate_header": (
        *_profile(f"time,factor,factor\n2025-07-01T00:00:00+00:00,0.5,{SECRET}\n").values(),
        "loads.profile: profile 'profile.csv', row 1: column 3 repeats the header 'factor' of "
        "column 2",
    ),
    "profile_empty_header": (
        *_profile("time,\n2025-07-01T00:00:00+00:00,0.5\n").values(),
        "loads.profile: profile 'profile.csv', row 1: column 2 has an empty header; expected "
        "the header 'time,factor'",
    ),
    "profile_ragged_row": (
        *_profile(
            f"time,factor\n2025-07-01T00:00:00+00:00,0.5\n2025-07-01T09:00:00+00:00,1,{SECRET}\n"
        ).values(),
        "loads.profile: profile 'profile.csv', row 3: 3 cells, expected 2 (time and factor)",
    ),
    "profile_underscore_number": (
        *_profile(f"time,factor\n2025-07-01T00:00:00+00:00,1_0\n{SECRET},1\n").values(),
        "loads.profile: profile 'profile.csv', row 2, column 2 (factor): not a number (digits "
        "with an optional '.', sign and exponent)",
    ),
    "profile_overflowing_number": (
        *_profile("time,factor\n2025-07-01T00:00:00+00:00,1e400\n").values(),
        "loads.profile: profile 'profile.csv', row 2, column 2 (factor): must be at most 100",
    ),
    "profile_nan": (
        *_profile("time,factor\n2025-07-01T00:00:00+00:00,nan\n").values(),
        "loads.profile: profile 'profile.csv', row 2, column 2 (factor): not a number (digits "
        "with an optional '.', sign and exponent)",
    ),
    "profile_inf": (
        *_profile(
            "time,factor\n2025-07-01T00:00:00+00:00,0.5\n2025-07-01T09:00:00+00:00,inf\n"
        ).values(),
        "loads.profile: profile 'profile.csv', row 3, column 2 (factor): not a number (digits "
        "with an optional '.', sign and exponent)",
    ),
    "profile_negative_factor": (
        *_profile("time,factor\n2025-07-01T00:00:00+00:00,-0.5\n").values(),
        "loads.profile: profile 'profile.csv', row 2, column 2 (factor): must be 0 or more",
    ),
    "profile_duplicate_time": (
        *_profile(
            "time,factor\n2025-07-01T00:00:00+00:00,0.5\n2025-07-01T00:00:00+00:00,0.6\n"
        ).values(),
        "loads.profile: profile 'profile.csv', row 3, column 1 (time): the same time as row 2; "
        "times must increase",
    ),
    "profile_time_going_back": (
        *_profile(
            "time,factor\n2025-07-01T12:00:00+00:00,0.5\n\n2025-07-01T00:00:00+00:00,0.6\n"
        ).values(),
        "loads.profile: profile 'profile.csv', row 4, column 1 (time): earlier than row 2; "
        "times must increase",
    ),
    "profile_rows_seconds_apart": (
        *_profile(
            "time,factor\n2025-07-01T00:00:00+00:00,0.5\n2025-07-01T00:00:30+00:00,0.6\n"
        ).values(),
        "loads.profile: profile 'profile.csv', row 3, column 1 (time): less than a minute after "
        "row 2; rows must be at least a minute apart",
    ),
    "profile_time_without_offset": (
        *_profile("time,factor\n2025-07-01T00:00:00,0.5\n").values(),
        "loads.profile: profile 'profile.csv', row 2, column 1 (time): has no UTC offset (write "
        "it as 2025-05-12T06:00:00+08:00)",
    ),
    "profile_time_in_year_1": (
        *_profile("time,factor\n0001-07-01T00:00:00+00:00,0.5\n").values(),
        "loads.profile: profile 'profile.csv', row 2, column 1 (time): must be in the years "
        "1900 to 2200",
    ),
    "profile_header_only": (
        *_profile("time,factor\n").values(),
        "loads.profile: profile 'profile.csv' has a header but no rows",
    ),
    "profile_empty": (
        *_profile("").values(),
        "loads.profile: profile 'profile.csv' is empty: expected the header 'time,factor'",
    ),
    "profile_not_utf8": (
        *_profile("time,factor\n2025-07-01T00:00:00+00:00,\udcff\n").values(),
        "loads.profile: profile 'profile.csv', row 2: not UTF-8 text",
    ),
    "profile_stray_quote": (
        *_profile(f'time,factor\n2025-07-01T00:00:00+00:00,"0.5"x{SECRET}\n').values(),
        "loads.profile: profile 'profile.csv', row 2: not CSV text (a stray quote or a field "
        "too long)",
    ),
    "profile_names_another_file": (
        _case(loads='profile = "secret/passwd"'),
        {"secret/passwd": PASSWD},
        "loads.profile: profile 'secret/passwd', row 1: column 1 is not 'time' or 'factor'; "
        "expected the header 'time,factor'",
    ),
    "profile_names_a_directory": (
        _case(loads='profile = "secret"'),
        {"secret/passwd": PASSWD},
        "loads.profile: 'secret' is neither one of flat, residential, commercial, simbench nor "
        "a CSV file next to the case",
    ),
    "profile_path_with_nul": (
        _case(loads='profile = "a\\u0000b.csv"'),
        {},
        "loads.profile: 'a\\x00b.csv' is neither one of flat, residential, commercial, simbench "
        "nor a CSV file next to the case",
    ),
    # numbers of the case: finite and in sane ranges
    "rating_1e308": (
        _case(fleet="trucks = 2\nrating_kw = 1e308"),
        {},
        "fleet.rating_kw: must be at most 100000, got 1e+308",
    ),
    "rating_400_digits": (
        _case(fleet="trucks = 2\nrating_kw = " + "9" * 400),
        {},
        "fleet.rating_kw: is too large, got a whole number of 400 digits",
    ),
    "margin_300_digits": (
        _case(loads="margin = " + "9" * 300),
        {},
        "loads.margin: must be at most 10, got a whole number of 300 digits",
    ),
    "setup_hours_huge": (
        _case(fleet="trucks = 2\nsetup_hours = 1e300"),
        {},
        "fleet.setup_hours: must be at most 720, got 1e+300",
    ),
    "tank_huge": (
        _case(fleet="trucks = 2\ntank_l = 1e20"),
        {},
        "fleet.tank_l: must be at most 100000, got 1e+20",
    ),
    "power_factor_tiny": (
        _case(fleet="trucks = 2\npower_factor = 1e-300"),
        {},
        "fleet.power_factor: must be at least 0.1, got 1e-300",
    ),
    "scaling_huge": (
        _case(loads="scaling = 1e9"),
        {},
        "loads.scaling: must be at most 100, got 1000000000.0",
    ),
    "step_minutes_tiny": (
        _case(switching="step_minutes = 1e-300"),
        {},
        "switching.step_minutes: must be at least 1, got 1e-300",
    ),
    "trucks_of_5000_digits": (
        _case(fleet="trucks = " + "9" * 5000),
        {},
        "not valid TOML: a number too long to read",
    ),
    "trucks_a_billion": (
        _case(fleet="trucks = 1000000000"),
        {},
        "fleet.trucks: must be at most 1000, got 1000000000",
    ),
    "bays_2_to_62": (
        _case(points='[[connection_points]]\nbus = "bus:Bus 5"\nbays = 4611686018427387904'),
        {},
        "connection_points[0].bays: must be at most 100, got 4611686018427387904",
    ),
    "start_in_year_1": (
        _case(window="start = 0001-07-01T08:00:00+00:00\nend = 2025-07-01T11:00:00+00:00"),
        {},
        "stages[0].start: must be in the years 1900 to 2200, got 0001-07-01T08:00:00+00:00",
    ),
    "end_in_year_9999": (
        _case(window="start = 2025-07-01T08:00:00+00:00\nend = 9999-12-31T23:00:00+00:00"),
        {},
        "stages[0].end: must be in the years 1900 to 2200, got 9999-12-31T23:00:00+00:00",
    ),
    "a_100_year_stage": (
        _case(window="start = 2025-07-01T08:00:00+00:00\nend = 2125-07-01T08:00:00+00:00"),
        {},
        "stages[0].end: the stage lasts 36,524.0 days, more than the 366 a stage may last; "
        "split the works into stages",
    ),
    "outage_hours_huge": (
        _case(fleet="trucks = 2\n[benefit]\nconventional_outage_hours = 1e300"),
        {},
        "benefit.conventional_outage_hours: must be at most 8784, got 1e+300",
    ),
    "nested_toml": (
        "a = " + "[" * 5000 + "]" * 5000 + "\n",
        {},
        "not valid TOML: arrays or tables nested too deeply",
    ),
    "case_file_too_large": (
        "# a comment\n" * 400_000,
        {},
        "the case file is larger than 4,000,000 bytes; a case is a page of TOML",
    ),
    "control_characters_in_a_key": (
        _case(fleet='trucks = 2\n"\\u001b[31mred" = 1'),
        {},
        'fleet."\\x1b[31mred": unknown key (allowed: excitation, fuel_l_per_kwh, '
        "load_step_percent, min_loading, mv_earthing, power_factor, rating_kw, reserve, "
        "sc_support_multiple, setup_hours, tank_l, tanker_l, tds_s, trucks, types, "
        "vm_setpoint_pu, xd_pu, xds_pu, xdss_pu)",
    ),
    # [stages.after]: typed like its column, then the network sanity checks
    "after_negative_voltage": (
        _case(stage='[stages.after]\n"bus:Bus 5" = { vn_kv = -12.66 }'),
        {},
        'stages[0].after."bus:Bus 5".vn_kv: must be a number greater than 0, got -12.66 (in '
        "the network as the stage leaves it)",
    ),
    "after_string_for_a_switch_state": (
        _case(stage='[stages.after]\n"switch:#0" = { closed = "no" }'),
        {},
        "stages[0].after.\"switch:#0\".closed: expected true or false for switch.closed, got 'no'",
    ),
    "after_string_for_in_service": (
        _case(stage='[stages.after]\n"bus:Bus 5" = { in_service = "x" }'),
        {},
        'stages[0].after."bus:Bus 5".in_service: expected true or false for bus.in_service, '
        "got 'x'",
    ),
    "after_huge_rating": (
        _case(stage='[stages.after]\n"line:Line 3-4" = { max_i_ka = 1e308 }'),
        {},
        'stages[0].after."line:Line 3-4".max_i_ka: line.max_i_ka must be a finite number of at '
        "most 1e6, got 1e+308",
    ),
    "after_no_ext_grid_left": (
        _case(stage='[stages.after]\n"ext_grid:#0" = { in_service = false }'),
        {},
        "stages[0].after: the network as the stage leaves it: ext_grid: the network has no "
        "in-service ext_grid: nothing supplies it",
    ),
    "after_vkr_above_vk": (
        _case(stage='[stages.after]\n"trafo:#0" = { vk_percent = 0.01 }'),
        {},
        "stages[0].after: the network as the stage leaves it: trafo:Trafo 0-1.vkr_percent: "
        "must not exceed vk_percent (0.01), got 0.16",
    ),
    "after_a_list": (
        _case(stage='[stages.after]\n"line:Line 3-4" = { length_km = [1] }'),
        {},
        'stages[0].after."line:Line 3-4".length_km: expected a single value for '
        "line.length_km, got a list",
    ),
}


def _write(tmp_path: Path, text: str, files: dict[str, str]) -> Path:
    for name, content in files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode("utf-8", errors="surrogateescape"))
    path = tmp_path / "case.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_case_is_refused_naming_the_culprit(cli, tmp_path: Path, name: str) -> None:
    text, files, expected = HOSTILE[name]
    path = _write(tmp_path, text, files)
    result = cli("check", path)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"  - {path}: {expected}\n" in result.output, result.output
    assert SECRET not in result.output
    for content in files.values():
        for line in content.splitlines():
            if len(line) >= 6 and line.strip() != "time,factor":
                assert line not in result.output
    assert "\x1b" not in result.output


def test_a_profile_named_by_absolute_path_is_not_echoed(cli, tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere" / "shadow"
    secret.parent.mkdir()
    secret.write_text(f"time;factor;{SECRET}\n")
    path = _write(tmp_path, _case(loads=f"profile = {str(secret)!r}"), {})
    result = cli("check", path)
    assert result.exit_code == 2
    assert SECRET not in result.output
    assert f"profile {str(secret)!r}, row 1: column 1 is not 'time' or 'factor'" in result.output


def test_a_sparse_8_gb_profile_is_refused_unread(cli, tmp_path: Path) -> None:
    path = _write(tmp_path, _case(loads='profile = "big.csv"'), {})
    with (tmp_path / "big.csv").open("wb") as handle:
        handle.truncate(8 * 1024**3)  # sparse: no disk used, and nothing may read it
    result = cli("check", path)
    assert result.exit_code == 2
    assert (
        f"  - {path}: loads.profile: profile 'big.csv' is 8,589.9 MB, more than the 16.0 MB a "
        "profile of these stages may have; cut it to the stages' window\n"
    ) in result.output


def test_a_valid_profile_still_loads(tmp_path: Path) -> None:
    path = _write(tmp_path, _case(loads='profile = "profile.csv"'), {"profile.csv": PROFILE_OK})
    case = planner.load_case(path)
    assert case.loads.csv_profile is not None
    assert case.loads.csv_profile.factors == (0.5, 1.0, 0.7)


def test_a_bom_and_swapped_columns_are_read(tmp_path: Path) -> None:
    rows = "\ufefffactor,time\r\n0.5,2025-07-01T00:00:00+00:00\r\n0.8,2025-07-01T12:00:00Z\r\n"
    path = _write(tmp_path, _case(loads='profile = "profile.csv"'), {"profile.csv": rows})
    profile = planner.load_case(path).loads.csv_profile
    assert profile is not None and profile.factors == (0.5, 0.8)


def test_protected_selector_by_values_selects_the_loads(tmp_path: Path) -> None:
    loads = 'protected = { column = "name", equals = ["Load R1", "Load CI7"] }'
    case = planner.load_case(_write(tmp_path, _case(loads=loads), {}))
    net = case.network.net
    assert case.loads.protected == frozenset(
        int(i) for i in net.load.index[net.load.name.isin(["Load R1", "Load CI7"])]
    )


# memory: estimated from counts before anything per time step is allocated

START = datetime(2016, 3, 7, 6, tzinfo=UTC)


def test_check_times_are_counted_without_making_them() -> None:
    end = START + timedelta(days=3, minutes=50)
    rows = [START + timedelta(minutes=7 * k) for k in range(-20, 900)]
    assert count_check_times(START, end) == len(steps_of(START, end)) == 73
    every = SIMBENCH_STEP
    assert count_check_times(START, end, every=every) == len(steps_of(START, end, every=every))
    assert count_check_times(START, end, rows) >= len(steps_of(START, end, rows))


def test_two_years_of_quarter_hours_on_a_large_simbench_grid_are_refused() -> None:
    net = SimpleNamespace(load=range(11_542), bus=range(10_458))
    network: Any = SimpleNamespace(net=net, is_simbench=True)
    stage = Stage("two years", START, START + timedelta(days=730), ())
    [(key, message)] = memory_problems([("stages[0]", stage)], network, _loads("simbench"))
    assert key == "stages[0]"
    assert message == (
        "stage 'two years' needs about 2.7 GB for 70,080 time steps x 11,542 loads and 10,458 "
        "buses (SimBench profiles are checked every quarter hour); the limit is 2.0 GB: split "
        "the stage into shorter stages"
    )
    week = dataclasses.replace(stage, end=START + timedelta(days=7))
    assert memory_problems([("stages[0]", week)], network, _loads("simbench")) == []


def test_many_long_stages_together_are_refused() -> None:
    network: Any = SimpleNamespace(net=SimpleNamespace(load=range(18), bus=range(15)))
    network.is_simbench = False
    stages = [
        (
            f"stages[{k}]",
            Stage(
                f"S{k}", START + timedelta(days=366 * k), START + timedelta(days=366 * k + 365), ()
            ),
        )
        for k in range(100)
    ]
    [(key, message)] = memory_problems(stages, network, _loads("flat"))
    assert key == "stages"
    assert message == (
        "the stages together need about 14.4 GB for 876,000 time steps; the limit is 2.0 GB: "
        "plan fewer or shorter stages per case"
    )


def test_the_bound_refuses_at_load_and_in_stage_demand(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, _case(), {})
    case = planner.load_case(path)
    monkeypatch.setattr(demand, "MEMORY_LIMIT_BYTES", 20_000)
    result = cli("check", path)
    assert result.exit_code == 2
    assert (
        f"  - {path}: stages[0]: stage 'S1' needs about 49 kB for 3 time steps x 18 loads and "
        "15 buses (it is checked every hour); the limit is 20 kB: split the stage into "
        "shorter stages\n"
    ) in result.output
    with pytest.raises(CaseError) as info:
        demand.stage_demand(case, case.network.net, case.stages[0])
    assert info.value.problems[0].key == "stages"


def _loads(profile: str) -> Loads:
    return Loads(protected=frozenset(), profile=profile)


def test_true_as_a_voltage_in_the_network_is_refused(cli, tmp_path: Path) -> None:
    import pandapower as pp
    import pandapower.networks as pn

    net = pn.create_cigre_network_mv()
    net.bus["vn_kv"] = net.bus["vn_kv"].astype(object)
    net.bus.at[5, "vn_kv"] = True
    pp.to_json(net, str(tmp_path / "net.json"))
    text = _case(case='name = "x"\nnetwork = "net.json"')
    result = cli("check", _write(tmp_path, text, {}))
    assert result.exit_code == 2
    assert "net.json: bus:Bus 5.vn_kv: must be a number greater than 0, got True\n" in result.output
