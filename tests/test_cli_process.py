"""`lmdetect simulate` -> `process` -> `evaluate`, as a user runs them, and bad input."""

import json

import pytest

from lmdetect.cli import main


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    d = tmp_path_factory.mktemp("sim") / "n"
    assert main(["simulate", "--profile", "rls", "--hours", "1", "--rate", "50", "--seed", "2", "--out", str(d)]) == 0
    return d


def test_process_then_evaluate(night, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["process", str(night / "night.lmr"), "--diary", str(night / "diary.csv"), "--out", str(out),
               "--no-report"])
    assert rc == 0
    doc = json.loads((out / "summary.json").read_text())
    for key in ("plms_index", "plmw_index", "clm_index", "plm_index_tib", "periodicity_index", "plm_clm_ratio",
                "n_lm", "n_clm", "n_plm", "n_plms", "tst_h", "tib_h", "sleep_source", "rule_set", "config_hash",
                "lmdetect_version", "input_sha256"):
        assert key in doc, key
    header = (out / "events.csv").read_text().splitlines()[0].split(",")
    assert header[:8] == ["onset_s", "duration_s", "side", "kind", "is_clm", "in_plm_series", "series_id", "stage"]
    capsys.readouterr()
    assert main(["evaluate", str(out), "--truth", str(night), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["lm_min_amplitude"]["f1"] > 0.9


def test_aasm_rules_from_the_command_line(night, tmp_path):
    out = tmp_path / "aasm"
    assert main(["process", str(night / "night.lmr"), "--rules", "aasm", "--out", str(out), "--no-report"]) == 0
    assert json.loads((out / "summary.json").read_text())["rule_set"] == "aasm"


def test_corrupt_recording_gives_a_clear_error_and_no_outputs(tmp_path, capsys):
    bad = tmp_path / "bad.lmr"
    bad.write_bytes(b"this is not an arrow stream" * 10)
    out = tmp_path / "out"
    assert main(["process", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.lmr" in err and "error" in err
    assert not out.exists() or list(out.iterdir()) == []


def test_unknown_extension_suggests_the_close_one(tmp_path, capsys):
    f = tmp_path / "night.lrm"
    f.write_bytes(b"x")
    assert main(["process", str(f), "--out", str(tmp_path / "o")]) == 2
    assert "did you mean .lmr" in capsys.readouterr().err


def test_malformed_diary_names_file_and_line(night, tmp_path, capsys):
    d = tmp_path / "diary.csv"
    d.write_text("kind,start,end,severity,note\nrls_episode,yesterday,,5,\n")
    assert main(["process", str(night / "night.lmr"), "--diary", str(d), "--out", str(tmp_path / "o")]) == 2
    assert "diary.csv, line 2" in capsys.readouterr().err


def test_a_given_hypnogram_takes_precedence(night, tmp_path):
    out = tmp_path / "hyp"
    rc = main(["process", str(night / "night.lmr"), "--hypnogram", str(night / "hypnogram.csv"),
               "--diary", str(night / "diary.csv"), "--out", str(out), "--no-report"])
    assert rc == 0
    doc = json.loads((out / "summary.json").read_text())
    truth = json.loads((night / "truth_summary.json").read_text())["indices"]
    assert doc["sleep_source"] == "hypnogram"
    assert abs(doc["tst_h"] - truth["tst_h"]) < 0.05


def test_score_events_rescores_our_own_events_csv(night, tmp_path):
    out = tmp_path / "p"
    assert main(["process", str(night / "night.lmr"), "--hypnogram", str(night / "hypnogram.csv"),
                 "--out", str(out), "--no-report"]) == 0
    again = tmp_path / "s"
    assert main(["score-events", str(out / "events.csv"), "--hypnogram", str(night / "hypnogram.csv"),
                 "--out", str(again)]) == 0
    a = json.loads((out / "summary.json").read_text())
    b = json.loads((again / "summary.json").read_text())
    assert a["n_plm"] == b["n_plm"] and a["n_clm"] == b["n_clm"]


def test_docs_outputs_describes_every_file_column_and_key(night, tmp_path):
    """docs/outputs.md names every file `process` writes, every column of its tables and every
    top-level key of summary.json."""
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "outputs.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([^`]+)`", doc))
    out = tmp_path / "out"
    assert main(["process", str(night / "night.lmr"), "--diary", str(night / "diary.csv"), "--pad-log",
                 str(night / "pad_log.csv"), "--out", str(out), "--no-report"]) == 0
    files = {p.name for p in out.iterdir()}
    assert files - named == set()
    for table in ("events.csv", "epochs.csv"):
        columns = (out / table).read_text().splitlines()[0].split(",")
        assert set(columns) - named == set(), table
    keys = set(json.loads((out / "summary.json").read_text()))
    documented = set()
    for name in named:  # a row may document several keys: `a`, `b`
        documented.update(k.strip() for k in name.split(","))
    assert keys - documented == set()
    assert {"report.html", "report.pdf", "batch"} <= named
