"""Write the spec-built ActiGraph .gt3x test files of this folder.

Regenerate with::

    python tests/data/readers/make_readers_data.py

The files are built from ActiGraph's published format description (github.com/actigraph/
GT3X-File-Format: README "Log Record Format" and checksum, info.txt.md, LogRecords/Activity.md,
Activity2.md, Parameters.md), independently of lmdetect's reader, and each comes with
``<name>_expected.npz`` holding the counts and sample times the file encodes. The output is
deterministic (fixed seed, fixed zip timestamps).

* ``actigraph_neo_ism.gt3x``: GT3X+ (serial NEO..., so 341 LSB/g by the serial rule), 30 Hz,
  ACTIVITY (12-bit YXZ) records, ``TimeZone: 01:00:00``, left ankle, device clock 2026-03-29
  01:55:00-02:05:00 (across the Central European spring DST change, which the device clock does
  not follow). Idle sleep mode from second 120 to 300 (EVENT 0x08 / 0x09, no activity records in
  between); one record with 17 samples (odd count: a spare nibble); zero padding bytes between two
  records; a METADATA record first and a 1-byte USB ACTIVITY record at the end.
* ``actigraph_mos_dst.gt3x``: wGT3X-BT (serial MOS...), 30 Hz, ACTIVITY2 (int16 XYZ) records,
  a PARAMETERS record with ACCEL_SCALE = 256 LSB/g, *no* TimeZone line; device clock
  2026-10-25 02:50:00-02:55:00, inside the repeated autumn hour of Europe/Berlin.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
EPOCH = dt.datetime(1970, 1, 1)


def _record(kind: int, stamp: int, payload: bytes) -> bytes:
    head = bytes([0x1E, kind]) + stamp.to_bytes(4, "little") + len(payload).to_bytes(2, "little")
    x = 0
    for b in head + payload:
        x ^= b
    return head + payload + bytes([(~x) & 0xFF])


def _pack12_yxz(counts_xyz: np.ndarray) -> bytes:
    """12-bit two's complement, Y X Z order, most significant nibble first (Activity.md)."""
    yxz = counts_xyz[:, [1, 0, 2]].astype(np.int64) & 0xFFF
    nibbles = np.stack([(yxz >> 8) & 0xF, (yxz >> 4) & 0xF, yxz & 0xF], axis=-1).ravel()
    if nibbles.size % 2:
        nibbles = np.append(nibbles, 0)  # the last nibble of an odd sample count is unused
    return bytes((nibbles[0::2] << 4 | nibbles[1::2]).astype(np.uint8))


def _encode_parameter_float(f: float) -> int:
    """Parameters.md: fraction = significand * 2**23 (two's complement, 24 bits), exponent 8 bits."""
    significand, exponent = abs(f), 0
    while significand >= 1.0:
        significand /= 2.0
        exponent += 1
    while significand < 0.5:
        significand *= 2.0
        exponent -= 1
    code = int(significand * 8388608.0)
    if f < 0:
        code = -code
    return (code & 0xFFFFFF) | ((exponent & 0xFF) << 24)


def _ticks(t: dt.datetime) -> int:
    return int((t - dt.datetime(1, 1, 1)).total_seconds()) * 10_000_000


def _zip(path: Path, info_lines: list[str], log: bytes) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in (("info.txt", "\r\n".join(info_lines).encode("utf-8")), ("log.bin", log)):
            zi = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(zi, data)
    path.write_bytes(buf.getvalue())


def _signal(rng: np.random.Generator, n: int, fs: float, scale: float, limit: int) -> np.ndarray:
    """Counts of a still ankle (gravity on z, tilted) with a few 2-s leg movements and noise."""
    t = np.arange(n) / fs
    g = np.stack([0.15 + 0 * t, -0.30 + 0 * t, 0.94 + 0 * t], axis=1)
    for onset in (20.0, 55.0, 90.0, 420.0, 470.0):
        burst = (t >= onset) & (t < onset + 2.0)
        g[burst] += 0.8 * np.sin(2 * np.pi * 3.0 * (t[burst] - onset))[:, None] * np.array([1.0, -0.7, 0.5])
    g += rng.normal(0, 0.01, g.shape)
    return np.clip(np.rint(g * scale), -limit, limit).astype(np.int64)


