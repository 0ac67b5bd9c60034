"""Shared fixtures: paths, planned cases (planned once per session), the CLI runner."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

import planner
from planner.cli import main

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "cases"
DATA = Path(__file__).resolve().parent / "data"

logging.getLogger("pandapower").setLevel(logging.ERROR)

# CI replays fixed examples (a red run means a bug, not bad luck); locally they are random
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session", autouse=True)
def _own_cache(tmp_path_factory):  # type: ignore[no-untyped-def]
    """The suite's own SimBench cache (filled and reused within one run): it never reads or
    writes the user's ~/.cache, and the child processes tests start inherit it."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def cli():
    """Run the `planner` command in-process; returns click's Result."""
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    return run


_PLANS: dict[str, tuple[planner.Case, planner.Plan]] = {}


@pytest.fixture(scope="session")
def planned():
    """Load and plan a shipped case once per test session."""

    def get(name: str) -> tuple[planner.Case, planner.Plan]:
        if name not in _PLANS:
            case = planner.load_case(CASES / f"{name}.toml")
            _PLANS[name] = (case, planner.plan_case(case))
        return _PLANS[name]

    return get
