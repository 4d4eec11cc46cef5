"""One error path for every reader, and the plausibility limits every recording must meet.

Every public reader is wrapped by :func:`guarded`. The wrapper

1. checks that the input is a regular file *before* opening it (a FIFO would block the read
   forever, a directory or device is never a recording);
2. turns any failure that malformed bytes can cause inside a reader or the libraries it uses
   (pyarrow, zlib, zipfile, edfio, struct, csv, codecs, XML, numpy indexing) into a
   :class:`~lmdetect.errors.FormatError` that names the file, so a damaged input never ends in
   a traceback;
3. logs the warnings that libraries emit while reading (repairs of a damaged file) instead of
   letting them escape;
4. checks the values of a returned :class:`~lmdetect.model.Recording` against the limits below.

Value limits (an error, :class:`FormatError`):

* acceleration that is NaN or infinite;
* ``|a|`` above :func:`hard_limit_g`: twice the declared full-scale range, or
  :data:`MAX_ABS_G` when the range is unknown (no body-worn MEMS accelerometer measures more;
  the widest, ADXL375, is +-200 g);
* a nominal rate outside :data:`MIN_FS_HZ`..:data:`MAX_FS_HZ`;
* sample times that span more than :data:`MAX_SPAN_S`, or whose samples cover less than
  :data:`MIN_COVERAGE` of their span (a corrupt timestamp, not a pause in recording);
* a median sample interval more than :data:`RATE_TOLERANCE` times off the nominal period
  (a corrupt rate or tick-rate field).

Value warnings (logged, counted in ``meta["n_samples_over_range"]``): ``|a|`` beyond 1.05 times
the declared full-scale range but within the hard limit (calibration offsets move a clipped
sample slightly past the nominal range).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import inspect
import logging
import os
import stat
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from xml.etree.ElementTree import ParseError

import numpy as np

from ..errors import ConfigError, FormatError, LmdetectError
from ..model import Recording

__all__ = [
    "MAX_ABS_G",
    "MAX_FS_HZ",
    "MAX_SPAN_S",
    "MIN_COVERAGE",
    "MIN_FS_HZ",
    "OVER_RANGE_WARN",
    "RATE_TOLERANCE",
    "check_input",
    "check_recording",
    "csv_delimiter",
    "decimal_number",
    "decode_text",
    "guarded",
    "read_text",
]

log = logging.getLogger(__name__)

#: Largest plausible |a| in g when the file does not declare its range (ADXL375: +-200 g).
MAX_ABS_G: float = 256.0
#: Lowest and highest plausible nominal sampling rate of a raw accelerometer, in Hz
#: (the slowest logger mode is 6.25 Hz on the AX3, the fastest 3200 Hz).
MIN_FS_HZ: float = 1.0
MAX_FS_HZ: float = 10_000.0
#: Longest plausible span of sample times in one file, in seconds (62 days).
MAX_SPAN_S: float = 62 * 86400.0
#: Smallest plausible fraction of a file's time span that its samples cover (1 %).
MIN_COVERAGE: float = 0.01
#: The median sample interval must be within this factor of 1 / fs.
RATE_TOLERANCE: float = 2.0
#: |a| above this multiple of the declared range is counted and logged as over range.
OVER_RANGE_WARN: float = 1.05

F = TypeVar("F", bound=Callable[..., Any])

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def check_input(path: str | os.PathLike[str]) -> Path:
    """The path as a :class:`Path` after checking, without opening it, that it is a regular file.

    Raises
    ------
    FormatError
        Missing, not accessible, or a directory, FIFO, device or socket.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FormatError(path, "file not found") from None
    except OSError as exc:
        raise FormatError(path, f"cannot read: {exc.strerror or exc}") from None
    for test, kind in _KINDS:
        if test(st.st_mode):
            raise FormatError(path, f"is {kind}, not a regular file")
    return Path(path)


