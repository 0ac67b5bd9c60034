"""`planner programme` (#19 item 5): a region's jobs planned on Dask, windows chosen by a MILP.

- the window MILP against a brute force over every choice of small instances;
- bad programme files: every problem named by file, key and value (exit 2), from the files in
  `tests/data/programme/invalid/` (each says what it expects in `# expect:` lines);
- the test programme (`tests/data/programme/region.toml`: ten jobs on the IEEE 33-bus cases,
  four trucks) planned on a LocalCluster of two workers: every job's plan validates against its
  shifted case, and a replay of programme.json written here (not using the planner's code)
  finds no truck in two places, no gap shorter than travel plus set-up, and the fleet use the
  jobs give.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import tomllib
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from planner.decide.programme_fleet import (
    JobOptions,
    Option,
    assignment_problems,
    choose_windows,
)
from planner.inputs.programme_file import ProgrammeError, load_programme
from tests.conftest import DATA

PROGRAMMES = DATA / "programme"
INVALID = sorted((PROGRAMMES / "invalid").glob("*.toml"))
REGION = PROGRAMMES / "region.toml"


# --- the window MILP against a brute force ---------------------------------------------------


def _instance(seed: int) -> tuple[list[JobOptions], int]:
    rng = random.Random(seed)
    jobs = []
    for _ in range(rng.randint(2, 4)):
        length = rng.choice([6.0, 12.0, 30.0])
        options = tuple(
            Option(24.0 * k, 24.0 * k + 8, 24.0 * k + 8 + length, rng.randint(0, 3))
            for k in sorted(rng.sample(range(4), rng.randint(0, 3)))
        )
        jobs.append(JobOptions(rng.randint(0, 3), rng.choice([0.0, 5.0, 20.0]), options))
    return jobs, rng.randint(1, 4)


def _brute_force(jobs: list[JobOptions], trucks: int) -> tuple[float, ...]:
    """The best (unplaced, -sum of unplaced priorities, peak, hours after earliest) over every
    choice, each job in one of its windows or left out."""
    best: tuple[float, ...] | None = None
    for choice in itertools.product(*[[None, *range(len(j.options))] for j in jobs]):
        held = []  # (from, to, trucks)
        for job, c in zip(jobs, choice, strict=True):
            if c is not None:
                o = job.options[c]
                held.append((o.start_h - job.buffer_h, o.end_h, o.trucks))
        peak = max((sum(k for a, b, k in held if a <= t < b) for t, _, _ in held), default=0)
        if peak > trucks:
            continue
        out = [j for j, c in zip(jobs, choice, strict=True) if c is None]
        early = sum(
            j.options[c].start_h - min(o.start_h for o in j.options)
            for j, c in zip(jobs, choice, strict=True)
            if c is not None
        )
        key = (len(out), -sum(j.priority for j in out), peak, early)
        best = key if best is None or key < best else best
    assert best is not None
    return best


@pytest.mark.parametrize("seed", range(40))
def test_the_window_milp_matches_a_brute_force(seed: int) -> None:
    jobs, trucks = _instance(seed)
    choice = choose_windows(jobs, trucks)
    unplaced = [j for j, c in zip(jobs, choice.chosen, strict=True) if c is None]
    got = (
        len(unplaced),
        -sum(j.priority for j in unplaced),
        choice.peak,
        choice.objectives[3],
    )
    assert got == _brute_force(jobs, trucks)
    spans = []
    for n, (job, c, numbers) in enumerate(zip(jobs, choice.chosen, choice.trucks, strict=True)):
        if c is None:
            assert numbers == ()
            continue
        o = job.options[c]
        assert len(numbers) == o.trucks and len(set(numbers)) == o.trucks
        spans.append((f"job {n}", o.start_h - job.buffer_h, o.end_h, numbers))
    assert assignment_problems(spans, choice.peak) == []  # the peak's trucks are enough


def test_priority_decides_who_waits_and_a_gap_needs_travel_and_set_up() -> None:
    day = Option(0.0, 8.0, 20.0, 2)
    jobs = [JobOptions(2, 5.0, (day,)), JobOptions(1, 5.0, (day,))]
    assert choose_windows(jobs, 2).chosen == (None, 0)  # the lower number runs
    # the next morning leaves 12 h: enough for 5 h of travel and set-up, not for 13 h
    later = Option(24.0, 32.0, 44.0, 2)
    fits = choose_windows([JobOptions(1, 5.0, (day,)), JobOptions(1, 12.0, (later,))], 2)
    assert fits.chosen == (0, 0) and fits.trucks == ((1, 2), (1, 2)) and fits.peak == 2
    short = choose_windows([JobOptions(1, 5.0, (day,)), JobOptions(2, 13.0, (later,))], 2)
    assert short.chosen == (0, None)


def test_an_overlap_is_found_by_the_check() -> None:
    spans = [("a", 0.0, 10.0, (1, 2)), ("b", 9.0, 20.0, (2,)), ("c", 1.0, 2.0, (3,))]
    assert assignment_problems(spans, 2) == [
        "c: truck R3 is not one of the region's 2",
        "truck R2: b needs it 1 h before a releases it",
    ]


# --- bad programme files ---------------------------------------------------------------------


def _expected(path: Path) -> list[tuple[str, str, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("# expect: "):
            continue
        where, _, message = line.removeprefix("# expect: ").partition(" | ")
        file = str(path)
        if where.startswith("{case} "):
            where = where.removeprefix("{case} ")
            file = str(path.parent / "../../cases/invalid/negative_trucks.toml")
        out.append((file, where, message.replace("{dir}", str(path.parent))))
    return out


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_a_bad_programme_names_file_key_and_value(path: Path) -> None:
    with pytest.raises(ProgrammeError) as caught:
        load_programme(path)
    got = [(p.file, p.key, p.message) for p in caught.value.problems]
    assert got == _expected(path)


def test_the_command_refuses_a_bad_programme_with_exit_2(cli, tmp_path: Path) -> None:
    path = PROGRAMMES / "invalid" / "ranges.toml"
    result = cli("programme", path, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: invalid programme: 5 problems",
        *(f"  - {file}: {key}: {message}" for file, key, message in _expected(path)),
    ]
    assert not (tmp_path / "out").exists()  # nothing written, the claimed folder removed


def test_the_candidate_windows_are_whole_steps_within_each_window() -> None:
    programme = load_programme(REGION)
    assert [j.offsets for j in programme.jobs] == [
        (0.0, 24.0, 48.0),
        (0.0, 24.0, 48.0),
        (-24.0, 0.0, 24.0, 48.0),
        (0.0, 24.0, 48.0, 72.0, 96.0),
        (24.0, 48.0, 72.0, 96.0),
        (-24.0, 0.0, 24.0, 48.0, 72.0, 96.0),
        (48.0, 72.0, 96.0, 120.0),
        (0.0, 24.0, 48.0, 72.0, 96.0, 120.0, 144.0),
        (0.0,),
        (-24.0, 0.0),
    ]
    assert programme.jobs[3].folder == "IEEE-33-bus-lateral-28-32-on-trucks-2"


# --- the test programme on two workers -------------------------------------------------------


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    from click.testing import CliRunner

    from planner.cli import main

    out = tmp_path_factory.mktemp("programme") / "out"
    result = CliRunner().invoke(
        main,
        ["programme", str(REGION), "--out", str(out), "--workers", "2", "--json"],
        catch_exceptions=False,
    )
    return out, result


def test_the_region_places_every_job_on_two_workers(region) -> None:
    out, result = region
    assert result.exit_code == 0, result.output
    data = json.loads((out / "programme.json").read_text(encoding="utf-8"))
    printed = json.loads(result.stdout)
    assert printed["jobs"] == data["jobs"]
    assert data["format"] == "planner.programme-result/1"
    assert data["engine"]["executor"] == "dask.distributed LocalCluster"
    assert data["engine"]["workers"] == 2
    assert data["engine"]["candidates"] == 39
    assert data["unplaced"] == []
    assert data["objectives"]["unplaced"] == 0 and data["objectives"]["peak_trucks"] == 4
    assert [j["trucks_used"] for j in data["jobs"]] == [2, 3, 2, 2, 3, 2, 2, 3, 2, 2]
    assert (out / "fleet_use.svg").read_text(encoding="utf-8").startswith("<?xml")


def test_every_job_validates_against_its_shifted_case(region, cli) -> None:
    out, _ = region
    data = json.loads((out / "programme.json").read_text(encoding="utf-8"))
    for job in data["jobs"]:
        case, plan = out / job["shifted_case"], out / job["plan"]
        result = cli("validate", case, plan)
        assert result.exit_code == 0, (job["key"], result.output)


def _at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp() / 3600.0


def test_a_replay_finds_no_truck_in_two_places(region) -> None:
    """Written from programme.json, the shifted cases and the plans alone."""
    out, _ = region
    data = json.loads((out / "programme.json").read_text(encoding="utf-8"))
    region_toml = tomllib.loads(REGION.read_text(encoding="utf-8"))
    trucks = region_toml["programme"]["trucks"]
    travel = region_toml["programme"]["travel_hours"]
    held: dict[str, list[tuple[float, float, str]]] = {}
    spans = []
    for job, given in zip(data["jobs"], region_toml["jobs"], strict=True):
        case = tomllib.loads((out / job["shifted_case"]).read_text(encoding="utf-8"))
        plan = json.loads((out / job["plan"]).read_text(encoding="utf-8"))
        starts = [s["start"] for s in case["stages"]]
        ends = [s["end"] for s in case["stages"]]
        assert job["start"] == min(starts).isoformat() and job["end"] == max(ends).isoformat()
        assert plan["feasible"] is True and job["feasible"] is True
        assert plan["fleet"]["trucks_used"] == job["trucks_used"] == len(set(job["truck_ids"]))
        assert job["offset_hours"] % 24.0 == 0.0
        assert given["earliest"] <= min(starts) and max(ends) <= given["latest_end"]
        setup = case.get("fleet", {}).get("setup_hours", 2.0)
        a, b = _at(job["start"]) - travel - setup, _at(job["end"])
        spans.append((a, b, len(job["truck_ids"])))
        for truck in job["truck_ids"]:
            assert truck in {f"R{n}" for n in range(1, trucks + 1)}
            held.setdefault(truck, []).append((a, b, job["key"]))
    for truck, jobs in held.items():
        jobs.sort()
        for (_, end, first), (start, _, second) in itertools.pairwise(jobs):
            assert start >= end, f"{truck}: {second} starts too soon after {first}"
    use = data["fleet_use"]
    first = _at(use["start"])
    hourly = []
    for h in range(len(use["hourly"])):
        instants = [first + h] + [a for a, _, _ in spans if first + h < a < first + h + 1]
        hourly.append(max(sum(k for a, b, k in spans if a <= t < b) for t in instants))
    assert use["hourly"] == hourly
    assert use["peak"] == max(hourly) <= trucks
    at_peak = [a for a, _, _ in spans if sum(k for x, y, k in spans if x <= a < y) == max(hourly)]
    assert math.isclose(_at(use["peak_at"]), min(at_peak))
    assert sum(use["hourly"]) > 0 and first == math.floor(min(a for a, _, _ in spans))
    assert datetime.fromisoformat(use["start"]) + timedelta(hours=len(hourly)) >= max(
        datetime.fromisoformat(j["end"]) for j in data["jobs"]
    )


def test_a_second_run_into_the_same_folder_needs_force(region, cli) -> None:
    out, _ = region
    result = cli("programme", REGION, "--out", out, "--workers", "1")
    assert result.exit_code == 2
    assert "holds a plan already (programme.json, fleet_use.svg); use --force" in result.stderr


def test_a_job_with_no_window_is_unplaced_with_why(tmp_path: Path) -> None:
    from planner.dispatch.programme_run import run_programme
    from planner.outputs.programme import programme_data

    programme = load_programme(PROGRAMMES / "no_window.toml")
    assert programme.jobs[0].offsets == ()
    result = run_programme(programme, tmp_path, client=None, render=None)  # nothing to plan
    data = programme_data(result)
    assert data["unplaced"] == [
        {
            "key": "jobs[0]",
            "case": "../../../cases/case33bw_trucks.toml",
            "why": "no window: the job takes 12 h from its first stage's start to its last "
            "stage's end, 10 h lie between earliest and latest_end (starts every 24 h)",
        }
    ]
    assert data["jobs"][0]["placed"] is False and data["jobs"][0]["plan"] is None
    assert data["fleet_use"] == {
        "start": None,
        "step_hours": 1,
        "hourly": [],
        "peak": 0,
        "peak_at": None,
        "rule": data["fleet_use"]["rule"],
    }
    assert data["engine"]["plans"] == 0


def test_an_unreachable_scheduler_is_refused_with_exit_2(cli, tmp_path: Path) -> None:
    result = cli(
        "programme",
        PROGRAMMES / "no_window.toml",
        "--out",
        tmp_path / "o",
        "--scheduler",
        "tcp://127.0.0.1:9",
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-2:] == [
        "error: invalid usage: 1 problem",
        "  - --scheduler: cannot reach 'tcp://127.0.0.1:9': Timed out trying to connect to "
        "tcp://127.0.0.1:9 after 10 s",
    ]


def test_the_chart_has_the_hourly_line_and_a_row_per_job_with_trucks(region) -> None:
    from xml.dom import minidom

    out, _ = region
    data = json.loads((out / "programme.json").read_text(encoding="utf-8"))
    svg = minidom.parse(str(out / "fleet_use.svg"))
    rows = [
        g.getElementsByTagName("title")[0].firstChild.data for g in svg.getElementsByTagName("g")
    ]
    assert rows == [
        f"{j['key']} {j['folder']}: {', '.join(j['truck_ids'])}"
        for j in data["jobs"]
        if j["truck_ids"]
    ]
    (line,) = svg.getElementsByTagName("polyline")
    assert len(line.getAttribute("points").split()) == len(data["fleet_use"]["hourly"]) + 1


# --- programme.json against its JSON Schema (planner/schemas/programme-result.schema.json) ---


def test_the_programme_json_passes_its_schema(region) -> None:
    from tests.test_schemas import errors

    out, _ = region
    data = json.loads((out / "programme.json").read_text(encoding="utf-8"))
    assert errors("programme-result", data) == []
    assert all(j["placed"] for j in data["jobs"])  # the schema's placed branch was checked


def test_the_schema_refuses_a_programme_json_the_planner_would_not_write(region) -> None:
    from tests.test_schemas import errors

    out, _ = region
    data = json.loads((out / "programme.json").read_text(encoding="utf-8"))
    del data["jobs"][0]["truck_map"]
    data["jobs"][1]["offset_hours"] = None  # placed, so a number
    data["jobs"][2]["truck_ids"] = ["T1"]  # the plan's id, not the region's
    data["engine"]["threads"] = 1  # the planner's keys only
    data["fleet_use"]["hourly"][0] = -1
    job = data["jobs"][3]
    job["placed"] = False  # then nothing of a window may be given
    assert errors("programme-result", data) == [
        "engine: Additional properties are not allowed ('threads' was unexpected)",
        "fleet_use/hourly/0: -1 is less than the minimum of 0",
        "jobs/0: 'truck_map' is a required property",
        "jobs/1/offset_hours: None is not of type 'number'",
        "jobs/2/truck_ids/0: 'T1' does not match '^R[1-9][0-9]*$'",
        f"jobs/3/end: {job['end']!r} is not of type 'null'",
        "jobs/3/feasible: False was expected",
        f"jobs/3/offset_hours: {job['offset_hours']!r} is not of type 'null'",
        f"jobs/3/plan: {job['plan']!r} is not of type 'null'",
        f"jobs/3/shifted_case: {job['shifted_case']!r} is not of type 'null'",
        f"jobs/3/start: {job['start']!r} is not of type 'null'",
        f"jobs/3/truck_ids: {job['truck_ids']!r} is expected to be empty",
        f"jobs/3/truck_map: {job['truck_map']!r} is expected to be empty",
        f"jobs/3/trucks_used: {job['trucks_used']!r} is not of type 'null'",
    ]


def test_an_unplaced_job_passes_the_schema_too(cli, tmp_path: Path) -> None:
    from tests.test_schemas import errors

    result = cli(
        "programme", PROGRAMMES / "no_window.toml", "--out", tmp_path / "o", "--workers", "1"
    )
    assert result.exit_code == 1, result.output  # a job unplaced
    data = json.loads((tmp_path / "o" / "programme.json").read_text(encoding="utf-8"))
    assert errors("programme-result", data) == []
    assert data["jobs"][0]["placed"] is False and len(data["unplaced"]) == 1
    assert data["engine"]["executor"] == "dask.distributed LocalCluster"
    assert data["engine"]["workers"] == 1
