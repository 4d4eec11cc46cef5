"""EDF+/BDF+: writer layout, round trips with gaps and DST, third-party files, damage."""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from pathlib import Path

import numpy as np
import pytest

edfio = pytest.importorskip("edfio", reason="EDF support is the optional 'edf' extra")

from lmdetect.errors import FormatError  # noqa: E402
from lmdetect.io import read_recording, write_recording  # noqa: E402
from lmdetect.io.edf import GAP_ANNOTATION, read_edf, write_bdf, write_edf  # noqa: E402
from lmdetect.model import Recording  # noqa: E402

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
MS2_RANGE = (-80.0, 80.0)
UTC = dt.UTC


def night(seconds: float = 1200, fs: float = 50.0, *, start: dt.datetime | None = None, side: str = "left",
          gaps: tuple[tuple[float, float], ...] = ((300.0, 302.5),), rate_error: float = 0.0) -> Recording:
    n = int(seconds * fs)
    t = np.arange(n) / (fs * (1 + rate_error))
    a = np.empty((n, 3), np.float32)
    a[:, 0] = 0.3 * np.sin(2 * np.pi * 0.5 * t)
    a[:, 1] = -0.2 + 0.05 * np.cos(2 * np.pi * 0.1 * t)
    a[:, 2] = 0.93
    keep = np.ones(n, bool)
    for g0, g1 in gaps:
        keep &= (t < g0) | (t >= g1)
    start = start or dt.datetime(2026, 3, 28, 23, 30, 0, 500000, tzinfo=BERLIN)
    return Recording(
        a[keep], t[keep], fs, start, device_id="AX3-4711", side=side, range_g=8.0  # type: ignore[arg-type]
    )


def test_edf_layout_labels_units_start(tmp_path: Path) -> None:
    rec = night()
    path = tmp_path / "n.edf"
    write_edf(rec, path)
    edf = edfio.read_edf(path)
    assert [s.label for s in edf.signals] == ["ACC X ankle-L", "ACC Y ankle-L", "ACC Z ankle-L"]
    assert {s.physical_dimension for s in edf.signals} == {"g"}
    assert edf.signals[0].transducer_type == "accelerometer, left ankle"
    assert edf.signals[0].physical_range == (-8.0, 8.0)
    assert edf.startdatetime == dt.datetime(2026, 3, 28, 23, 30, 0, 500000)  # local wall time
    assert "utc=+01:00" in edf.recording.additional and "tz=Europe/Berlin" in edf.recording.additional
    assert edf.recording.equipment_code == "AX3-4711"
    gaps = [a for a in edf.annotations if a.text == GAP_ANNOTATION]
    assert len(gaps) == 1
    assert gaps[0].onset == pytest.approx(300.0) and gaps[0].duration == pytest.approx(2.5)


@pytest.mark.parametrize(("writer", "lsb"), [(write_edf, 16 / 65535), (write_bdf, 16 / 16777215)])
def test_round_trip_keeps_samples_gaps_and_instants(tmp_path: Path, writer, lsb: float) -> None:
    across_02 = dt.datetime(2026, 3, 29, 0, 30, tzinfo=BERLIN)
    rec = night(seconds=4 * 3600, fs=25.0, start=across_02)
    path = tmp_path / ("n.edf" if writer is write_edf else "n.bdf")
    writer(rec, path)
    back = read_recording(path)
    assert back.n_samples == rec.n_samples
    np.testing.assert_array_equal(back.time_s, rec.time_s)
    np.testing.assert_allclose(back.accel_g, rec.accel_g, atol=lsb / 2 + 1e-6)
    assert back.start == rec.start and back.start.tzinfo == BERLIN
    assert back.end.astimezone(UTC) == rec.end.astimezone(UTC)
    assert back.end.astimezone(BERLIN).hour == 5  # 4 h after 00:30 CET is 05:30 CEST
    assert back.gaps()["duration_s"].tolist() == pytest.approx(rec.gaps()["duration_s"].tolist())
    assert back.side == "left" and back.device_id == "AX3-4711"


def test_samples_off_the_nominal_grid_are_resampled_in_time(tmp_path: Path) -> None:
    """A sensor whose clock runs 1.5 % slow: EDF holds the real time axis at the nominal rate."""
    rec = night(seconds=600, fs=50.0, gaps=(), rate_error=-0.015)
    path = tmp_path / "slow.edf"
    write_edf(rec, path)
    back = read_edf(path)
    assert back.fs == 50.0 and back.fs_effective == pytest.approx(50.0)
    assert back.duration_s == pytest.approx(rec.duration_s, abs=1 / 50)
    # the x axis is a 0.5 Hz sine of real time: values at the new times match the formula
    expect = 0.3 * np.sin(2 * np.pi * 0.5 * back.time_s)
    np.testing.assert_allclose(back.accel_g[:, 0], expect, atol=2e-3)


