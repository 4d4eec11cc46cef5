"""One night in isolation: run_night_job's done / skipped / failed decisions, in-process."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from lmdetect.batch.engine import _job
from lmdetect.batch.inputs import NightInput
from lmdetect.batch.worker import run_night_job, version_key
from lmdetect.config import Config
from tests.batch.batch_helpers import csv_with_bad_line, garbage_lmr, truncated_lmr


def job_for(path: Path, out: Path, *, config: Config | None = None, reports: bool = False, **kw):
    config = config or Config()
    return _job(NightInput(night_id="P/n", path=str(path), **kw), out, config, config.hash(), reports)


def test_done_then_skipped_with_the_same_row(sim_nights, tmp_path):
    job = job_for(sim_nights[0], tmp_path)
    first = run_night_job(job)
    assert first.status == "done", first.traceback
    assert set(first.timings_s) == {"hash", "read", "process", "write", "total"}
    doc = json.loads((tmp_path / "nights" / "P" / "n" / "summary.json").read_text())
    assert doc["input_sha256"] == first.input_sha256 and doc["batch"]["night_id"] == "P/n"
    second = run_night_job(job)
    assert second.status == "skipped" and dict(second.row) == dict(first.row)
    assert "process" not in second.timings_s


@pytest.mark.parametrize(
    "make,expected",
    [
        (lambda good, d: truncated_lmr(good, d / "t.lmr"), r"t\.lmr: file ends inside the header"),
        (lambda good, d: garbage_lmr(d / "g.lmr"), r"g\.lmr, byte 0: not an lmdetect recording"),
        (lambda good, d: csv_with_bad_line(good, d / "b.csv", bad_line=7), r"b\.csv, line 7: column 'y'"),
    ],
    ids=["truncated-lmr-header", "garbage-bytes", "csv-bad-line"],
)
def test_corrupt_file_fails_with_its_name_and_leaves_nothing(sim_nights, tmp_path, make, expected):
    bad = make(sim_nights[0], tmp_path)
    out = run_night_job(job_for(bad, tmp_path / "out"))
    assert out.status == "failed" and out.error_type == "FormatError" and out.row is None
    assert out.traceback.startswith("Traceback")
    assert re.search(expected, out.error), out.error
    assert not (tmp_path / "out" / "nights" / "P" / "n").exists()


def test_missing_file_fails_but_keeps_earlier_outputs(sim_nights, tmp_path):
    src = tmp_path / "n.lmr"
    shutil.copyfile(sim_nights[0], src)
    assert run_night_job(job_for(src, tmp_path / "out")).status == "done"
    src.unlink()
    out = run_night_job(job_for(src, tmp_path / "out"))
    assert out.status == "failed" and "n.lmr: file not found" in out.error and out.input_sha256 is None
    assert (tmp_path / "out" / "nights" / "P" / "n" / "summary.json").is_file()


def test_input_replaced_by_a_corrupt_file_removes_stale_outputs(sim_nights, tmp_path):
    src = tmp_path / "n.lmr"
    shutil.copyfile(sim_nights[0], src)
    assert run_night_job(job_for(src, tmp_path / "out")).status == "done"
    garbage_lmr(src)
    assert run_night_job(job_for(src, tmp_path / "out")).status == "failed"
    assert not (tmp_path / "out" / "nights" / "P" / "n").exists()


def test_side_file_change_reprocesses(sim_nights, tmp_path):
    diary = tmp_path / "diary.csv"
    shutil.copyfile(sim_nights[0].parent / "diary.csv", diary)
    job = job_for(sim_nights[0], tmp_path / "out", diary=str(diary))
    first = run_night_job(job)
    assert first.status == "done", first.traceback
    assert first.row["sleep_source"] == "diary+actigraphy"
    assert set(first.sidecar_sha256) == {"diary"}
    assert run_night_job(job).status == "skipped"
    diary.write_text(diary.read_text() + "\n")  # same content for the reader, new checksum
    assert run_night_job(job).status == "done"


def test_reports_requested_later_reprocess(sim_nights, tmp_path):
    assert run_night_job(job_for(sim_nights[0], tmp_path)).status == "done"
    with_report = run_night_job(job_for(sim_nights[0], tmp_path, reports=True))
    assert with_report.status == "done", with_report.traceback
    assert (tmp_path / "nights" / "P" / "n" / "report.html").stat().st_size > 1000
    assert run_night_job(job_for(sim_nights[0], tmp_path, reports=True)).status == "skipped"


def test_version_key_is_major_minor():
    assert version_key("0.1.0") == "0.1" and version_key("2.13.4.dev1+g123") == "2.13"
    assert version_key("0.0.0+unknown") == "0.0"


def test_worker_with_other_lmdetect_code_refuses_the_night(sim_nights, tmp_path):
    import dataclasses

    job = dataclasses.replace(job_for(sim_nights[0], tmp_path), config_hash="0123456789abcdef")
    out = run_night_job(job)
    assert out.status == "failed" and "worker runs different lmdetect code" in out.error
    assert not (tmp_path / "nights" / "P" / "n").exists()


@pytest.mark.parametrize("name", ["events.csv", "epochs.csv"])
def test_a_changed_output_file_reprocesses_the_night(sim_nights, tmp_path, name, caplog):
    job = job_for(sim_nights[0], tmp_path)
    first = run_night_job(job)
    assert first.status == "done", first.traceback
    path = tmp_path / "nights" / "P" / "n" / name
    original = path.read_bytes()
    path.write_bytes(original.replace(b"\n", b"\r\n", 1))  # still a readable table, another file
    again = run_night_job(job)
    assert again.status == "done" and dict(again.row) == dict(first.row)
    assert path.read_bytes() == original  # written anew
    assert any(name in r.getMessage() and "fail their check" in r.getMessage() for r in caplog.records)
    assert run_night_job(job).status == "skipped"
