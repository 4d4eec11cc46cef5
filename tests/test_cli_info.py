"""``lmdetect info``: text and JSON output for .lmr and CSV recordings, and its errors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from lmdetect.cli import main
from lmdetect.io.native import LmrHeader, LmrWriter
from lmdetect.protocol import Flags

CET = dt.timezone(dt.timedelta(hours=1))


def make_lmr(path: Path, *, cut_bytes: int = 0) -> None:
    """50 Hz, packets of 10; packets 30-39 lost (a 2-s gap), 45-49 arrive as resent copies."""
    header = LmrHeader(fs=50.0, start=dt.datetime(2024, 3, 1, 23, 0, tzinfo=CET), tick_hz=32768.0,
                       scale_g=8 / 32768, range_g=8.0, device_id="LM-7", side="right", sensor="ref-fw",
                       firmware="2.0")
    with LmrWriter(path, header, flush_interval_s=3600) as w:
        for s in [*range(30), *range(40, 60)]:
            flags = int(Flags.RESENT) if 45 <= s < 50 else 0
            w.write_packet(s, round(s * 10 * 32768 / 50), np.zeros((10, 3), np.int16), flags=flags)
            if s % 10 == 9:
                w.flush()
    if cut_bytes:
        path.write_bytes(path.read_bytes()[:-cut_bytes])


def run_info(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["info", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_info_lmr_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_lmr(tmp_path / "n.lmr")
    code, out, _ = run_info(capsys, str(tmp_path / "n.lmr"), "--json")
    assert code == 0
    info = json.loads(out)
    assert info["start"] == "2024-03-01T23:00:00+01:00"
    assert info["n_samples"] == 500 and info["fs_nominal_hz"] == 50.0
    assert info["fs_effective_hz"] == pytest.approx(50.0, abs=1e-3)
    assert info["n_gaps"] == 1 and info["gap_total_s"] == pytest.approx(2.0, abs=1e-3)
    assert info["gap_largest_s"] == pytest.approx(2.0, abs=1e-3)
    assert info["gap_largest_onset_s"] == pytest.approx(6.0, abs=1e-3)
    assert info["duration_s"] == pytest.approx(12.0, abs=1e-3)
    assert (info["device_id"], info["side"], info["range_g"]) == ("LM-7", "right", 8.0)
    assert info["n_backfilled"] == 50 and info["sensor"] == "ref-fw" and info["firmware"] == "2.0"
    assert info["closed"] is True and info["truncated"] is False and info["format"] == "lmdetect recording"


def test_info_lmr_text_truncated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_lmr(tmp_path / "t.lmr", cut_bytes=40)
    code, out, _ = run_info(capsys, str(tmp_path / "t.lmr"))
    assert code == 0
    fields = dict(line.split(None, 1) for line in out.strip().splitlines())
    assert fields["samples"] == "400"  # the last batch of 100 samples was cut
    assert fields["tail"].startswith("TRUNCATED") and "bytes of an incomplete batch dropped" in fields["tail"]
    assert fields["gaps"].startswith("1, 2.000 s in total, largest 2.000 s at 23:00:06")
    assert fields["rate"].startswith("50 Hz nominal")
    assert fields["range"] == "+-8 g" and fields["side"] == "right"
    assert fields["start"] == "2024-03-01T23:00:00+01:00"
    code, out, _ = run_info(capsys, str(tmp_path / "t.lmr"), "--json")
    info = json.loads(out)
    assert info["truncated"] is True and info["closed"] is False and info["dropped_bytes"] > 0


def test_info_csv_with_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = "".join(f"{i / 25:.2f},0,0,1\n" for i in range(100))
    (tmp_path / "r.csv").write_text("t,x,y,z\n" + rows)
    code, out, err = run_info(capsys, str(tmp_path / "r.csv"))
    assert code == 2 and "--start" in err and "r.csv" in err
    code, out, _ = run_info(capsys, str(tmp_path / "r.csv"), "--start", "2024-03-01T22:00:00-05:00", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["start"] == "2024-03-01T22:00:00-05:00" and info["n_samples"] == 100
    assert info["fs_nominal_hz"] == 25.0 and info["truncated"] is None and info["n_gaps"] == 0
    code, out, _ = run_info(capsys, str(tmp_path / "r.csv"), "--start", "2024-03-01T22:00:00-05:00")
    fields = dict(line.split(None, 1) for line in out.strip().splitlines())
    assert fields["tail"].startswith("n/a") and fields["gaps"] == "none" and fields["range"] == "unknown"


def test_info_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_lmr(tmp_path / "n.lmr")
    code, _, err = run_info(capsys, str(tmp_path / "n.lmr"), "--start", "2024-03-01T22:00:00Z")
    assert code == 2 and "--start applies only to CSV" in err
    code, _, err = run_info(capsys, str(tmp_path / "missing.lmr"))
    assert code == 2 and "missing.lmr" in err and "not found" in err
    (tmp_path / "bad.lmr").write_bytes(b"hello world, not arrow at all")
    code, _, err = run_info(capsys, str(tmp_path / "bad.lmr"))
    assert code == 2 and "bad.lmr" in err and "not an lmdetect recording" in err
    (tmp_path / "bad.csv").write_text("t,x,y,z\n0,0,0,1\n0.1,0,x,1\n")
    code, _, err = run_info(capsys, str(tmp_path / "bad.csv"), "--start", "2024-03-01T22:00:00Z")
    assert code == 2 and "bad.csv, line 3" in err


def test_info_tz_places_a_device_file_in_its_zone(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    cwa = Path(__file__).parent / "data" / "readers" / "ax3_sample.cwa"
    code, out, _ = run_info(capsys, str(cwa), "--json")
    assert code == 0 and "--tz Area/City" in caplog.text  # the warning names the option the command has
    assert json.loads(out)["start"].endswith("+00:00")
    caplog.clear()
    code, out, _ = run_info(capsys, str(cwa), "--json", "--tz", "Europe/Berlin")
    assert code == 0 and "assuming UTC" not in caplog.text
    # the device clock read 09:03:37 local time: 08:03:37 UTC in February in Berlin
    assert json.loads(out)["start"].startswith("2020-02-12T09:03:37.") and json.loads(out)["start"].endswith("+01:00")
