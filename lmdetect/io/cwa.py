"""Axivity AX3 / AX6 ``.cwa`` files (Open Movement "continuous wave accelerometry").

Layout (Open Movement, ``Docs/ax3/cwa.h`` and "AX3/AX6 technical documentation", Jackson D,
Newcastle University; all integers little-endian):

* a 1024-byte header block ``"MD"``: device id (16 + 16 bits), session id, sampling-rate code
  (rate ``3200 / 2**(15 - (code & 0x0f))`` Hz, range ``16 >> (code >> 6)`` g), the time of the
  last configuration change, and 448 bytes of url-encoded metadata (``_p`` = body location);
* then 512-byte data blocks ``"AX"``, each with a sequence number, a packed local wall-clock
  timestamp ``YYYYYYMM MMDDDDDh hhhhmmmm mmssssss`` (year since 2000), a 15-bit fraction of a
  second (top bit of the ``deviceFractional`` field set), the sample index at which that timestamp
  holds (``timestampOffset``), the sample count, 480 bytes of samples and a checksum that makes the
  16-bit word sum of the block zero.

Samples are either 3 x 10-bit values with a shared 2-bit exponent packed in 32 bits (120 per
block, units 1/256 g) or 16-bit signed values (80 per block with 3 axes, 40 with 6 axes: gyroscope
then accelerometer), in units of ``1 / 2**(8 + n)`` g where ``n`` is the top three bits of the
``lightScale`` field (0 on the AX3).

Sample times follow the file's clock: every block gives one (sample index, time) anchor, times are
interpolated linearly between anchors and extrapolated at the rate of the segment at its ends.
A segment ends where the sequence number skips, where a block flags "logging resumed", or where
the anchors disagree with the segment's rate by more than three sample periods; the missing time
then becomes a real gap. The effective rate of an AX device differs from the nominal one by up to
a few percent (the shared AX3 sample runs at 197.25 Hz for a nominal 200 Hz); ``Recording.fs``
keeps the nominal rate and ``time_s`` the real one.

The device clock holds local wall time without an offset; see :mod:`lmdetect.io._devicetime` for
how the start becomes timezone-aware (``tz=``). The header's ``timeZone`` field (reserved in
cwa.h for an offset in minutes, -1 = unknown) is honoured when it holds a plausible offset; this
module's writer fills it in.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import urllib.parse
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .. import __version__
from .._atomic import atomic_path
from .._params import check_option
from ..errors import FormatError, LmdetectError
from ..model import Recording
from ._devicetime import device_start, file_zone, side_from_text
from ._guard import guarded
from ._registry import register_reader, register_writer

__all__ = ["read_cwa", "write_cwa", "pack_timestamp", "unpack_timestamps"]

log = logging.getLogger(__name__)

HEADER_SIZE = 1024
BLOCK_SIZE = 512
_MD = 0x444D  # "MD" little-endian
_AX = 0x5841  # "AX"
# other block kinds an AX device may write between data blocks ("UB" usage, "SI" session info)
_OTHER_BLOCKS = (0x4255, 0x4953)
_DATA_START = 30
_DATA_BYTES = 480

#: Data block layout (cwa.h ``OM_READER_DATA_PACKET``).
BLOCK_DTYPE = np.dtype(
    [
        ("header", "<u2"),
        ("length", "<u2"),
        ("device_fractional", "<u2"),
        ("session_id", "<u4"),
        ("sequence_id", "<u4"),
        ("timestamp", "<u4"),
        ("light_scale", "<u2"),
        ("temperature", "<u2"),
        ("events", "u1"),
        ("battery", "u1"),
        ("rate_code", "u1"),
        ("num_axes_bps", "u1"),
        ("timestamp_offset", "<i2"),
        ("sample_count", "<u2"),
        ("data", "u1", (_DATA_BYTES,)),
        ("checksum", "<u2"),
    ]
)
assert BLOCK_DTYPE.itemsize == BLOCK_SIZE

_SHORTHAND = {"_p": "body_location", "_sc": "subject_code", "_s": "study_code", "_c": "study_centre"}
_RANGES_G = (16, 8, 4, 2)  # rate code bits 6-7 -> 16 >> code
_CHUNK_BLOCKS = 1 << 15  # decode in chunks to bound temporary memory
#: A block anchor that misses the segment's rate by more than this many sample periods starts a
#: new segment (the shared AX6 sample jitters by up to 1.02 periods, the AX3 one by 0.18).
_ANCHOR_TOLERANCE_PERIODS = 3.0
EVENT_RESUME = 0x01


# ----------------------------------------------------------------------------- timestamps
def pack_timestamp(t: dt.datetime) -> int:
    """Pack a naive wall time (2000-2063, whole seconds) into the 32-bit CWA timestamp."""
    if not 2000 <= t.year <= 2063:
        raise LmdetectError(f"CWA timestamps cover 2000-2063, not {t.year}")
    return (
        ((t.year - 2000) << 26)
        | (t.month << 22)
        | (t.day << 17)
        | (t.hour << 12)
        | (t.minute << 6)
        | t.second
    )


def unpack_timestamps(packed: NDArray[np.uint32]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Packed CWA timestamps as integer seconds since 1970-01-01 of the *device wall clock*.

    Returns the seconds and a mask of valid dates (month 1-12, a day that exists, h < 24, ...).
    """
    v = np.asarray(packed, dtype=np.int64)
    year = ((v >> 26) & 0x3F) + 2000
    month = (v >> 22) & 0x0F
    day = (v >> 17) & 0x1F
    hour = (v >> 12) & 0x1F
    minute = (v >> 6) & 0x3F
    second = v & 0x3F
    ok = (month >= 1) & (month <= 12) & (day >= 1) & (hour < 24) & (minute < 60) & (second < 60)
    m = np.where(ok, month, 1)
    months = (year - 1970) * 12 + (m - 1)
    first = months.astype("datetime64[M]").astype("datetime64[D]")
    next_first = (months + 1).astype("datetime64[M]").astype("datetime64[D]")
    days_in_month = (next_first - first).astype(np.int64)
    ok &= day <= days_in_month
    days = first.astype(np.int64) + np.where(ok, day, 1) - 1
    return days * 86400 + hour * 3600 + minute * 60 + second, ok


