"""ActiGraph ``.gt3x`` files (GT3X+, wGT3X-BT, ActiSleep+, GT9X Link).

Read from the published format (ActiGraph, "GT3X-File-Format", github.com/actigraph/GT3X-File-Format:
README, info.txt.md, LogRecords/Activity.md, Activity2.md, Parameters.md); no ActiGraph code
is used.

* The file is a zip archive with ``info.txt`` (``Key: Value`` lines: ``Serial Number``,
  ``Sample Rate`` in Hz, ``TimeZone`` such as ``-05:00:00``, ``Acceleration Scale``,
  ``Acceleration Max``, ``Limb``, ``Side``) and ``log.bin``.
* ``log.bin`` is a sequence of records: separator ``0x1E``, type (u8), timestamp (u32, seconds
  of the device's local wall clock counted like Unix time), payload size (u16), payload, and a
  checksum byte, the one's complement of the XOR of all preceding bytes of the record. Zero bytes
  may pad the space between records.
* ``ACTIVITY`` (0x00) holds one second of samples as 12-bit two's complement values in Y, X, Z
  order, most significant nibble first; ``ACTIVITY2`` (0x1A) holds int16 X, Y, Z. A 1-byte
  activity payload marks a USB connection, not data. Sample ``i`` of a record is at
  ``timestamp + i / rate``.
* Counts are divided by the scale: ``ACCEL_SCALE`` of the ``PARAMETERS`` record (0x15) when
  present, else ``Acceleration Scale`` of info.txt, else 341 LSB/g for serials starting NEO or CLE
  and 256 LSB/g for MOS (Activity2.md). ActiLife's rounding to three decimals is not applied.

**Idle sleep mode.** When the device lies still it may stop sampling; ``EVENT`` records (0x03)
with payload 0x08 and 0x09 mark entering and leaving the mode, and no activity records are
written in between. ActiLife and most readers fill that time with the last sample repeated; here
those seconds stay a real gap (no samples), and ``meta["idle_sleep_mode_episodes"]`` /
``meta["idle_sleep_mode_s"]`` count them.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .._params import check_option
from ..errors import FormatError
from ..model import Recording
from ._devicetime import device_start, parse_offset, side_from_text
from ._guard import guarded
from ._registry import register_reader

__all__ = [
    "read_gt3x",
    "decode_parameter_float",
    "RECORD_ACTIVITY",
    "RECORD_ACTIVITY2",
    "RECORD_EVENT",
    "RECORD_PARAMETERS",
]

log = logging.getLogger(__name__)

#: Largest log.bin accepted, in bytes (4 GiB; 30 days at 100 Hz take about 1.2 GB). A larger
#: size declared by the zip directory is damage, refused before anything is extracted.
MAX_LOG_BYTES = 4 * 2**30

SEPARATOR = 0x1E
RECORD_ACTIVITY = 0x00
RECORD_EVENT = 0x03
RECORD_PARAMETERS = 0x15
RECORD_ACTIVITY2 = 0x1A
EVENT_IDLE_SLEEP_ENTER = 0x08
EVENT_IDLE_SLEEP_EXIT = 0x09
_HEADER = struct.Struct("<BBIH")
_ACCEL_SCALE_KEY = (0, 55)  # PARAMETERS address space 0, identifier 55 (Parameters.md)
_CHUNK_RECORDS = 8192
_PARAMETER_DTYPE = np.dtype([("address", "<u2"), ("key", "<u2"), ("value", "<u4")])


def decode_parameter_float(value: int) -> float:
    """Decode a PARAMETERS float: 24-bit two's-complement fraction (x 2**-23) and 8-bit exponent."""
    exponent = (value >> 24) & 0xFF
    if exponent & 0x80:
        exponent -= 0x100
    fraction = value & 0xFFFFFF
    if fraction & 0x800000:
        fraction -= 0x1000000
    return fraction / 8388608.0 * 2.0**exponent


def _read_info(path: Path, zf: zipfile.ZipFile) -> dict[str, str]:
    with zf.open("info.txt") as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="replace").read()
    info: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


