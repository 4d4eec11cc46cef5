"""Extension registry of recording readers and writers.

Each format module registers itself with :func:`register_reader` / :func:`register_writer`; there
is no list of format modules to keep. On first use every public module of :mod:`lmdetect.io` that
calls one of them is imported (:mod:`lmdetect._discovery`), so adding a format is adding its
module. A module whose optional dependency is not installed is reported by
:func:`unavailable_formats` (and in the "unsupported extension" error) with the extra to install.
:func:`read_recording` picks the reader by the file's extension; unknown extensions get an error
with the closest supported ones ("did you mean").
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ConfigError, FormatError, LmdetectError
from ..model import Recording
from ._guard import as_format_error, check_input

__all__ = [
    "register_reader",
    "register_writer",
    "read_recording",
    "write_recording",
    "supported_read_extensions",
    "supported_write_extensions",
    "format_for_path",
    "unavailable_formats",
]

Reader = Callable[..., Recording]
Writer = Callable[..., None]


@dataclasses.dataclass(frozen=True)
class _Entry:
    name: str
    func: Callable[..., Any]


_READERS: dict[str, _Entry] = {}
_WRITERS: dict[str, _Entry] = {}

#: Format modules that could not be imported (module name -> reason with the extra to install).
_UNAVAILABLE: dict[str, str] = {}
_loaded = False


def _load() -> None:
    # format modules are found on first use, not at import, so ``import lmdetect`` stays cheap
    global _loaded
    if _loaded:
        return
    _loaded = True
    from .._discovery import import_registering_modules

    package = __name__.rsplit(".", 1)[0]
    _UNAVAILABLE.update(import_registering_modules(package, ("register_reader(", "register_writer(")))


def _ext(path: str | os.PathLike[str]) -> str:
    name = Path(path).name.lower()
    # multi-part extensions first (e.g. "_motion.tsv")
    for table in (_READERS, _WRITERS):
        for ext in sorted(table, key=len, reverse=True):
            if name.endswith(ext):
                return ext
    return Path(name).suffix


def register_reader(ext: str, name: str, func: Reader) -> None:
    """Register ``func(path, **options) -> Recording`` for files ending in ``ext`` (e.g. ".cwa")."""
    _READERS[ext.lower()] = _Entry(name, func)


def register_writer(ext: str, name: str, func: Writer) -> None:
    """Register ``func(recording, path, **options)`` for files ending in ``ext``."""
    _WRITERS[ext.lower()] = _Entry(name, func)


def supported_read_extensions() -> dict[str, str]:
    _load()
    return {k: v.name for k, v in sorted(_READERS.items())}


def supported_write_extensions() -> dict[str, str]:
    _load()
    return {k: v.name for k, v in sorted(_WRITERS.items())}


def unavailable_formats() -> dict[str, str]:
    """Format modules that cannot be used here: ``{module: reason}``, the reason naming the
    missing package and the ``pip install 'lmdetect[extra]'`` that brings it."""
    _load()
    return dict(_UNAVAILABLE)


def _unsupported(path: str | os.PathLike[str], ext: str, table: dict[str, _Entry], what: str) -> FormatError:
    choices = sorted(table)
    close = difflib.get_close_matches(ext, choices, n=2, cutoff=0.5)
    hint = f"; did you mean {' or '.join(close)}?" if close else "."
    missing = f" Not available: {'; '.join(_UNAVAILABLE.values())}." if _UNAVAILABLE else ""
    return FormatError(
        path,
        f"cannot {what} files with extension {ext or '(none)'!r}{hint} Supported: {', '.join(choices)}{missing}",
    )


def format_for_path(path: str | os.PathLike[str], *, write: bool = False) -> str:
    """The registered format name for ``path``'s extension."""
    _load()
    table = _WRITERS if write else _READERS
    ext = _ext(path)
    if ext not in table:
        if not write and os.path.exists(path):
            check_input(path)  # a folder or a FIFO says so, whatever its name ends in
        raise _unsupported(path, ext, table, "write" if write else "read")
    return table[ext].name


def read_recording(path: str | os.PathLike[str], **options: Any) -> Recording:
    """Read any supported recording file, chosen by extension.

    Raises
    ------
    FormatError
        Unknown extension, not a regular file (a directory, FIFO or device is refused before it
        is opened), or a malformed file: every reader reports damage this way, naming the file.
    """
    _load()
    ext = _ext(path)
    if ext not in _READERS:
        raise _unsupported(path, ext, _READERS, "read")
    check_input(path)
    entry = _READERS[ext]
    try:
        return entry.func(path, **options)  # type: ignore[no-any-return]
    except (FormatError, ConfigError):
        raise
    except LmdetectError as exc:
        raise as_format_error(path, entry.name, exc) from exc


def write_recording(recording: Recording, path: str | os.PathLike[str], **options: Any) -> None:
    """Write a recording in the format chosen by ``path``'s extension.

    Parameters
    ----------
    recording : Recording
        Acceleration in g, sample times in s since the recording start.
    path : str or os.PathLike
        Target file; its extension (``.lmr``, ``.csv``, ``.edf``, ...) picks the writer.
    **options
        Passed on to the format's writer.

    Returns
    -------
    None
        The file is written in place of any older one.

    Raises
    ------
    FormatError
        No writer handles the extension (the message lists the ones that do).
    """
    _load()
    ext = _ext(path)
    if ext not in _WRITERS:
        raise _unsupported(path, ext, _WRITERS, "write")
    _WRITERS[ext].func(recording, path, **options)
