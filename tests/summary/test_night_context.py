"""night_context through the pipeline, and the display columns shared by the report and the
multi-night table."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lmdetect.config import Config
from lmdetect.results.night_folder import night_summary_document
from lmdetect.results.summary_json import to_jsonable
from lmdetect.summary.night import (
    NIGHT_METRIC_COLUMNS,
    format_metric,
    metric_value,
    night_context,
    night_metrics_row,
)
from tests.report import night_cases


@pytest.fixture(scope="module")
def rich():
    return night_cases.rich_night()


def test_pipeline_context_uses_the_logged_pad_times_and_time_in_bed(rich):
    ctx = rich.summary["context"]
    logged = ctx["pad"]["agreement"]["logged"]
    # logged 1500-3600 s; the detection mask adds 60 s after the end, the context does not
    assert [(e["onset_s"], e["duration_s"], e["intensity"]) for e in logged] == [(1500.0, 2100.0, 5.0)]
    assert ctx["pad_logged_h"] == round(2100 / 3600, 4)
    assert ctx["window"]["start_s"] == 300.0 and ctx["window"]["end_s"] == 10500.0
    # the signal shows the pad from about 1800 s (a 73-Hz motor aliased to 23 Hz at 50 Hz)
    det = ctx["pad"]["agreement"]["detected"]
    assert len(det) == 1 and abs(det[0]["onset_s"] - 1800) < 30 and abs(det[0]["freq_hz"] - 23.0) < 0.5
    assert ctx["pad"]["agreement"]["status"] == "both" and ctx["pad"]["agreement"]["jaccard"] > 0.6
    # the 10-30 min train is before the pad; the 70-95 min train starts within 30 min of its end
    assert ctx["pad"]["windows"]["before"]["n_plm"] > 0 and ctx["pad"]["windows"]["after_end"]["n_plm"] > 0
    # the masked session is not observable: observed time in bed is TIB minus the mask
    masked_h = rich.summary["quality"]["masked_pad_h"]
    assert ctx["window"]["observed_h"] == pytest.approx(rich.summary["tib_h"] - masked_h, abs=0.02)


def test_rls_context_in_the_pipeline(rich):
    rls = rich.summary["context"]["rls"]
    assert rls["n_episodes"] == 2
    assert [e["onset_s"] for e in rls["episodes"]] == [500.0, 8200.0]
    assert rls["episodes"][1]["series_overlap"] == 1 and rls["inside"]["n_plm"] > 0


def test_context_is_plain_json(rich):
    text = json.dumps(to_jsonable(rich.summary), allow_nan=False)
    assert json.loads(text)["context"] == json.loads(json.dumps(rich.summary["context"]))


def test_without_the_pad_log_the_masks_stand_in(rich):
    import pandas as pd

    # logged sessions become masks only with Config(mask_logged_pads=True); build such a mask table
    masks = pd.concat(
        [rich.pad_sessions, pd.DataFrame([{"onset_s": 1500.0, "duration_s": 2160.0, "source": "log"}])],
        ignore_index=True,
    )
    ctx = night_context(rich.events, rich.rls_episodes, masks, rich.vibration,
                        window=(rich.sleep.tib_start_s, rich.sleep.tib_end_s), trace=rich.trace)
    assert ctx["pad"]["agreement"]["logged"][0]["duration_s"] == 2160.0
    # rule set read from the scored table's attrs; same RLS numbers as the pipeline's
    assert ctx["rls"] == rich.summary["context"]["rls"]


def test_metric_columns_are_unique_and_exist_in_a_real_summary(rich):
    labels = [c.label for c in NIGHT_METRIC_COLUMNS]
    keys = [c.key for c in NIGHT_METRIC_COLUMNS]
    assert len(set(labels)) == len(labels) and len(set(keys)) == len(keys)
    doc = json.loads(json.dumps(to_jsonable(night_summary_document(rich))))
    for key in keys:
        cur = doc
        for part in key.split("."):
            assert isinstance(cur, dict) and part in cur, f"{key}: summary.json has no {part!r}"
            cur = cur[part]


def test_night_metrics_row_maps_summary_to_display_columns(rich):
    doc = json.loads(json.dumps(to_jsonable(night_summary_document(rich))))
    row = night_metrics_row(doc)
    assert list(row) == [c.label for c in NIGHT_METRIC_COLUMNS]
    assert row["PLMS/h"] == doc["plms_index"] and row["PLMW/h"] == doc["plmw_index"]
    assert row["CLM/h"] == doc["clm_index"] and row["Periodicity index"] == doc["periodicity_index"]
    assert row["PLM/CLM ratio"] == doc["plm_clm_ratio"]
    assert row["IMI geometric mean (s)"] == doc["imi_geometric_mean_s"]
    assert row["Wear (h)"] == doc["quality"]["wear_h"]
    assert row["PLM/h in RLS episodes"] == doc["context"]["rls"]["inside"]["plm_per_h"]
    assert row["Pad log/signal agreement"] == doc["context"]["pad"]["agreement"]["jaccard"]
    assert row["Device"] == "TEST-R" and row["Side"] == "left"
    # an older or partial summary gives None, not an error
    assert night_metrics_row({"plms_index": 3.0})["PLMS/h"] == 3.0
    assert night_metrics_row({})["PLM/h in RLS episodes"] is None


def test_metric_value_and_format():
    doc = {"a": {"b": [10, {"c": 2.5}]}, "n": None}
    assert metric_value(doc, "a.b.1.c") == 2.5 and metric_value(doc, "a.b.0") == 10
    assert metric_value(doc, "a.b.7") is None and metric_value(doc, "a.x") is None
    assert metric_value(doc, "n") is None
    assert format_metric(None) == "n/a" and format_metric(float("nan"), 1) == "n/a"
    assert format_metric(np.float64(6.6079), 1) == "6.6" and format_metric(3) == "3"
    assert format_metric(True) == "yes" and format_metric("wasm2016") == "wasm2016"


def test_every_display_column_is_documented():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "reports.md").read_text(encoding="utf-8")
    missing = [c.key for c in NIGHT_METRIC_COLUMNS if f"`{c.key}`" not in doc]
    assert missing == []


@pytest.fixture(scope="module")
def logged_pad():
    return night_cases.logged_pad_night()


def test_masked_vibration_is_not_taken_off_recorded_and_wear_time(logged_pad):
    # 7.0 h without gaps; the visible session's line (0.6 h) is removed, only seconds stay masked
    q = logged_pad.summary["quality"]
    assert q["vibration_removed_h"] == pytest.approx(0.6, abs=0.02)
    assert 0.0 < q["masked_pad_h"] < 0.01
    assert q["recorded_h"] == 7.0
    assert q["wear_h"] == pytest.approx(7.0 - q["nonwear_h"], abs=1e-4)


def test_the_summary_records_what_was_done_with_each_pad_session(logged_pad):
    pad = logged_pad.summary["context"]["pad"]
    l1, l2 = pad["agreement"]["logged"]
    # default config: logged sessions are not masked; the vibration under the first is removed
    # and only where its residual stayed too strong is it masked
    assert l1["handling"] == l2["handling"] == "measured"
    assert 0.0 < l1["masked_s"] < 60 and l1["observable_s"] > 2000
    assert l2["masked_s"] == 0.0 and l2["observable_s"] == 2100.0
    (d,) = pad["agreement"]["detected"]
    assert d["handling"] == "measured" and d["observable_s"] > 2000
    assert pad["handling"]["logged"]["n_masked"] == 0 and pad["handling"]["detected"]["n_masked"] == 0
    assert set(pad["handling"]["logged"]["masked_by_h"]) == {"residual"}
    # the train under the unseen session is counted, and its time is observable
    assert pad["inside"]["observed_h"] == pytest.approx(pad["handling"]["logged"]["observable_h"], abs=1e-3)
    assert pad["inside"]["n_plm"] >= 50
    assert l2["rates"]["during"]["n_plm"] == pad["inside"]["n_plm"] - l1["rates"]["during"]["n_plm"]


def test_masked_logged_sessions_are_recorded_as_masked():
    pad = night_cases.logged_pad_night(Config(mask_logged_pads=True)).summary["context"]["pad"]
    assert [e["handling"] for e in pad["agreement"]["logged"]] == ["masked", "masked"]
    assert pad["handling"]["logged"]["observable_h"] == 0.0 and pad["inside"]["n_plm"] == 0


def test_time_in_bed_source_is_recorded(logged_pad):
    assert logged_pad.summary["tib_source"] == "diary"
    assert night_cases.zero_movement_night().summary["tib_source"] == "recording"


def test_one_effective_rate_in_the_summary(logged_pad):
    doc = json.loads(json.dumps(to_jsonable(night_summary_document(logged_pad))))
    found = []

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "fs_effective_hz":
                    found.append(path + k)
                walk(v, path + k + ".")

    walk(doc, "")
    assert found == ["recording.fs_effective_hz"]
