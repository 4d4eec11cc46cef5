"""Per-night conditions in a batch: diary interventions and manifest flags become cohort columns."""

from __future__ import annotations

import json
import shutil

import pandas as pd

from lmdetect.batch import run_batch


def _study(sim_nights, tmp_path):
    folder = tmp_path / "study"
    for i, name in enumerate("abc"):
        shutil.copytree(sim_nights[i].parent, folder / name)
    # night a: a foot wrap logged in the diary (the simulated diary plus one row)
    diary = (folder / "a" / "diary.csv").read_text().splitlines()
    lights_off = next(line for line in diary if line.startswith("lights_off")).split(",")[1]
    (folder / "a" / "diary.csv").write_text(
        diary[0] + ",name,dose\n" + "\n".join(diary[1:]) + f"\nintervention,{lights_off},,,,foot_wrap,\n"
    )
    return folder


def test_conditions_from_diary_and_manifest_land_in_summary_and_cohort(sim_nights, tmp_path):
    folder = _study(sim_nights, tmp_path)
    manifest = folder / "nights.csv"
    manifest.write_text(
        "path,participant,night,diary,condition_ropinirole,group\n"
        "a/night.lmr,P01,1,a/diary.csv,no,x\n"
        "b/night.lmr,P01,2,b/diary.csv,yes,x\n"
        "c/night.lmr,P01,3,,,x\n"
    )
    out = tmp_path / "out"
    s = run_batch([manifest], out, workers=1)
    assert s.n_done == 3, s.failures.to_dict("records")
    c = s.cohort.set_index("night")
    assert list(c["condition_foot_wrap"]) == [True, False, False]
    assert list(c["condition_ropinirole"]) == [False, True, False]
    assert c["condition_foot_wrap"].dtype == bool and "condition_pad" not in c.columns
    assert c.loc["1", "interventions"].startswith("foot_wrap ") and c.loc["3", "interventions"] == ""
    cols = list(s.cohort.columns)
    assert cols.index("condition_foot_wrap") == cols.index("interventions") + 1 and cols[-1] == "group"
    doc = json.loads((out / "nights" / "P01" / "2" / "summary.json").read_text())
    assert doc["conditions"] == ["ropinirole"]
    assert doc["interventions"][-1]["source"] == "manifest"
    parquet = pd.read_parquet(out / "cohort.parquet")
    assert parquet["condition_ropinirole"].dtype == bool and parquet["condition_ropinirole"].sum() == 1

    # the manifest is corrected: the rerun skips the finished nights but takes the flags as they are now
    manifest.write_text(manifest.read_text().replace("P01,2,b/diary.csv,yes", "P01,2,b/diary.csv,no")
                        .replace("P01,3,,,x", "P01,3,,1,x"))
    again = run_batch([manifest], out, workers=1)
    assert again.n_skipped == 3
    c2 = again.cohort.set_index("night")
    assert list(c2["condition_ropinirole"]) == [False, False, True]
    assert list(c2["condition_foot_wrap"]) == [True, False, False]


def test_condition_columns_from_summaries_are_boolean_and_complete():
    from lmdetect.batch.cohort import cohort_table
    from lmdetect.results.cohort import condition_columns

    wrap = {"conditions": ["caffeine", "foot_wrap", "pad", "ropinirole"], "interventions": [
        {"name": "foot_wrap", "start": "2026-03-14T22:30:00+01:00", "end": "2026-03-15T06:10:00+01:00",
         "dose": None, "date": None, "source": "diary"},
        {"name": "pad", "start": "2026-03-14T22:50:00+01:00", "end": "2026-03-14T23:25:00+01:00",
         "dose": None, "date": None, "source": "pad_log"},
        {"name": "ropinirole", "start": "2026-03-14T21:00:00+01:00", "end": None, "dose": "0.25 mg", "date": None,
         "source": "diary"},
        {"name": "caffeine", "start": None, "end": None, "dose": None, "date": None, "source": "manifest"},
    ]}
    cols = condition_columns(wrap)
    assert cols["interventions"] == "foot_wrap 22:30-06:10; pad 22:50-23:25; ropinirole 0.25 mg 21:00"
    assert {k for k in cols if k.startswith("condition_")} == {
        "condition_caffeine", "condition_foot_wrap", "condition_pad", "condition_ropinirole"}
    # the manifest's flags as they are now replace those recorded, the diary's and the pad's stay
    now = condition_columns(wrap, manifest_conditions=["alcohol"])
    assert {k for k in now if k.startswith("condition_")} == {
        "condition_foot_wrap", "condition_pad", "condition_ropinirole", "condition_alcohol"}
    table = cohort_table([{"night_id": "a", **cols, "group": "x"}, {"night_id": "b", "interventions": "", "group": "y"}])
    assert list(table["condition_pad"]) == [True, False] and table["condition_pad"].dtype == bool
    assert list(table.columns).index("condition_caffeine") == list(table.columns).index("interventions") + 1
