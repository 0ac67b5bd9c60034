"""`StageSearch.better_than` weighs protected load left unserved before trucks, with a
tolerance of `UNSERVED_TOL_KW` for sums made in another order (found by review): a switch set
leaving even a fraction of a kW unserved is not better than one serving every island, and the
same unserved figure summed another way is not less."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from planner.core.refs import ElementRef
from planner.core.switching import Switching
from planner.decide.search import StageSearch
from planner.decide.switchsets import Candidate, Enumeration


def _search(*candidates: Candidate) -> StageSearch:
    found = Enumeration(tuple(candidates), len(candidates), True, 3, 1, 1, None)  # type: ignore[arg-type]
    ctx = SimpleNamespace(stage=SimpleNamespace(name="s"))
    search = StageSearch(ctx, found)  # type: ignore[arg-type]
    search.passes = lambda switching, extra=(): True  # type: ignore[method-assign]
    return search


def _set(name: str, trucks: int, unserved_kw: float) -> Candidate:
    switching = Switching((ElementRef("switch", 1, name),), (), ())
    return Candidate(switching, 1, trucks, trucks, unserved_kw, 0.0)


# name: (candidate's trucks, its unserved kW, the plan in hand's trucks and unserved kW, chosen)
CASES = {
    "0.4 kW left unserved is not better than all served": (2, 0.4, 3, 0.0, False),
    "0.5 kW left unserved is not better than all served": (2, 0.5, 3, 0.0, False),
    "same unserved, summed another way, more trucks": (5, 100.5 - 1e-9, 3, 100.5 + 1e-9, False),
    "same unserved, summed another way, fewer trucks": (2, 100.5 + 1e-9, 3, 100.5 - 1e-9, True),
    "less unserved, more trucks": (5, 0.0, 3, 0.6, True),
    "all served, fewer trucks": (2, 0.0, 3, 0.0, True),
    "all served, as many trucks": (3, 0.0, 3, 0.0, False),
}


@pytest.mark.parametrize("name", CASES)
def test_a_switch_set_is_better_only_when_it_serves_more_or_as_much_with_fewer(name: str) -> None:
    trucks, unserved_kw, in_hand, in_hand_kw, chosen = CASES[name]
    candidate = _set("a", trucks, unserved_kw)
    assert (_search(candidate).better_than(in_hand, in_hand_kw) is candidate) is chosen