def _data_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [
        ValueError,  # includes UnicodeError, json.JSONDecodeError, pyarrow.ArrowInvalid
        ArithmeticError,  # OverflowError, ZeroDivisionError
        LookupError,  # IndexError, KeyError
        TypeError,
        EOFError,
        OSError,  # includes pyarrow.ArrowIOError
        struct.error,
        zlib.error,
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        csv.Error,
        ParseError,
        RecursionError,
        NotImplementedError,  # pyarrow.ArrowNotImplementedError
    ]
    try:
        import pyarrow as pa

        errors.append(pa.ArrowException)
    except ImportError:  # pragma: no cover - pyarrow is a core dependency
        pass
    return tuple(errors)


_DATA_ERRORS = _data_errors()
_CAUGHT: tuple[type[BaseException], ...] = (LmdetectError, *_DATA_ERRORS)


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > 200:
        text = text[:197] + "..."
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def as_format_error(path: str | os.PathLike[str], kind: str, exc: BaseException) -> FormatError:
    """A :class:`FormatError` naming ``path`` for an exception raised while reading it."""
    if isinstance(exc, FormatError):
        return exc
    if isinstance(exc, LmdetectError):
        return FormatError(path, str(exc))
    if isinstance(exc, OSError) and exc.filename is not None and not isinstance(exc, FileNotFoundError):
        return FormatError(path, f"cannot read: {exc.strerror or exc}")
    return FormatError(path, f"not a readable {kind} file ({_describe(exc)})")


def guarded(kind: str) -> Callable[[F], F]:
    """Decorate a reader ``func(path, ...)`` with the one error path (see module notes).

    ``kind`` names the format in messages ("CWA", "diary CSV", ...). A returned
    :class:`Recording` is checked with :func:`check_recording`.
    """

    def decorate(func: F) -> F:
        signature = inspect.signature(func)

        @functools.wraps(func)
        def reader(path: str | os.PathLike[str], *args: Any, **kwargs: Any) -> Any:
            # a wrong option is a TypeError of the call, not a damaged file
            signature.bind(path, *args, **kwargs)
            check_input(path)
            try:
                # libraries warn about repairs they make to a damaged file (edfio: a record count
                # that disagrees with the file size); log them against the file, never raise them
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    try:
                        out = func(path, *args, **kwargs)
                    finally:
                        for w in caught:
                            log.warning("%s: %s", os.fspath(path), w.message)
            except ConfigError:
                raise  # a bad option, not a bad file
            except FormatError:
                raise
            except _CAUGHT as exc:
                raise as_format_error(path, kind, exc) from exc
            if isinstance(out, Recording):
                out = check_recording(path, out)
            return out

        return reader  # type: ignore[return-value]

    return decorate


def hard_limit_g(range_g: float | None) -> float:
    """Largest |a| in g a file may hold: twice its declared range, else :data:`MAX_ABS_G`."""
    if range_g is None or not np.isfinite(range_g) or range_g <= 0:
        return MAX_ABS_G
    return 2.0 * float(range_g)


