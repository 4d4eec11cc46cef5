"""ActiGraph .gt3x: spec-built files (tests/data/readers/make_readers_data.py), idle sleep, damage."""

from __future__ import annotations

import datetime as dt
import io
import logging
import zipfile
import zoneinfo
from pathlib import Path

import numpy as np
import pytest

from lmdetect.errors import FormatError
from lmdetect.io import read_recording
from lmdetect.io.gt3x import decode_parameter_float, read_gt3x

DATA = Path(__file__).resolve().parents[1] / "data" / "readers"
NEO = DATA / "actigraph_neo_ism.gt3x"
MOS = DATA / "actigraph_mos_dst.gt3x"
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
UTC = dt.UTC
CET = dt.timezone(dt.timedelta(hours=1))


def expected(name: str) -> tuple[np.ndarray, np.ndarray]:
    e = np.load(DATA / f"{name}_expected.npz")
    return (e["counts"] / float(e["scale"])).astype(np.float32), e["time_s"]


def rezip(
    src: Path,
    dst: Path,
    log: bytes | None = None,
    drop: str | None = None,
    add: dict[str, bytes] | None = None,
) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(buf, "w") as zout:
        for name in zin.namelist():
            if name == drop:
                continue
            zout.writestr(name, log if (name == "log.bin" and log is not None) else zin.read(name))
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    dst.write_bytes(buf.getvalue())
    return dst


def log_bin(src: Path) -> bytes:
    with zipfile.ZipFile(src) as z:
        return z.read("log.bin")


def test_activity_12bit_records_decode_to_the_encoded_counts() -> None:
    rec = read_recording(NEO)
    accel, time_s = expected("actigraph_neo_ism")
    np.testing.assert_array_equal(rec.accel_g, accel)
    np.testing.assert_array_equal(rec.time_s, time_s)
    assert rec.fs == 30.0 and rec.range_g == 6.0
    assert rec.meta["accel_scale_source"].startswith("serial number")
    assert rec.meta["record_format"] == "ACTIVITY (12-bit)"
    assert rec.device_id == "NEO1F12345678" and rec.side == "left"
    assert rec.meta["body_location"] == "left ankle"


