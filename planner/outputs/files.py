"""Writing a run's outputs without harming anything else in `--out`.

A run claims `--out` before it starts work (`claim_out_dir`): the folder is locked against a
concurrent run, and every file the run will write is checked against the folder's manifest
(`.planner-manifest.json`, the names and SHA-256 of the files an earlier run wrote). A file the
planner did not write, or one changed since, is never replaced, `--force` or not; an earlier set
of the planner's own files is replaced only with `--force`; an input of the run is never an output.

The files are written into a fresh folder beside `--out` (inside it when the parent cannot take
one), then renamed into place with Ctrl-C held back, so an interruption or a failed write leaves
the earlier set whole and no temporary file behind. The manifest lists the old and the new digest
of each name while the renames run, so even a killed process leaves a folder the next run accepts.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from planner.core.errors import OutputError

__all__ = ["MANIFEST", "OutDir", "claim_out_dir", "manifest_text"]

MANIFEST = ".planner-manifest.json"
_FORMAT = "planner.manifest/1"
_HELD = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def manifest_text(digests: dict[str, list[str]]) -> str:
    """The manifest for files named `name` with any of the listed SHA-256 digests."""
    return json.dumps({"format": _FORMAT, "files": digests}, indent=1, sort_keys=True) + "\n"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_manifest(folder: Path) -> dict[str, list[str]]:
    """The earlier run's digests by file name; an unreadable manifest vouches for nothing."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    if data.get("format") != _FORMAT or not isinstance(files, dict):
        return {}
    return {
        name: [d for d in digests if isinstance(d, str)]
        for name, digests in files.items()
        if isinstance(name, str) and isinstance(digests, list)
    }


@dataclass
class OutDir:
    """A claimed `--out`: locked, checked, and ready to take the run's files in one go."""

    path: Path
    names: tuple[str, ...]
    created: tuple[Path, ...]  # the folders the claim made, innermost first
    lock_fd: int
    earlier: dict[str, list[str]]
    committed: bool = False
    written: list[Path] = field(default_factory=list)

    def commit(self, files: Mapping[str, str | bytes]) -> list[Path]:
        """Write every file beside `--out`, then rename them all into place: text as UTF-8,
        bytes as they are. A claimed name left out is not written, and the earlier run's
        file of that name is removed if it is still as the planner left it."""
        unknown = set(files) - set(self.names)
        if unknown:
            raise ValueError(f"files not claimed: {sorted(unknown)}")
        data = {
            name: content if isinstance(content, bytes) else content.encode("utf-8")
            for name, content in files.items()
        }
        staging = self._staging_dir()
        try:
            for name, payload in data.items():
                _write_new(staging / name, payload)
            new = {name: [_sha256(payload)] for name, payload in data.items()}
            both = {
                name: sorted({*self.earlier.get(name, []), *new.get(name, [])})
                for name in {*self.earlier, *new}
            }
            _write_new(staging / ".both", manifest_text(both).encode())
            old = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
            try:  # held back: an interruption lands after the last rename
                os.replace(staging / ".both", self.path / MANIFEST)
                for name in data:
                    os.replace(staging / name, self.path / name)
                kept = self._drop_stale(set(data))
                _write_new(staging / MANIFEST, manifest_text({**kept, **new}).encode())
                os.replace(staging / MANIFEST, self.path / MANIFEST)
                self.committed = True
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, old)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise OutputError(f"cannot write outputs in {self.path}: {reason}") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self.written = [self.path / name for name in data]
        return self.written

    def _staging_dir(self) -> Path:
        """A fresh folder on the same file system as `--out`: beside it when possible."""
        parent = self.path.parent
        try:
            if os.stat(parent).st_dev == os.stat(self.path).st_dev:
                return Path(tempfile.mkdtemp(prefix=f".{self.path.name}.planner-", dir=parent))
        except OSError:
            pass
        return Path(tempfile.mkdtemp(prefix=".planner-", dir=self.path))

    def _drop_stale(self, written: set[str]) -> dict[str, list[str]]:
        """Remove files of the earlier set this run no longer writes, if still as the planner
        left them; the ones that stay (changed since, or not removable) are returned."""
        kept: dict[str, list[str]] = {}
        for name, digests in self.earlier.items():
            target = self.path / name
            if name in written or "/" in name or os.sep in name or name.startswith("."):
                continue
            try:
                if target.is_file() and _sha256(target.read_bytes()) in digests:
                    target.unlink()
            except OSError:
                kept[name] = digests
        return kept

    def refuse_inputs(self, inputs: Iterable[Path]) -> None:
        """Inputs known only once the case is read (network, profile) are never outputs."""
        _refuse_inputs(str(self.path), self.path, self.names, inputs)

    def release(self) -> None:
        os.close(self.lock_fd)
        if not self.committed:
            _remove_empty(self.created)


