"""File checksums recorded as provenance in every output (input recordings, side files, summaries)."""

from __future__ import annotations

import hashlib
import os

from .errors import FormatError

__all__ = ["sha256_file", "sha256_file_or_none"]

_CHUNK_BYTES = 1 << 20


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, as 64 lowercase hex digits, read in 1 MiB chunks.

    Raises
    ------
    FormatError
        Naming the file when it does not exist, is a folder or cannot be read.
    """
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(_CHUNK_BYTES), b""):
                h.update(block)
    except FileNotFoundError:
        raise FormatError(path, "file not found") from None
    except IsADirectoryError:
        raise FormatError(path, "is a folder, not a file") from None
    except PermissionError:
        raise FormatError(path, "permission denied") from None
    except OSError as exc:
        raise FormatError(path, f"cannot be read: {exc.strerror or exc}") from None
    return h.hexdigest()


def sha256_file_or_none(path: str | os.PathLike[str]) -> str | None:
    """:func:`sha256_file`, or None when the file cannot be read (for optional provenance)."""
    try:
        return sha256_file(path)
    except FormatError:
        return None
