"""Writing outputs safely: every file of a run is written first, then renamed into place."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from planner.core.errors import OutputError

__all__ = ["prepare_out_dir", "write_outputs"]


def prepare_out_dir(out_dir: Path, force: bool) -> None:
    """Refuse to overwrite an earlier plan unless `force`; create the directory if needed."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"--out {out_dir}: exists and is not a directory")
    if (out_dir / "plan.json").exists() and not force:
        raise OutputError(f"--out {out_dir}: holds a plan already; use --force to replace it")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"--out {out_dir}: cannot create directory: {exc.strerror}") from exc


def write_outputs(out_dir: Path, files: dict[str, str]) -> list[Path]:
    """Write every file to a temporary name first, then rename them all into place."""
    staged: list[tuple[Path, Path]] = []
    try:
        for name, text in files.items():
            with tempfile.NamedTemporaryFile(
                "w", encoding="utf-8", dir=out_dir, prefix=f".{name}.", delete=False
            ) as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            staged.append((Path(handle.name), out_dir / name))
    except OSError as exc:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write outputs in {out_dir}: {exc.strerror}") from exc
    umask = os.umask(0)
    os.umask(umask)
    for tmp, final in staged:
        os.chmod(tmp, 0o666 & ~umask)  # temporary files are private; outputs are not
        os.replace(tmp, final)
    return [final for _, final in staged]
