"""The package's wings: modules under 400 lines, imports pointing only down, never the facade."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "planner"
# `api` (planner/api.py, the library API the facade re-exports) sits above every wing it calls
# and below the command that calls it, as ../shared/tools/layers.py allows
ORDER = ["core", "inputs", "grid", "checks", "decide", "dispatch", "outputs", "api", "cli"]
MODULES = sorted(PACKAGE.rglob("*.py"))


def _wing(module_parts: tuple[str, ...]) -> str:
    head = module_parts[0].removesuffix(".py")
    return head if head in ORDER else ""


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_is_short_and_imports_only_downwards(path) -> None:  # type: ignore[no-untyped-def]
    rel = path.relative_to(PACKAGE)
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") <= 400, f"{rel} has {text.count(chr(10))} lines"
    if rel.parts[0] in ("__init__.py", "__main__.py"):
        return
    me = _wing(rel.parts)
    assert me, f"{rel} is outside the wings"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] != "planner":
                continue
            assert len(parts) > 1, f"{rel} imports the facade planner/__init__"
            target = _wing((parts[1],))
            assert target, f"{rel} imports {name}, which is in no wing"
            assert ORDER.index(target) <= ORDER.index(me), f"{rel} ({me}) imports {name}: up"