def _scan_records(path: Path, buf: bytes, on_corrupt: str) -> tuple[NDArray[np.int64], int]:
    """Record table (offset, type, timestamp, size) and the count of corrupt records skipped."""
    rows: list[tuple[int, int, int, int]] = []
    n = len(buf)
    pos = 0
    skipped = 0
    while pos < n:
        if buf[pos] != SEPARATOR:
            nxt = buf.find(b"\x1e", pos)
            nxt = n if nxt < 0 else nxt
            if buf.count(0, pos, nxt) != nxt - pos:  # only zero padding may sit between records
                at = next(i for i in range(pos, nxt) if buf[i] != 0)
                msg = f"log.bin: expected a record separator 0x1E at byte {at}, found 0x{buf[at]:02x}"
                if on_corrupt == "raise":
                    raise FormatError(path, msg, offset=at)
                log.warning("%s: %s; resynchronising", path, msg)
                skipped += 1
            pos = nxt
            continue
        if pos + _HEADER.size > n:
            msg = f"log.bin ends inside a record header at byte {pos} (truncated)"
            if on_corrupt == "raise":
                raise FormatError(path, msg, offset=pos)
            log.warning("%s: %s", path, msg)
            skipped += 1
            break
        _, kind, stamp, size = _HEADER.unpack_from(buf, pos)
        end = pos + _HEADER.size + size + 1
        if end > n:
            msg = f"log.bin: the record of type 0x{kind:02x} at byte {pos} is cut short (truncated file)"
            if on_corrupt == "raise":
                raise FormatError(path, msg, offset=pos)
            log.warning("%s: %s", path, msg)
            skipped += 1
            break
        rows.append((pos, kind, stamp, size))
        pos = end
    table = np.array(rows, dtype=np.int64).reshape(-1, 4)
    return table, skipped


def _checksums_ok(buf: bytes, table: NDArray[np.int64]) -> NDArray[np.bool_]:
    if table.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    arr = np.frombuffer(buf, dtype=np.uint8)
    starts = table[:, 0]
    ends = starts + _HEADER.size + table[:, 3] + 1
    idx = np.empty(2 * starts.size, dtype=np.int64)
    idx[0::2], idx[1::2] = starts, ends
    if idx[-1] >= arr.size:
        idx = idx[:-1]
    xor = np.bitwise_xor.reduceat(arr, idx)[0::2]
    return xor == 0xFF  # header + payload XOR, then the complemented checksum: all bits set


def _decode_activity(buf: bytes, offsets: NDArray[np.int64], n: NDArray[np.int64]) -> NDArray[np.int32]:
    """12-bit YXZ records -> int32 counts (total, 3) in X, Y, Z order."""
    arr = np.frombuffer(buf, dtype=np.uint8)
    total = int(n.sum())
    out = np.empty((total, 3), dtype=np.int32)
    pos = 0
    for c0 in range(0, offsets.size, _CHUNK_RECORDS):
        o, k = offsets[c0 : c0 + _CHUNK_RECORDS], n[c0 : c0 + _CHUNK_RECORDS]
        m = int(k.sum())
        rec = np.repeat(np.arange(k.size), k)
        j = np.arange(m) - np.repeat(np.cumsum(k) - k, k)  # sample index within its record
        nibble = (9 * j)[:, None] + np.array([0, 3, 6])[None, :]  # Y, X, Z
        byte = o[rec][:, None] + nibble // 2
        hi, lo = arr[byte].astype(np.int32), arr[byte + 1].astype(np.int32)
        v = np.where(nibble % 2 == 0, (hi << 4) | (lo >> 4), ((hi & 0x0F) << 8) | lo)
        v = np.where(v > 2047, v - 4096, v)
        out[pos : pos + m] = v[:, [1, 0, 2]]
        pos += m
    return out


def _decode_activity2(buf: bytes, offsets: NDArray[np.int64], n: NDArray[np.int64]) -> NDArray[np.int32]:
    parts = [buf[o : o + 6 * k] for o, k in zip(offsets.tolist(), n.tolist(), strict=True)]
    return np.frombuffer(b"".join(parts), dtype="<i2").reshape(-1, 3).astype(np.int32)


