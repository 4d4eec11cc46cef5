"""Axivity CWA: real AX3/AX6 files against an independent decoder, spec-built blocks, DST, damage."""

from __future__ import annotations

import datetime as dt
import logging
import struct
import zoneinfo
from pathlib import Path

import numpy as np
import pytest

from lmdetect.errors import FormatError, LmdetectError
from lmdetect.io import read_recording
from lmdetect.io.cwa import pack_timestamp, read_cwa, unpack_timestamps, write_cwa
from lmdetect.model import Recording

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "readers"  # real AX3/AX6 files, MIT (see README there)
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
UTC = dt.UTC


def sample(name: str) -> Path:
    return SAMPLES / name


def still(
    seconds: float,
    fs: float,
    start: dt.datetime,
    *,
    gap: tuple[float, float] | None = None,
    side: str = "left",
) -> Recording:
    n = int(round(seconds * fs))
    t = np.arange(n) / fs
    a = np.zeros((n, 3), np.float32)
    a[:, 0] = 0.2 * np.sin(2 * np.pi * 0.05 * t)
    a[:, 1] = -0.1
    a[:, 2] = 0.97
    if gap is not None:
        keep = (t < gap[0]) | (t >= gap[1])
        a, t = a[keep], t[keep]
    return Recording(a, t, fs, start, device_id="AX3-4711", side=side, range_g=8.0)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- real files
def test_ax3_sample_matches_independent_decoder() -> None:
    """Acceleration is bit-identical to scikit-digital-health's; times agree within 1.5 periods.

    The reference ignores the 15-bit fraction of a second that each block carries (cwa.h,
    ``deviceFractional``) and takes ``timestamp - timestampOffset / fs`` as the block's first
    sample; the firmware lowered ``timestampOffset`` by the fraction in whole samples, so the
    reference's times run early by the left-over fraction of a period, [0, 1) periods, plus its
    own block-joining rule; before the first block's anchor it counts back at the nominal 200 Hz
    where we use the measured 197.2 Hz (104 samples: 1.4 periods). So our times are later on
    average by about half a period and never differ by 1.5 periods or more.
    """
    rec = read_cwa(sample("ax3_sample.cwa"))
    ref = np.load(sample("ax3_data.npz"))
    assert rec.n_samples == 58800
    assert rec.fs == 200.0 and rec.range_g == 8.0
    assert rec.device_id == "AX3-51888"
    np.testing.assert_array_equal(rec.accel_g, ref["accel"].astype(np.float32))
    # the reference stores device wall time as if it were UTC; so does the reader without tz=
    late_periods = (rec.start.timestamp() + rec.time_s - ref["time"]) * rec.fs
    assert np.abs(late_periods).max() < 1.5
    assert 0.0 < late_periods.mean() < 1.0
    # the AX3 sample clock runs slow; time_s follows the real-time clock, fs stays nominal
    assert rec.fs_effective == pytest.approx(197.24, abs=0.05)
    assert rec.gaps().empty


def test_ax6_sample_accelerometer_matches_and_gyro_is_dropped() -> None:
    rec = read_cwa(sample("ax6_sample.cwa"))
    ref = np.load(sample("ax6_data.npz"))
    assert rec.n_samples == ref["accel"].shape[0] == 10360
    assert rec.fs == 100.0 and rec.range_g == 16.0
    # the reference rounds AX6 values to 6 decimals
    np.testing.assert_allclose(rec.accel_g, ref["accel"], rtol=0, atol=5.1e-7)
    assert rec.meta["gyroscope"] == "present, not read"
    assert rec.meta["device_model"] == "Axivity AX6"
    late = (rec.start.timestamp() + rec.time_s - ref["time"]) * rec.fs
    assert np.abs(late).max() < 1.5


