"""night_context through the pipeline, and the display columns shared by the report and the
multi-night table."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lmdetect.io.night_outputs import night_summary_document
from lmdetect.io.outputs import to_jsonable
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
