"""Device files that keep local time without an offset: `process --tz`, `batch --tz` and the manifest's
tz column place them against the diary; a diary outside the recording is refused."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from lmdetect.batch import run_batch
from lmdetect.cli import main
from lmdetect.io import read_recording, write_recording


@pytest.fixture(scope="module")
def device_night(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-h night as an Axivity device writes it: local wall time (Berlin, UTC+1), no offset."""
    d = tmp_path_factory.mktemp("tz")
    assert main(["simulate", "--profile", "rls", "--hours", "3", "--rate", "25", "--seed", "3", "--out", str(d)]) == 0
    rec = read_recording(d / "night.lmr")
    wall = rec.start.replace(tzinfo=dt.UTC)  # the wall clock digits, offset dropped
    write_recording(dataclasses.replace(rec, start=wall), d / "device.cwa")
    with open(d / "device.cwa", "r+b") as fh:  # header timeZone field: -1, unknown (as the devices write it)
        fh.seek(42)
        fh.write(b"\xff\xff")
    assert read_recording(d / "device.cwa").meta["time_zone_source"] == "assumed UTC"
    return d


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def _process(night: Path, out: Path, *extra: str) -> int:
    return main(["process", str(night / "device.cwa"), "--diary", str(night / "diary.csv"), "--out", str(out),
                 "--no-report", *extra])


def test_process_tz_aligns_a_device_file_with_its_diary(device_night, tmp_path, caplog):
    assert main(["process", str(device_night / "night.lmr"), "--diary", str(device_night / "diary.csv"),
                 "--out", str(tmp_path / "ref"), "--no-report"]) == 0
    ref = _summary(tmp_path / "ref")
    assert _process(device_night, tmp_path / "tz", "--tz", "Europe/Berlin") == 0
    good = _summary(tmp_path / "tz")
    assert good["tib_h"] == pytest.approx(ref["tib_h"])
    # the CWA stores the samples as its own integer counts: the quantisation may move one 30-s epoch
    assert good["tst_h"] == pytest.approx(ref["tst_h"], abs=30 / 3600 + 1e-9)
    assert good["plms_index"] == pytest.approx(ref["plms_index"], rel=0.01)  # over that TST
    assert good["recording"]["start"] == ref["recording"]["start"] == "2026-03-14T22:30:00+01:00"

    caplog.clear()
    assert _process(device_night, tmp_path / "utc") == 0  # read as UTC: an hour late against the diary
    assert any("give its zone with --tz" in r.getMessage() for r in caplog.records)
    bad = _summary(tmp_path / "utc")
    assert bad["tib_h"] < ref["tib_h"] - 0.5


def test_a_diary_outside_the_recording_is_refused_with_its_name(device_night, tmp_path, capsys):
    diary = _other_week(device_night, tmp_path)
    out = tmp_path / "o"
    rc = main(["process", str(device_night / "device.cwa"), "--tz", "Europe/Berlin", "--diary", str(diary),
               "--out", str(out), "--no-report"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "other_week.csv" in err and "no diary time falls within the recording" in err
    assert not out.exists()


def test_an_unknown_zone_is_a_clear_error(device_night, tmp_path, capsys):
    assert _process(device_night, tmp_path / "o", "--tz", "Europe/Berlim") == 2
    assert "unknown time zone 'Europe/Berlim'" in capsys.readouterr().err


def _other_week(night: Path, tmp_path: Path) -> Path:
    lines = (night / "diary.csv").read_text().splitlines()
    shifted = [lines[0]] + [ln.replace("2026-03-15", "2026-03-22").replace("2026-03-14", "2026-03-21") for ln in lines[1:]]
    diary = tmp_path / "other_week.csv"
    diary.write_text("\n".join(shifted) + "\n")
    return diary


def test_batch_tz_option_and_manifest_column(device_night, tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        "path,participant,night,diary,tz\n"
        f"{device_night / 'device.cwa'},P1,berlin,{device_night / 'diary.csv'},Europe/Berlin\n"
        f"{device_night / 'device.cwa'},P1,default,{device_night / 'diary.csv'},\n"
        f"{device_night / 'device.cwa'},P1,wrong_week,{_other_week(device_night, tmp_path)},Europe/Berlin\n"
    )
    s = run_batch([manifest], tmp_path / "out", workers=1)
    assert s.n_done == 2 and s.n_failed == 1, s.failures.to_dict("records")
    (failure,) = s.failures.to_dict("records")
    assert failure["night_id"] == "P1/wrong_week" and "other_week.csv" in failure["error"]
    assert "no diary time falls within the recording" in failure["error"]
    berlin = _summary(tmp_path / "out" / "nights" / "P1" / "berlin")
    default = _summary(tmp_path / "out" / "nights" / "P1" / "default")
    assert berlin["recording"]["start"] == "2026-03-14T22:30:00+01:00" and berlin["batch"]["tz"] == "Europe/Berlin"
    assert default["recording"]["start"] == "2026-03-14T22:30:00+00:00"
    assert default["tib_h"] < berlin["tib_h"] - 0.5

    # --tz for the rows without one: that night is processed again (its zone changed), the other is kept
    s = run_batch([manifest], tmp_path / "out", workers=1, tz="Europe/Berlin")
    status = {o.night_id: o.status for o in s.outcomes}
    assert status == {"P1/berlin": "skipped", "P1/default": "done", "P1/wrong_week": "failed"}
    assert _summary(tmp_path / "out" / "nights" / "P1" / "default")["tib_h"] == pytest.approx(berlin["tib_h"])


def test_batch_cli_takes_tz(device_night, tmp_path):
    out = tmp_path / "out"
    assert main(["batch", str(device_night / "device.cwa"), "--out", str(out), "--tz", "+01:00", "--quiet"]) == 0
    (doc,) = [json.loads(p.read_text()) for p in out.glob("nights/**/summary.json")]
    assert doc["recording"]["start"] == "2026-03-14T22:30:00+01:00"
