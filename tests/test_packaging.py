"""Packaging: the wheel, built offline from this tree, holds what an installed planner needs
(py.typed, LICENSE, the reference case and network, the formats' JSON Schemas), and installed
into a fresh venv it writes the reference case out, plans it and runs the docs example.

Offline: the wheel is built with `pip wheel --no-deps --no-build-isolation --no-index` (so the
running environment's setuptools, from the dev extras, builds it) and installed with `pip
--python VENV install --no-deps --no-index`; the fresh venv has no pip of its own and reaches its
dependencies through a `.pth` line naming this environment's site-packages (a plain path: the
`.pth` files there, such as the editable install of the checkout, are not run).
"""

from __future__ import annotations

import email
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_library import EXAMPLE_OUTPUT

DISTRIBUTION = "outage-free-planner"
SETUPTOOLS_AT_LEAST = (77, 0, 3)  # `license = "MIT"` and `license-files` (PEP 639)
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "planner")
IN_THE_WHEEL = (
    "planner/py.typed",
    "planner/data/dashiqiao.json",
    "planner/data/dashiqiao.toml",
    "planner/schemas/case.schema.json",
    "planner/schemas/plan.schema.json",
    "planner/schemas/programme.schema.json",
    "planner/schemas/programme-result.schema.json",
)


def _run(*args: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_"))}
    env["PIP_NO_INDEX"] = "1"  # offline, whatever the machine's pip configuration says
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3] if part.isdigit())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the tree's sources (no build files left in the tree)."""
    have = _version(importlib.metadata.version("setuptools"))
    if have < SETUPTOOLS_AT_LEAST:
        pytest.fail(
            f"setuptools {'.'.join(map(str, have))} cannot build the wheel offline: the dev "
            f"extras need setuptools>={'.'.join(map(str, SETUPTOOLS_AT_LEAST))} (make setup)"
        )
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    built = _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
        "--wheel-dir", dist, source, cwd=source,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (found,) = dist.glob("*.whl")
    return found