def test_sample_without_tz_warns_and_assumes_utc(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        rec = read_cwa(sample("ax3_sample.cwa"))
    assert rec.start.utcoffset() == dt.timedelta(0)
    assert rec.meta["time_zone_source"] == "assumed UTC"
    assert any("assuming UTC" in r.getMessage() for r in caplog.records)


def test_sample_with_tz_uses_the_zone_offset() -> None:
    rec = read_cwa(sample("ax3_sample.cwa"), tz="Europe/Berlin")
    utc = read_cwa(sample("ax3_sample.cwa"), tz="UTC")
    assert rec.start.tzinfo == BERLIN
    assert rec.start.replace(tzinfo=None) == utc.start.replace(tzinfo=None)  # same wall time
    assert (utc.start - rec.start) == dt.timedelta(hours=1)  # February: CET = UTC+1


# ----------------------------------------------------------------------------- spec-built blocks
def _block(seq: int, stamp: dt.datetime, frac15: int | None, offset: int, samples: bytes, count: int, *,
           bps: int = 0x32, rate: int = 0x4A, light_scale: int = 0) -> bytes:
    """One 512-byte data block laid out as in cwa.h (independent of the module's writer)."""
    dev_frac = 0x8000 | frac15 if frac15 is not None else 7
    head = struct.pack(
        "<2sHHIIIHHBBBBhH", b"AX", 508, dev_frac, 9, seq, pack_timestamp(stamp), light_scale, 300, 0, 200,
        rate, bps, offset, count,
    )
    body = head + samples.ljust(480, b"\0")
    total = sum(struct.unpack("<255H", body)) & 0xFFFF
    return body + struct.pack("<H", (0x10000 - total) & 0xFFFF)


def _header(rate: int = 0x4A, tz_minutes: int = -1, last_change: dt.datetime | None = None) -> bytes:
    h = bytearray(b"\0" * 1024)
    h[0:4] = b"MD" + struct.pack("<H", 1020)
    h[5:7] = struct.pack("<H", 1234)
    h[11:13] = b"\xff\xff"
    h[36] = rate
    if last_change:
        h[37:41] = struct.pack("<I", pack_timestamp(last_change))
    h[42:44] = struct.pack("<h", tz_minutes)
    h[64:512] = b"_p=Right%20Ankle".ljust(448, b" ")
    return bytes(h)


def test_packed_timestamp_layout_of_cwa_h() -> None:
    # (MSB) YYYYYYMM MMDDDDDh hhhhmmmm mmssssss (LSB), year since 2000
    v = pack_timestamp(dt.datetime(2026, 3, 29, 1, 59, 58))
    assert v == (26 << 26) | (3 << 22) | (29 << 17) | (1 << 12) | (59 << 6) | 58
    secs, ok = unpack_timestamps(np.array([v, (26 << 26) | (2 << 22) | (30 << 17)], dtype=np.uint32))
    assert ok.tolist() == [True, False]  # 30 February does not exist
    assert secs[0] == dt.datetime(2026, 3, 29, 1, 59, 58).replace(tzinfo=UTC).timestamp()


def test_fractional_timestamps_place_every_sample(tmp_path: Path) -> None:
    """Block 0 starts at 22:00:00.5 and block 1 (80 samples on) at 22:00:01.3: exactly 100 Hz.

    Each block states the whole-second time, a 15-bit fraction and the timestampOffset lowered
    by ``(fraction * rate) >> 16`` whole samples, as the firmware writes it (cwa.h).
    """
    counts = np.arange(80 * 3, dtype="<i2").reshape(80, 3)
    f0, f1 = 16384, round(0.3 * 32768)
    b0 = _block(0, dt.datetime(2026, 3, 28, 22, 0, 0), f0, -((2 * f0 * 100) >> 16), counts.tobytes(), 80)
    b1 = _block(1, dt.datetime(2026, 3, 28, 22, 0, 1), f1, -((2 * f1 * 100) >> 16), (-counts).tobytes(), 80)
    path = tmp_path / "two.cwa"
    path.write_bytes(_header() + b0 + b1)
    rec = read_cwa(path, tz="UTC")
    assert rec.start == dt.datetime(2026, 3, 28, 22, 0, 0, 500000, tzinfo=UTC)
    np.testing.assert_allclose(rec.time_s, np.arange(160) / 100.0, atol=2 / 65536)
    np.testing.assert_array_equal(rec.accel_g[:80], counts / 256.0)
    np.testing.assert_array_equal(rec.accel_g[80:], -counts / 256.0)
    assert rec.side == "right" and rec.device_id == "AX3-1234"


def test_packed_10_bit_samples_with_exponent(tmp_path: Path) -> None:
    x = np.array([-511, 511, 0, -1, 100], dtype=np.int64)
    e = np.array([0, 1, 2, 3, 3], dtype=np.int64)
    words = (e << 30) | ((x & 0x3FF) << 20) | (((-x) & 0x3FF) << 10) | (x & 0x3FF)  # z=x, y=-x, x=x
    words = np.resize(words, 120).astype("<u4")
    blk = _block(0, dt.datetime(2026, 1, 5, 3, 0, 0), None, 0, words.tobytes(), 120, bps=0x30, rate=0x4A)
    path = tmp_path / "packed.cwa"
    path.write_bytes(_header() + blk)
    rec = read_cwa(path, tz="UTC")
    expect_x = np.resize(x << e, 120) / 256.0
    np.testing.assert_array_equal(rec.accel_g[:, 0], expect_x)
    np.testing.assert_array_equal(rec.accel_g[:, 1], np.resize((-x) << e, 120) / 256.0)
    np.testing.assert_array_equal(rec.accel_g[:, 2], expect_x)


def test_ax6_scale_bits_and_partial_block(tmp_path: Path) -> None:
    """16-bit 6-axis samples (gyro first), accel in 1/2**(8+n) g with n from lightScale."""
    raw = np.zeros((40, 6), dtype="<i2")
    raw[:, 3:] = [[2048, -4096, 4095]] * 40
    raw[:, :3] = 999  # gyroscope, not kept
    t0 = dt.datetime(2026, 1, 5, 3, 0, 0)
    blk = _block(0, t0, None, 0, raw.tobytes(), 25, bps=0x62, rate=0x0A, light_scale=3 << 13)
    path = tmp_path / "ax6.cwa"
    path.write_bytes(_header(rate=0x0A) + blk)
    rec = read_cwa(path, tz="UTC")
    assert rec.n_samples == 25
    np.testing.assert_array_equal(rec.accel_g, np.tile([1.0, -2.0, 4095 / 2048], (25, 1)).astype(np.float32))
    assert rec.range_g == 16.0


# ----------------------------------------------------------------------------- writer round trip
def test_write_read_round_trip_keeps_samples_gaps_and_zone(tmp_path: Path) -> None:
    rec = still(1800, 50.0, dt.datetime(2026, 5, 2, 23, 15, 0, 123000, tzinfo=BERLIN), gap=(600.0, 612.34))
    path = tmp_path / "night.cwa"
    write_cwa(rec, path)
    back = read_recording(path)  # zone and offset come from the file
    assert back.n_samples == rec.n_samples
    assert back.start.tzinfo == BERLIN
    # block times carry a 15-bit fraction of a second
    assert abs((back.start - rec.start).total_seconds()) <= 1 / 32768
    np.testing.assert_allclose(back.time_s, rec.time_s, atol=1 / 32768)
    np.testing.assert_allclose(back.accel_g, rec.accel_g, atol=0.5 / 4096 + 1e-7)  # +-8 g -> 1/4096 g units
    g = back.gaps()
    assert len(g) == 1 and g["duration_s"].iloc[0] == pytest.approx(12.34, abs=1e-3)
    assert back.side == "left" and back.device_id == "AX3-4711" and back.range_g == 8.0


def test_writer_rejects_rates_cwa_cannot_store(tmp_path: Path) -> None:
    rec = still(10, 30.0, dt.datetime(2026, 5, 2, tzinfo=UTC))
    with pytest.raises(LmdetectError, match="not 30 Hz"):
        write_cwa(rec, tmp_path / "x.cwa")
    assert not (tmp_path / "x.cwa").exists()


@pytest.mark.parametrize(
    ("start", "end_wall"),
    [
        (dt.datetime(2026, 3, 28, 22, 0), dt.datetime(2026, 3, 29, 9, 0)),  # spring: the clock stays on CET
        (dt.datetime(2026, 10, 24, 22, 0), dt.datetime(2026, 10, 25, 7, 0)),  # autumn: it stays on CEST
    ],
)
def test_night_across_dst_keeps_elapsed_time(
    tmp_path: Path, start: dt.datetime, end_wall: dt.datetime
) -> None:
    """A device clock set before the change does not jump: 10 h of samples end at local 09:00 / 07:00."""
    rec = still(10 * 3600, 12.5, start.replace(tzinfo=BERLIN))
    path = tmp_path / "dst.cwa"
    write_cwa(rec, path)
    # make it look like a real device file: no offset in the header, no zone in the metadata
    data = bytearray(path.read_bytes())
    data[42:44] = b"\xff\xff"
    data[64:512] = b"_p=left%20ankle".ljust(448, b" ")
    path.write_bytes(bytes(data))
    back = read_cwa(path, tz="Europe/Berlin")
    assert back.start == start.replace(tzinfo=BERLIN)
    assert back.meta["time_zone_source"] == "tz option"
    assert np.all(np.diff(back.time_s) > 0)
    assert back.time_s[-1] == pytest.approx(10 * 3600 - 1 / 12.5, abs=1e-4)
    end = back.end.astimezone(BERLIN)
    assert abs(end.replace(tzinfo=None) - end_wall) < dt.timedelta(seconds=0.01)
    elapsed = end.astimezone(UTC) - back.start.astimezone(UTC)
    assert abs(elapsed - dt.timedelta(hours=10)) < dt.timedelta(milliseconds=1)


# ----------------------------------------------------------------------------- damage
@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, Recording]:
    rec = still(60, 100.0, dt.datetime(2026, 6, 1, 1, 0, tzinfo=UTC))
    path = tmp_path / "ok.cwa"
    write_cwa(rec, path)
    return path, rec


