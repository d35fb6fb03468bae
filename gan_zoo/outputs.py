"""Output files of the commands: checked before any work, written whole or not at all.

``check_writable`` (a folder) and ``check_output_file`` (a file) refuse, before a command trains, loads or
computes anything, a path it could not write (below a file, read-only, or a folder where a file is named), so
no run or minutes of sampling and scoring end in a traceback. ``write_atomic``
writes to a temporary of its own beside the target (``temporary_beside``) and renames it, so a reader sees the
old file or the new one, never half of one, and removes the temporary file if the write fails.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path
from typing import Callable

from gan_zoo.errors import GanZooError

__all__ = ["check_writable", "check_output_file", "write_atomic"]


def check_writable(path: str | os.PathLike, flag: str) -> None:
    """Raise ``GanZooError`` unless a folder can be created and written at ``path`` (nothing is left behind)."""
    target = Path(path).expanduser().absolute()
    existing = target
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise GanZooError(f"cannot write to {target}: {existing} is a file, not a folder; choose another {flag}")
    try:
        probe = tempfile.mkdtemp(prefix=".gan_zoo_write_check_", dir=existing)
        os.rmdir(probe)
    except OSError as err:
        raise GanZooError(
            f"cannot write to {target} ({err.strerror or err}); choose a writable folder with {flag}"
        ) from None


def check_output_file(path: str | os.PathLike, flag: str) -> Path:
    """``path`` as a Path (``~`` expanded, as the check did: a shell leaves ``--out=~/x.png`` unexpanded), or a
    one-line error naming ``flag`` if a file cannot be written there."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise GanZooError(f"{flag} {path} is a folder; name a file inside it")
    check_writable(path.parent, flag)
    return path


def temporary_beside(path: Path) -> Path:
    """``.<name>.<random>.tmp`` beside ``path``: a name no other call uses, so two writers of one target never
    write into the same temporary. Not created here: whoever creates it (a file's ``write``, a folder's ``mkdir``)
    gives it the umask's permissions (mkstemp's 0600 / mkdtemp's 0700 would hide outputs from others on a shared
    machine)."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")


def write_atomic(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """``write(tmp)`` into a temporary file beside ``path`` (its parents are created), then rename it to ``path``.
    The temporary is this call's own (``temporary_beside``), so the file is always one writer's whole output."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_beside(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # a failed write leaves nothing behind
    return path