def test_the_wheel_holds_what_an_installed_planner_needs(wheel: Path) -> None:
    assert wheel.name.startswith("outage_free_planner-")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (meta,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = email.message_from_string(archive.read(meta).decode("utf-8"))
        for name in IN_THE_WHEEL:
            assert name in names, name
            assert archive.read(name) == (ROOT / name).read_bytes(), name
        (licence,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert archive.read(licence) == (ROOT / "LICENSE").read_bytes()
    assert metadata["Name"] == DISTRIBUTION
    assert metadata["License-Expression"] == "MIT"
    assert "planner/api.py" in names and "planner/cli/example.py" in names
    assert not [n for n in names if n.startswith(("tests/", "cases/", "networks/", "docs/"))]


def test_the_shipped_example_is_the_reference_case() -> None:
    """planner/data/ holds copies: the network as in networks/, the case as in cases/ but for
    where it finds the network (beside it)."""
    data = ROOT / "planner" / "data"
    network = (ROOT / "networks" / "dashiqiao.json").read_bytes()
    assert (data / "dashiqiao.json").read_bytes() == network
    case = (ROOT / "cases" / "dashiqiao.toml").read_text(encoding="utf-8")
    moved = case.replace('network = "../networks/dashiqiao.json"', 'network = "dashiqiao.json"')
    assert moved != case
    assert (data / "dashiqiao.toml").read_text(encoding="utf-8") == moved


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; its dependencies are this environment's."""
    folder = tmp_path_factory.mktemp("venv")
    made = _run(sys.executable, "-m", "venv", "--without-pip", folder, cwd=folder)
    assert made.returncode == 0, made.stderr
    python = folder / "bin" / "python"
    purelib = _run(
        python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=folder
    )
    site = Path(purelib.stdout.strip())
    ours = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]
    (site / "planner-deps.pth").write_text("".join(f"{p}\n" for p in ours))
    installed = _run(
        sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
        wheel, cwd=folder,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return folder


def test_the_installed_planner_writes_the_reference_case_and_plans_it(
    venv: Path, tmp_path: Path
) -> None:
    python, command = venv / "bin" / "python", venv / "bin" / "planner"
    where = _run(python, "-c", "import planner; print(planner.__file__)", cwd=tmp_path)
    assert where.stdout.strip().startswith(str(venv)), where.stdout + where.stderr
    listed = _run(command, "networks", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    shipped = [row["network"] for row in json.loads(listed.stdout)]
    assert shipped[0].startswith(str(venv)) and shipped[0].endswith("planner/data/dashiqiao.json")
    written = _run(command, "example", "dashiqiao", "job", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    assert written.stdout.splitlines() == [
        "wrote job/dashiqiao.toml",
        "wrote job/dashiqiao.json",
        "plan it with: planner plan job/dashiqiao.toml --out job/out",
    ]
    planned = _run(
        command, "plan", "job/dashiqiao.toml", "--out", "job/out", "--json", cwd=tmp_path
    )
    assert planned.returncode == 0, planned.stderr
    result = json.loads(planned.stdout)
    assert result["feasible"] is True and result["trucks_used"] == 6
    plan = json.loads((tmp_path / "job" / "out" / "plan.json").read_text(encoding="utf-8"))
    assert plan["case"]["file"] == "job/dashiqiao.toml"
    assert plan["case"]["network"] == "dashiqiao.json"
    checked = _run(command, "validate", "job/dashiqiao.toml", "job/out/plan.json", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_installed_planner_runs_the_docs_example(venv: Path, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    shutil.copy2(ROOT / "docs" / "example.py", script)
    done = _run(venv / "bin" / "python", script, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == EXAMPLE_OUTPUT


def test_example_writes_the_reference_case_and_never_replaces_a_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "new" / "job"
    first = cli("example", "dashiqiao", folder)
    assert first.exit_code == 0, first.output
    assert first.output.splitlines() == [
        f"wrote {folder}/dashiqiao.toml",
        f"wrote {folder}/dashiqiao.json",
        f"plan it with: planner plan {folder}/dashiqiao.toml --out {folder}/out",
    ]
    shipped = ROOT / "planner" / "data"
    for name in ("dashiqiao.toml", "dashiqiao.json"):
        assert (folder / name).read_bytes() == (shipped / name).read_bytes()
    again = cli("example", "dashiqiao", folder)  # the same files: nothing to do
    assert again.exit_code == 0
    assert again.output.splitlines()[:2] == [
        f"unchanged {folder}/dashiqiao.toml",
        f"unchanged {folder}/dashiqiao.json",
    ]
    edited = (folder / "dashiqiao.toml").read_text(encoding="utf-8") + "# mine\n"
    (folder / "dashiqiao.toml").write_text(edited, encoding="utf-8")
    refused = cli("example", "dashiqiao", folder)
    assert refused.exit_code == 2
    assert refused.output == (
        f"error: {folder}/dashiqiao.toml: exists and is not the shipped example (the planner did "
        "not write it, or it was changed since); the planner never replaces it: move it away or "
        "choose another directory\n"
    )
    assert (folder / "dashiqiao.toml").read_text(encoding="utf-8") == edited
    assert sorted(p.name for p in folder.iterdir()) == ["dashiqiao.json", "dashiqiao.toml"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        ("file", "Error: Invalid value for 'DIRECTORY': Directory '{dir}' is a file."),
        ("dir_at_name", "error: {dir}/dashiqiao.toml: exists and is not a plain file; the planner "
         "leaves it alone"),
        ("link", "error: {dir}/dashiqiao.json: exists and is not a plain file; the planner leaves "
         "it alone"),
    ],
)  # fmt: skip
def test_example_refuses_what_it_cannot_write(cli, tmp_path: Path, make: str, message: str) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "job"
    if make == "file":
        target.write_text("not a folder")
    elif make == "dir_at_name":
        (target / "dashiqiao.toml").mkdir(parents=True)
    else:
        target.mkdir()
        (target / "dashiqiao.json").symlink_to(ROOT / "networks" / "dashiqiao.json")
    result = cli("example", "dashiqiao", target)
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == message.format(dir=target)
    if make == "link":
        assert not (target / "dashiqiao.toml").exists()  # nothing written when one is refused


def test_example_knows_only_its_examples(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("example", "oberrhein", tmp_path)
    assert result.exit_code == 2
    assert "'oberrhein' is not 'dashiqiao'" in result.output