def test_idle_sleep_mode_is_a_real_gap_never_flat_data() -> None:
    """Seconds 121-299 have no records: no samples there, and the episode is counted."""
    rec = read_gt3x(NEO)
    assert not np.any((rec.time_s >= 121.0) & (rec.time_s < 300.0))
    g = rec.gaps()
    ism = g[g["duration_s"] > 100]
    assert len(ism) == 1
    assert ism["onset_s"].iloc[0] == pytest.approx(121.0)
    assert ism["duration_s"].iloc[0] == pytest.approx(179.0)
    assert rec.meta["idle_sleep_mode_episodes"] == "1"
    assert rec.meta["idle_sleep_mode_s"] == "180"
    # the short second (17 of 30 samples) is a gap of 13 samples, not padding
    short = g[(g["onset_s"] > 119) & (g["onset_s"] < 120)]
    assert short["n_missing"].tolist() == [13]
    # no run of repeated samples (an imputed "last value" fill): at most a few equal neighbours
    same = np.all(np.diff(rec.accel_g, axis=0) == 0, axis=1).astype(np.int8)
    edges = np.diff(np.concatenate(([0], same, [0])))
    longest = int((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max(initial=0))
    assert longest < 5


def test_file_time_zone_fixes_the_instant_across_spring_dst() -> None:
    """info.txt says UTC+01:00: 01:55-02:05 device time is 00:55-01:05 UTC, 03:05 CEST at the end."""
    rec = read_gt3x(NEO, tz="Europe/Berlin")
    assert rec.start == dt.datetime(2026, 3, 29, 0, 55, tzinfo=UTC)
    assert rec.start.tzinfo == BERLIN and rec.meta["time_zone_source"] == "file"
    end = rec.end.astimezone(BERLIN)
    assert (end.hour, end.minute, end.utcoffset()) == (3, 5, dt.timedelta(hours=2))
    plain = read_gt3x(NEO)
    assert plain.start.utcoffset() == dt.timedelta(hours=1)


def test_activity2_with_parameters_scale_and_no_time_zone(caplog: pytest.LogCaptureFixture) -> None:
    accel, time_s = expected("actigraph_mos_dst")
    rec = read_gt3x(MOS, tz="Europe/Berlin")
    np.testing.assert_array_equal(rec.accel_g, accel)
    np.testing.assert_allclose(rec.time_s, time_s, atol=1e-12)
    assert rec.meta["accel_scale_source"] == "PARAMETERS record"
    assert rec.meta["record_format"] == "ACTIVITY2 (16-bit)"
    assert rec.side == "right"
    # 02:50 on 25 October happens twice in Berlin; a clock set before the change reads CEST
    assert rec.start.astimezone(UTC) == dt.datetime(2026, 10, 25, 0, 50, tzinfo=UTC)
    assert rec.start.utcoffset() == dt.timedelta(hours=2)
    with caplog.at_level(logging.WARNING):
        bare = read_gt3x(MOS)
    assert bare.meta["time_zone_source"] == "assumed UTC" and "assuming UTC" in caplog.text


def test_parameter_float_examples_of_the_format_description() -> None:
    assert decode_parameter_float(0x09400000) == 256.0  # ACCEL_SCALE: 256 LSB/g
    assert decode_parameter_float(0x0C400000) == 2048.0  # IMU_ACCEL_SCALE: 2048 LSB/g
    assert decode_parameter_float(0x03419581) == pytest.approx(4.1, abs=2e-3)  # BATTERY_VOLTAGE: 4.1 V
    assert decode_parameter_float(0x05540000) == 21.0  # IMU_TEMP_OFFSET: 21 degrees C
    assert decode_parameter_float(0) == 0.0


def test_bad_checksum(tmp_path: Path) -> None:
    log = bytearray(log_bin(NEO))
    first_activity = log.index(b"\x1e\x00")
    log[first_activity + 20] ^= 0x10
    p = rezip(NEO, tmp_path / "bad.gt3x", bytes(log))
    message = rf"bad\.gt3x, byte {first_activity}: log.bin: the record of type 0x00 .* fails its checksum"
    with pytest.raises(FormatError, match=message):
        read_gt3x(p)
    rec = read_gt3x(p, on_corrupt="skip")
    assert rec.meta["n_bad_records"] == "1"
    assert rec.n_samples == read_gt3x(NEO).n_samples - 30
    assert rec.time_s[0] == 0.0 and rec.start == read_gt3x(NEO).start + dt.timedelta(seconds=1)


def test_truncated_log(tmp_path: Path) -> None:
    log = log_bin(NEO)
    p = rezip(NEO, tmp_path / "cut.gt3x", log[: len(log) // 2])
    with pytest.raises(FormatError, match=r"is cut short \(truncated file\)"):
        read_gt3x(p)
    rec = read_gt3x(p, on_corrupt="skip")
    assert 0 < rec.n_samples < read_gt3x(NEO).n_samples


def test_stray_bytes_between_records(tmp_path: Path) -> None:
    log = bytearray(log_bin(NEO))
    second_11 = int(dt.datetime(2026, 3, 29, 1, 55, 11, tzinfo=UTC).timestamp())
    i = log.index(b"\x00\x00\x00\x1e\x00" + second_11.to_bytes(4, "little"))  # zero padding: fine as it is
    log[i + 1] = 0x55
    p = rezip(NEO, tmp_path / "stray.gt3x", bytes(log))
    with pytest.raises(FormatError, match=rf"expected a record separator 0x1E at byte {i + 1}, found 0x55"):
        read_gt3x(p)
    assert read_gt3x(p, on_corrupt="skip").n_samples == read_gt3x(NEO).n_samples


def test_truncated_zip_and_wrong_layouts(tmp_path: Path) -> None:
    data = NEO.read_bytes()
    cut = tmp_path / "cut.gt3x"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match=r"cut\.gt3x: (not a \.gt3x file|log.bin cannot be extracted)"):
        read_gt3x(cut)
    with pytest.raises(FormatError, match="has no log.bin"):
        read_gt3x(rezip(NEO, tmp_path / "nolog.gt3x", drop="log.bin"))
    with pytest.raises(FormatError, match="NHANES-style"):
        read_gt3x(rezip(NEO, tmp_path / "old.gt3x", drop="log.bin", add={"activity.bin": b"\0" * 10}))
    with pytest.raises(FormatError, match="has no info.txt"):
        read_gt3x(rezip(NEO, tmp_path / "noinfo.gt3x", drop="info.txt"))


def test_unknown_scale_is_an_error(tmp_path: Path) -> None:
    with zipfile.ZipFile(NEO) as z:
        info = z.read("info.txt").replace(b"NEO1F12345678", b"TAS1X00000001")
    buf = io.BytesIO()
    with zipfile.ZipFile(NEO) as zin, zipfile.ZipFile(buf, "w") as zout:
        zout.writestr("info.txt", info)
        zout.writestr("log.bin", zin.read("log.bin"))
    p = tmp_path / "tas.gt3x"
    p.write_bytes(buf.getvalue())
    with pytest.raises(FormatError, match="cannot tell the acceleration scale"):
        read_gt3x(p)