def test_truncated_file_names_the_offset(written: tuple[Path, Recording], tmp_path: Path) -> None:
    path, rec = written
    cut = tmp_path / "cut.cwa"
    cut.write_bytes(path.read_bytes()[: 1024 + 512 * 40 + 100])
    message = r"cut\.cwa, byte 21504: file ends 100 bytes into data block 40 \(truncated"
    with pytest.raises(FormatError, match=message):
        read_cwa(cut)
    back = read_cwa(cut, on_corrupt="skip")
    assert back.n_samples == 40 * 80
    assert back.meta["n_bad_blocks"] == "1"


def test_bad_checksum_is_reported_or_becomes_a_gap(written: tuple[Path, Recording], tmp_path: Path) -> None:
    path, rec = written
    data = bytearray(path.read_bytes())
    data[1024 + 512 * 3 + 100] ^= 0x40
    bad = tmp_path / "bad.cwa"
    bad.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=r"byte 2560: data block 3 fails its checksum"):
        read_cwa(bad)
    back = read_cwa(bad, on_corrupt="skip")
    assert back.n_samples == rec.n_samples - 80
    g = back.gaps()
    assert len(g) == 1 and g["n_missing"].iloc[0] == 80
    np.testing.assert_allclose(back.time_s[240:], rec.time_s[320:], atol=1 / 32768)