def _header_time(value: int) -> dt.datetime | None:
    if value in (0, 0xFFFFFFFF):
        return None
    secs, ok = unpack_timestamps(np.array([value], dtype=np.uint32))
    if not ok[0]:
        return None
    return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=int(secs[0]))


# ----------------------------------------------------------------------------- header
def _parse_metadata(raw: bytes) -> dict[str, str]:
    text = raw.rstrip(b"\x20\x00\xff").decode("ascii", errors="replace")
    out: dict[str, str] = {}
    for name, value in urllib.parse.parse_qsl(text, keep_blank_values=True):
        out[_SHORTHAND.get(name, name)] = value
    return out


def _parse_header(path: Path, head: bytes) -> dict[str, object]:
    magic, length = int.from_bytes(head[0:2], "little"), int.from_bytes(head[2:4], "little")
    if magic != _MD:
        raise FormatError(
            path, f"not a CWA file: it starts with {head[:2]!r} instead of the 'MD' header block", offset=0
        )
    if length < 508:
        raise FormatError(path, f"header block length {length} is too short (expected 1020)", offset=2)
    hardware = head[4]
    device = int.from_bytes(head[5:7], "little")
    upper = int.from_bytes(head[11:13], "little")
    if upper != 0xFFFF:
        device |= upper << 16
    tz_minutes = int.from_bytes(head[42:44], "little", signed=True)
    return {
        "data_offset": ((length + 4 + BLOCK_SIZE - 1) // BLOCK_SIZE) * BLOCK_SIZE,
        "model": "AX6" if hardware == 0x64 else "AX3",
        "hardware_type": hardware,
        "device": device,
        "session": int.from_bytes(head[7:11], "little"),
        "last_change": _header_time(int.from_bytes(head[37:41], "little")),
        "firmware": head[41],
        "tz_minutes": tz_minutes,
        "metadata": _parse_metadata(head[64:512]),
    }


# ----------------------------------------------------------------------------- reading
@guarded("Axivity CWA")
def read_cwa(
    path: str | os.PathLike[str],
    *,
    tz: str | dt.tzinfo | None = None,
    on_corrupt: str = "raise",
) -> Recording:
    """Read the accelerometer of an Axivity AX3/AX6 ``.cwa`` file.

    Parameters
    ----------
    path
        The ``.cwa`` file.
    tz
        IANA zone (or offset) in which the device clock was set. Without it, and without an offset
        in the header, the device time is taken as UTC and a warning is logged.
    on_corrupt
        ``"raise"`` (default): a block with a bad checksum or header, or a file that ends inside a
        block, raises :class:`~lmdetect.errors.FormatError` naming the byte offset. ``"skip"``:
        such blocks are dropped (their samples become a gap) and counted in
        ``meta["n_bad_blocks"]``.

    Returns
    -------
    Recording
        Acceleration in g (gyroscope channels of the AX6 are not kept), nominal ``fs``,
        ``time_s`` from the file's clock, ``range_g`` from the rate code.
    """
    path = Path(path)
    check_option("on_corrupt", on_corrupt, ("raise", "skip"))
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(HEADER_SIZE)
    except OSError as exc:
        raise FormatError(path, f"cannot read: {exc.strerror or exc}") from None
    if len(head) < HEADER_SIZE:
        raise FormatError(path, f"file of {size} bytes is shorter than the {HEADER_SIZE}-byte CWA header")
    info = _parse_header(path, head)
    data_offset = int(info["data_offset"])  # type: ignore[call-overload]
    n_blocks, rest = divmod(max(size - data_offset, 0), BLOCK_SIZE)
    n_bad = 0
    if rest:
        where = data_offset + n_blocks * BLOCK_SIZE
        msg = (
            f"file ends {rest} bytes into data block {n_blocks} "
            "(truncated: a CWA file is a whole number of 512-byte blocks)"
        )
        if on_corrupt == "raise":
            raise FormatError(path, msg, offset=where)
        log.warning("%s: %s; the partial block is dropped", path, msg)
        n_bad += 1
    if n_blocks == 0:
        raise FormatError(path, "no data blocks after the header", offset=data_offset)
    raw = np.fromfile(path, dtype=np.uint8, count=n_blocks * BLOCK_SIZE, offset=data_offset)
    raw = raw.reshape(n_blocks, BLOCK_SIZE)
    blocks = raw.view(BLOCK_DTYPE)[:, 0]

    checksum_ok = raw.view("<u2").sum(axis=1, dtype=np.uint16) == 0
    is_data = (blocks["header"] == _AX) & (blocks["length"] == 508)
    is_other = np.isin(blocks["header"], _OTHER_BLOCKS)
    bad = ~((is_data & checksum_ok) | is_other)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        kind = int(blocks["header"][first])
        why = "fails its checksum" if is_data[first] else f"has an unknown block header 0x{kind:04x}"
        msg = f"data block {first} {why} ({int(bad.sum())} bad block(s) in the file)"
        if on_corrupt == "raise":
            raise FormatError(path, msg, offset=data_offset + first * BLOCK_SIZE)
        log.warning("%s: %s; dropped", path, msg)
        n_bad += int(bad.sum())
    keep = np.flatnonzero(is_data & checksum_ok)
    if keep.size == 0:
        raise FormatError(path, "no valid data blocks", offset=data_offset)
    if keep.size < n_blocks:  # copies only when blocks were dropped
        blocks = blocks[keep]
        raw = raw[keep]
    block_offsets = data_offset + keep.astype(np.int64) * BLOCK_SIZE

    # -- configuration, constant over the file
    bps, rate_code = int(blocks["num_axes_bps"][0]), int(blocks["rate_code"][0])
    changed = (blocks["num_axes_bps"] != bps) | (blocks["rate_code"] != rate_code)
    if changed.any():
        i = int(np.flatnonzero(changed)[0])
        raise FormatError(
            path, "the sampling configuration changes inside the file", offset=int(block_offsets[i])
        )
    if rate_code == 0:
        raise FormatError(
            path, "early-firmware CWA file without a rate code is not supported", offset=data_offset + 24
        )
    fs = 3200.0 / (1 << (15 - (rate_code & 0x0F)))
    range_g = float(_RANGES_G[rate_code >> 6])
    n_axes, packing = bps >> 4, bps & 0x0F
    if packing == 0 and n_axes == 3:
        per_block, accel_axis = 120, 0
    elif packing == 2 and n_axes in (3, 6, 9):
        per_block, accel_axis = _DATA_BYTES // (2 * n_axes), (0 if n_axes == 3 else 3)
    else:
        msg = f"unsupported sample packing 0x{bps:02x} (axes {n_axes}, format {packing})"
        raise FormatError(path, msg, offset=data_offset + 25)
    counts = blocks["sample_count"].astype(np.int64)
    over = counts > per_block
    if over.any():
        i = int(np.flatnonzero(over)[0])
        msg = f"block claims {counts[i]} samples, at most {per_block} fit"
        raise FormatError(path, msg, offset=int(block_offsets[i]) + 28)

    accel = _decode_samples(raw, counts, packing, n_axes, per_block, accel_axis, blocks["light_scale"])
    time_epoch = _sample_times(path, blocks, counts, fs, block_offsets)

    # -- absolute start
    first_local = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=float(time_epoch[0]))
    tz_minutes = int(info["tz_minutes"])  # type: ignore[call-overload]
    plausible = tz_minutes != -1 and abs(tz_minutes) <= 14 * 60
    file_offset = dt.timedelta(minutes=tz_minutes) if plausible else None
    metadata: dict[str, str] = info["metadata"]  # type: ignore[assignment]
    zone = tz if tz is not None else file_zone(path, metadata.get("tz"))
    clock_set: dt.datetime | None = info["last_change"]  # type: ignore[assignment]
    start, tmeta = device_start(path, first_local, tz=zone, file_offset=file_offset, clock_set=clock_set)
    time_epoch -= time_epoch[0]  # in place: the start above is rounded to the microsecond
    time_s = time_epoch

    model = str(info["model"])
    body = metadata.get("body_location", "")
    meta = {
        "source_format": "cwa",
        "source_file": path.name,
        "device_model": f"Axivity {model}",
        "session_id": str(info["session"]),
        "firmware": str(info["firmware"]),
        "n_blocks": str(int(keep.size)),
        "n_bad_blocks": str(n_bad),
        "gyroscope": "present, not read" if n_axes >= 6 else "absent",
        **tmeta,
    }
    if body:
        meta["body_location"] = body
    for key in ("subject_code", "study_code", "study_centre"):
        if metadata.get(key):
            meta[key] = metadata[key]
    return Recording(
        accel_g=accel,
        time_s=time_s,
        fs=fs,
        start=start,
        device_id=f"{model}-{info['device']}",
        side=side_from_text(body),
        range_g=range_g,
        meta=meta,
    )