def make_neo_ism() -> None:
    rng = np.random.default_rng(20260329)
    fs, scale = 30, 341.0
    t0 = dt.datetime(2026, 3, 29, 1, 55, 0)
    s0 = int((t0 - EPOCH).total_seconds())
    seconds = [s for s in range(600) if not 120 < s < 300]  # the device sleeps in between
    per_second = {s: fs for s in seconds}
    per_second[119] = 17  # a short second with an odd sample count
    counts = _signal(rng, 600 * fs, fs, scale, 2047).reshape(600, fs, 3)

    log = _record(0x06, s0, b'{"MetadataType":"Subject","SubjectName":"lm-test"}')
    times, rows = [], []
    for s in seconds:
        k = per_second[s]
        if s == 120:
            log += _record(0x03, s0 + s, bytes([0x08]))  # enter idle sleep mode
        if s == 300:
            log += _record(0x03, s0 + s, bytes([0x09]))  # leave idle sleep mode
        log += _record(0x00, s0 + s, _pack12_yxz(counts[s, :k]))
        if s == 10:
            log += b"\x00\x00\x00"  # documented zero padding between records
        rows.append(counts[s, :k])
        times.append(s + np.arange(k) / fs)
    log += _record(0x00, s0 + 600, b"\x01")  # USB connection: not a sample
    info = [
        "Serial Number: NEO1F12345678",
        "Device Type: GT3XPlus",
        "Firmware: 3.2.1",
        "Battery Voltage: 4,12",
        f"Sample Rate: {fs}",
        f"Start Date: {_ticks(t0)}",
        "Stop Date: 0",
        f"Last Sample Time: {_ticks(t0 + dt.timedelta(seconds=600))}",
        "TimeZone: 01:00:00",
        f"Download Date: {_ticks(t0 + dt.timedelta(hours=2))}",
        "Board Revision: 4",
        "Unexpected Resets: 0",
        "Acceleration Min: -6.0",
        "Acceleration Max: 6.0",
        "Limb: Ankle",
        "Side: Left",
        "Subject Name: lm-test",
    ]
    _zip(HERE / "actigraph_neo_ism.gt3x", info, log)
    np.savez_compressed(
        HERE / "actigraph_neo_ism_expected.npz",
        counts=np.concatenate(rows).astype(np.int16),
        time_s=np.concatenate(times),
        scale=scale,
    )


def make_mos_dst() -> None:
    rng = np.random.default_rng(20261025)
    fs, scale = 30, 256.0
    t0 = dt.datetime(2026, 10, 25, 2, 50, 0)
    s0 = int((t0 - EPOCH).total_seconds())
    n_s = 300
    counts = _signal(rng, n_s * fs, fs, scale, 32767).reshape(n_s, fs, 3)
    params = np.zeros(3, dtype=[("address", "<u2"), ("key", "<u2"), ("value", "<u4")])
    params[0] = (0, 6, 2)  # BATTERY_STATE: normal
    params[1] = (0, 55, _encode_parameter_float(scale))  # ACCEL_SCALE
    params[2] = (1, 10, fs)  # SAMPLE_RATE
    log = _record(0x15, s0 - 3600, params.tobytes())
    for s in range(n_s):
        log += _record(0x1A, s0 + s, counts[s].astype("<i2").tobytes())
    info = [
        "Serial Number: MOS2E23456789",
        "Device Type: wGT3XBT",
        "Firmware: 1.9.2",
        "Battery Voltage: 4.05",
        f"Sample Rate: {fs}",
        f"Start Date: {_ticks(t0)}",
        "Stop Date: 0",
        f"Download Date: {_ticks(t0 + dt.timedelta(hours=1))}",
        "Board Revision: 8",
        "Acceleration Min: -8.0",
        "Acceleration Max: 8.0",
        "Limb: Ankle",
        "Side: Right",
    ]
    _zip(HERE / "actigraph_mos_dst.gt3x", info, log)
    np.savez_compressed(
        HERE / "actigraph_mos_dst_expected.npz",
        counts=counts.reshape(-1, 3).astype(np.int16),
        time_s=(np.arange(n_s * fs) / fs),
        scale=scale,
    )


if __name__ == "__main__":
    make_neo_ism()
    make_mos_dst()
    for p in sorted(HERE.glob("actigraph_*")):
        print(f"{p.name}: {p.stat().st_size} bytes")
