"""CSV recordings: layouts accepted, line-numbered errors, sampling-rate inference, round trips."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from lmdetect.errors import ConfigError, FormatError
from lmdetect.io import read_recording, write_recording
from lmdetect.io.csv import read_csv_recording, write_csv_recording
from lmdetect.model import Recording

CET = dt.timezone(dt.timedelta(hours=1))
EST = dt.timezone(dt.timedelta(hours=-5))


def write(tmp_path: Path, text: str, name: str = "rec.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def rel_csv(n: int = 6, fs: float = 50.0) -> str:
    rows = [f"{i / fs:.4f},{0.01 * i:.3f},{-0.02 * i:.3f},1.0" for i in range(n)]
    return "t,x,y,z\n" + "\n".join(rows) + "\n"


# ------------------------------------------------------------------------------- reading
def test_timestamp_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "timestamp,x,y,z\n"
        "2024-03-01T23:00:00.000+01:00,0.01,-0.02,0.99\n"
        "2024-03-01T23:00:00.020+01:00,0.02,-0.01,1.00\n"
        "2024-03-01T23:00:00.040+01:00,0.03,0.00,1.01\n",
    )
    rec = read_csv_recording(path, device_id="d1", side="right")
    assert rec.start == dt.datetime(2024, 3, 1, 23, tzinfo=CET)
    assert rec.start.utcoffset() == dt.timedelta(hours=1)
    np.testing.assert_allclose(rec.time_s, [0.0, 0.02, 0.04], atol=1e-12)
    np.testing.assert_array_equal(rec.accel_g[1], np.array([0.02, -0.01, 1.0], np.float32))
    assert rec.fs == 50.0 and (rec.device_id, rec.side) == ("d1", "right")


def test_relative_time_needs_start(tmp_path: Path) -> None:
    path = write(tmp_path, rel_csv())
    with pytest.raises(ConfigError, match="--start"):
        read_csv_recording(path)
    rec = read_csv_recording(path, start="2024-03-01T22:00:00-05:00")
    assert rec.start == dt.datetime(2024, 3, 1, 22, tzinfo=EST) and rec.n_samples == 6
    rec2 = read_csv_recording(path, start=dt.datetime(2024, 3, 1, 22, tzinfo=EST))
    np.testing.assert_array_equal(rec.time_s, rec2.time_s)


def test_relative_time_not_starting_at_zero(tmp_path: Path) -> None:
    path = write(tmp_path, "t,x,y,z\n10.0,0,0,1\n10.5,0,0,1\n11.0,0,0,1\n")
    rec = read_csv_recording(path, start="2024-03-01T22:00:00+00:00")
    assert rec.start == dt.datetime(2024, 3, 1, 22, 0, 10, tzinfo=dt.UTC)
    np.testing.assert_array_equal(rec.time_s, [0.0, 0.5, 1.0])
    assert rec.fs == 2.0


def test_start_rejected_with_timestamps_and_naive_start(tmp_path: Path) -> None:
    path = write(tmp_path, "timestamp,x,y,z\n2024-03-01T23:00:00Z,0,0,1\n2024-03-01T23:00:01Z,0,0,1\n")
    with pytest.raises(ConfigError, match="only to a relative 't' column"):
        read_csv_recording(path, start="2024-03-01T23:00:00+00:00")
    rel = write(tmp_path, rel_csv(), "rel.csv")
    with pytest.raises(ConfigError, match="no UTC offset"):
        read_csv_recording(rel, start="2024-03-01T23:00:00")
    with pytest.raises(ConfigError, match="not an ISO 8601"):
        read_csv_recording(rel, start="yesterday")


def test_header_variants_and_extra_columns(tmp_path: Path) -> None:
    text = (
        "\ufeff Timestamp ;X;Y; z ;temperature\n"
        "2024-03-01T23:00:00Z;1;2;3;20\n"
        "2024-03-01T23:00:00.5Z;4;5;6;21\n"
    )
    path = tmp_path / "semi.csv"
    path.write_text(text, encoding="utf-8")
    rec = read_csv_recording(path)
    np.testing.assert_array_equal(rec.accel_g, [[1, 2, 3], [4, 5, 6]])
    assert rec.start.utcoffset() == dt.timedelta(0) and rec.fs == 2.0


def test_offset_forms_and_dst_change(tmp_path: Path) -> None:
    # a night across the European spring-forward: the offset changes, time runs on
    path = write(
        tmp_path,
        "timestamp,x,y,z\n"
        "2024-03-31T01:59:59+01:00,0,0,1\n"
        "2024-03-31T03:00:00+02:00,0,0,1\n"
        "2024-03-31T03:00:01+0200,0,0,1\n"
        "2024-03-31 01:00:02Z,0,0,1\n",
    )
    rec = read_csv_recording(path)
    np.testing.assert_allclose(rec.time_s, [0, 1, 2, 3])
    assert rec.start.utcoffset() == dt.timedelta(hours=1)


# ------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("t,x,y,z\n0,0,0,1\n0.02,,0,1\n", 3, "missing value in column 'x'"),
        ("t,x,y,z\n0,0,0,1\n0.02,0,NaN,1\n", 3, "missing value in column 'y'"),
        ("t,x,y,z\n0,0,0,1\n0.02,0,0,1\n\n0.06,0,0,1\n", 4, "missing value"),
        ("t,x,y,z\n0,0,0,1\n0.02,0,0,abc\n0.04,0,0,1\n", 3, "'abc' is not a number"),
        ("t,x,y,z\n0,0,0,1\n0.02,0,0,inf\n", 3, "not finite"),
        ("t,x,y,z\n0,0,0,1\n0.02,0,0,1\n0.04,0,1\n", 4, "expected 4 fields, found 3"),
        ("t,x,y,z\n0,0,0,1\n0.02,0,0,1\n0.02,0,0,1\n", 4, "time does not increase"),
        ("t,x,y,z\n0,0,0,1\n0.04,0,0,1\n0.02,0,0,1\n0.06,0,0,1\n", 4, "0.02 follows 0.04"),
        ("t,x,y\n0,0,0\n", 1, "no column 'z'"),
        ("time,x,y,z\n0,0,0,1\n", 1, "no time column"),
    ],
)
def test_relative_errors_name_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(FormatError, match=message) as err:
        read_csv_recording(path, start="2024-03-01T23:00:00+01:00")
    assert err.value.line == line
    assert str(path) in str(err.value) and f"line {line}" in str(err.value)


@pytest.mark.parametrize(
    ("rows", "line", "message"),
    [
        (["2024-03-01T23:00:00+01:00", "2024-03-01T23:00:01"], 3, "has no UTC offset"),
        (["2024-03-01T23:00:00+01:00", ""], 3, "missing value in column 'timestamp'"),
        (["2024-03-01T23:00:00+01:00", "2024-03-01T23:00:01+01:00", "2024-13-01T23:00:02+01:00"], 4,
         "not an ISO 8601 time"),
        (["2024-03-01T23:00:01+01:00", "2024-03-01T23:00:00+01:00"], 3, "time does not increase"),
        (["2024-03-01T23:00:00+01:00", "2024-03-01T22:00:00+00:00"], 3, "time does not increase"),
    ],
)
def test_timestamp_errors(tmp_path: Path, rows: list[str], line: int, message: str) -> None:
    path = write(tmp_path, "timestamp,x,y,z\n" + "".join(f"{r},0,0,1\n" for r in rows))
    with pytest.raises(FormatError, match=message) as err:
        read_csv_recording(path)
    assert err.value.line == line and str(path) in str(err.value)


def test_error_line_deep_in_a_large_file(tmp_path: Path) -> None:
    n = 200_000
    t = np.arange(n) / 100.0
    t[123_456] = t[123_455]  # a repeated time stamp
    body = "\n".join(f"{v:.2f},0,0,1" for v in t)
    path = write(tmp_path, "t,x,y,z\n" + body + "\n")
    with pytest.raises(FormatError, match="time does not increase") as err:
        read_csv_recording(path, start="2024-01-01T00:00:00+00:00")
    assert err.value.line == 123_456 + 2


def test_empty_and_header_only(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="no header row"):
        read_csv_recording(write(tmp_path, "", "empty.csv"))
    with pytest.raises(FormatError, match="no samples"):
        read_csv_recording(write(tmp_path, "timestamp,x,y,z\n", "head.csv"))
    with pytest.raises(FormatError, match="UTF-16 text; save the recording as a UTF-8 CSV"):
        (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x01garbage")
        read_csv_recording(tmp_path / "bin.csv")
    with pytest.raises(FormatError, match=r"bin2\.csv, byte 1: not UTF-8 text"):
        (tmp_path / "bin2.csv").write_bytes(b"t\x81,x,y,z\n")
        read_csv_recording(tmp_path / "bin2.csv")


def test_trailing_blank_lines_are_ignored(tmp_path: Path) -> None:
    rec = read_csv_recording(write(tmp_path, rel_csv(4) + "\n\n"), start="2024-01-01T00:00:00Z")
    assert rec.n_samples == 4


# ------------------------------------------------------------------------------ sampling rate
def test_fs_inferred_from_rounded_timestamps_with_gaps(tmp_path: Path) -> None:
    # 30 Hz written with millisecond timestamps: steps of 33 and 34 ms, plus a 5-s gap
    t = np.arange(900) / 30.0
    t[600:] += 5.0
    stamps = [
        (dt.datetime(2024, 1, 1, 22, tzinfo=CET) + dt.timedelta(milliseconds=round(v * 1000))).isoformat(
            timespec="milliseconds"
        )
        for v in t
    ]
    path = write(tmp_path, "timestamp,x,y,z\n" + "".join(f"{s},0,0,1\n" for s in stamps))
    rec = read_csv_recording(path)
    assert rec.fs == 30.0
    assert len(rec.gaps()) == 1
    assert read_csv_recording(path, fs=32.0).fs == 32.0


def test_single_sample_needs_fs(tmp_path: Path) -> None:
    path = write(tmp_path, "t,x,y,z\n0,0,0,1\n")
    with pytest.raises(FormatError, match="give fs"):
        read_csv_recording(path, start="2024-01-01T00:00:00Z")
    assert read_csv_recording(path, start="2024-01-01T00:00:00Z", fs=50).n_samples == 1


# -------------------------------------------------------------------------------- writing
@pytest.mark.parametrize("tz", [CET, EST, dt.UTC])
def test_round_trip_timestamp(tmp_path: Path, tz: dt.tzinfo) -> None:
    rng = np.random.default_rng(2)
    n = 3000
    accel = rng.normal(0, 0.4, (n, 3)).astype(np.float32)
    t = np.arange(n) / 100.0
    t[2000:] += 3.21
    rec = Recording(accel, t, 100.0, dt.datetime(2024, 3, 1, 23, 0, 0, 123456, tzinfo=tz))
    path = tmp_path / "out.csv"
    write_recording(rec, path)
    first_line = path.read_text().splitlines()[1]
    assert first_line.startswith(rec.start.isoformat())
    back = read_recording(path)
    np.testing.assert_array_equal(back.accel_g, accel)  # float32 text round trip is exact
    np.testing.assert_allclose(back.time_s, t, atol=1e-6, rtol=0)
    assert back.start == rec.start and back.start.utcoffset() == rec.start.utcoffset()
    assert back.fs == 100.0


def test_round_trip_relative(tmp_path: Path) -> None:
    rec = Recording(np.full((50, 3), 0.125, np.float32), np.arange(50) / 25.0, 25.0,
                    dt.datetime(2024, 3, 1, 23, tzinfo=EST))
    path = tmp_path / "rel.csv"
    write_csv_recording(rec, path, time_column="t")
    assert path.read_text().startswith("t,x,y,z\n0,0.125,0.125,0.125\n")
    back = read_recording(path, start=rec.start.isoformat())
    np.testing.assert_array_equal(back.time_s, rec.time_s)
    np.testing.assert_array_equal(back.accel_g, rec.accel_g)
