"""Load states solved and checked a block at a time give exactly what one pass gives
(issue 16: a year of quarter hours never held as (states, buses) arrays).

`planner.checks.solve.ROWS` states go to the engine at a time and `RowScan` carries each
element's worst values from block to block; here the blocks are made small (16 states, the
engine's own block) and the plan, or the scan's findings, compared with one block's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandapower.networks as pn
import pytest

import planner
import planner.checks.solve as solve
from planner.grid.limits import Findings
from planner.inputs.case import Limits
from tests.conftest import CASES, DATA

INSPECT = DATA / "cases" / "inspect"


def _variant(tmp_path: Path, source: Path, days: int) -> Path:
    """`source` with the residential profile over `days` more days (more load states than one
    block), its network by absolute path."""
    text = source.read_text()
    network = next(line for line in text.splitlines() if line.startswith("network = "))
    name = network.split('"')[1]
    if ":" not in name:
        text = text.replace(network, f'network = "{(source.parent / name).as_posix()}"')
    text = text.replace(
        "end = 2025-07-01T20:00:00+00:00", f"end = 2025-07-0{1 + days}T20:00:00+00:00"
    )
    path = tmp_path / source.name
    path.write_text(text + '\n[loads]\nprofile = "residential"\n')
    return path


# (case file, days added): a stage of 46 load states; n-1 reserve (the tripped-truck solves);
# limits the normal state already breaks (exemptions, pre-existing violations)
CHUNKED = [
    ("dashiqiao", None),
    ("case33bw_reserve", 2),
    ("broken_normally", 2),
]


@pytest.mark.parametrize(("name", "days"), CHUNKED, ids=[c[0] for c in CHUNKED])
def test_a_plan_in_blocks_of_16_states_is_the_plan_in_one(
    name: str, days: int | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = CASES / f"{name}.toml"
    if not source.is_file():
        source = INSPECT / f"{name}.toml"
    path = source if days is None else _variant(tmp_path, source, days)
    case = planner.load_case(path)
    whole = planner.plan_case(case).to_json()
    monkeypatch.setattr(solve, "ROWS", 16)
    blocks = planner.plan_case(planner.load_case(path)).to_json()
    assert blocks == whole
    steps = [len(s["schedule"]) for s in json.loads(whole)["stages"]]
    assert max(steps) > 16  # more states than one block: the blocks were used


def _findings(net, exempt) -> Findings:  # type: ignore[no-untyped-def]
    limits = Limits(vm_min_pu=0.95, vm_max_pu=1.02, max_line_loading_percent=60.0)
    return Findings(net, limits, exempt=exempt, breaches={})


def _state(f: Findings) -> dict[str, object]:
    return {
        "violations": [(k, v.as_json()) for k, v in f.violations.items()],
        "preexisting": [(k, v.as_json()) for k, v in f.preexisting.items()],
        "breaches": [(k, list(v.items())) for k, v in (f.breaches or {}).items()],
        "worst": f.worst_json(),
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("size", [1, 7, 16])
def test_a_scan_in_blocks_finds_what_one_pass_finds(seed: int, size: int) -> None:
    """Values rounded to create ties (the earliest row wins either way), some limits broken
    in the normal state at some times (counted only when broken further)."""
    rng = np.random.default_rng(seed)
    net = pn.case33bw()
    buses = net.bus.index.to_numpy()
    lines = net.line.index.to_numpy()
    steps = 40
    vm = np.round(rng.normal(0.985, 0.03, (steps, len(buses))), 3)
    line = np.round(rng.uniform(10.0, 90.0, (steps, len(lines))), 0)
    vm[:, 20] = 0.97
    vm[::4, 20] = 0.94  # below its floor only when, and as far as, the normal state is
    trafos, trafo = np.zeros(0, int), np.zeros((steps, 0))
    whens = [f"2025-07-01T{k:02d}" for k in range(steps)]
    exempt = {
        ("vm_min", "bus:#17"): {w: 0.93 for w in whens[::2]},
        ("vm_max", "bus:#3"): {w: 1.05 for w in whens[5:30]},
        ("line_loading", "line:#0"): {w: 80.0 for w in whens},
        ("vm_min", "bus:#20"): {w: 0.94 for w in whens},
    }
    one = _findings(net, exempt)
    one.check_batch(buses, vm, lines, line, trafos, trafo, whens, "grid", "I1")
    blocks = _findings(net, exempt)
    scan = blocks.scan_rows("grid", "I1")
    for a in range(0, steps, size):
        cut = slice(a, a + size)
        scan.feed(buses, vm[cut], lines, line[cut], trafos, trafo[cut], whens[a : a + size])
    scan.finish()
    assert _state(blocks) == _state(one)
    assert one.violations and one.preexisting  # both kinds of finding exercised
