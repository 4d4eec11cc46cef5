"""BIDS-motion: files as the specification lays them out, round trips, third-party datasets, damage."""

from __future__ import annotations

import datetime as dt
import json
import logging
import zoneinfo
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lmdetect.errors import FormatError
from lmdetect.io import read_recording, write_recording
from lmdetect.io.bids_motion import read_bids_motion, write_bids_motion
from lmdetect.model import Recording

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
UTC = dt.UTC
NAME = "sub-07_ses-02_task-sleep_tracksys-IMU_motion.tsv"


def night(
    seconds: float = 900,
    fs: float = 50.0,
    gap: tuple[float, float] | None = (120.0, 121.5),
    side: str = "right",
) -> Recording:
    n = int(seconds * fs)
    t = np.arange(n) / fs
    a = np.empty((n, 3), np.float32)
    a[:, 0] = 0.4 * np.sin(2 * np.pi * 0.3 * t)
    a[:, 1] = 0.1
    a[:, 2] = -0.96
    if gap:
        keep = (t < gap[0]) | (t >= gap[1])
        a, t = a[keep], t[keep]
    start = dt.datetime(2026, 10, 24, 23, 59, 58, 250000, tzinfo=BERLIN)
    meta = {"device_model": "lmdetect reference sensor"}
    side_: Any = side
    return Recording(a, t, fs, start, device_id="LM-7", side=side_, range_g=8.0, meta=meta)


def bids_path(root: Path) -> Path:
    return root / "sub-07" / "ses-02" / "motion" / NAME


