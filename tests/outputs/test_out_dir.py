"""`--out` is claimed, locked and written in one go; nothing else in it is touched."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from planner.core.errors import OutputError
from planner.outputs import files as out_files
from planner.outputs.files import MANIFEST, claim_out_dir, manifest_text

NAMES = ("plan.json", "plan.md")
NEW = {"plan.json": '{"new": true}\n', "plan.md": "# new\n"}


def _run(out: Path | str, *, force: bool = False, inputs: tuple[Path, ...] = ()) -> list[Path]:
    with claim_out_dir(str(out), NAMES, force=force, inputs=inputs) as claim:
        return claim.commit(NEW)


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_a_fresh_out_gets_the_files_and_a_manifest_and_nothing_else(tmp_path: Path) -> None:
    out = tmp_path / "out"
    written = _run(out)
    assert written == [out / "plan.json", out / "plan.md"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging folder left
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "plan.json", "plan.md"]
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["format"] == "planner.manifest/1"
    assert set(manifest["files"]) == set(NAMES)
    assert (out / "plan.md").read_text() == "# new\n"


def test_force_replaces_the_planners_own_set_and_keeps_the_users_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _run(out)
    (out / "notes.txt").write_text("mine")
    with pytest.raises(
        OutputError, match=r"holds a plan already \(plan.json, plan.md\); use --force"
    ):
        _run(out)
    with claim_out_dir(str(out), NAMES, force=True) as claim:
        claim.commit({"plan.json": "{}\n", "plan.md": "# again\n"})
    assert (out / "plan.md").read_text() == "# again\n"
    assert (out / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("user_file", "plan.md was not written by planner or was changed since"),
        ("edited", "plan.md was not written by planner or was changed since"),
        ("directory", "plan.md is not a plain file; the planner leaves it alone"),
        ("symlink", "plan.md is not a plain file; the planner leaves it alone"),
        ("bad_manifest", "plan.json was not written by planner or was changed since"),
    ],
)
def test_a_file_the_planner_did_not_write_is_never_replaced(
    tmp_path: Path, setup: str, message: str
) -> None:
    out = tmp_path / "out"
    if setup in ("edited", "bad_manifest"):
        _run(out)
    else:
        out.mkdir()
    target = out / "plan.md"
    if setup == "user_file":
        target.write_text("# my own notes\n")
    elif setup == "edited":
        target.write_text("# hand-edited\n")
    elif setup == "directory":
        target.mkdir()
    elif setup == "symlink":
        (tmp_path / "elsewhere.md").write_text("keep")
        target.symlink_to(tmp_path / "elsewhere.md")
    else:
        (out / MANIFEST).write_text("not json")
    before = _tree(tmp_path)
    with pytest.raises(OutputError, match=message):
        _run(out, force=True)
    assert _tree(tmp_path) == before


def test_an_input_is_never_an_output(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    case = out / "plan.md"
    case.write_text("[case]\n")
    with pytest.raises(OutputError, match=r"plan\.md is an input of this run"):
        _run(out, force=True, inputs=(case,))
    assert case.read_text() == "[case]\n"
    with (
        claim_out_dir(str(tmp_path / "other"), NAMES, force=False) as claim,
        pytest.raises(OutputError, match=r"plan\.json is an input of this run"),
    ):
        claim.refuse_inputs([tmp_path / "other" / "plan.json"])


@pytest.mark.parametrize(("out", "message"), [("", "--out is empty"), ("  ", "--out is empty")])
def test_an_empty_out_is_refused(tmp_path: Path, out: str, message: str) -> None:
    os.chdir(tmp_path)
    with pytest.raises(OutputError, match=message):
        _run(out)
    assert list(tmp_path.iterdir()) == []


def test_an_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("x")
    with pytest.raises(OutputError, match="exists and is not a directory"):
        _run(tmp_path / "out")


def test_a_second_run_into_the_same_out_is_refused_while_the_first_runs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with claim_out_dir(str(out), NAMES, force=False) as first:
        with pytest.raises(OutputError, match="another planner run is writing there"):
            _run(out, force=True)
        first.commit(NEW)
    assert (out / "plan.md").read_text() == "# new\n"


def test_an_interruption_before_the_commit_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "new" / "folders" / "out"
    with pytest.raises(KeyboardInterrupt), claim_out_dir(str(out), NAMES, force=False):
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []  # the folder it created, empty, is gone too


def test_a_failed_write_leaves_the_earlier_set_whole(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    _run(out)
    before = _tree(tmp_path)
    real = out_files._write_new
    calls = {"n": 0}

    def failing(path: Path, payload: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        real(path, payload)

    monkeypatch.setattr(out_files, "_write_new", failing)
    with (
        pytest.raises(OutputError, match=r"cannot write outputs in .*: No space left on device"),
        claim_out_dir(str(out), NAMES, force=True) as claim,
    ):
        claim.commit({"plan.json": "{}\n", "plan.md": "# other\n"})
    assert _tree(tmp_path) == before


def test_a_set_cut_short_while_renaming_is_still_the_planners_own(
    tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    _run(out)
    real = os.replace
    calls = {"n": 0}

    def dying(src, dst):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:  # the manifest and plan.json moved; plan.md not
            raise OSError(5, "Input/output error")
        real(src, dst)

    monkeypatch.setattr(os, "replace", dying)
    with pytest.raises(OutputError), claim_out_dir(str(out), NAMES, force=True) as claim:
        claim.commit({"plan.json": "{}\n", "plan.md": "# other\n"})
    monkeypatch.setattr(os, "replace", real)
    assert (out / "plan.json").read_text() == "{}\n" and (out / "plan.md").read_text() == "# new\n"
    _run(out, force=True)  # both the old and the new file are vouched for
    assert (out / "plan.md").read_text() == "# new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_files_of_the_earlier_set_this_run_does_not_write_are_dropped(tmp_path: Path) -> None:
    out = tmp_path / "out"
    every = (*NAMES, "old.csv")
    with claim_out_dir(str(out), every, force=False) as claim:
        claim.commit({**NEW, "old.csv": "a\n"})
    with claim_out_dir(str(out), every, force=True) as claim:
        claim.commit(NEW)
    assert not (out / "old.csv").exists()
    assert set(json.loads((out / MANIFEST).read_text())["files"]) == set(NAMES)


def test_a_planted_manifest_vouches_for_no_other_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "case.toml").write_text("[case]\n")
    digests = {
        name: [hashlib.sha256((out / name).read_bytes()).hexdigest()]
        for name in ("notes.txt", "case.toml")
    }
    (out / MANIFEST).write_text(manifest_text(digests))
    _run(out, inputs=(out / "case.toml",))
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "case.toml").read_text() == "[case]\n"


FOUR = ("plan.json", "schedule.csv", "plan.md", "report.html")
FIVE = (*FOUR, "switching.csv")


def _earlier_four(out: Path) -> None:
    """A folder as a planner that wrote four files (before switching.csv) left it."""
    with claim_out_dir(str(out), FOUR, force=False) as claim:
        claim.commit({name: f"earlier {name}\n" for name in FOUR})


def test_a_fifth_name_joins_an_earlier_set_of_four(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _earlier_four(out)
    with (
        pytest.raises(OutputError, match=r"holds a plan already .*; use --force"),
        claim_out_dir(str(out), FIVE, force=False),
    ):
        pass
    with claim_out_dir(str(out), FIVE, force=True) as claim:
        written = claim.commit({name: f"new {name}\n" for name in FIVE})
    assert written == [out / name for name in FIVE]
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST, *FIVE])
    assert set(json.loads((out / MANIFEST).read_text())["files"]) == set(FIVE)
    assert (out / "switching.csv").read_text() == "new switching.csv\n"


def test_a_users_switching_csv_is_never_replaced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _earlier_four(out)
    (out / "switching.csv").write_text("my own sheet\n")
    with (
        pytest.raises(
            OutputError, match=r"switching\.csv was not written by planner or was changed since"
        ),
        claim_out_dir(str(out), FIVE, force=True) as claim,
    ):
        claim.commit({name: "x\n" for name in FIVE})
    assert (out / "switching.csv").read_text() == "my own sheet\n"
    assert (out / "plan.md").read_text() == "earlier plan.md\n"