def _decode_samples(
    raw: NDArray[np.uint8],
    counts: NDArray[np.int64],
    packing: int,
    n_axes: int,
    per_block: int,
    accel_axis: int,
    light_scale: NDArray[np.uint16],
) -> NDArray[np.float32]:
    total = int(counts.sum())
    out = np.empty((total, 3), dtype=np.float32)
    pos = 0
    slot = np.arange(per_block)
    for c0 in range(0, raw.shape[0], _CHUNK_BLOCKS):
        c1 = min(c0 + _CHUNK_BLOCKS, raw.shape[0])
        payload = np.ascontiguousarray(raw[c0:c1, _DATA_START : _DATA_START + _DATA_BYTES])
        if packing == 0:
            # eezzzzzz zzzzyyyy yyyyyyxx xxxxxxxx: 10-bit two's complement, shifted by e
            v = payload.view("<u4").astype(np.int32)
            e = (v >> 30) & 0x3
            vals: NDArray[np.signedinteger] = np.empty(v.shape + (3,), dtype=np.int32)
            for axis, shift in enumerate((0, 10, 20)):
                vals[..., axis] = ((((v >> shift) & 0x3FF) ^ 0x200) - 0x200) << e
            unit = np.full(c1 - c0, 1.0 / 256.0, dtype=np.float32)
        else:
            words = payload.view("<i2").reshape(c1 - c0, -1)[:, : per_block * n_axes]
            vals = words.reshape(c1 - c0, per_block, n_axes)
            vals = vals[:, :, accel_axis : accel_axis + 3]
            exponent = (light_scale[c0:c1].astype(np.int64) >> 13) & 0x7
            unit = (1.0 / np.exp2(8 + exponent)).astype(np.float32)
        k = vals.shape[1]
        if k == per_block and bool(np.all(counts[c0:c1] == per_block)):
            # every block full (the usual case): scale straight into the output, no mask pass
            m = (c1 - c0) * k
            np.multiply(vals, unit[:, None, None], out=out[pos : pos + m].reshape(c1 - c0, k, 3), dtype=np.float32)
            pos += m
            continue
        mask = slot[None, :] < counts[c0:c1, None]
        scaled = vals.astype(np.float32) * unit[:, None, None]
        chunk = scaled[mask]
        out[pos : pos + chunk.shape[0]] = chunk
        pos += chunk.shape[0]
    return out