def test_files_follow_the_specification(tmp_path: Path) -> None:
    rec = night()
    path = bids_path(tmp_path)
    write_bids_motion(rec, path)
    folder = path.parent
    stem = NAME[: -len("_motion.tsv")]
    sidecar = json.loads((folder / f"{stem}_motion.json").read_text())
    for key in ("SamplingFrequency", "TaskName", "TrackingSystemName"):  # REQUIRED
        assert key in sidecar
    required = (sidecar["SamplingFrequency"], sidecar["TaskName"], sidecar["TrackingSystemName"])
    assert required == (50.0, "sleep", "IMU")
    counts = (sidecar["ACCELChannelCount"], sidecar["LATENCYChannelCount"], sidecar["MotionChannelCount"])
    assert counts == (3, 1, 4)
    assert sidecar["RecordingDuration"] == pytest.approx(rec.duration_s)
    channels = pd.read_csv(folder / f"{stem}_channels.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert list(channels.columns) == ["name", "component", "type", "tracked_point", "units"]
    assert channels["type"].tolist() == ["ACCEL", "ACCEL", "ACCEL", "LATENCY"]
    assert channels["component"].tolist() == ["x", "y", "z", "n/a"]
    assert set(channels["tracked_point"][:3]) == {"RightAnkle"} and set(channels["units"][:3]) == {"m/s^2"}
    first = path.read_text().splitlines()[0].split("\t")  # no header row: numbers only
    assert [float(v) for v in first] == pytest.approx([0.0, 0.1 * 9.80665, -0.96 * 9.80665, 0.0], abs=1e-5)
    scans = pd.read_csv(tmp_path / "sub-07" / "ses-02" / "sub-07_ses-02_scans.tsv", sep="\t", dtype=str)
    row = {"filename": f"motion/{NAME}", "acq_time": "2026-10-24T21:59:58.250000Z"}
    assert scans.to_dict("records") == [row]


def test_round_trip_with_gap_across_the_autumn_change(tmp_path: Path) -> None:
    rec = night(seconds=2 * 3600, fs=20.0, gap=(1800.0, 1803.0))
    path = bids_path(tmp_path)
    write_recording(rec, path)
    back = read_recording(path)
    assert back.n_samples == rec.n_samples
    np.testing.assert_allclose(back.time_s, rec.time_s, atol=1e-6)
    np.testing.assert_allclose(back.accel_g, rec.accel_g, atol=1e-6)
    assert back.start == rec.start and back.start.tzinfo == BERLIN
    assert back.end.astimezone(UTC) - rec.end.astimezone(UTC) == dt.timedelta(0)
    assert back.gaps()["duration_s"].tolist() == pytest.approx(rec.gaps()["duration_s"].tolist())
    assert back.side == "right" and back.device_id == "LM-7" and back.range_g == 8.0
    assert back.meta["tracked_point"] == "RightAnkle"


def test_even_sampling_needs_no_latency_column(tmp_path: Path) -> None:
    path = tmp_path / "sub-01_task-sleep_tracksys-IMU_motion.tsv"
    write_bids_motion(night(gap=None, side="left"), path)
    channels = (tmp_path / "sub-01_task-sleep_tracksys-IMU_channels.tsv").read_text()
    assert "LATENCY" not in channels and "LeftAnkle" in channels
    assert (tmp_path / "sub-01_scans.tsv").exists()
    assert read_bids_motion(path).n_samples == 45000


def test_scans_table_rows_are_updated_not_duplicated(tmp_path: Path) -> None:
    a = tmp_path / "sub-01_task-sleep_tracksys-IMU_motion.tsv"
    b = tmp_path / "sub-01_task-sleep_tracksys-IMU2_motion.tsv"
    write_bids_motion(night(gap=None), a)
    write_bids_motion(night(gap=None), b)
    write_bids_motion(night(gap=None), a)
    scans = pd.read_csv(tmp_path / "sub-01_scans.tsv", sep="\t")
    assert sorted(scans["filename"]) == sorted([a.name, b.name])


def write_third_party(folder: Path, *, acq_time: str | None, rows: list[str], units: str = "m/s^2") -> Path:
    """A dataset as another tool writes it: two tracked points, gyro, n/a, local acq_time."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = "sub-03_task-sleep_tracksys-imu"
    sidecar = {"SamplingFrequency": 10, "TaskName": "sleep", "TrackingSystemName": "imu"}
    (folder / f"{stem}_motion.json").write_text(json.dumps(sidecar))
    channels = ["name\tcomponent\ttype\ttracked_point\tunits"]
    for point in ("LeftAnkle", "RightWrist"):
        channels += [f"{point}_acc_{c}\t{c}\tACCEL\t{point}\t{units}" for c in "xyz"]
        channels += [f"{point}_gyro_{c}\t{c}\tGYRO\t{point}\trad/s" for c in "xyz"]
    (folder / f"{stem}_channels.tsv").write_text("\n".join(channels) + "\n")
    path = folder / f"{stem}_motion.tsv"
    path.write_text("".join(r + "\n" for r in rows))
    if acq_time is not None:
        (folder / "sub-03_scans.tsv").write_text(f"filename\tacq_time\n{path.name}\t{acq_time}\n")
    return path


def _json(motion: Path) -> Path:
    return motion.with_name(motion.name.replace(".tsv", ".json"))


def third_party_rows(n: int = 100) -> list[str]:
    rows = []
    for i in range(n):
        left = ["0", "0", "9.80665"] if i != 50 else ["n/a", "n/a", "n/a"]
        rows.append("\t".join(left + ["0.1"] * 3 + ["4.903325", "0", "0"] + ["0.2"] * 3))
    return rows


def test_third_party_dataset(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write_third_party(tmp_path, acq_time="2026-03-28T22:30:00.500", rows=third_party_rows())
    message = r"several tracked points \(LeftAnkle, RightWrist\); pass tracked_point="
    with pytest.raises(FormatError, match=message):
        read_bids_motion(path)
    rec = read_bids_motion(path, tracked_point="LeftAnkle", tz="Europe/Berlin")
    assert rec.n_samples == 99  # the n/a row is a missing sample
    assert rec.gaps()["n_missing"].tolist() == [1]
    np.testing.assert_allclose(rec.accel_g, np.tile([0.0, 0.0, 1.0], (99, 1)), atol=1e-6)
    assert rec.start == dt.datetime(2026, 3, 28, 22, 30, 0, 500000, tzinfo=BERLIN)
    assert rec.side == "left" and rec.fs == 10.0
    wrist = read_bids_motion(path, tracked_point="RightWrist", tz="UTC")
    np.testing.assert_allclose(wrist.accel_g[0], [0.5, 0.0, 0.0], atol=1e-6)
    with caplog.at_level(logging.WARNING):
        read_bids_motion(path, tracked_point="LeftAnkle")
    assert "assuming UTC" in caplog.text


def test_start_must_come_from_somewhere(tmp_path: Path) -> None:
    path = write_third_party(tmp_path, acq_time=None, rows=third_party_rows(10))
    with pytest.raises(FormatError, match="no acq_time .* start time is unknown"):
        read_bids_motion(path, tracked_point="LeftAnkle")
    rec = read_bids_motion(path, tracked_point="LeftAnkle", start="2026-01-02T03:04:05+01:00")
    assert rec.start == dt.datetime(2026, 1, 2, 2, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda p: p.write_text(p.read_text()[:-20]),
            r"_motion\.tsv, line 10: 7 values where the channels table lists 12 columns "
            r"\(the file is cut short\)",
        ),
        (lambda p: p.write_text(p.read_text().replace("9.80665", "9.8O665", 1)), r"a value is not a number"),
        (
            lambda p: p.with_name(p.name.replace("_motion.tsv", "_channels.tsv")).unlink(),
            r"_channels\.tsv: the channels table of the motion file is missing",
        ),
        (lambda p: _json(p).write_text("{"), r"_motion\.json, line 1: invalid JSON"),
        (
            lambda p: _json(p).write_text('{"SamplingFrequency": 0}'),
            r"SamplingFrequency must be a positive number",
        ),
        (lambda p: p.write_text(""), r"holds no samples"),
    ],
)
def test_damaged_dataset(tmp_path: Path, mutate, message: str) -> None:
    path = write_third_party(tmp_path, acq_time="2026-03-28T22:30:00Z", rows=third_party_rows(10))
    mutate(path)
    with pytest.raises(FormatError, match=message):
        read_bids_motion(path, tracked_point="LeftAnkle")


def test_units_must_be_acceleration(tmp_path: Path) -> None:
    rows = third_party_rows(10)
    path = write_third_party(tmp_path, acq_time="2026-03-28T22:30:00Z", rows=rows, units="deg")
    with pytest.raises(FormatError, match="is in 'deg', not an acceleration unit"):
        read_bids_motion(path, tracked_point="LeftAnkle")


def test_bad_acq_time(tmp_path: Path) -> None:
    path = write_third_party(tmp_path, acq_time="28.03.2026 22:30", rows=third_party_rows(10))
    message = r"scans\.tsv: acq_time '28\.03\.2026 22:30' is not a BIDS date time"
    with pytest.raises(FormatError, match=message):
        read_bids_motion(path, tracked_point="LeftAnkle")
