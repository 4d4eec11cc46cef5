"""Multi-night statistics on hand-built night summaries: the pad rule, the table, trends and the
pad vs no-pad ratio with its bootstrap interval."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest

from lmdetect.errors import ConfigError, LmdetectError
from lmdetect.summary.metric_ids import METRIC_IDS
from lmdetect.summary.multinight import (
    MIN_NIGHTS_PER_GROUP,
    TABLE_ID_COLUMNS,
    metric_trend,
    multinight_summary,
    multinight_table,
    night_date,
    pad_comparison,
    pad_evidence,
    table_cautions,
)
from lmdetect.summary.night import NIGHT_METRIC_COLUMNS

BERLIN = dt.timezone(dt.timedelta(hours=1))
FIRST = dt.datetime(2026, 3, 14, 22, 30, tzinfo=BERLIN)


def night(day: int, plms: float | None, *, pad_logged: int = 0, vib: int = 0, pi: float | None = 0.8,
          participant: str | None = None, rules: str = "wasm2016", start: dt.datetime | None = None) -> dict:
    """A minimal summary.json of a night ``day`` days after the first one."""
    s = start or FIRST + dt.timedelta(days=day)
    doc = {
        "recording_start": s.isoformat(),
        "device_id": "SIM-1",
        "side": "left",
        "rule_set": rules,
        "sleep_source": "diary+actigraphy",
        "tst_h": 6.5,
        "plms_index": plms,
        "periodicity_index": pi,
        "n_plms": None if plms is None else int(round(plms * 6.5)),
        "n_pad_logged": pad_logged,
        "n_vibration_detected": vib,
        "context": {"pad_logged_h": 0.58 * pad_logged, "pad_detected_h": 0.58 * vib},
        "quality": {"wear_h": 7.0, "n_backfilled": 0},
    }
    if participant is not None:
        doc["batch"] = {"participant": participant, "night_id": f"{participant}/n{day}"}
    return doc


def table_of(docs: list[dict], **kw) -> pd.DataFrame:
    return multinight_table(docs, [f"n{i}" for i in range(len(docs))], **kw)


def groups(pad_values, nopad_values) -> pd.DataFrame:
    docs = [night(i, v, pad_logged=1) for i, v in enumerate(pad_values)]
    docs += [night(len(pad_values) + i, v) for i, v in enumerate(nopad_values)]
    return table_of(docs)


# --------------------------------------------------------------------------- pad rule and table


@pytest.mark.parametrize(
    ("logged", "vib", "hours_only", "expected"),
    [(0, 0, False, "none"), (1, 0, False, "log"), (0, 2, False, "signal"), (1, 1, False, "log+signal"),
     (1, 0, True, "log"), (0, 1, True, "signal")],
)
def test_pad_evidence_from_counts_or_hours(logged, vib, hours_only, expected):
    doc = night(0, 10.0, pad_logged=logged, vib=vib)
    if hours_only:  # older summaries may carry only the hours in the context
        doc["n_pad_logged"] = doc["n_vibration_detected"] = 0
    assert pad_evidence(doc) == expected


def test_night_date_is_the_evening_date():
    assert night_date(night(0, 1.0)) == dt.date(2026, 3, 14)
    after_midnight = night(0, 1.0, start=dt.datetime(2026, 3, 15, 0, 40, tzinfo=BERLIN))
    assert night_date(after_midnight) == dt.date(2026, 3, 14)
    # the local date counts, not the UTC one: 00:30 in Tokyo is 15:30 UTC the day before
    tokyo = night(0, 1.0, start=dt.datetime(2026, 3, 16, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=9))))
    assert night_date(tokyo) == dt.date(2026, 3, 15)


def test_table_rows_sorted_by_start_with_display_columns():
    docs = [night(2, 30.0), night(0, 10.0, pad_logged=1), night(1, None, vib=1)]
    t = multinight_table(docs, ["c", "a", "b"])
    assert list(t.columns) == list(TABLE_ID_COLUMNS) + [METRIC_IDS[c.key] for c in NIGHT_METRIC_COLUMNS]
    assert t["night"].tolist() == ["a", "b", "c"]
    assert t["date"].tolist() == ["2026-03-14", "2026-03-15", "2026-03-16"]
    assert t["pad_night"].tolist() == [True, True, False]
    assert t["pad_evidence"].tolist() == ["log", "signal", "none"]
    assert t["plms_per_h"].dtype == np.float64
    assert math.isnan(t["plms_per_h"].iloc[1]) and t["plms_per_h"].iloc[2] == 30.0
    assert str(t["n_plms"].dtype) == "Int64" and t["n_plms"].iloc[2] == 195 and t["n_plms"].isna().iloc[1]
    assert t["pad_night"].dtype == bool


def test_labels_override_the_rule():
    docs = [night(0, 10.0, pad_logged=1), night(1, 20.0), night(2, 30.0)]
    t = table_of(docs, pad_labels=[False, True, None])
    assert t["pad_night"].tolist() == [False, True, False]
    assert t["pad_evidence"].tolist() == ["label", "label", "none"]


def test_table_rejects_bad_input():
    with pytest.raises(ConfigError, match="unique"):
        multinight_table([night(0, 1.0), night(1, 2.0)], ["a", "a"])
    with pytest.raises(ConfigError, match="labels"):
        multinight_table([night(0, 1.0)], ["a", "b"])
    bad = night(0, 1.0)
    bad["recording_start"] = "2026-03-14T22:30:00"  # no offset
    with pytest.raises(LmdetectError, match="night a: .*no UTC offset"):
        multinight_table([bad], ["a"])


def test_table_cautions():
    docs = [night(0, 1.0, participant="P01"), night(1, 2.0, participant="P02", rules="aasm"),
            night(1, 2.0, participant="P02", start=FIRST + dt.timedelta(days=1, hours=1))]
    t = multinight_table(docs, ["x", "y", "z"])
    text = " ".join(table_cautions(t))
    assert "2 participants (P01, P02)" in text
    assert "different rule sets (aasm, wasm2016)" in text
    assert "share a night date (2026-03-15)" in text
    assert table_cautions(table_of([night(0, 1.0, participant="P01"), night(1, 2.0, participant="P01")])) == []


# --------------------------------------------------------------------------- trends


def test_trend_recovers_a_linear_drift_over_calendar_nights():
    days = [0, 1, 2, 4, 7]  # skipped nights count as calendar nights
    t = table_of([night(d, 10.0 + 2.0 * d) for d in days])
    tr = metric_trend(t, "plms_per_h")
    assert tr.n_nights == 5
    assert tr.slope_per_night == pytest.approx(2.0)
    assert tr.slope_low == pytest.approx(2.0) and tr.slope_high == pytest.approx(2.0)
    assert tr.minimum == 10.0 and tr.maximum == 24.0 and tr.spread == 14.0
    y = np.array([10.0 + 2.0 * d for d in days])
    assert tr.mean == pytest.approx(y.mean())
    assert tr.sd == pytest.approx(y.std(ddof=1))
    assert tr.cv == pytest.approx(y.std(ddof=1) / y.mean())


def test_trend_is_robust_to_one_odd_night():
    values = [20.0 + 0.5 * d for d in range(8)]
    values[3] = 90.0  # a single wild night
    tr = metric_trend(table_of([night(d, v) for d, v in enumerate(values)]), "plms_per_h")
    assert tr.slope_per_night == pytest.approx(0.5, abs=0.15)
    assert tr.slope_low <= 0.5 <= tr.slope_high
    ols = np.polyfit(np.arange(8), values, 1)[0]
    assert abs(ols - 0.5) > abs(tr.slope_per_night - 0.5)  # least squares is pulled by the outlier


def test_trend_needs_three_nights_and_skips_missing():
    tr = metric_trend(table_of([night(0, 10.0), night(1, None), night(2, 14.0)]), "plms_per_h")
    assert tr.n_nights == 2 and tr.slope_per_night is None and tr.spread == 4.0
    one = metric_trend(table_of([night(0, 10.0)]), "plms_per_h")
    assert one.sd is None and one.cv is None and one.mean == 10.0
    with pytest.raises(ConfigError, match="no column"):
        metric_trend(table_of([night(0, 1.0)]), "PLMS per hour")


# --------------------------------------------------------------------------- pad comparison


def test_ratio_of_means_and_reproducible_interval():
    t = groups([10, 12, 14, 16, 18], [20, 22, 24, 26, 28])
    c = pad_comparison(t, n_boot=4000, seed=3)
    assert (c.n_pad, c.n_no_pad) == (5, 5)
    assert c.mean_pad == pytest.approx(14.0) and c.mean_no_pad == pytest.approx(24.0)
    assert c.ratio == pytest.approx(14.0 / 24.0)
    assert c.ci_low < c.ratio < c.ci_high
    # bounds of the interval: the extreme resamples (all lowest / all highest nights)
    assert 10 / 28 <= c.ci_low and c.ci_high <= 18 / 20
    assert c.cautions == ()
    again = pad_comparison(t, n_boot=4000, seed=3)
    assert (again.ci_low, again.ci_high) == (c.ci_low, c.ci_high)
    assert np.array_equal(again.replicates, c.replicates)
    other = pad_comparison(t, n_boot=4000, seed=4)
    assert not np.array_equal(other.replicates, c.replicates)
    assert other.ci_low == pytest.approx(c.ci_low, rel=0.05) and other.ci_high == pytest.approx(c.ci_high, rel=0.05)


def test_interval_collapses_without_night_to_night_variation():
    c = pad_comparison(groups([12.0] * 5, [24.0] * 6), n_boot=500)
    assert c.ratio == pytest.approx(0.5) and c.ci_low == pytest.approx(0.5) and c.ci_high == pytest.approx(0.5)


def test_interval_widens_with_more_variable_nights():
    narrow = pad_comparison(groups([13, 14, 15, 14, 14], [23, 24, 25, 24, 24]), n_boot=4000)
    wide = pad_comparison(groups([4, 9, 14, 19, 24], [10, 17, 24, 31, 38]), n_boot=4000)
    assert (wide.ci_high - wide.ci_low) > 3 * (narrow.ci_high - narrow.ci_low)


def test_percentile_interval_covers_the_true_ratio():
    """Over many simulated people with 10 nights per condition, the 95 % interval holds the true
    ratio of means in roughly 95 % of cases (the percentile bootstrap is a little liberal with few
    nights)."""
    rng = np.random.default_rng(2024)
    shape, true_pad, true_nopad = 4.0, 15.0, 25.0  # gamma night-to-night variation, CV 0.5
    hits, runs = 0, 300
    for i in range(runs):
        pad = rng.gamma(shape, true_pad / shape, 10)
        nopad = rng.gamma(shape, true_nopad / shape, 10)
        t = pd.DataFrame({"plms_per_h": np.concatenate([pad, nopad]), "pad_night": np.arange(20) < 10})
        c = pad_comparison(t, n_boot=1000, seed=i)
        hits += c.ci_low <= true_pad / true_nopad <= c.ci_high
    assert 0.88 <= hits / runs <= 0.99


@pytest.mark.parametrize(("n_pad", "n_nopad"), [(3, 6), (6, 4), (2, 2)])
def test_caution_below_five_nights_per_group(n_pad, n_nopad):
    c = pad_comparison(groups([10.0 + i for i in range(n_pad)], [20.0 + i for i in range(n_nopad)]), n_boot=200)
    text = " ".join(c.cautions)
    assert "Trotti" in text
    for n, what in ((n_pad, "pad"), (n_nopad, "no-pad")):
        assert (f"Only {n} {what} nights" in text) == (n < MIN_NIGHTS_PER_GROUP)
    assert c.ci_low is not None  # an interval is still given, with the caution


def test_one_night_in_a_group_gives_a_ratio_but_no_interval():
    c = pad_comparison(groups([10.0], [20.0, 22.0, 18.0]), n_boot=200)
    assert c.ratio == pytest.approx(0.5)
    assert c.ci_low is None and c.ci_high is None
    assert any("at least 2 nights in each group" in x for x in c.cautions)


def test_empty_group_and_zero_denominator():
    c = pad_comparison(groups([], [20.0, 22.0]), n_boot=200)
    assert c.ratio is None and c.mean_pad is None and c.n_pad == 0
    assert any("No pad nights" in x for x in c.cautions)
    z = pad_comparison(groups([3.0, 4.0], [0.0, 0.0, 0.0]), n_boot=200)
    assert z.ratio is None and z.ci_low is None
    assert any("not defined" in x for x in z.cautions)


def test_unbounded_upper_limit_when_resamples_have_no_plms():
    c = pad_comparison(groups([3.0, 4.0, 5.0], [0.0, 0.0, 6.0]), n_boot=2000, seed=1)
    assert c.ratio == pytest.approx(2.0)
    assert c.ci_low is not None and c.ci_high is None
    assert any("unbounded" in x for x in c.cautions)
    assert c.n_undefined == 0


def test_nights_without_a_value_are_left_out():
    t = groups([10.0, None, 12.0], [20.0, 22.0, None])
    c = pad_comparison(t, n_boot=200)
    assert (c.n_pad, c.n_no_pad, c.n_excluded) == (2, 2, 2)
    assert c.ratio == pytest.approx(11.0 / 21.0)
    assert any("2 nights without a PLMS/h value" in x for x in c.cautions)


def test_other_metric_and_bad_settings():
    t = groups([10.0, 12.0], [20.0, 22.0])
    c = pad_comparison(t, "periodicity_index", n_boot=200)
    assert c.ratio == pytest.approx(1.0) and c.column == "periodicity_index"
    with pytest.raises(ConfigError, match="cannot compare"):
        pad_comparison(t, "device_id")
    with pytest.raises(ConfigError, match="n_boot"):
        pad_comparison(t, n_boot=10)
    with pytest.raises(ConfigError, match="confidence"):
        pad_comparison(t, confidence=1.5)


def test_summary_document_is_plain_json():
    t = groups([10.0, 12.0, 11.0], [20.0, 22.0, 21.0, 23.0])
    ms = multinight_summary(t, n_boot=500, seed=0)
    doc = json.loads(json.dumps(ms.to_dict(), allow_nan=False))
    assert doc["n_nights"] == 7 and doc["n_pad_nights"] == 3 and doc["n_no_pad_nights"] == 4
    assert doc["comparison"]["ratio"] == pytest.approx(11.0 / 21.5)
    assert "bootstrap" in doc["comparison"]["method"] and "seeded with 0" in doc["comparison"]["method"]
    assert doc["averages"]["pad"]["plms_per_h"] == pytest.approx(11.0)
    assert doc["averages"]["no_pad"]["plms_per_h"] == pytest.approx(21.5)
    assert doc["averages"]["all"]["plms_per_h"] == pytest.approx((33.0 + 86.0) / 7)
    assert set(doc["trends"]) == {"plms_per_h", "periodicity_index"}
    assert any("Only 3 pad nights" in x for x in doc["cautions"])
    with pytest.raises(ConfigError, match="no nights"):
        multinight_summary(t.iloc[0:0])


def test_columns_are_the_cohort_ids_and_labels_stay_for_display():
    from lmdetect.results.cohort import COHORT_METRIC_COLUMNS
    from lmdetect.summary.multinight import COLUMN_LABELS, COLUMNS_BEFORE

    t = groups([10.0, 12.0], [20.0, 22.0])
    metrics = [c for c in t.columns if c not in TABLE_ID_COLUMNS]
    assert metrics == list(COHORT_METRIC_COLUMNS.values())
    assert all(c == c.lower() and " " not in c and "/" not in c for c in t.columns)
    assert COLUMN_LABELS["plms_per_h"] == "PLMS/h" and COLUMN_LABELS["pad_night"] == "Pad night"
    # every earlier name maps to a column of the table
    assert set(COLUMNS_BEFORE.values()) <= set(t.columns)
    assert COLUMNS_BEFORE["PLMS/h"] == "plms_per_h" and COLUMNS_BEFORE["Night"] == "night"


def test_old_display_label_still_accepted_with_a_deprecation_warning():
    t = groups([10.0, 12.0], [20.0, 22.0])
    with pytest.warns(DeprecationWarning, match="'PLMS/h' is now named 'plms_per_h'"):
        c = pad_comparison(t, "PLMS/h", n_boot=200)
    assert c.column == "plms_per_h" and c.label == "PLMS/h"
    with pytest.warns(DeprecationWarning):
        ms = multinight_summary(t, metric="Periodicity index", n_boot=200)
    assert ms.comparison.column == "periodicity_index"
    assert set(ms.to_dict()["trends"]) == {"plms_per_h", "periodicity_index"}
    assert "Ratio of the mean Periodicity index" in ms.comparison.method