def _sample_times(
    path: Path,
    blocks: NDArray[np.void],
    counts: NDArray[np.int64],
    fs: float,
    block_offsets: NDArray[np.int64],
) -> NDArray[np.float64]:
    """Per-sample device wall time (seconds since 1970 of the device clock)."""
    secs, ok = unpack_timestamps(blocks["timestamp"])
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        stamp = int(blocks["timestamp"][i])
        raise FormatError(
            path, f"block {i} holds an invalid timestamp 0x{stamp:08x}", offset=int(block_offsets[i]) + 14
        )
    frac_word = blocks["device_fractional"].astype(np.int64)
    has_frac = (frac_word & 0x8000) != 0
    frac16 = np.where(has_frac, (frac_word & 0x7FFF) << 1, 0)
    # the firmware lowered timestampOffset by the fraction in whole samples; undo that (cwa.h)
    offset = blocks["timestamp_offset"].astype(np.int64) + np.where(has_frac, (frac16 * int(fs)) >> 16, 0)
    first_index = np.concatenate(([0], np.cumsum(counts)))
    anchor_i = (first_index[:-1] + offset).astype(np.float64)
    anchor_t = secs.astype(np.float64) + frac16 / 65536.0

    n = anchor_i.size
    d_i, d_t = np.diff(anchor_i), np.diff(anchor_t)
    good = (d_t > 0) & (d_i > 0)
    rate = float(np.median(d_i[good] / d_t[good])) if good.any() else fs
    if not 0.5 * fs < rate < 2.0 * fs:
        rate = fs  # anchors too sparse or erratic to trust: fall back to the nominal rate
    tol = _ANCHOR_TOLERANCE_PERIODS / fs
    seq = blocks["sequence_id"].astype(np.int64)
    brk = np.zeros(n, dtype=bool)
    brk[0] = True
    brk[1:] |= np.diff(seq) != 1
    brk[1:] |= (blocks["events"][1:] & EVENT_RESUME) != 0
    brk[1:] |= (d_i <= 0) | (np.abs(d_t - d_i / rate) > tol)

    times = np.empty(int(first_index[-1]), dtype=np.float64)
    starts = np.flatnonzero(brk)
    ends = np.append(starts[1:], n)
    for b0, b1 in zip(starts, ends, strict=True):
        s0, s1 = int(first_index[b0]), int(first_index[b1])
        idx = np.arange(s0, s1, dtype=np.float64)
        ai, at = anchor_i[b0:b1], anchor_t[b0:b1]
        seg_rate = (ai[-1] - ai[0]) / (at[-1] - at[0]) if b1 - b0 > 1 else rate
        if not 0.5 * fs < seg_rate < 2.0 * fs:
            seg_rate = rate
        t = times[s0:s1]
        t[:] = np.interp(idx, ai, at)
        # samples before the first and after the last anchor (idx rises, so a prefix and a suffix)
        k0, k1 = int(np.searchsorted(idx, ai[0], "left")), int(np.searchsorted(idx, ai[-1], "right"))
        t[:k0] = at[0] + (idx[:k0] - ai[0]) / seg_rate
        t[k1:] = at[-1] + (idx[k1:] - ai[-1]) / seg_rate
    rising = times[1:] > times[:-1]
    if rising.size and not rising.all():
        i = int(np.flatnonzero(~rising)[0]) + 1
        b = int(np.searchsorted(first_index, i, side="right") - 1)
        raise FormatError(
            path,
            f"sample times go backwards at sample {i} (block {b}): "
            "the device clock was changed during the recording",
            offset=int(block_offsets[b]) + 14,
        )
    gaps = int(brk[1:].sum())
    if gaps:
        log.info("%s: %d discontinuities in the block timestamps", path, gaps)
    return times