def test_third_party_edf_in_m_per_s2_with_other_signals(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    n = 100 * 60
    t = np.arange(n) / 100.0
    sigs = [edfio.EdfSignal(np.sin(t) * 1e-5, 100, label="EEG C3-M2", physical_dimension="V")] + [
        edfio.EdfSignal(
            np.full(n, value), 100, label=label, physical_dimension="m/s^2", physical_range=MS2_RANGE
        )
        for label, value in (("Accel_Z", 9.80665), ("Accel_X", -4.903325), ("Accel_Y", 0.0))
    ]
    path = tmp_path / "psg.edf"
    edfio.Edf(sigs, starttime=dt.time(22, 15)).write(path)
    with caplog.at_level(logging.WARNING):
        rec = read_edf(path)
    assert "assuming UTC" in caplog.text
    assert "legacy start date 1985-01-01" in caplog.text  # edfio writes an anonymised EDF+ date
    assert rec.meta["channels"] == "Accel_X,Accel_Y,Accel_Z"
    np.testing.assert_allclose(rec.accel_g.mean(axis=0), [-0.5, 0.0, 1.0], atol=2e-3)
    local = read_edf(path, tz="America/Chicago")
    assert local.start.tzinfo == zoneinfo.ZoneInfo("America/Chicago")
    assert local.start.replace(tzinfo=None).time() == dt.time(22, 15)


def test_two_ankles_need_a_choice(tmp_path: Path) -> None:
    n = 500
    sigs = [
        edfio.EdfSignal(
            np.full(n, v), 50, label=f"ACC {ax} ankle-{s}", physical_dimension="g", physical_range=(-8, 8)
        )
        for s, v in (("L", 0.25), ("R", -0.25))
        for ax in "XYZ"
    ]
    path = tmp_path / "both.edf"
    edfio.Edf(sigs).write(path)
    with pytest.raises(FormatError, match="cannot tell which three signals.*pass channels="):
        read_edf(path)
    right = read_edf(path, side="right")
    assert right.side == "right" and np.allclose(right.accel_g, -0.25, atol=1e-3)
    chosen = read_edf(path, channels=("ACC Z ankle-L", "ACC Y ankle-L", "ACC X ankle-L"))
    assert np.allclose(chosen.accel_g, 0.25, atol=1e-3)
    with pytest.raises(FormatError, match="no signal labelled 'ACC W'"):
        read_edf(path, channels=("ACC W", "ACC Y ankle-L", "ACC X ankle-L"))


def test_non_acceleration_unit_is_rejected(tmp_path: Path) -> None:
    sigs = [edfio.EdfSignal(np.zeros(100), 10, label=f"ACC {a}", physical_dimension="uV") for a in "XYZ"]
    path = tmp_path / "uv.edf"
    edfio.Edf(sigs).write(path)
    with pytest.raises(FormatError, match="'ACC X' is in 'uV', not an acceleration unit"):
        read_edf(path)


def test_damaged_and_discontinuous_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    good = tmp_path / "good.edf"
    write_edf(night(seconds=120), good)
    data = good.read_bytes()
    cut = tmp_path / "cut.edf"
    cut.write_bytes(data[: len(data) - 1000])
    # a file cut inside its last data record keeps the complete records (edfio's repair is
    # logged against the file, as a cut .lmr tail is), it is not lost
    with caplog.at_level("WARNING"):
        rec = read_edf(cut)
    assert 0 < rec.n_samples < read_edf(good).n_samples
    assert "cut.edf" in caplog.text and "Incomplete data record" in caplog.text
    junk = tmp_path / "junk.edf"
    junk.write_bytes(b"hello, not an EDF header" * 20)
    with pytest.raises(FormatError, match=r"junk\.edf: not a readable EDF file"):
        read_edf(junk)
    plus_d = bytearray(data)
    plus_d[192:197] = b"EDF+D"
    disc = tmp_path / "disc.edf"
    disc.write_bytes(bytes(plus_d))
    with pytest.raises(FormatError, match="discontinuous EDF"):
        read_edf(disc)


def test_writer_leaves_nothing_behind_on_failure(tmp_path: Path) -> None:
    rec = night(seconds=60, fs=100 / 3, gaps=())
    with pytest.raises(Exception, match="whole number of samples"):
        write_recording(rec, tmp_path / "odd.edf")
    assert list(tmp_path.iterdir()) == []