def check_recording(path: str | os.PathLike[str], rec: Recording) -> Recording:
    """Check a recording read from ``path`` against the plausibility limits (module notes).

    Returns the recording, with ``meta["n_samples_over_range"]`` set when samples exceed the
    declared range by more than 5 %.

    Raises
    ------
    FormatError
        A value outside the hard limits, naming the first offending sample.
    """
    if not (MIN_FS_HZ <= rec.fs <= MAX_FS_HZ):
        raise FormatError(
            path, f"sampling rate {rec.fs:g} Hz is implausible (expected {MIN_FS_HZ:g} to {MAX_FS_HZ:g} Hz)"
        )
    a = rec.accel_g
    n = rec.n_samples
    if n == 0:
        return rec
    limit = hard_limit_g(rec.range_g)
    # whole-array extremes first (NaN propagates through min/max): the per-sample passes below
    # run only when there is something to find
    lo, hi = float(a.min()), float(a.max())
    largest = max(hi, -lo)
    peak: np.ndarray | None = None
    if not (np.isfinite(lo) and np.isfinite(hi) and largest <= limit):
        finite = np.isfinite(a).all(axis=1)
        if not finite.all():
            i = int(np.argmin(finite))
            raise FormatError(
                path,
                f"sample {i} (t = {rec.time_s[i]:.3f} s) is not a finite number: {a[i].tolist()}",
            )
        peak = np.abs(a).max(axis=1)
        over = peak > limit
        if over.any():
            i = int(np.argmax(over))
            declared = f"the declared range is +-{rec.range_g:g} g" if rec.range_g else "no sensor measures that"
            raise FormatError(
                path,
                f"sample {i} (t = {rec.time_s[i]:.3f} s) has |a| = {peak[i]:.4g} g, impossible ({declared})",
            )
    t = rec.time_s
    span = float(t[-1] - t[0])
    if span > MAX_SPAN_S:
        raise FormatError(
            path,
            f"sample times span {span / 86400:.1f} days, more than {MAX_SPAN_S / 86400:g}: "
            "a corrupt timestamp?",
        )
    if n > 1:
        covered = n / rec.fs
        if span > 86400.0 and covered < MIN_COVERAGE * span:
            raise FormatError(
                path,
                f"{n} samples at {rec.fs:g} Hz ({covered / 3600:.2f} h) spread over {span / 86400:.1f} days: "
                "a corrupt timestamp?",
            )
        if n > 10:
            # the median of 100 000 evenly spread steps: the same verdict as all of them for a
            # plausibility check, without a whole-night difference array and its partition
            picks = np.linspace(0, n - 2, min(n - 1, 100_000)).astype(np.int64)
            step = float(np.median(t[picks + 1] - t[picks]))
            period = 1.0 / rec.fs
            if not (period / RATE_TOLERANCE <= step <= period * RATE_TOLERANCE):
                raise FormatError(
                    path,
                    f"the median sample interval {step:.6g} s does not match the nominal rate {rec.fs:g} Hz "
                    "(a corrupt rate or clock field?)",
                )
    if rec.range_g and largest > OVER_RANGE_WARN * rec.range_g:
        if peak is None:
            peak = np.abs(a).max(axis=1)
        n_over = int((peak > OVER_RANGE_WARN * rec.range_g).sum())
        if n_over:
            log.warning(
                "%s: %d samples exceed the declared range of +-%g g (largest |a| %.3g g)",
                path,
                n_over,
                rec.range_g,
                float(peak.max()),
            )
            meta = dict(rec.meta)
            meta["n_samples_over_range"] = str(n_over)
            rec = dataclasses.replace(rec, meta=meta)
    return rec


def decode_text(path: str | os.PathLike[str], data: bytes) -> str:
    """Text of a small side file (diary, pad log, hypnogram, event table).

    UTF-8 with or without a byte-order mark, and UTF-16 with a byte-order mark (what Excel's
    "Unicode text" export writes) are decoded; anything else is a :class:`FormatError` that names
    the first undecodable byte.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise FormatError(path, f"damaged UTF-16 text: {exc.reason}", offset=exc.start) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(
            path,
            f"not UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8 (or UTF-16 with BOM)",
            offset=exc.start,
        ) from None


def read_text(path: str | os.PathLike[str]) -> str:
    """:func:`decode_text` of a whole file, after :func:`check_input`."""
    p = check_input(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise FormatError(path, f"cannot read: {exc.strerror or exc}") from None
    return decode_text(path, data)


def csv_delimiter(text: str) -> str:
    """The field separator of a side-file table, from its header row.

    A comma; or, when the header holds none, the tab of Excel's "Unicode text" export or the
    semicolon Excel writes as CSV where the decimal mark is a comma.
    """
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    if "," in header:
        return ","
    return next((d for d in ("\t", ";") if d in header), ",")


def decimal_number(text: str) -> str:
    """``text`` with a decimal comma read as a point ("12,5" -> "12.5"), for tables Excel saved
    with ";" as the separator; anything else unchanged."""
    t = text.strip()
    if t.count(",") == 1 and "." not in t:
        return t.replace(",", ".")
    return t

