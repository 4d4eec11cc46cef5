"""Atomic output: write to a temporary name beside the target, then rename (files and whole folders)."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import hashlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import LmdetectError

try:  # lock files of output folders (POSIX)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "atomic_path",
    "atomic_open",
    "atomic_write_text",
    "atomic_write_bytes",
    "replaced_folder",
    "recover_folders",
    "FolderInUseError",
]

log = logging.getLogger(__name__)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it onto ``target``.

    On an exception the temporary file is removed and ``target`` is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def atomic_open(target: str | os.PathLike[str], mode: str = "w", **kw: object) -> Iterator[IO]:  # type: ignore[type-arg]
    with atomic_path(target) as tmp:
        with open(tmp, mode, **kw) as fh:  # type: ignore[call-overload]
            yield fh
            fh.flush()
            os.fsync(fh.fileno())


def atomic_write_text(target: str | os.PathLike[str], text: str) -> None:
    with atomic_open(target, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes) -> None:
    with atomic_open(target, "wb") as fh:
        fh.write(data)


# ------------------------------------------------------------------ folders
# A folder of outputs is replaced as a whole: everything is written into a hidden staging folder
# beside it, which is then swapped in. On Linux the swap is one renameat2(RENAME_EXCHANGE) call;
# elsewhere (and on filesystems that refuse it, e.g. NFS) the old folder is renamed aside, the new
# one renamed in, the old one removed. A lock file per target folder (flock, released by the
# kernel when its holder dies) tells a live writer's staging folders from the leftovers of a
# killed one; the next writer in the same parent folder finishes or undoes what was interrupted.

_STAGE = ".lmdetect-stage."
_OLD = ".lmdetect-old."
_LOCK = ".lmdetect-lock."
_MAX_KEY_BYTES = 160  # leaves room for the prefixes and mkdtemp's suffix within NAME_MAX (255)


class FolderInUseError(LmdetectError):
    """Another live lmdetect process is writing the same output folder."""


def _key(name: str) -> str:
    """The part of the staging names that identifies the target folder."""
    if len(name.encode("utf-8", "surrogateescape")) <= _MAX_KEY_BYTES:
        return name
    return "~" + hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:24]


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse
        pass
    finally:
        os.close(fd)


class _FolderLock:
    """An exclusive, non-blocking lock on ``parent/.lmdetect-lock.<key>``, removed on release."""

    def __init__(self, parent: Path, key: str) -> None:
        self.path = parent / f"{_LOCK}{key}"
        self._fd: int | None = None

    def acquire(self) -> bool:
        if fcntl is None:  # pragma: no cover - Windows: no lock, no cleanup of other runs
            return True
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return False
            try:  # the holder before us may have removed the file after we opened it
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                return True
            os.close(fd)

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()  # while still locked, so nobody locks a file about to vanish
        os.close(self._fd)
        self._fd = None


def _leftovers(parent: Path) -> dict[str, list[Path]]:
    """Staging and set-aside folders in ``parent``, by target key."""
    found: dict[str, list[Path]] = {}
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return found
    for e in entries:
        if e.name.startswith(_LOCK) and len(e.name) > len(_LOCK):
            found.setdefault(e.name[len(_LOCK):], [])  # a lock file alone: removed once free
        for prefix in (_STAGE, _OLD):
            if e.name.startswith(prefix):
                key, dot, _ = e.name[len(prefix):].rpartition(".")
                if dot and key:
                    found.setdefault(key, []).append(Path(e.path))
    return found


def _recover(parent: Path, key: str, paths: list[Path], name: str | None = None) -> None:
    """Finish or undo an interrupted swap of ``parent/key`` (the caller holds its lock).

    A killed writer leaves its staging folder (incomplete, or complete but never swapped in: the
    old outputs are still the valid ones) and, when killed between the two renames of the
    fallback swap, the old folder set aside with no folder in its place: it is put back.
    """
    if name is None and not key.startswith("~"):
        name = key
    olds = sorted(p for p in paths if p.name.startswith(_OLD))
    if name is None:  # a hashed long name: only a writer of that folder can put its old set back
        paths = [p for p in paths if p not in olds]
        olds = []
    target = parent / name if name is not None else None
    if olds and target is not None and not os.path.lexists(target):
        os.rename(olds.pop(0), target)
        log.warning("%s: restored the previous outputs after an interrupted replacement", target)
    for p in paths:
        if p.exists() and p not in (target,):
            shutil.rmtree(p, ignore_errors=True)
            log.info("removed %s, left behind by an interrupted run", p)


def recover_folders(parent: str | os.PathLike[str], *, name: str | None = None) -> None:
    """Clean up after killed writers in ``parent``: every leftover whose lock is free (or only
    those of the folder ``name``, whose lock the caller holds)."""
    parent = Path(parent)
    own = None if name is None else _key(name)
    for k, paths in _leftovers(parent).items():
        if own is not None:
            if k == own:
                _recover(parent, k, paths, name)
            continue
        lock = _FolderLock(parent, k)
        if not lock.acquire():
            continue  # a live process is writing that folder
        try:
            _recover(parent, k, paths)
        finally:
            lock.release()


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    fn = _renameat2()
    if fn is None:
        return False
    if fn(-100, os.fsencode(a), -100, os.fsencode(b), 2) == 0:  # AT_FDCWD, RENAME_EXCHANGE
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(b))


@functools.lru_cache(maxsize=1)
def _renameat2() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # pragma: no cover - glibc < 2.28, musl
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def swap_in(stage: Path, target: Path) -> None:
    """Put the complete folder ``stage`` in place of ``target`` (which may not exist); the old
    folder is removed. A reader sees either the old folder or the new one."""
    parent = target.parent
    if not os.path.lexists(target):
        os.rename(stage, target)
    elif _exchange(stage, target):
        shutil.rmtree(stage, ignore_errors=True)  # now holds the old folder
    else:
        old = parent / (_OLD + stage.name[len(_STAGE):])
        os.rename(target, old)
        os.rename(stage, target)
        _fsync_dir(parent)
        shutil.rmtree(old, ignore_errors=True)
    _fsync_dir(parent)


@contextlib.contextmanager
def replaced_folder(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty staging folder beside ``target``; on success it becomes ``target``.

    On an exception the staging folder is removed and ``target`` is untouched. A body that
    removes the staging folder (it moved the files in itself) gets no swap. A run killed at
    any moment leaves ``target`` either as it was or complete with the new contents (or, between
    the two renames of the fallback swap, set aside for the next run to put back); the next call
    for any folder in the same parent cleans up such leftovers once their writer is dead.

    Raises
    ------
    FolderInUseError
        Another live process is writing ``target``.
    LmdetectError
        ``target`` exists and is not a folder.
    """
    # absolute ("." has no name to stage beside), and through a symlink to the folder it names
    target = Path(os.path.realpath(target) if os.path.islink(target) else os.path.abspath(target))
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(target) and not target.is_dir():
        raise LmdetectError(f"{target}: exists and is not a folder")
    key = _key(target.name)
    lock = _FolderLock(parent, key)
    if not lock.acquire():
        raise FolderInUseError(f"{target}: another lmdetect process is writing this folder")
    try:
        recover_folders(parent, name=target.name)
        recover_folders(parent)
        stage = Path(tempfile.mkdtemp(prefix=f"{_STAGE}{key}.", dir=parent))
        try:
            os.chmod(stage, 0o777 & ~_umask())
            yield stage
            if stage.exists():  # the body may have moved its files in itself and removed it
                _fsync_dir(stage)
                swap_in(stage, target)
        finally:
            if stage.exists():
                shutil.rmtree(stage, ignore_errors=True)
    finally:
        lock.release()