# ----------------------------------------------------------------------------- writing
_CWA_RATES_HZ = {3200.0 / (1 << (15 - code)): code for code in range(6, 16)}  # 6.25 ... 3200 Hz


def write_cwa(recording: Recording, path: str | os.PathLike[str], *, session_id: int = 0) -> None:
    """Write ``recording`` as an AX3-style ``.cwa`` file (16-bit samples, 80 per block).

    The device clock written is the start's local wall time, continued without DST jumps (like
    a real device); the header's reserved ``timeZone`` field holds the start's UTC offset in
    minutes and the metadata holds ``tz`` (zone name) and ``_p`` (body location), so the file reads
    back to the same instants. Gaps start a new block flagged "logging resumed".

    Raises
    ------
    LmdetectError
        If ``recording.fs`` is not one of the CWA rates (3200 / 2**k Hz, 6.25 to 3200 Hz) or the
        recording lies outside 2000-2063.
    """
    path = Path(path)
    code = _CWA_RATES_HZ.get(recording.fs)
    if code is None:
        rates = ", ".join(f"{r:g}" for r in sorted(_CWA_RATES_HZ))
        raise LmdetectError(f"{path}: a CWA file stores {rates} Hz, not {recording.fs:g} Hz")
    if recording.n_samples == 0:
        raise LmdetectError(f"{path}: nothing to write, the recording has no samples")
    peak = float(np.abs(recording.accel_g).max())
    want = recording.range_g if recording.range_g else peak
    range_g = next((r for r in (2, 4, 8, 16) if r >= want), 16)
    range_bits = {16: 0, 8: 1, 4: 2, 2: 3}[range_g]
    exponent = {16: 3, 8: 4, 4: 5, 2: 6}[range_g]  # units of 1/2**(8+n) g cover +-range in int16
    unit = float(2 ** (8 + exponent))
    counts = np.clip(np.rint(recording.accel_g.astype(np.float64) * unit), -32768, 32767).astype("<i2")
    n_clipped = int((np.abs(recording.accel_g) * unit > 32767.5).any(axis=1).sum())
    if n_clipped:
        log.warning("%s: %d samples exceed +-%d g and were clipped", path, n_clipped, range_g)

    # block boundaries: every 80 samples, and at each gap
    fs = recording.fs
    gap_after = np.flatnonzero(np.diff(recording.time_s) > 1.5 / fs) + 1
    seg_starts = np.concatenate(([0], gap_after))
    seg_ends = np.append(gap_after, recording.n_samples)
    first = np.concatenate([np.arange(a, b, 80) for a, b in zip(seg_starts, seg_ends, strict=True)])
    last = np.minimum(first + 80, seg_ends[np.searchsorted(seg_ends, first, side="right")])
    n_in = last - first
    resumed = np.isin(first, seg_starts)

    offset = recording.start.utcoffset() or dt.timedelta(0)
    wall0 = recording.start.replace(tzinfo=None)
    base = (wall0 - dt.datetime(1970, 1, 1)).total_seconds()
    t = base + recording.time_s[first]
    whole = np.floor(t).astype(np.int64)
    frac15 = np.rint((t - whole) * 32768.0).astype(np.int64)
    carry = frac15 >= 32768
    whole[carry] += 1
    frac15[carry] = 0
    if whole[0] < 946684800 or whole[-1] >= 2966371200:  # 2000-01-01 .. 2064-01-01
        raise LmdetectError(f"{path}: CWA timestamps cover 2000-2063")
    days, sod = np.divmod(whole, 86400)
    dates = days.astype("datetime64[D]")
    ym = dates.astype("datetime64[M]")
    year = ym.astype(np.int64) // 12 + 1970
    month = ym.astype(np.int64) % 12 + 1
    day = (dates - ym.astype("datetime64[D]")).astype(np.int64) + 1
    hms = ((sod // 3600) << 12) | ((sod % 3600 // 60) << 6) | (sod % 60)
    packed = ((year - 2000) << 26) | (month << 22) | (day << 17) | hms

    nb = first.size
    blocks = np.zeros(nb, dtype=BLOCK_DTYPE)
    blocks["header"] = _AX
    blocks["length"] = 508
    blocks["device_fractional"] = 0x8000 | frac15
    blocks["session_id"] = session_id
    blocks["sequence_id"] = np.arange(nb)
    blocks["timestamp"] = packed
    blocks["light_scale"] = exponent << 13
    blocks["events"] = np.where(resumed, EVENT_RESUME, 0)
    blocks["rate_code"] = (range_bits << 6) | code
    blocks["num_axes_bps"] = 0x32
    # sample 0 of each block is at the anchor; store the offset lowered by the fraction in whole
    # samples, as the firmware does for readers that ignore the fraction (cwa.h)
    blocks["timestamp_offset"] = -(((frac15 << 1) * int(fs)) >> 16)
    blocks["sample_count"] = n_in
    payload = np.zeros((nb, 80, 3), dtype="<i2")
    slot = np.arange(80)
    mask = slot[None, :] < n_in[:, None]
    payload[mask] = counts[(first[:, None] + slot[None, :])[mask]]
    blocks["data"] = payload.reshape(nb, -1).view(np.uint8)
    words = blocks.view(np.uint8).reshape(nb, BLOCK_SIZE).view("<u2")
    blocks["checksum"] = (0x10000 - words[:, :255].sum(axis=1, dtype=np.int64)) & 0xFFFF

    header = bytearray(b"\x00" * 512 + b"\xff" * 512)
    digits = re.search(r"(\d+)$", recording.device_id)
    device = int(digits.group(1)) & 0xFFFFFFFF if digits else 0
    header[0:2] = _MD.to_bytes(2, "little")
    header[2:4] = (1020).to_bytes(2, "little")
    header[4] = 0x17
    header[5:7] = (device & 0xFFFF).to_bytes(2, "little")
    header[7:11] = session_id.to_bytes(4, "little")
    header[11:13] = (device >> 16).to_bytes(2, "little")
    header[13:17] = int(packed[0]).to_bytes(4, "little")
    header[17:21] = (0xFFFFFFFF).to_bytes(4, "little")
    header[36] = (range_bits << 6) | code
    header[37:41] = int(packed[0]).to_bytes(4, "little")  # the clock is "set" at the first sample
    header[42:44] = int(offset.total_seconds() // 60).to_bytes(2, "little", signed=True)
    pairs = {"lmdetect": __version__}
    zone = getattr(recording.start.tzinfo, "key", None)
    if zone:
        pairs["tz"] = zone
    if recording.side in ("left", "right"):
        pairs["_p"] = f"{recording.side} ankle"
    text = urllib.parse.urlencode(pairs).encode("ascii")
    if len(text) > 448:
        raise LmdetectError(f"{path}: metadata does not fit the 448-byte CWA annotation")
    header[64:512] = text.ljust(448, b" ")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(bytes(header))
            blocks.tofile(fh)


register_reader(".cwa", "Axivity CWA", read_cwa)
register_writer(".cwa", "Axivity CWA", write_cwa)