def _remove_empty(folders: tuple[Path, ...]) -> None:
    """Remove the folders a claim made (innermost first) while they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            break


def _write_new(path: Path, payload: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    with os.fdopen(fd, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())


@contextlib.contextmanager
def claim_out_dir(
    out: str, names: Iterable[str], *, force: bool, inputs: Iterable[Path] = ()
) -> Iterator[OutDir]:
    """Claim `out` for a run that writes `names`; refuse anything that would harm a file."""
    if not out or not out.strip():
        raise OutputError("--out is empty: name the directory for the outputs")
    path = Path(os.path.abspath(out))
    if path.exists() and not path.is_dir():
        raise OutputError(f"--out {out}: exists and is not a directory")
    names = tuple(names)
    _refuse_inputs(out, path, names, inputs)
    created = tuple(p for p in (path, *path.parents) if not p.exists())
    try:
        path.mkdir(parents=True, exist_ok=True)
        lock_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        _remove_empty(created)
        raise OutputError(f"--out {out}: cannot create directory: {exc.strerror}") from exc
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(lock_fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise OutputError(
                f"--out {out}: another planner run is writing there; wait for it or choose "
                "another --out"
            ) from exc
        raise OutputError(f"--out {out}: cannot lock the directory: {exc.strerror}") from exc
    # the manifest is as untrusted as the folder: it vouches only for this run's own names
    earlier = {k: v for k, v in _read_manifest(path).items() if k in names}
    claim = OutDir(path, names, created, lock_fd, earlier)
    try:
        _check_targets(claim, out, force)
        with _terminate_as_interrupt():
            yield claim
    finally:
        claim.release()


def _refuse_inputs(out: str, path: Path, names: tuple[str, ...], inputs: Iterable[Path]) -> None:
    targets = {(path / name).resolve(): name for name in names}
    for source in inputs:
        name = targets.get(Path(source).resolve())
        if name is not None:
            raise OutputError(
                f"--out {out}: {name} is an input of this run and would be overwritten; "
                "choose another --out"
            )


def _check_targets(claim: OutDir, out: str, force: bool) -> None:
    ours: list[str] = []
    for name in claim.names:
        target = claim.path / name
        if not target.exists() and not target.is_symlink():
            continue
        if target.is_symlink() or not target.is_file():
            raise OutputError(
                f"--out {out}: {name} is not a plain file; the planner leaves it alone"
            )
        try:
            digest = _sha256(target.read_bytes())
        except OSError as exc:
            raise OutputError(f"--out {out}: cannot read {name}: {exc.strerror}") from exc
        if digest not in claim.earlier.get(name, []):
            raise OutputError(
                f"--out {out}: {name} was not written by planner or was changed since; "
                "the planner never replaces it (not even with --force): move it away or "
                "choose another --out"
            )
        ours.append(name)
    if ours and not force:
        raise OutputError(
            f"--out {out}: holds a plan already ({', '.join(ours)}); use --force to replace it"
        )


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM/SIGHUP end the run like Ctrl-C, so the cleanup runs (main thread only)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    saved: dict[signal.Signals, object] = {}
    with contextlib.suppress(ValueError):  # not the main thread: leave the handlers be
        for signum in (signal.SIGTERM, signal.SIGHUP):
            saved[signum] = signal.signal(signum, interrupt)
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