def test_clock_set_back_during_recording_is_an_error(written: tuple[Path, Recording], tmp_path: Path) -> None:
    path, _ = written
    data = bytearray(path.read_bytes())
    off = 1024 + 512 * 5
    block = bytearray(data[off : off + 512])
    block[14:18] = struct.pack("<I", pack_timestamp(dt.datetime(2026, 6, 1, 0, 30)))
    block[510:512] = b"\0\0"
    total = sum(struct.unpack("<256H", bytes(block))) & 0xFFFF
    block[510:512] = struct.pack("<H", (0x10000 - total) & 0xFFFF)
    data[off : off + 512] = block
    p = tmp_path / "back.cwa"
    p.write_bytes(bytes(data))
    with pytest.raises(FormatError, match="go backwards"):
        read_cwa(p)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "shorter than the 1024-byte CWA header"),
        (b"PK\x03\x04" + b"\0" * 2000, "not a CWA file"),
        (b"MD" + struct.pack("<H", 1020) + b"\0" * 1020, "no data blocks"),
    ],
)
def test_not_a_cwa_file(tmp_path: Path, content: bytes, message: str) -> None:
    p = tmp_path / "x.cwa"
    p.write_bytes(content)
    with pytest.raises(FormatError, match=message) as info:
        read_cwa(p)
    assert str(p) in str(info.value)
