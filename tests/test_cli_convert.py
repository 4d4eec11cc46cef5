"""``lmdetect convert`` and ``lmdetect split-nights``: outputs, provenance, refusals and errors."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import zoneinfo
from pathlib import Path

import numpy as np
import pytest

from lmdetect.cli import main
from lmdetect.io import read_recording
from lmdetect.io.cwa import write_cwa
from lmdetect.io.native import read_lmr
from lmdetect.model import Recording

DATA = Path(__file__).resolve().parent / "data" / "readers"
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def week(tmp_path: Path, days: float = 3.5) -> Path:
    """A multi-day AX3-style file at 6.25 Hz starting Thursday 26 March 2026, 15:00 CET."""
    fs = 6.25
    n = int(days * 86400 * fs)
    t = np.arange(n) / fs
    a = np.zeros((n, 3), np.float32)
    a[:, 2] = 1.0
    a[:, 0] = 0.1 * np.sin(t / 50)
    start = dt.datetime(2026, 3, 26, 15, 0, tzinfo=BERLIN)
    rec = Recording(a, t, fs, start, device_id="AX3-7", side="right", range_g=8.0)
    path = tmp_path / "week.cwa"
    write_cwa(rec, path)
    return path


def test_convert_gt3x_to_lmr_records_provenance(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "a.gt3x"
    shutil.copyfile(DATA / "actigraph_neo_ism.gt3x", src)
    out = tmp_path / "a.lmr"
    assert main(["convert", str(src), str(out), "--tz", "Europe/Berlin"]) == 0
    assert "12617 samples at 30 Hz" in capsys.readouterr().out
    rec = read_lmr(out)
    assert rec.meta["source_sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert rec.meta["source_file"] == "a.gt3x" and rec.meta["idle_sleep_mode_episodes"] == "1"
    assert rec.start.astimezone(dt.UTC) == dt.datetime(2026, 3, 29, 0, 55, tzinfo=dt.UTC)
    assert not np.any((rec.time_s >= 121) & (rec.time_s < 300))  # the idle-sleep gap survives


def test_convert_lmr_to_edf_and_bids(tmp_path: Path) -> None:
    pytest.importorskip("edfio")
    lmr = tmp_path / "n.lmr"
    assert main(["convert", str(DATA / "actigraph_mos_dst.gt3x"), str(lmr), "--tz", "Europe/Berlin"]) == 0
    edf = tmp_path / "n.edf"
    bids = tmp_path / "sub-01_task-sleep_tracksys-IMU_motion.tsv"
    assert main(["convert", str(lmr), str(edf)]) == 0
    assert main(["convert", str(lmr), str(bids), "--tz", "America/New_York"]) == 0
    a, b, c = read_recording(lmr), read_recording(edf), read_recording(bids)
    assert a.n_samples == b.n_samples == c.n_samples == 9000
    utc = dt.UTC  # 02:50 on 25 October is ambiguous in Berlin: compare instants
    assert a.start.astimezone(utc) == b.start.astimezone(utc) == c.start.astimezone(utc)
    assert c.start.tzinfo == zoneinfo.ZoneInfo("America/New_York")
    np.testing.assert_allclose(b.accel_g, a.accel_g, atol=8 / 32767)
    np.testing.assert_allclose(c.accel_g, a.accel_g, atol=1e-6)


def test_convert_refuses_to_overwrite_and_bad_targets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = DATA / "actigraph_mos_dst.gt3x"
    out = tmp_path / "x.lmr"
    out.write_bytes(b"keep me")
    assert main(["convert", str(src), str(out)]) == 2
    assert "exists; use --force" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me"
    assert main(["convert", str(src), str(out), "--force"]) == 0
    assert read_lmr(out).n_samples == 9000
    assert main(["convert", str(src), str(tmp_path / "x.lrm")]) == 2
    assert "did you mean .lmr" in capsys.readouterr().err
    assert main(["convert", str(src), str(tmp_path / "y.lmr"), "--start", "2026-01-01T00:00:00Z"]) == 2
    assert "ActiGraph GT3X files do not take start" in capsys.readouterr().err
    assert main(["convert", str(src), str(tmp_path / "z.lmr"), "--tz", "Nowhere/City"]) == 2
    assert "unknown time zone 'Nowhere/City'" in capsys.readouterr().err
    assert not (tmp_path / "x.lrm").exists() and not (tmp_path / "y.lmr").exists()


def test_convert_corrupt_input_leaves_no_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = week(tmp_path, days=0.1)
    data = bytearray(src.read_bytes())
    data[1024 + 512 * 7 + 99] ^= 0xFF
    bad = tmp_path / "bad.cwa"
    bad.write_bytes(bytes(data))
    assert main(["convert", str(bad), str(tmp_path / "bad.lmr")]) == 2
    err = capsys.readouterr().err
    assert "lmdetect convert: error:" in err and "bad.cwa, byte 4608: data block 7 fails its checksum" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.cwa", "week.cwa"]


def test_formats_listing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", "--formats"]) == 0
    out = capsys.readouterr().out
    for ext in (".cwa", ".bin", ".gt3x", ".edf", ".bdf", "_motion.tsv", ".lmr"):
        assert ext in out


def test_split_nights_noon_to_noon(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = week(tmp_path)
    outdir = tmp_path / "nights"
    assert main(["split-nights", str(src), str(outdir), "--tz", "Europe/Berlin"]) == 0
    names = sorted(p.name for p in outdir.iterdir())
    assert names == [f"night-2026-03-{d}.lmr" for d in (26, 27, 28, 29)]
    dst = read_lmr(outdir / "night-2026-03-28.lmr")
    assert dst.duration_s == pytest.approx(23 * 3600, abs=1.0)  # the spring change shortens it
    assert dst.start.astimezone(BERLIN).hour == 12
    assert dst.meta["night"] == "2026-03-28" and dst.meta["source_file"] == "week.cwa"
    first = read_lmr(outdir / "night-2026-03-26.lmr")
    assert first.start.astimezone(BERLIN).hour == 15  # the recording starts mid-afternoon
    assert "night-2026-03-29.lmr" in capsys.readouterr().out
    assert main(["split-nights", str(src), str(outdir)]) == 2
    assert "exists; use --force" in capsys.readouterr().err


def test_split_nights_by_diary(tmp_path: Path) -> None:
    pytest.importorskip("edfio")
    src = week(tmp_path)
    diary = tmp_path / "diary.csv"
    diary.write_text(
        "kind,start,end,severity,note\n"
        "lights_off,2026-03-26T23:05:00+01:00,,,\n"
        "lights_on,2026-03-27T06:50:00+01:00,,,\n"
        "lights_off,2026-03-28T00:15:00+01:00,,,\n"
        "lights_on,2026-03-28T07:00:00+01:00,,,\n"
    )
    outdir = tmp_path / "n"
    args = ["--method", "diary", "--diary", str(diary), "--margin-min", "10", "--format", "edf"]
    assert main(["split-nights", str(src), str(outdir), *args]) == 0
    names = sorted(p.name for p in outdir.iterdir())
    assert names == ["night-2026-03-26.edf", "night-2026-03-27.edf"]
    n2 = read_recording(outdir / "night-2026-03-27.edf")
    assert abs(n2.start - dt.datetime(2026, 3, 28, 0, 5, tzinfo=BERLIN)) < dt.timedelta(milliseconds=1)
    assert n2.duration_s == pytest.approx((6 * 60 + 45 + 20) * 60, abs=1.0)


def test_split_nights_option_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = week(tmp_path, days=0.5)
    assert main(["split-nights", str(src), str(tmp_path / "o"), "--method", "diary"]) == 2
    assert "--method diary needs --diary" in capsys.readouterr().err
    assert main(["split-nights", str(src), str(tmp_path / "o"), "--min-hours", "48"]) == 2
    assert "no night with at least 48 h" in capsys.readouterr().err
    assert main(["split-nights", str(src), str(tmp_path / "o"), "--format", ".xyz"]) == 2
    assert not (tmp_path / "o").exists()
