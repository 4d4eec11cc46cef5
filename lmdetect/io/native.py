"""The native recording format ``.lmr``: one file per night, append-only and crash-safe.

A ``.lmr`` file is an Arrow IPC stream of zstd-compressed record batches, one row per sample
(x, y, z counts, packet ``seq``, sensor ``tick``, host receive time ``host_ns``, ``flags``). The
header lives in the schema metadata. The full specification is docs/format.md.

* :class:`LmrWriter` streams packets to disk as they arrive (the collector). It hands a record
  batch to the operating system at least every ``flush_interval_s`` and ``fsync``\\ s every
  ``fsync_interval_s``, so a writer killed at any moment leaves a readable file. It can continue
  an existing file (``append=True``) after a restart.
* :func:`write_lmr` writes a whole :class:`~lmdetect.model.Recording` at once, atomically.
* :func:`read_lmr` returns a Recording; a file without its end-of-stream marker (the writer died
  or is still running) reads up to its last complete batch and is flagged in ``meta``.

Example: reading with plain pyarrow::

    import pyarrow as pa
    table = pa.ipc.open_stream("night.lmr").read_all()
    header = {k.decode(): v.decode() for k, v in table.schema.metadata.items()}
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import math
import os
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from .._atomic import _fsync_dir, atomic_path
from ..errors import FormatError, LmdetectError
from ..model import Recording
from ..protocol import Flags
from ._guard import guarded
from ._lmr_format import (
    FORMAT_VERSION,
    LmrHeader,
    datetime_to_ns,
    expand_ticks,
    header_from_schema,
    header_to_metadata,
    make_schema,
    nominal_tick_offsets,
    tick_anchor_mask,
)
from ._lmr_stream import EOS, ScanResult, encode_batch, scan_stream, write_options
from ._registry import register_reader, register_writer

try:  # advisory lock so two collectors cannot interleave batches in one file (POSIX only)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "FORMAT_VERSION",
    "LmrHeader",
    "LmrWriter",
    "write_lmr",
    "compact_lmr",
    "read_lmr",
    "read_lmr_header",
]

log = logging.getLogger(__name__)


class _Packet(NamedTuple):
    seq: int
    counts: NDArray[np.int16]
    host_ns: int | None
    flags: int
    ticks: NDArray[np.int64]


PathLike = str | os.PathLike[str]

#: zstd level of the streaming writer (small batches, written while recording: favour speed).
STREAM_ZSTD_LEVEL = 3
#: zstd level of :func:`write_lmr`. benchmarks/lmr_size.py, 60-s batches at 50 Hz: level 12 is
#: ~6 % smaller than level 3 for well under a second of CPU per hour of recording; level 19
#: saves 2 % more at ~10x that time.
OFFLINE_ZSTD_LEVEL = 12
#: Samples per made-up packet when a Recording has no packet sequence numbers.
SYNTHETIC_PACKET_SAMPLES = 32
#: Tick rate used for recordings that do not say which clock their times came from.
DEFAULT_TICK_HZ = 1e6
#: Resolution used when a recording's range is unknown: 1/4096 g per count (+-8 g full scale).
DEFAULT_SCALE_G = 1.0 / 4096.0


# ====================================================================================== writer
class LmrWriter:
    """Stream packets of samples into a ``.lmr`` file, crash-safely.

    Parameters
    ----------
    path
        The recording. A new file is created with its header already on disk (written to a
        temporary name, fsynced, renamed). Without ``append``, an existing file is an error.
    header
        Header of the recording. With ``append`` on an existing file, the file's header is
        kept; ``header`` must agree with it on fs, tick_hz, scale_g, range_g, device_id and side.
    flush_interval_s
        A record batch is handed to the operating system at least this often (wall time) while
        samples are pending: checked on every :meth:`write_packet` and by a background thread,
        so samples do not wait for the next packet. Samples reach the OS page cache and survive
        the death of this process.
    fsync_interval_s
        ``os.fsync`` at least this often while writing, and on :meth:`close` (survives a power
        loss).
    append
        Continue an existing recording: a partial tail left by a killed writer (and the
        end-of-stream marker of a closed file) is cut off and new batches follow the last
        complete one. A missing file is created, and so is one that holds a header and no
        sample (a writer killed before its first batch): its header gives way to ``header``,
        whose ``start`` is the time of the first sample this writer writes.

    A write that fails with an ``OSError`` (a full disk, a quota, an I/O error) is logged once
    and retried every ``flush_interval_s``; the samples stay in memory meanwhile and the same
    file continues when writing works again (:attr:`write_error`, :attr:`pending_samples` tell
    the caller, which decides how much to hold). Only :meth:`close` reports a failure that
    never went away.

    Attributes
    ----------
    header : LmrHeader
        The header in force (the file's own when appending).
    existing_samples : int
        Rows already in the file when it was opened with ``append``.
    last_seq, last_tick : int or None
        Highest packet sequence number and sensor tick in the file so far (None when empty):
        where a restarted collector continues.
    write_error : OSError or None
        The failure of the last write attempt while it lasts (None once a retry worked).

    Notes
    -----
    Samples that arrive twice (a resent packet that was also received live) may be written
    twice; :func:`read_lmr` keeps the first copy of each sensor tick.
    """

    def __init__(
        self,
        path: PathLike,
        header: LmrHeader,
        *,
        flush_interval_s: float = 1.0,
        fsync_interval_s: float = 10.0,
        append: bool = False,
    ) -> None:
        if not (flush_interval_s > 0 and fsync_interval_s > 0):
            raise LmdetectError("flush_interval_s and fsync_interval_s must be > 0")
        self.path = Path(path)
        self.flush_interval_s = float(flush_interval_s)
        self.fsync_interval_s = float(fsync_interval_s)
        self._options = write_options(STREAM_ZSTD_LEVEL)
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._error: BaseException | None = None  # a bug: raised on the caller's next call
        self.write_error: OSError | None = None  # the environment: retried, never raised mid-night
        self._pending: list[_Packet] = []
        self._n_pending = 0
        self._samples_written = 0
        self._samples_flushed = 0
        self._flushed_at_error = 0
        self._dirty = False
        self._fd: int | None = None
        self.existing_samples = 0
        self.last_seq: int | None = None
        self.last_tick: int | None = None

        continuing = append and self.path.exists() and self.path.stat().st_size > 0
        if not continuing:
            if self.path.exists() and not append:
                raise LmdetectError(
                    f"{self.path}: already exists; pass append=True to continue that recording"
                )
            self._create(make_schema(header_to_metadata(header)))
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            self._lock_file(self._fd)  # before touching an existing file: never cut another writer's tail
            if continuing:
                self.header, self._schema = self._open_existing(header, self._fd)
                if self.existing_samples == 0:
                    self._recreate_locked(header)
            else:
                self.header, self._schema = header, make_schema(header_to_metadata(header))
        except BaseException:
            os.close(self._fd)
            self._fd = None
            raise
        now = time.monotonic()
        self._last_flush = now
        self._last_fsync = now
        self._thread = threading.Thread(
            target=self._background, name=f"lmr-writer {self.path.name}", daemon=True
        )
        self._thread.start()

    # -------------------------------------------------------------------------- opening
    def _create(self, schema: pa.Schema) -> None:
        with atomic_path(self.path) as tmp:
            with open(tmp, "wb") as fh:
                fh.write(schema.serialize().to_pybytes())
                fh.flush()
                os.fsync(fh.fileno())
        _fsync_dir(self.path.parent)

    def _open_existing(self, header: LmrHeader, fd: int) -> tuple[LmrHeader, pa.Schema]:
        data = self.path.read_bytes()
        scan = scan_stream(self.path, data)
        existing, _ = header_from_schema(self.path, scan.schema)
        diffs = []
        for name in ("fs", "tick_hz", "scale_g", "range_g", "device_id", "side"):
            a, b = getattr(existing, name), getattr(header, name)
            if a != b:
                diffs.append(f"{name}: file {a!r}, new {b!r}")
        if diffs:
            raise FormatError(self.path, "cannot append, the header differs: " + "; ".join(diffs))
        if scan.good_end < len(data):
            how = "end-of-stream marker" if scan.closed else f"{scan.dropped_bytes} bytes of a partial batch"
            lvl = logging.INFO if scan.closed else logging.WARNING
            log.log(lvl, "%s: continuing the recording; cut off the %s", self.path, how)
            os.ftruncate(fd, scan.good_end)
            os.fsync(fd)
        if scan.batches:
            tab = pa.Table.from_batches(scan.batches, schema=scan.schema)
            self.existing_samples = tab.num_rows
            if tab.num_rows:
                self.last_seq = int(tab.column("seq").to_numpy().max())
                self.last_tick = int(_ticks_of(self.path, tab, existing).max())
        return existing, scan.schema

    def _recreate_locked(self, header: LmrHeader) -> None:
        """Replace a file that has no sample by a new one with ``header`` (atomically; the old
        descriptor's lock is held until the new one is locked)."""
        old = self._fd
        self._create(make_schema(header_to_metadata(header)))
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            self._lock_file(self._fd)
        finally:
            assert old is not None
            os.close(old)
        self.header, self._schema = header, make_schema(header_to_metadata(header))
        self.last_seq = self.last_tick = None

    def _lock_file(self, fd: int) -> None:
        if fcntl is None:  # pragma: no cover
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise LmdetectError(f"{self.path}: another writer has this recording open") from None

    # -------------------------------------------------------------------------- writing
    @property
    def samples_written(self) -> int:
        """Samples handed to :meth:`write_packet` by this writer (pending ones included)."""
        return self._samples_written

    @property
    def pending_samples(self) -> int:
        """Samples held in memory, not yet handed to the operating system."""
        return self._n_pending

    @property
    def samples_flushed(self) -> int:
        """Samples of this writer that have been handed to the operating system."""
        return self._samples_flushed

    def write_packet(
        self,
        seq: int,
        tick: int,
        counts: NDArray[np.integer],
        *,
        host_ns: int | None = None,
        flags: int = 0,
        sample_ticks: NDArray[np.integer] | None = None,
    ) -> None:
        """Buffer one packet; flush a record batch when ``flush_interval_s`` has passed.

        Parameters
        ----------
        seq
            Packet sequence number, unwrapped (int64).
        tick
            Sensor tick of the first sample, unwrapped.
        counts
            Samples, shape (n, 3), int16 counts (``g = count * header.scale_g``).
        host_ns
            Host receive time of the packet in ns since the Unix epoch; None when unknown.
        flags
            Packet flags (:class:`lmdetect.protocol.Flags`: bit0 resent, bit1 FIFO overflow,
            bit2 clipped).
        sample_ticks
            Tick of every sample, shape (n,); default ``tick + floor(i * tick_hz / fs + 0.5)``.
        """
        self._raise_pending_error()
        if self._fd is None:
            raise LmdetectError(f"{self.path}: writer is closed")
        c = np.asarray(counts)
        if c.ndim != 2 or c.shape[1] != 3 or c.shape[0] == 0:
            raise LmdetectError(f"counts must have shape (n, 3) with n >= 1, got {c.shape}")
        if c.dtype != np.int16:
            if not np.issubdtype(c.dtype, np.integer) or c.min() < -32768 or c.max() > 32767:
                raise LmdetectError(f"counts must be int16 values, got {c.dtype}")
            c = c.astype(np.int16)
        else:
            c = c.copy()
        if not 0 <= int(flags) <= 255:
            raise LmdetectError(f"flags must fit in 8 bits, got {flags}")
        n = c.shape[0]
        if sample_ticks is None:
            st = int(tick) + nominal_tick_offsets(np.arange(n), self.header.tick_hz, self.header.fs)
        else:
            st = np.asarray(sample_ticks, dtype=np.int64).copy()
            if st.shape != (n,):
                raise LmdetectError(f"sample_ticks must have shape ({n},), got {st.shape}")
        with self._lock:
            host = None if host_ns is None else int(host_ns)
            self._pending.append(_Packet(int(seq), c, host, int(flags), st))
            self._n_pending += n
            self._samples_written += n
            due = time.monotonic() - self._last_flush >= self.flush_interval_s
        if due:
            self._wake.set()  # the background thread writes, so the caller never waits on the disk

    def flush(self) -> None:
        """Hand all pending samples to the operating system now (one record batch)."""
        self._raise_pending_error()
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        self._last_flush = time.monotonic()
        if not self._pending or self._fd is None:
            return
        batch = self._build_batch(self._pending)
        msg = encode_batch(batch, self._options)
        _write_all(self._fd, msg)  # on failure the pending samples stay queued
        self._pending = []
        self._samples_flushed += self._n_pending
        self._n_pending = 0
        self._dirty = True
        top = int(batch.column("seq").to_numpy().max())
        self.last_seq = top if self.last_seq is None else max(self.last_seq, top)

    def _build_batch(self, packets: list[_Packet]) -> pa.RecordBatch:
        counts = np.concatenate([p.counts for p in packets])
        sizes = np.array([p.counts.shape[0] for p in packets], dtype=np.int64)
        seq = np.repeat(np.array([p.seq for p in packets], dtype=np.int64), sizes)
        flags = np.repeat(np.array([p.flags for p in packets], dtype=np.uint8), sizes)
        host_pkt = [0 if p.host_ns is None else p.host_ns for p in packets]
        host = np.repeat(np.array(host_pkt, dtype=np.int64), sizes)
        host_ok = np.repeat(np.array([p.host_ns is not None for p in packets]), sizes)
        ticks = np.concatenate([p.ticks for p in packets])
        run_start = np.zeros(ticks.shape[0], dtype=bool)
        run_start[np.r_[0, np.cumsum(sizes)[:-1]]] = True
        top = int(ticks.max())
        self.last_tick = top if self.last_tick is None else max(self.last_tick, top)
        return _make_batch(self._schema, counts, seq, ticks, run_start, host, host_ok, flags, self.header)

    def _fsync_locked(self) -> None:
        if self._fd is not None and self._dirty:
            os.fsync(self._fd)
            self._dirty = False
        self._last_fsync = time.monotonic()

    def _background(self) -> None:
        tick_s = min(self.flush_interval_s, self.fsync_interval_s) / 4.0
        while not self._stop.is_set():
            self._wake.wait(tick_s)
            self._wake.clear()
            if self._stop.is_set():
                break
            fd = None
            try:
                with self._lock:
                    now = time.monotonic()
                    if self._pending and now - self._last_flush >= self.flush_interval_s:
                        self._flush_locked()
                        if self.write_error is not None:  # a retry worked: nothing is lost
                            log.warning("%s: writing works again (%d samples were held in memory)",
                                        self.path, self._samples_flushed - self._flushed_at_error)
                            self.write_error = None
                    if now - self._last_fsync >= self.fsync_interval_s:
                        self._last_fsync = now
                        if self._dirty:
                            fd, self._dirty = self._fd, False
                # fsync outside the lock so write_packet never waits for the disk; close() joins
                # this thread before it closes the descriptor
                if fd is not None:
                    os.fsync(fd)
            except OSError as exc:  # a full disk, ...: keep the samples, retry next round
                if fd is not None:
                    self._dirty = True
                if self.write_error is None:  # logged once per episode, not every retry
                    self._flushed_at_error = self._samples_flushed
                    log.warning("%s: writing failed, holding the samples in memory and retrying every "
                                "%g s: %s", self.path, self.flush_interval_s, exc)
                self.write_error = exc
            except Exception as exc:  # a bug: reported to the caller on its next call
                if fd is not None:
                    self._dirty = True
                if self._error is None:
                    log.error("%s: writing failed: %s", self.path, exc)
                self._error = exc

    def _raise_pending_error(self) -> None:
        if self._error is not None:
            exc, self._error = self._error, None
            raise LmdetectError(f"{self.path}: writing failed: {exc}") from exc

    def close(self) -> None:
        """Flush, write the end-of-stream marker, fsync and close. Safe to call twice."""
        if self._fd is None:
            return
        self._stop.set()
        self._wake.set()
        self._thread.join()
        try:
            with self._lock:
                self._flush_locked()
                _write_all(self._fd, EOS)
                self._dirty = True
                self._fsync_locked()
        except OSError as exc:
            n = self._n_pending
            raise LmdetectError(
                f"{self.path}: closing failed ({exc}); {n} samples could not be written, the file keeps "
                "everything before them and can be continued"
            ) from exc
        finally:
            with self._lock:
                os.close(self._fd)
                self._fd = None
        if self._error is not None or self.write_error is not None:  # retried; all is on disk now
            log.warning("%s: a write failed earlier and was retried: %s", self.path, self._error or self.write_error)
            self._error = self.write_error = None

    def __enter__(self) -> LmrWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._fd is None else "open"
        return f"<LmrWriter {self.path.name} {state} samples_written={self._samples_written}>"


def _write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to an O_APPEND descriptor; on error cut the file back (no half message)."""
    start = os.lseek(fd, 0, os.SEEK_END)
    view = memoryview(data)
    try:
        while view:
            n = os.write(fd, view)
            view = view[n:]
    except BaseException:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, start)
        raise


def _make_batch(
    schema: pa.Schema,
    counts: NDArray[np.int16],
    seq: NDArray[np.int64],
    ticks: NDArray[np.int64],
    run_start: NDArray[np.bool_],
    host_ns: NDArray[np.int64],
    host_ok: NDArray[np.bool_],
    flags: NDArray[np.uint8],
    header: LmrHeader,
) -> pa.RecordBatch:
    """One record batch; ticks that follow the nominal spacing are stored as nulls (zeros)."""
    keep = tick_anchor_mask(ticks, run_start, header.tick_hz, header.fs)
    # null slots hold 0 so that zstd sees long runs of zeros (pyarrow keeps masked values otherwise)
    tick_col = pa.array(np.where(keep, ticks, 0), type=pa.int64(), mask=~keep)
    host_col = pa.array(np.where(host_ok, host_ns, 0), type=pa.int64(), mask=~host_ok)
    return pa.record_batch(
        [
            pa.array(np.ascontiguousarray(counts[:, 0]), type=pa.int16()),
            pa.array(np.ascontiguousarray(counts[:, 1]), type=pa.int16()),
            pa.array(np.ascontiguousarray(counts[:, 2]), type=pa.int16()),
            pa.array(seq, type=pa.int64()),
            tick_col,
            host_col,
            pa.array(flags, type=pa.uint8()),
        ],
        schema=schema,
    )


# ============================================================================ offline writer
def write_lmr(
    recording: Recording,
    path: PathLike,
    *,
    batch_s: float = 60.0,
    scale_g: float | None = None,
    compression_level: int = OFFLINE_ZSTD_LEVEL,
) -> None:
    """Write a whole recording to ``path`` atomically (temporary name, fsync, rename).

    Parameters
    ----------
    recording
        The recording. Its ``meta`` keys ``lmr.tick_hz``, ``lmr.scale_g`` and ``lmr.first_tick``
        (set by :func:`read_lmr`) are reused so that a ``.lmr`` read and written again keeps
        its exact counts and ticks; ``sensor`` and ``firmware`` go to the header.
    path
        Target file.
    batch_s
        Seconds of samples per record batch (larger batches compress better).
    scale_g
        g per count. Default: ``meta["lmr.scale_g"]``, else ``range_g / 32768``, else 1/4096 g
        (a +-8 g full scale). Samples beyond the int16 range are clipped (flag bit2 set).
    compression_level
        zstd level.

    Notes
    -----
    Times are stored as ticks of ``meta["lmr.tick_hz"]`` (1e6 per second when absent, i.e.
    1 us resolution). A recording without ``seq`` gets made-up packets of 32 samples and one
    without ``backfilled`` gets zero flags; both are listed in ``lmr.absent`` so reading gives
    them back as None.
    """
    if batch_s <= 0:
        raise LmdetectError(f"batch_s must be > 0, got {batch_s!r}")
    rec = recording
    meta = dict(rec.meta)
    tick_hz = float(meta.get("lmr.tick_hz", DEFAULT_TICK_HZ))
    if scale_g is None:
        if "lmr.scale_g" in meta:
            scale_g = float(meta["lmr.scale_g"])
        elif rec.range_g is not None:
            scale_g = rec.range_g / 32768.0
        else:
            scale_g = DEFAULT_SCALE_G
    first_tick = int(meta.get("lmr.first_tick", 0))
    n = rec.n_samples
    t0 = float(rec.time_s[0]) if n else 0.0
    start = rec.start + dt.timedelta(seconds=t0) if t0 else rec.start
    ticks = first_tick + np.rint((rec.time_s - t0) * tick_hz).astype(np.int64)
    if n > 1 and not np.all(np.diff(ticks) > 0):
        i = int(np.flatnonzero(np.diff(ticks) <= 0)[0])
        raise LmdetectError(
            f"samples {i} and {i + 1} are closer than one tick (1/{tick_hz:g} s); "
            "set meta['lmr.tick_hz'] higher"
        )

    raw = np.rint(rec.accel_g.astype(np.float64) / scale_g)
    clipped = np.any((raw < -32768) | (raw > 32767), axis=1)
    if clipped.any():
        log.warning(
            "%s: %d samples exceed the int16 range at %g g/count; clipped", path, int(clipped.sum()), scale_g
        )
    counts = np.clip(raw, -32768, 32767).astype(np.int16)

    absent = []
    if rec.seq is None:
        seq = np.arange(n, dtype=np.int64) // SYNTHETIC_PACKET_SAMPLES
        absent.append("seq")
    else:
        seq = rec.seq
    if rec.backfilled is None:
        backfilled = np.zeros(n, dtype=bool)
        absent.append("backfilled")
    else:
        backfilled = rec.backfilled
    flags = np.where(backfilled, np.uint8(Flags.RESENT), np.uint8(0)).astype(np.uint8)
    flags[clipped] |= np.uint8(Flags.CLIPPED)
    start_ns = datetime_to_ns(start)
    if rec.host_time_s is None:
        host_ok = np.zeros(n, dtype=bool)
        host_ns = np.zeros(n, dtype=np.int64)
    else:
        host_ok = np.isfinite(rec.host_time_s)
        # integer offset first: ns since 1970 do not fit a float64 exactly
        offset_ns = np.rint(np.where(host_ok, rec.host_time_s - t0, 0.0) * 1e9).astype(np.int64)
        host_ns = np.where(host_ok, start_ns + offset_ns, 0).astype(np.int64)
    # a new run wherever packet or flags change, so every packet begins with a stored tick
    run_start = np.r_[True, (seq[1:] != seq[:-1]) | (flags[1:] != flags[:-1])] if n else np.zeros(0, bool)

    user = {
        k: v
        for k, v in meta.items()
        if not k.startswith(("lmr.", "ARROW:")) and k not in ("sensor", "firmware")
    }
    header = LmrHeader(
        fs=rec.fs,
        start=start,
        tick_hz=tick_hz,
        scale_g=float(scale_g),
        range_g=rec.range_g,
        device_id=rec.device_id,
        side=rec.side,
        sensor=meta.get("sensor", ""),
        firmware=meta.get("firmware", ""),
        meta=user,
    )
    schema = make_schema(header_to_metadata(header, absent=tuple(absent)))
    rows = max(1, int(round(batch_s * rec.fs)))
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            with pa.ipc.new_stream(fh, schema, options=write_options(compression_level)) as w:
                if n == 0:
                    w.write_batch(
                        _make_batch(schema, counts, seq, ticks, run_start, host_ns, host_ok, flags, header)
                    )
                for i in range(0, n, rows):
                    sl = slice(i, i + rows)
                    rs = run_start[sl].copy()
                    rs[0] = True  # every batch decodes on its own
                    w.write_batch(
                        _make_batch(
                            schema, counts[sl], seq[sl], ticks[sl], rs, host_ns[sl], host_ok[sl], flags[sl],
                            header,
                        )
                    )
            fh.flush()
            os.fsync(fh.fileno())
    _fsync_dir(Path(path).parent)


def compact_lmr(
    path: PathLike, *, batch_s: float = 60.0, compression_level: int = OFFLINE_ZSTD_LEVEL
) -> None:
    """Re-cut a closed ``.lmr`` file into large batches, in place and atomically.

    A file streamed by :class:`LmrWriter` holds one small batch per second, ~7x larger than
    the same samples in 60-s batches (benchmarks/lmr_size.py). Compacting keeps every row in
    file order (duplicates included) and the header byte for byte; only the batching changes.

    Raises
    ------
    LmdetectError
        The file has no end-of-stream marker (a writer is running, or died: continue it with
        ``LmrWriter(path, header, append=True)`` and close it first), or a writer has it open.
    """
    p = Path(path)
    if batch_s <= 0:
        raise LmdetectError(f"batch_s must be > 0, got {batch_s!r}")
    with open(p, "rb") as src:
        if fcntl is not None:  # held until the rename, so no writer can append meanwhile
            try:
                fcntl.flock(src.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise LmdetectError(f"{p}: a writer has this recording open") from None
        scan = scan_stream(p, src.read())
        header, _ = header_from_schema(p, scan.schema)
        if not scan.closed:
            raise LmdetectError(
                f"{p}: not closed cleanly; continue it with LmrWriter(append=True) and close it first"
            )
        table = pa.Table.from_batches(scan.batches, schema=scan.schema)
        stored = table.column("tick").is_valid().to_numpy(zero_copy_only=False)
        ticks = _ticks_of(p, table, header)
        counts = np.stack([table.column(c).to_numpy() for c in ("x", "y", "z")], axis=1)
        seq = table.column("seq").to_numpy()
        flags = table.column("flags").to_numpy()
        host_ok = table.column("host_ns").is_valid().to_numpy(zero_copy_only=False)
        host_ns = table.column("host_ns").fill_null(0).to_numpy()
        rows = max(1, int(round(batch_s * header.fs)))
        with atomic_path(p) as tmp:
            with open(tmp, "wb") as fh:
                with pa.ipc.new_stream(fh, scan.schema, options=write_options(compression_level)) as w:
                    for i in range(0, table.num_rows, rows):
                        sl = slice(i, i + rows)
                        rs = stored[sl].copy()
                        rs[0] = True  # every batch decodes on its own
                        w.write_batch(
                            _make_batch(
                                scan.schema, counts[sl], seq[sl], ticks[sl], rs, host_ns[sl], host_ok[sl],
                                flags[sl], header,
                            )
                        )
                fh.flush()
                os.fsync(fh.fileno())
    _fsync_dir(p.parent)


# ======================================================================================= reader
def _ticks_of(path: PathLike, table: pa.Table, header: LmrHeader) -> NDArray[np.int64]:
    col = table.column("tick")
    valid = col.is_valid().to_numpy(zero_copy_only=False)
    if valid.size and not valid[0]:
        raise FormatError(path, "the first sample has no tick")
    ticks = col.fill_null(0).to_numpy().astype(np.int64, copy=False)
    return expand_ticks(ticks, valid, header.tick_hz, header.fs)


@guarded("lmdetect recording (.lmr)")
def read_lmr_header(path: PathLike) -> LmrHeader:
    """Only the header of a ``.lmr`` file (reads the schema message, not the samples)."""
    p = Path(path)
    if not p.exists():
        raise FormatError(path, "file not found")
    with open(p, "rb") as fh:
        head = fh.read(8)
        if len(head) == 8 and head[:4] == b"\xff\xff\xff\xff":
            size = int.from_bytes(head[4:8], "little", signed=True)
            head += fh.read(max(0, size))
    scan = scan_stream(path, head, decode=False)
    header, _ = header_from_schema(path, scan.schema)
    return header


@guarded("lmdetect recording (.lmr)")
def read_lmr(path: PathLike) -> Recording:
    """Read a ``.lmr`` recording.

    Samples are sorted by sensor tick and exact duplicate ticks are dropped (the first copy in
    the file is kept), so a packet that was both received live and resent appears once.

    Returns
    -------
    Recording
        ``accel_g = counts * scale_g`` (float32); ``time_s = (tick - first_tick) / tick_hz``;
        ``host_time_s`` in seconds since ``start`` (NaN where unknown); ``backfilled`` = flags
        bit0. ``meta`` holds the header's user metadata, ``sensor`` and ``firmware``, and the
        status keys ``lmr.version``, ``lmr.tick_hz``, ``lmr.scale_g``, ``lmr.first_tick``,
        ``lmr.closed``, ``lmr.truncated``, ``lmr.dropped_bytes``, ``lmr.duplicates_dropped``
        and ``lmr.bad_batches``.

    Raises
    ------
    FormatError
        The file is not a ``.lmr`` recording, has a newer major version, or ends inside its
        header. A missing end-of-stream marker or a cut tail is *not* an error: everything before
        it is returned, a warning is logged and ``meta["lmr.truncated"]`` is ``"true"``.
    """
    p = Path(path)
    if not p.exists():
        raise FormatError(path, "file not found")
    data = p.read_bytes()
    scan = scan_stream(path, data)
    header, stored = header_from_schema(path, scan.schema)
    absent = set(filter(None, stored.get("lmr.absent", "").split(",")))
    rec, meta = _recording_from_scan(path, scan, header, absent)
    if scan.truncated:
        log.warning(
            "%s: no end-of-stream marker (the writer is still running or died); read %d samples, "
            "dropped %d bytes of an incomplete tail",
            path,
            rec.n_samples,
            scan.dropped_bytes,
        )
    meta.update(
        {
            "lmr.version": stored.get("lmr.version", ""),
            "lmr.closed": "true" if scan.closed else "false",
            "lmr.truncated": "true" if scan.truncated else "false",
            "lmr.dropped_bytes": str(scan.dropped_bytes),
            "lmr.bad_batches": str(scan.bad_batches),
        }
    )
    return dataclasses.replace(rec, meta=meta)


def _recording_from_scan(
    path: PathLike, scan: ScanResult, header: LmrHeader, absent: set[str]
) -> tuple[Recording, dict[str, str]]:
    # One pass over the record batches into preallocated arrays; each batch is released once
    # copied, so the decoded Arrow buffers and the Recording never both exist in full.
    batches = scan.batches
    scan.batches = []
    n = sum(b.num_rows for b in batches)
    names = batches[0].schema.names if batches else scan.schema.names
    cols = {name: names.index(name) for name in ("x", "y", "z", "seq", "tick", "host_ns", "flags")}
    accel = np.empty((n, 3), dtype=np.float32)
    ticks = np.empty(n, dtype=np.int64)
    seq = np.empty(n, dtype=np.int64)
    flags = np.empty(n, dtype=np.uint8)
    host_ns: NDArray[np.int64] | None = None  # allocated at the first batch with a host time
    host_valid: NDArray[np.bool_] | None = None
    last_anchor = -1  # row of the last stored tick so far
    offsets = _NominalOffsets(header.tick_hz, header.fs)
    # a power-of-two scale (the usual 1/4096 g): an int16 count times it is exact in float32, so
    # single precision gives the same values as double precision rounded once, at less cost
    scale_exact32 = math.isfinite(header.scale_g) and header.scale_g > 0 and math.frexp(header.scale_g)[0] == 0.5
    s = 0
    for i, batch in enumerate(batches):
        batches[i] = None  # type: ignore[call-overload]
        e = s + batch.num_rows
        if e == s:
            continue
        for name in ("x", "y", "z", "seq", "flags"):
            if batch.column(cols[name]).null_count:
                raise FormatError(path, f"column {name!r} has null values")
        for j, name in enumerate(("x", "y", "z")):
            if scale_exact32:
                np.multiply(batch.column(cols[name]).to_numpy(), np.float32(header.scale_g), out=accel[s:e, j],
                            dtype=np.float32)
            else:
                # int16 * scale in double precision, rounded once to float32 (exact old arithmetic)
                np.multiply(batch.column(cols[name]).to_numpy(), header.scale_g, out=accel[s:e, j],
                            casting="unsafe", dtype=np.float64)
        seq[s:e] = batch.column(cols["seq"]).to_numpy()
        flags[s:e] = batch.column(cols["flags"]).to_numpy()
        last_anchor = _expand_ticks_into(path, ticks, s, batch.column(cols["tick"]), last_anchor, offsets)
        hcol = batch.column(cols["host_ns"])
        if host_ns is None and hcol.null_count < len(hcol):
            host_ns, host_valid = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
        if host_ns is not None and host_valid is not None:
            host_valid[s:e] = hcol.is_valid().to_numpy(zero_copy_only=False)
            host_ns[s:e] = hcol.fill_null(0).to_numpy()
        s = e
    del batches
    # the decoded batches went back to Arrow's memory pool, which keeps freed pages for reuse;
    # hand them to the system (about 1 ms; 90 MiB less resident for the rest of an 8-h night)
    pa.default_memory_pool().release_unused()
    first_in_file = int(ticks[0]) if n else 0
    dupes = 0
    order: NDArray[np.int64] | None = None
    if n > 1 and not bool(np.all(ticks[1:] > ticks[:-1])):
        # out of order or repeated ticks (a resent packet): sort by tick and keep the first copy
        # of each tick (np.unique returns first occurrences)
        uniq, order = np.unique(ticks, return_index=True)
        dupes = n - uniq.shape[0]
        if dupes:
            log.info("%s: dropped %d duplicate samples (same sensor tick)", path, dupes)
        ticks, accel, seq, flags = uniq, accel[order], seq[order], flags[order]
        if host_ns is not None and host_valid is not None:
            host_ns, host_valid = host_ns[order], host_valid[order]
    first_tick = int(ticks[0]) if ticks.size else 0
    np.subtract(ticks, first_tick, out=ticks)
    time_s = np.true_divide(ticks, header.tick_hz)
    del ticks
    start = header.start
    if n and first_in_file != first_tick:
        # the header's start is the time of the file's first sample; re-anchor to the earliest tick
        start = start + dt.timedelta(seconds=(first_tick - first_in_file) / header.tick_hz)
    host_time: NDArray[np.float64] | None = None
    if host_ns is not None and host_valid is not None:
        np.subtract(host_ns, datetime_to_ns(start), out=host_ns)
        host_time = np.true_divide(host_ns, 1e9)
        host_time[~host_valid] = np.nan
    del host_ns, host_valid
    meta: dict[str, str] = dict(header.meta)
    if header.sensor:
        meta["sensor"] = header.sensor
    if header.firmware:
        meta["firmware"] = header.firmware
    meta.update(
        {
            "lmr.tick_hz": repr(header.tick_hz),
            "lmr.scale_g": repr(header.scale_g),
            "lmr.first_tick": str(first_tick),
            "lmr.duplicates_dropped": str(dupes),
        }
    )
    rec = Recording(
        accel_g=accel,
        time_s=time_s,
        fs=header.fs,
        start=start,
        device_id=header.device_id,
        side=header.side,  # type: ignore[arg-type]
        range_g=header.range_g,
        seq=None if "seq" in absent else seq,
        host_time_s=host_time,
        backfilled=None if "backfilled" in absent else (flags & int(Flags.RESENT)) != 0,
        meta={},
    )
    return rec, meta


class _NominalOffsets:
    """``nominal_tick_offsets(k)`` for k = 0, 1, ..., computed once and looked up (same values)."""

    def __init__(self, tick_hz: float, fs: float) -> None:
        self.tick_hz, self.fs = tick_hz, fs
        self.table = np.zeros(0, dtype=np.int64)

    def upto(self, n: int) -> NDArray[np.int64]:
        if self.table.size < n:
            self.table = nominal_tick_offsets(np.arange(max(n, 2 * self.table.size), dtype=np.int64),
                                              self.tick_hz, self.fs)
        return self.table


def _expand_ticks_into(
    path: PathLike, out: NDArray[np.int64], s: int, col: pa.Array, last_anchor: int, offsets: _NominalOffsets
) -> int:
    """Write one batch's per-sample ticks into ``out[s:]``; returns the row of its last stored tick.

    Same values as :func:`expand_ticks` over the whole column (a null row continues the nearest
    stored tick at or before it, possibly in an earlier batch), one batch at a time.
    """
    m = len(col)
    e = s + m
    nulls = col.null_count
    if nulls == 0:
        out[s:e] = col.to_numpy()
        return e - 1
    valid = col.is_valid().to_numpy(zero_copy_only=False)
    if not valid[0] and last_anchor < 0:
        raise FormatError(path, "the first sample has no tick")
    if nulls == m - 1 and valid[0]:
        # the usual batch: only its first tick stored, the rest at the nominal spacing
        out[s:e] = int(col[0].as_py()) + offsets.upto(m)[:m]
        return s
    # the raw value buffer, nulls included (their slots hold arbitrary values, never read:
    # every row below takes the value of a stored tick)
    out[s:e] = np.frombuffer(col.buffers()[1], dtype=np.int64, count=col.offset + m)[col.offset:]
    idx = np.arange(s, e, dtype=np.int64)
    anchor = np.where(valid, idx, last_anchor)
    np.maximum.accumulate(anchor, out=anchor)
    k = idx - anchor
    out[s:e] = out[anchor] + offsets.upto(int(k.max()) + 1)[k]
    return int(anchor[-1])


def _read_lmr_any(path: PathLike, **options: Any) -> Recording:
    if options:
        raise LmdetectError(f".lmr files take no read options, got {', '.join(options)}")
    return read_lmr(path)


register_reader(".lmr", "lmdetect recording", _read_lmr_any)
register_writer(".lmr", "lmdetect recording", write_lmr)
