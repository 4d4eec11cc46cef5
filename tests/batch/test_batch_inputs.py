"""Inputs of a batch: manifests, folder scans, night ids, shards."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lmdetect.batch import run_batch
from lmdetect.batch.inputs import collect_nights, is_manifest, parse_shard, read_manifest, select_shard
from lmdetect.errors import ConfigError, FormatError, LmdetectError


def test_ids_do_not_depend_on_how_the_night_was_named(cohort_dir):
    whole = {n.night_id: n for n in collect_nights([cohort_dir])}
    assert len(whole) == 20 and "P01/n1" in whole and whole["P10/n2"].path.endswith("n2.csv")
    assert [n.night_id for n in collect_nights([cohort_dir / "P01"])] == ["P01/n1", "P01/n2"]
    only = collect_nights([cohort_dir / "P01" / "n2.lmr"])
    assert [(n.night_id, n.participant, n.night) for n in only] == [("P01/n2", "P01", "n2")]


def test_folder_scan_skips_side_files_hidden_files_outputs_and_manifests(sim_nights, tmp_path):
    night = tmp_path / "data" / "S1"
    shutil.copytree(sim_nights[0].parent, night)  # night.lmr + diary.csv, pad_log.csv, truth_lm.csv, ...
    (night / ".partial.lmr").write_bytes(b"x")
    (tmp_path / "data" / "m.csv").write_text("path\nS1/night.lmr\n")
    (tmp_path / "data" / "out").mkdir()
    shutil.copyfile(sim_nights[1], tmp_path / "data" / "out" / "other.lmr")
    nights = collect_nights([tmp_path / "data"], exclude=tmp_path / "data" / "out")
    assert [n.night_id for n in nights] == ["S1/night"]


def test_manifest_paths_labels_side_files_and_covariates(sim_nights, tmp_path):
    folder = tmp_path / "study"
    shutil.copytree(sim_nights[0].parent, folder / "a")
    shutil.copyfile(sim_nights[1], folder / "b.lmr")
    (folder / "nights.csv").write_text(
        "Path,Participant,Night,Diary,Pad Log,group\n"
        "a/night.lmr,P 01,2026-03-14,a/diary.csv,,rls\n"
        "\n"
        "b.lmr,,,,,control\n"
    )
    nights = read_manifest(folder / "nights.csv")
    a, b = sorted(nights, key=lambda n: n.path)
    assert a.night_id == "P_01/2026-03-14" and a.participant == "P 01" and a.night == "2026-03-14"
    assert Path(a.path) == folder / "a" / "night.lmr" and Path(a.diary) == folder / "a" / "diary.csv"
    assert a.pad_log is None and a.covariates == (("group", "rls"),)
    assert b.night_id == "b" and b.night == "b"

    s = run_batch([folder / "nights.csv"], tmp_path / "out", workers=1)
    assert s.n_done == 2, s.failures.to_dict("records")
    rows = s.cohort.set_index("night_id")
    assert rows.loc["P_01/2026-03-14", "sleep_source"] == "diary+actigraphy"
    assert rows.loc["b", "sleep_source"] == "actigraphy"
    assert rows.loc["b", "group"] == "control" and s.cohort.columns[-1] == "group"
    assert (tmp_path / "out" / "nights" / "P_01" / "2026-03-14" / "summary.json").is_file()


@pytest.mark.parametrize(
    "text,line,msg",
    [
        ("file,night\nx.lmr,1\n", 1, "no 'path' column"),
        ("path,night\nx.lmr,1\n,2\n", 3, "empty 'path'"),
        ("path,night\nx.lmr,1,extra\n", 2, "3 fields but the header has 2"),
        ("path,Night,night\nx.lmr,1,1\n", 1, "duplicate column"),
    ],
)
def test_bad_manifest_names_file_and_line(tmp_path, text, line, msg):
    m = tmp_path / "m.csv"
    m.write_text(text)
    with pytest.raises(FormatError, match=rf"m\.csv, line {line}: .*{msg}"):
        read_manifest(m)


def test_missing_recording_is_a_failed_night_but_missing_folder_an_error(sim_nights, tmp_path):
    s = run_batch([sim_nights[0], tmp_path / "gone.lmr"], tmp_path / "out", workers=1)
    assert (s.n_done, s.n_failed) == (1, 1)
    assert "gone.lmr: file not found" in s.failures["error"].iloc[0]
    with pytest.raises(LmdetectError, match="nowhere: no such file or folder"):
        collect_nights([tmp_path / "nowhere"])
    with pytest.raises(LmdetectError, match="no recordings found"):
        (tmp_path / "empty").mkdir()
        run_batch([tmp_path / "empty"], tmp_path / "out2")


def test_two_files_for_one_output_folder_is_an_error(sim_nights, tmp_path):
    for sub in ("x", "y"):
        (tmp_path / sub / "P1").mkdir(parents=True)
        shutil.copyfile(sim_nights[0], tmp_path / sub / "P1" / "n.lmr")
    with pytest.raises(LmdetectError, match=r"would both be written to nights/P1/n"):
        collect_nights([tmp_path / "x", tmp_path / "y"])


def test_shards_are_disjoint_and_cover_every_night(cohort_dir):
    nights = collect_nights([cohort_dir])
    parts = [select_shard(nights, (i, 7)) for i in range(1, 8)]
    ids = [n.night_id for p in parts for n in p]
    assert sorted(ids) == sorted(n.night_id for n in nights) and len(ids) == len(set(ids))
    assert max(len(p) for p in parts) - min(len(p) for p in parts) <= 1
    assert select_shard(nights, (30, 30)) == []
    assert parse_shard("3/10") == (3, 10) and parse_shard(" 1 / 1 ") == (1, 1)
    for bad in ("0/3", "4/3", "3", "a/b", "-1/2"):
        with pytest.raises(ConfigError):
            parse_shard(bad)


def test_the_same_file_named_twice_is_one_night(cohort_dir, monkeypatch):
    monkeypatch.chdir(cohort_dir)
    nights = collect_nights(["P01", "./P01/n1.lmr", cohort_dir / "P01" / "n1.lmr"])
    assert [n.night_id for n in nights] == ["P01/n1", "P01/n2"]


def test_manifest_tz_column_is_read_and_checked(tmp_path):
    m = tmp_path / "m.csv"
    m.write_text("path,participant,TZ\na.cwa,P1,Europe/Berlin\nb.cwa,P1,\nc.cwa,P1,+05:30\n")
    tz = {Path(n.path).name: n.tz for n in read_manifest(m)}
    assert tz == {"a.cwa": "Europe/Berlin", "b.cwa": None, "c.cwa": "+05:30"}
    assert all(not n.covariates for n in read_manifest(m))  # tz is a known column, not a covariate
    m.write_text("path,tz\na.cwa,Europe/Berlin\nb.cwa,Mars/Olympus\n")
    with pytest.raises(FormatError, match=r"m\.csv, line 3: column tz: unknown time zone 'Mars/Olympus'"):
        read_manifest(m)


def test_manifest_condition_columns_flag_nights_and_are_not_covariates(tmp_path):
    m = tmp_path / "nights.csv"
    m.write_text(
        "path,participant,night,Condition_Foot_Wrap,condition_ropinirole,group\n"
        "a.lmr,P01,1,yes,0,rls\n"
        "b.lmr,P01,2,,TRUE,rls\n"
        "c.lmr,P01,3,1,y,rls\n"
    )
    nights = read_manifest(m)
    assert [n.conditions for n in nights] == [("foot_wrap",), ("ropinirole",), ("foot_wrap", "ropinirole")]
    assert all(n.covariates == (("group", "rls"),) for n in nights)


@pytest.mark.parametrize(
    "header,row,msg",
    [
        ("path,condition_foot_wrap", "a.lmr,maybe", r"line 2: column condition_foot_wrap: 'maybe' is not one of"),
        ("path,condition_", "a.lmr,1", "line 1: column 'condition_': a condition name"),
        ("path,condition_2x", "a.lmr,1", "line 1: column 'condition_2x'"),
    ],
)
def test_manifest_bad_condition_column_names_file_line_and_column(tmp_path, header, row, msg):
    m = tmp_path / "nights.csv"
    m.write_text(f"{header}\n{row}\n")
    with pytest.raises(FormatError, match=msg) as info:
        read_manifest(m)
    assert "nights.csv" in str(info.value)


@pytest.mark.parametrize("sep", ["\t", ";"])
def test_manifest_saved_by_excel_with_tabs_or_semicolons(sim_nights, tmp_path, sep):
    folder = tmp_path / "study"
    shutil.copyfile(sim_nights[1], folder.mkdir() or folder / "b.lmr")
    (folder / "nights.csv").write_text(sep.join(["path", "participant", "group"]) + "\n" + sep.join(["b.lmr", "P1", "rls"]) + "\n")
    assert is_manifest(folder / "nights.csv")
    (night,) = read_manifest(folder / "nights.csv")
    assert Path(night.path) == folder / "b.lmr" and night.participant == "P1" and night.covariates == (("group", "rls"),)
