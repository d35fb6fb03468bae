"""Output files of the commands: checked before any work, written whole or not at all.

``check_output_file`` refuses, before a command loads or computes anything, a path it could not write (a
folder, or a path below a file), so no minutes of sampling or scoring end in a traceback. ``write_atomic``
writes to ``.<name>.tmp`` beside the target and renames it, so a reader sees the old file or the new one,
never half of one, and removes the temporary file if the write fails.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from gan_zoo.errors import GanZooError

__all__ = ["check_output_file", "write_atomic"]


def check_output_file(path: str | os.PathLike, flag: str) -> Path:
    """``path`` as a Path, or a one-line error naming ``flag`` if a file cannot be written there."""
    path = Path(path)
    if path.is_dir():
        raise GanZooError(f"{flag} {path} is a folder; name a file inside it")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise GanZooError(f"{flag} {path}: {parent} is a file, not a folder; choose another path")
            break
    return path


def write_atomic(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """``write(tmp)`` into a temporary file beside ``path`` (its parents are created), then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # a failed write leaves nothing behind
    return path
