"""GENEActiv .bin: a real device file against an independent decoder, header fields, damage."""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from pathlib import Path

import numpy as np
import pytest

from lmdetect.errors import FormatError
from lmdetect.io import read_recording
from lmdetect.io.geneactiv import read_geneactiv

DATA = Path(__file__).resolve().parents[1] / "data" / "readers"
SAMPLE = DATA / "gnactv_sample.bin"  # MIT, scikit-digital-health test data (see README there)
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def edited(tmp_path: Path, old: bytes, new: bytes, count: int = 1) -> Path:
    data = SAMPLE.read_bytes()
    assert data.count(old) >= count, old
    p = tmp_path / "edited.bin"
    p.write_bytes(data.replace(old, new, count))
    return p


def test_matches_independent_decoder() -> None:
    """Calibrated values agree with scikit-digital-health's (which rounds to 4 decimals).

    The reference's time stamps are the device wall clock written as if it were UTC; page
    times plus i / 50 Hz, with the 0.52 s jump the device clock makes between pages 0 and 1.
    """
    rec = read_recording(SAMPLE)
    ref = np.load(DATA / "gnactv_data.npz")
    assert rec.n_samples == 900 and rec.fs == 50.0
    np.testing.assert_allclose(rec.accel_g, ref["accel"], rtol=0, atol=5e-5 + 1e-7)
    wall = rec.start.replace(tzinfo=dt.UTC).timestamp() + rec.time_s
    np.testing.assert_allclose(wall, ref["time"], rtol=0, atol=1e-6)
    g = rec.gaps()
    assert len(g) == 1 and g["duration_s"].iloc[0] == pytest.approx(0.5)


def test_header_fields() -> None:
    rec = read_geneactiv(SAMPLE)
    edt = dt.timezone(dt.timedelta(hours=-4))
    assert rec.start == dt.datetime(2019, 5, 21, 16, 16, 43, 500000, tzinfo=edt)
    assert rec.meta["time_zone_source"] == "file"
    assert rec.device_id == "GENEActiv-051386"
    assert rec.range_g == 8.0
    assert rec.meta["body_location"] == "back" and rec.side == "unknown"
    # worn still on the back: gravity dominates
    assert np.median(np.linalg.norm(rec.accel_g, axis=1)) == pytest.approx(1.0, abs=0.1)


def test_tz_option_expresses_the_same_instant_in_that_zone() -> None:
    rec = read_geneactiv(SAMPLE, tz="America/New_York")
    assert rec.start.tzinfo == NEW_YORK
    assert rec.start == read_geneactiv(SAMPLE).start  # same instant (EDT = UTC-4 in May)


def test_missing_time_zone_needs_tz(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    p = edited(tmp_path, b"Time Zone:GMT -04:00", b"Time Zone:")
    with caplog.at_level(logging.WARNING):
        rec = read_geneactiv(p)
    assert rec.meta["time_zone_source"] == "assumed UTC"
    assert rec.start.utcoffset() == dt.timedelta(0)
    assert "assuming UTC" in caplog.text
    local = read_geneactiv(p, tz="America/New_York")
    assert local.start.utcoffset() == dt.timedelta(hours=-4)
    assert local.start.replace(tzinfo=None) == dt.datetime(2019, 5, 21, 16, 16, 43, 500000)


def test_location_gives_the_side(tmp_path: Path) -> None:
    rec = read_geneactiv(edited(tmp_path, b"Device Location Code:back", b"Device Location Code:left ankle"))
    assert rec.side == "left"
    assert rec.meta["body_location"] == "left ankle"


def test_truncated_page_names_the_line(tmp_path: Path) -> None:
    data = SAMPLE.read_bytes()
    p = tmp_path / "cut.bin"
    p.write_bytes(data[: len(data) - 1000])
    with pytest.raises(FormatError, match=r"cut\.bin, line 89: page 2 holds 2601 of 3600 hex digits"):
        read_geneactiv(p)
    rec = read_geneactiv(p, on_corrupt="skip")
    assert rec.n_samples == 600 and rec.meta["n_bad_pages"] == "1"


def test_page_cut_inside_its_header(tmp_path: Path) -> None:
    lines = SAMPLE.read_bytes().split(b"\n")
    p = tmp_path / "short.bin"
    p.write_bytes(b"\n".join(lines[:83]) + b"\n")
    with pytest.raises(FormatError, match=r"line 80: the last page is cut short after 4 of 10 lines"):
        read_geneactiv(p)


def test_non_hex_character(tmp_path: Path) -> None:
    data = bytearray(SAMPLE.read_bytes())
    i = data.index(b"Page Time:2019-05-21 16:16:50:000")
    j = data.index(b"\n", data.index(b"Measurement Frequency:50.0", i)) + 1
    data[j + 10] = ord("G")
    p = tmp_path / "bad.bin"
    p.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=r"line 79: page 1 holds characters that are not hexadecimal"):
        read_geneactiv(p)


def test_overlapping_page_time_is_moved_after_the_previous_page(tmp_path: Path) -> None:
    p = edited(tmp_path, b"Page Time:2019-05-21 16:16:56:000", b"Page Time:2019-05-21 16:16:54:000")
    rec = read_geneactiv(p)
    assert rec.meta["n_page_time_adjusted"] == "1"
    assert np.all(np.diff(rec.time_s) > 0)
    assert rec.time_s[600] == pytest.approx(rec.time_s[599] + 0.02)


def test_header_problems(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="x gain"):
        read_geneactiv(edited(tmp_path, b"x gain:25522", b"x gane:25522"))
    p = tmp_path / "other.bin"
    p.write_bytes(b"\x00\x01binary firmware image")
    with pytest.raises(FormatError, match="not a GENEActiv .bin file"):
        read_geneactiv(p)
    head = tmp_path / "head.bin"
    head.write_bytes(SAMPLE.read_bytes().split(b"Recorded Data")[0])
    with pytest.raises(FormatError, match="header only"):
        read_geneactiv(head)