@guarded("ActiGraph gt3x")
def read_gt3x(
    path: str | os.PathLike[str],
    *,
    tz: str | dt.tzinfo | None = None,
    on_corrupt: str = "raise",
) -> Recording:
    """Read the raw acceleration of an ActiGraph ``.gt3x`` file.

    Parameters
    ----------
    path
        The ``.gt3x`` file.
    tz
        IANA zone to express the start in. The ``TimeZone`` of info.txt, when present, fixes the
        instant; without it ``tz`` gives the offset, else UTC is assumed with a warning.
    on_corrupt
        ``"raise"`` (default): a record with a bad checksum, stray bytes or a cut-off end raise
        :class:`~lmdetect.errors.FormatError` naming the byte offset in log.bin. ``"skip"``: such
        records are dropped (a gap) and counted in ``meta["n_bad_records"]``.

    Returns
    -------
    Recording
        Acceleration in g. Seconds without activity records (idle sleep mode, USB connection)
        are gaps, never filled.
    """
    path = Path(path)
    check_option("on_corrupt", on_corrupt, ("raise", "skip"))
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise FormatError(path, "not a .gt3x file: not a zip archive, or a damaged one") from None
    except OSError as exc:
        raise FormatError(path, f"cannot read: {exc.strerror or exc}") from None
    with zf:
        names = set(zf.namelist())
        if "log.bin" not in names:
            if "activity.bin" in names:
                raise FormatError(path, "the older NHANES-style gt3x layout (activity.bin) is not supported")
            raise FormatError(path, "the archive has no log.bin")
        if "info.txt" not in names:
            raise FormatError(path, "the archive has no info.txt")
        declared = zf.getinfo("log.bin").file_size
        if declared > MAX_LOG_BYTES:
            raise FormatError(
                path, f"log.bin declares {declared} bytes, more than {MAX_LOG_BYTES} (a damaged zip directory?)"
            )
        try:
            info = _read_info(path, zf)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
            raise FormatError(path, f"info.txt cannot be extracted (damaged archive): {exc}") from None
        try:
            buf = zf.read("log.bin")
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
            raise FormatError(path, f"log.bin cannot be extracted (damaged archive): {exc}") from None

    try:
        fs = float(info["Sample Rate"])
    except (KeyError, ValueError):
        raise FormatError(path, "info.txt has no valid 'Sample Rate'") from None
    if not fs > 0:
        raise FormatError(path, f"info.txt gives a sample rate of {fs:g} Hz")
    rate = int(round(fs))

    table, n_bad = _scan_records(path, buf, on_corrupt)
    ok = _checksums_ok(buf, table)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        msg = (
            f"log.bin: the record of type 0x{int(table[i, 1]):02x} at byte {int(table[i, 0])} fails its "
            f"checksum ({int((~ok).sum())} bad record(s))"
        )
        if on_corrupt == "raise":
            raise FormatError(path, msg, offset=int(table[i, 0]))
        log.warning("%s: %s; dropped", path, msg)
        n_bad += int((~ok).sum())
        table = table[ok]

    kind, stamp, size = table[:, 1], table[:, 2], table[:, 3]
    payload = table[:, 0] + _HEADER.size

    scale, scale_source = _accel_scale(path, buf, table, info)

    # -- activity records (a 1-byte payload is a USB connection event, not data)
    is_act = ((kind == RECORD_ACTIVITY) | (kind == RECORD_ACTIVITY2)) & (size > 1)
    kinds = set(np.unique(kind[is_act]).tolist())
    if not kinds:
        raise FormatError(path, "log.bin holds no raw acceleration records (ACTIVITY 0x00 / ACTIVITY2 0x1A)")
    if len(kinds) > 1:
        raise FormatError(path, "log.bin mixes ACTIVITY and ACTIVITY2 records")
    packed12 = RECORD_ACTIVITY in kinds
    act = np.flatnonzero(is_act)
    n_per = (size[act] * 8) // 36 if packed12 else size[act] // 6
    too_many = n_per > rate
    if too_many.any():
        i = int(act[np.flatnonzero(too_many)[0]])
        at = int(table[i, 0])
        msg = f"log.bin: the activity record at byte {at} holds more samples than the {rate} Hz rate allows"
        raise FormatError(path, msg, offset=at)
    secs = stamp[act]
    back = np.diff(secs) <= 0
    if back.any():
        j = int(np.flatnonzero(back)[0]) + 1
        msg = (
            f"log.bin: the activity record at byte {int(table[act[j], 0])} does not follow the previous "
            f"second (timestamp {int(secs[j])} after {int(secs[j - 1])})"
        )
        if on_corrupt == "raise":
            raise FormatError(path, msg, offset=int(table[act[j], 0]))
        keep = np.concatenate(([True], secs[1:] > np.maximum.accumulate(secs)[:-1]))
        log.warning("%s: %s; %d out-of-order record(s) dropped", path, msg, int((~keep).sum()))
        n_bad += int((~keep).sum())
        act, n_per, secs = act[keep], n_per[keep], secs[keep]

    counts = (_decode_activity if packed12 else _decode_activity2)(buf, payload[act], n_per)
    accel = (counts / scale).astype(np.float32)
    within = np.arange(int(n_per.sum())) - np.repeat(np.cumsum(n_per) - n_per, n_per)
    sec_rel = np.repeat(secs - secs[0], n_per).astype(np.float64)
    time_s = sec_rel + within / fs

    # -- idle sleep mode episodes from EVENT records
    ev = np.flatnonzero((kind == RECORD_EVENT) & (size >= 1))
    ev_code = np.array([buf[p] for p in payload[ev].tolist()], dtype=np.int64)
    episodes, ism_s = _idle_sleep(stamp[ev], ev_code, secs[-1] + 1)

    zone_text = info.get("TimeZone", "")
    file_offset = parse_offset(zone_text) if zone_text else None
    first_local = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=int(secs[0]))
    start, tmeta = device_start(path, first_local, tz=tz, file_offset=file_offset)
    limb, side_text = info.get("Limb", ""), info.get("Side", "")
    body = " ".join(x for x in (side_text, limb) if x).lower()
    max_g = _num(info.get("Acceleration Max"))
    meta = {
        "source_format": "gt3x",
        "source_file": path.name,
        "device_model": f"ActiGraph {info.get('Device Type', '')}".strip(),
        "firmware": info.get("Firmware", ""),
        "accel_scale_lsb_per_g": f"{scale:g}",
        "accel_scale_source": scale_source,
        "record_format": "ACTIVITY (12-bit)" if packed12 else "ACTIVITY2 (16-bit)",
        "n_bad_records": str(n_bad),
        "idle_sleep_mode_episodes": str(episodes),
        "idle_sleep_mode_s": f"{ism_s:g}",
        **tmeta,
    }
    if body:
        meta["body_location"] = body
    return Recording(
        accel_g=accel,
        time_s=time_s,
        fs=fs,
        start=start,
        device_id=info.get("Serial Number", "unknown") or "unknown",
        side=side_from_text(side_text),
        range_g=max_g,
        meta=meta,
    )


