"""End-to-end batches through the default process pool: failures, resumability, shards, the CLI."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from lmdetect.batch import collate, run_batch
from lmdetect.cli import main
from lmdetect.config import Config
from lmdetect.errors import LmdetectError

N_GOOD = 18  # good nights in the cohort_dir fixture (conftest.py)


@pytest.fixture
def first_run(pool_run):
    return pool_run


def test_bad_files_are_listed_and_never_stop_the_batch(first_run, cohort_dir):
    s = first_run
    assert (s.n_done, s.n_skipped, s.n_failed) == (N_GOOD, 0, 2)
    cohort = pd.read_parquet(s.files["cohort_parquet"])
    assert len(cohort) == N_GOOD
    assert list(cohort.columns[:5]) == ["night_id", "participant", "night", "input_path", "input_sha256"]
    assert cohort["night_id"].tolist() == sorted(f"P{p:02d}/n{n}" for p in range(1, 10) for n in (1, 2))
    assert cohort["participant"].iloc[0] == "P01" and cohort["night"].iloc[0] == "n1"
    # metrics in snake_case with units, typed, with real values
    for col in ("plms_per_h", "clm_per_h", "tst_h", "rule_set"):
        assert col in cohort.columns
    # 15-min simulated "nights" spent almost all awake in bed (true TST 30 s): the PLMS index is
    # undefined exactly where no sleep was found
    assert cohort["tst_h"].between(0, 0.25).all() and (cohort["tst_h"] == 0).any()
    assert (cohort["plms_per_h"].isna() == (cohort["tst_h"] == 0)).all()
    assert (cohort["rule_set"] == "wasm2016").all() and cohort["plm_tib_per_h"].notna().all()
    assert isinstance(cohort["rule_set"].dtype, pd.CategoricalDtype)
    assert isinstance(cohort["recording_start"].dtype, pd.DatetimeTZDtype) and str(cohort["n_plms"].dtype) == "Int64"
    assert not any("/" in c or " " in c for c in cohort.columns)

    failures = pd.read_csv(s.files["failures_csv"])
    assert failures["night_id"].tolist() == ["P10/n1", "P10/n2"]
    msgs = dict(zip(failures["night_id"], failures["error"], strict=True))
    assert "n1.lmr" in msgs["P10/n1"] and "header" in msgs["P10/n1"]
    assert "n2.csv, line 120" in msgs["P10/n2"]
    assert (failures["error_type"] == "FormatError").all()
    assert failures["traceback"].str.contains("Traceback").all()
    # a failed night leaves no outputs behind
    assert not (s.out_dir / "nights" / "P10" / "n1").exists()
    assert not (s.out_dir / "nights" / "P10" / "n2").exists()
    # every processed night has its complete output set
    for nid in cohort["night_id"]:
        d = s.out_dir / "nights" / nid
        assert {"summary.json", "events.csv", "epochs.csv", "config.toml"} <= {p.name for p in d.iterdir()}


def test_csv_and_parquet_cohort_tables_agree(first_run):
    pq = pd.read_parquet(first_run.files["cohort_parquet"])
    csv = pd.read_csv(first_run.files["cohort_csv"])
    assert list(csv.columns) == list(pq.columns)
    pd.testing.assert_series_equal(csv["plms_per_h"], pq["plms_per_h"], check_exact=False, rtol=1e-5)


def test_manifest_records_versions_config_checksums_counts(first_run):
    doc = json.loads(first_run.files["manifest"].read_text())
    assert doc["counts"] == {"total": 20, "done": N_GOOD, "skipped": 0, "failed": 2}
    assert doc["config_hash"] == Config().hash() and doc["config"] == Config().to_dict()
    for pkg in ("lmdetect", "numpy", "scipy", "pandas", "pyarrow", "python"):
        assert doc["versions"][pkg]
    assert doc["engine"]["kind"] == "process-pool" and doc["engine"]["workers"] == 2
    nights = {n["night_id"]: n for n in doc["nights"]}
    cohort = first_run.cohort.set_index("night_id")
    for nid, n in nights.items():
        if n["status"] == "done":
            assert n["input_sha256"] == cohort.loc[nid, "input_sha256"]
            summary = json.loads((first_run.out_dir / "nights" / nid / "summary.json").read_text())
            assert summary["input_sha256"] == n["input_sha256"]
    assert nights["P10/n1"]["status"] == "failed" and len(nights["P10/n1"]["input_sha256"]) == 64


def test_rerun_skips_complete_nights_and_config_change_reprocesses(first_run, cohort_dir, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(first_run.out_dir, out)
    mtimes = {p: p.stat().st_mtime_ns for p in (out / "nights").rglob("events.csv")}

    again = run_batch([cohort_dir], out, workers=2)
    assert (again.n_done, again.n_skipped, again.n_failed) == (0, N_GOOD, 2)
    assert {p: p.stat().st_mtime_ns for p in (out / "nights").rglob("events.csv")} == mtimes
    pd.testing.assert_frame_equal(again.cohort, first_run.cohort)

    aasm = run_batch([cohort_dir], out, workers=2, config=Config(rules="aasm"))
    assert (aasm.n_done, aasm.n_skipped, aasm.n_failed) == (N_GOOD, 0, 2)
    assert (aasm.cohort["rule_set"] == "aasm").all()
    assert (aasm.cohort["config_hash"] == Config(rules="aasm").hash()).all()
    assert all(p.stat().st_mtime_ns != mtimes[p] for p in mtimes)


def test_changed_input_or_missing_summary_is_reprocessed(first_run, cohort_dir, tmp_path):
    src = tmp_path / "cohort"
    shutil.copytree(cohort_dir, src)
    out = tmp_path / "out"
    first = run_batch([src / "P01", src / "P02"], out, workers=1)
    assert first.n_done == 4
    shutil.copyfile(src / "P02" / "n1.lmr", src / "P01" / "n1.lmr")  # same name, other content
    (out / "nights" / "P02" / "n2" / "summary.json").unlink()  # an interrupted night
    again = run_batch([src / "P01", src / "P02"], out, workers=1)
    status = {o.night_id: o.status for o in again.outcomes}
    assert status == {"P01/n1": "done", "P01/n2": "skipped", "P02/n1": "skipped", "P02/n2": "done"}
    row = again.cohort.set_index("night_id").loc["P01/n1"]
    assert row["input_sha256"] == again.cohort.set_index("night_id").loc["P02/n1", "input_sha256"]


def test_shards_cover_the_cohort_and_collate_to_the_whole(first_run, cohort_dir, tmp_path):
    out = tmp_path / "out"
    parts = [run_batch([cohort_dir], out, workers=1, shard=f"{i}/3") for i in (1, 2, 3)]
    ids = [set(p.cohort["night_id"]) | set(p.failures["night_id"]) for p in parts]
    assert sum(len(i) for i in ids) == 20 and len(set.union(*ids)) == 20
    assert all(p.record_dir == out / "shards" / f"{i}-of-3" for i, p in enumerate(parts, start=1))
    assert not (out / "cohort.parquet").exists()

    res = collate([out])
    assert res.counts == {"total": 20, "done": N_GOOD, "skipped": 0, "failed": 2}
    merged = pd.read_parquet(out / "cohort.parquet")
    whole = first_run.cohort
    metric_cols = [c for c in whole.columns if c not in ("input_path",)]
    pd.testing.assert_frame_equal(merged[metric_cols], whole[metric_cols], check_dtype=False)
    assert pd.read_csv(out / "failures.csv")["night_id"].tolist() == ["P10/n1", "P10/n2"]
    doc = json.loads((out / "manifest.json").read_text())
    assert doc["kind"] == "collated" and len(doc["sources"]) == 3 and doc["missing_shards"] == []


def test_collate_refuses_missing_or_mismatched_shards(cohort_dir, tmp_path):
    out = tmp_path / "out"
    run_batch([cohort_dir / "P01"], out, workers=1, shard="1/2")
    with pytest.raises(LmdetectError, match="shard.* 2 of 2 have no outputs"):
        collate([out])
    res = collate([out], allow_partial=True)
    assert res.missing_shards == [2] and len(res.cohort) == 1

    other = tmp_path / "other"
    run_batch([cohort_dir / "P01"], other, workers=1, shard="2/2", config=Config(rules="aasm"))
    with pytest.raises(LmdetectError, match="disagree on config_hash"):
        collate([out, other], tmp_path / "merged")


def test_cli_batch_exit_status_and_collate(cohort_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["batch", str(cohort_dir / "P01"), str(cohort_dir / "P02"), "--out", str(out), "--quiet"]) == 0
    assert "4 night(s): 4 done, 0 skipped, 0 failed" in capsys.readouterr().out
    assert main(["batch", str(cohort_dir / "P10"), "--out", str(tmp_path / "bad"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "2 night(s) failed" in err and "failures.csv" in err
    assert main(["batch", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]) == 2
    assert "nowhere: no such file or folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["batch", str(cohort_dir), "--out", str(tmp_path / "x"), "--shard", "4/3"])
    assert exc.value.code == 2 and "1 <= I <= N" in capsys.readouterr().err


def test_cli_plain_progress_lines(cohort_dir, tmp_path, capsys):
    assert main(["batch", str(cohort_dir / "P01"), "--out", str(tmp_path / "o"), "--workers", "1"]) == 0
    err = capsys.readouterr().err.splitlines()
    lines = [ln for ln in err if ln.startswith("[")]
    assert len(lines) == 2 and lines[-1].startswith("[2/2] done")
    assert all("elapsed 0:00:" in ln and "ETA" in ln for ln in lines)
    main(["batch", str(cohort_dir / "P01"), "--out", str(tmp_path / "o"), "--workers", "1"])
    assert all(" skipped " in ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("["))


def test_split_nights_gives_one_row_per_night_and_resumes(tmp_path):
    from firmware_sim.night import simulate_night, write_night
    from tests.batch.batch_helpers import two_day_recording

    nights = [write_night(simulate_night("rls", hours=1.5, rate_hz=25, seed=s), tmp_path / f"s{s}")["recording"]
              for s in (31, 32)]
    week = tmp_path / "data" / "P07" / "week1.lmr"
    week.parent.mkdir(parents=True)
    two_day_recording(nights[0], nights[1], week)
    out = tmp_path / "out"
    s = run_batch([tmp_path / "data"], out, workers=1, split_nights="noon")
    assert s.n_failed == 0, s.failures.to_dict("records")
    assert s.cohort["night_id"].tolist() == ["P07/week1/2026-03-14", "P07/week1/2026-03-15"]
    assert s.cohort["night"].tolist() == ["2026-03-14", "2026-03-15"]
    assert (s.cohort["participant"] == "P07").all() and s.cohort["input_sha256"].nunique() == 1
    assert (s.cohort["tib_h"] > 1.4).all() and (s.cohort["tib_h"] < 1.6).all()
    assert json.loads((out / "nights" / "P07" / "week1" / "split.json").read_text())["nights"] == [
        "2026-03-14", "2026-03-15"]
    again = run_batch([tmp_path / "data"], out, workers=1, split_nights="noon")
    assert (again.n_done, again.n_skipped) == (0, 2)
    pd.testing.assert_frame_equal(again.cohort, s.cohort)


def test_output_folder_that_is_a_file_and_collate_usage_errors(cohort_dir, tmp_path, capsys):
    f = tmp_path / "taken"
    f.write_text("")
    with pytest.raises(LmdetectError, match="taken: exists and is not a folder"):
        run_batch([cohort_dir / "P01"], f)
    (tmp_path / "a").mkdir()
    assert main(["collate", str(tmp_path / "a"), str(tmp_path / "a")]) == 2
    assert "needs an output folder (--out)" in capsys.readouterr().err
    assert main(["collate", str(tmp_path / "a")]) == 2
    assert "no batch outputs here" in capsys.readouterr().err
