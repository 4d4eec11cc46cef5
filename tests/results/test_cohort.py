"""The cohort table's metric columns: snake_case with units, typed."""

import re

import pandas as pd
import pytest

from lmdetect.results.cohort import (
    CATEGORY_COLUMNS,
    COHORT_METRIC_COLUMNS,
    COLUMNS_BEFORE,
    cohort_dtypes,
    cohort_metrics,
)
from lmdetect.summary.night import NIGHT_METRIC_COLUMNS, metric_value

DOC = {
    "recording_start": "2026-03-14T22:05:00+01:00",
    "rule_set": "wasm2016",
    "side": "left",
    "plms_index": 21.5,
    "n_plms": 140,
    "tst_h": 6.5,
    "quality": {"wear_h": 7.9, "noise_floor_mg": 2.5},
    "context": {"pad": {"windows": {"after_end": {"plm_per_h": 30.0}}}},
}


def test_every_display_column_has_a_snake_case_column_and_an_old_name():
    assert [c.key for c in NIGHT_METRIC_COLUMNS] == list(COHORT_METRIC_COLUMNS)
    names = list(COHORT_METRIC_COLUMNS.values())
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in names), names
    assert COLUMNS_BEFORE["PLMS/h"] == "plms_per_h" and COLUMNS_BEFORE["TST (h)"] == "tst_h"


def test_the_metrics_are_those_of_the_summary():
    row = cohort_metrics(DOC)
    for c in NIGHT_METRIC_COLUMNS:
        assert row[COHORT_METRIC_COLUMNS[c.key]] == metric_value(DOC, c.key), c.key
    assert row["pad_after_end_plm_per_h"] == 30.0 and row["noise_floor_mg"] == 2.5 and row["plmw_per_h"] is None


def test_the_table_types_datetimes_counts_numbers_and_categories():
    other = {**DOC, "recording_start": "2026-03-15T21:50:00+01:00", "n_plms": None, "plms_index": None,
             "side": "right"}
    t = cohort_dtypes(pd.DataFrame([{"night_id": "a", **cohort_metrics(DOC)}, {"night_id": "b", **cohort_metrics(other)}]))
    assert isinstance(t["recording_start"].dtype, pd.DatetimeTZDtype)
    assert t["recording_start"][0] == pd.Timestamp("2026-03-14T21:05:00Z")
    assert str(t["n_plms"].dtype) == "Int64" and t["n_plms"].isna().tolist() == [False, True]
    assert t["plms_per_h"].dtype == "float64" and t["plmsnr_per_h"].dtype == "float64"  # all None: still float
    for col in CATEGORY_COLUMNS:
        assert isinstance(t[col].dtype, pd.CategoricalDtype), col
    assert t["night_id"].tolist() == ["a", "b"]  # other columns as they were


def test_start_times_with_and_without_fractional_seconds_share_one_column():
    # a CWA night starts on a whole second, a BLE recording does not: one cohort holds both
    table = pd.DataFrame({"recording_start": ["2026-03-14T22:30:00+01:00", "2026-03-14T21:30:00.123456+00:00"]})
    typed = cohort_dtypes(table)["recording_start"]
    assert str(typed.dt.tz) == "UTC"
    assert (typed.iloc[1] - typed.iloc[0]).total_seconds() == pytest.approx(0.123456)
