"""`planner example`: write a shipped example case (and its network) to a directory.

The examples are package data (`planner/data/`), so an installed planner can write the
reference case out and plan it. A file already in the directory is never replaced: one with
the same bytes is left as it is, any other is refused (exit 2).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
from importlib import resources
from pathlib import Path

import click

from planner.cli.common import _friendly, _say, main
from planner.core.errors import OutputError

__all__ = ["EXAMPLES", "example_files"]

# name: the files it is made of, in planner/data/ (the case first)
EXAMPLES: dict[str, tuple[str, ...]] = {"dashiqiao": ("dashiqiao.toml", "dashiqiao.json")}


def example_files(name: str) -> dict[str, bytes]:
    """The files of a shipped example, by file name, as the package holds them."""
    data = resources.files("planner") / "data"
    return {file: (data / file).read_bytes() for file in EXAMPLES[name]}


@main.command()
@click.argument("name", type=click.Choice(sorted(EXAMPLES)))
@click.argument("directory", type=click.Path(file_okay=False))
@_friendly
def example(name: str, directory: str) -> None:
    """Write the example case NAME and its network into DIRECTORY (created if need be).

    Then: planner plan DIRECTORY/NAME.toml --out DIRECTORY/out
    """
    if not directory.strip():
        raise OutputError("the directory is empty: name the directory to write the example to")
    files = example_files(name)
    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{directory}: exists and is not a directory")
    todo = {file: data for file, data in files.items() if not _same(folder / file, data)}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for file, data in todo.items():
            _write_new(folder / file, data)
    except OSError as exc:
        raise OutputError(f"{directory}: cannot write the example: {exc.strerror}") from exc
    for file in files:
        _say(f"{'wrote' if file in todo else 'unchanged'} {folder / file}")
    case = folder / EXAMPLES[name][0]
    out = folder / "out"
    _say(f"plan it with: planner plan {shlex.quote(str(case))} --out {shlex.quote(str(out))}")


def _same(target: Path, data: bytes) -> bool:
    """Is `target` already the example's file? Refused when it is anything else."""
    if not target.exists() and not target.is_symlink():
        return False
    if target.is_symlink() or not target.is_file():
        raise OutputError(f"{target}: exists and is not a plain file; the planner leaves it alone")
    try:
        same = target.read_bytes() == data
    except OSError as exc:
        raise OutputError(f"{target}: cannot read it: {exc.strerror}") from exc
    if not same:
        raise OutputError(
            f"{target}: exists and is not the shipped example (the planner did not write it, or "
            "it was changed since); the planner never replaces it: move it away or choose "
            "another directory"
        )
    return True


def _write_new(target: Path, data: bytes) -> None:
    """Write `target` whole or not at all, never over a file that appeared meanwhile."""
    temp = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask's mode
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        try:
            os.link(temp, target)  # fails if the name exists: no file is ever replaced
        except FileExistsError:
            _same(target, data)  # appeared meanwhile: fine only if it is the example's file
        except OSError:  # a file system without hard links: create it, never over another
            with os.fdopen(
                os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), "wb"
            ) as out:
                out.write(data)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp)
