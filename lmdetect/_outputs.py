"""The output convention's checks, shared by the commands and the library functions that write
folders: an existing file, or a folder that is not empty, is never replaced unless ``force`` is
given, and an output that cannot be written at all (a read-only or non-writable folder, a file
where a folder of the path should be) is refused before any work.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["check_output_folder", "check_output_file"]


def check_output_folder(path: str | os.PathLike[str], force: bool) -> None:
    """Raise unless ``path`` is missing, an empty folder, or ``force`` is set (and it is a folder)."""
    from .errors import LmdetectError

    p = Path(path)
    if p.exists():
        if not p.is_dir():
            raise LmdetectError(f"{p} exists and is not a folder")
        if not force and any(p.iterdir()):
            raise LmdetectError(f"{p} exists and is not empty; use --force to replace its contents")
    _check_writable(p)


def check_output_file(path: str | os.PathLike[str], force: bool) -> None:
    """Raise if ``path`` is a folder, or an existing file and ``force`` is not set."""
    from .errors import LmdetectError

    p = Path(path)
    if p.is_dir():
        raise LmdetectError(f"{p} is a folder, not a file")
    if p.exists() and not force:
        raise LmdetectError(f"{p} exists; use --force to replace it")
    _check_writable(p)


def _check_writable(p: Path) -> None:
    """Raise unless ``p`` can be created or replaced: outputs are staged next to it, then renamed,
    so the nearest existing folder above it must be a writable folder."""
    from .errors import LmdetectError

    here = p.absolute().parent
    while not here.exists() and here != here.parent:
        here = here.parent
    if not here.is_dir():
        raise LmdetectError(f"{p}: cannot be created, {here} is a file, not a folder")
    try:
        read_only = bool(os.statvfs(here).f_flag & os.ST_RDONLY)
    except (AttributeError, OSError):  # no statvfs (Windows): os.access alone
        read_only = False
    if read_only:
        raise LmdetectError(f"{p}: cannot be written, {here} is on a read-only file system")
    if not os.access(here, os.W_OK | os.X_OK):
        raise LmdetectError(f"{p}: cannot be written, no write permission in {here}")