def _num(text: str | None) -> float | None:
    try:
        return float(str(text).replace(",", "."))
    except (TypeError, ValueError):
        return None


def _accel_scale(path: Path, buf: bytes, table: NDArray[np.int64], info: dict[str, str]) -> tuple[float, str]:
    for row in table[table[:, 1] == RECORD_PARAMETERS]:
        start, size = int(row[0]) + _HEADER.size, int(row[3])
        items = np.frombuffer(buf, dtype=_PARAMETER_DTYPE, count=size // 8, offset=start)
        hit = (items["address"] == _ACCEL_SCALE_KEY[0]) & (items["key"] == _ACCEL_SCALE_KEY[1])
        if hit.any():
            value = decode_parameter_float(int(items["value"][hit][0]))
            if value > 0:
                return value, "PARAMETERS record"
    stated = _num(info.get("Acceleration Scale"))
    if stated is not None and stated > 0:
        return stated, "info.txt"
    serial = info.get("Serial Number", "")
    if serial.startswith(("NEO", "CLE")):
        return 341.0, "serial number (NEO/CLE: 341 LSB/g)"
    if serial.startswith("MOS"):
        return 256.0, "serial number (MOS: 256 LSB/g)"
    raise FormatError(
        path,
        "cannot tell the acceleration scale: no ACCEL_SCALE parameter, no 'Acceleration Scale' in "
        f"info.txt, and serial {serial!r} is not NEO/CLE/MOS",
    )


def _idle_sleep(stamps: NDArray[np.int64], codes: NDArray[np.int64], end_s: int) -> tuple[int, float]:
    """Number of idle-sleep episodes and their total length (s) from enter/exit events."""
    episodes = 0
    total = 0.0
    entered: int | None = None
    for t, c in zip(stamps.tolist(), codes.tolist(), strict=True):
        if c == EVENT_IDLE_SLEEP_ENTER and entered is None:
            entered = t
            episodes += 1
        elif c == EVENT_IDLE_SLEEP_EXIT and entered is not None:
            total += max(t - entered, 0)
            entered = None
    if entered is not None:
        total += max(end_s - entered, 0)
    return episodes, total


register_reader(".gt3x", "ActiGraph GT3X", read_gt3x)
