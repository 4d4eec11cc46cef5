"""One hand-built case per WASM 2016 rule (Ferri et al., Sleep Med 2016;21:1-11).

Each test is named after the rule it checks; event lists are small enough to verify by eye.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lmdetect.errors import LmdetectError
from lmdetect.model import LM_COLUMNS
from lmdetect.scoring import SCORED_COLUMNS, WASM2016, score_lms

W = WASM2016()


def table(*rows: tuple) -> pd.DataFrame:
    """Rows (onset_s, duration_s[, side[, kind[, amplitude_mg]]]); side defaults to left."""
    out = []
    for r in rows:
        onset, duration, side, kind, amp = (list(r) + ["left", "lm", np.nan][len(r) - 2 :])[:5]
        out.append(
            {"onset_s": onset, "duration_s": duration, "side": side, "kind": kind, "amplitude_mg": amp}
        )
    return pd.DataFrame(out, columns=["onset_s", "duration_s", "side", "kind", "amplitude_mg"])


def train(onsets, duration=2.0, side="left"):
    return [(float(t), duration, side) for t in onsets]


def series_of(scored: pd.DataFrame) -> list[list[float]]:
    """Onsets of the members of each series, in series order."""
    s = scored[scored["series_id"] >= 0]
    return [list(g["onset_s"]) for _, g in s.groupby("series_id", sort=True)]


# ------------------------------------------------------------------ output shape


def test_output_columns_and_types():
    out = score_lms(table(*train([0, 20, 40, 60])))
    assert tuple(out.columns) == SCORED_COLUMNS
    assert tuple(out.columns[: len(LM_COLUMNS)]) == LM_COLUMNS
    assert out["series_id"].dtype == np.int64 and out["is_clm"].dtype == bool
    assert out.attrs["rule_set"] == "wasm2016" and out.attrs["respiratory"] is False
    assert (out["stage"] == "").all()  # no hypnogram


def test_empty_input_gives_empty_table():
    out = score_lms(table())
    assert len(out) == 0 and tuple(out.columns) == SCORED_COLUMNS


def test_default_rule_set_is_wasm2016():
    lms = table(*train([0, 20, 40, 60, 65, 85, 105, 125]))
    pd.testing.assert_frame_equal(score_lms(lms), score_lms(lms, WASM2016()))


# ------------------------------------------------------------------ LM duration and same-leg merge


def test_lm_min_duration_0_5_s():
    out = score_lms(table((0, 0.49), (10, 0.5)))
    assert list(out["onset_s"]) == [10.0]


def test_same_leg_merge_gap_below_0_5_s():
    out = score_lms(table((0, 1.0), (1.49, 1.0)))
    assert len(out) == 1
    assert out["onset_s"].iloc[0] == 0 and out["duration_s"].iloc[0] == pytest.approx(2.49)
    assert out["n_mono"].iloc[0] == 1 and out["side"].iloc[0] == "left"


def test_same_leg_merge_gap_of_exactly_0_5_s_keeps_two_lms():
    out = score_lms(table((0, 1.0), (1.5, 1.0)))
    assert list(out["onset_s"]) == [0.0, 1.5]


def test_same_leg_merge_happens_before_minimum_duration():
    # two 0.3-s bursts 0.3 s apart are one 0.9-s LM, not two dropped fragments
    out = score_lms(table((0, 0.3), (0.6, 0.3)))
    assert len(out) == 1 and out["duration_s"].iloc[0] == pytest.approx(0.9)


def test_same_leg_merge_keeps_max_amplitude_and_strongest_kind():
    out = score_lms(
        table((0, 1.0, "left", "voluntary", 50.0), (1.2, 1.0, "left", "lm", 80.0), (2.4, 1, "left", "lm"))
    )
    assert len(out) == 1
    assert out["amplitude_mg"].iloc[0] == 80.0 and out["kind"].iloc[0] == "lm"


# ------------------------------------------------------------------ CLM limits


def test_clm_max_duration_mono_10_s():
    out = score_lms(table((0, 10.0), (100, 10.01)))
    assert list(out["is_clm"]) == [True, False]
    assert list(out["kind"]) == ["lm", "long"]


def test_mono_lm_over_10_s_breaks_series():
    with_long = score_lms(table(*train([0, 20, 40, 60]), (80, 12.0), *train([100, 120, 140, 160])))
    assert series_of(with_long) == [[0, 20, 40, 60], [100, 120, 140, 160]]
    row = with_long.set_index("onset_s")
    assert not row.loc[80.0, "in_plm_series"] and row.loc[80.0, "series_id"] == -1
    assert np.isnan(row.loc[100.0, "imi_s"])  # the interval across a breaker is not an IMI
    without = score_lms(table(*train([0, 20, 40, 60, 80, 100, 120, 140, 160])))
    assert series_of(without) == [[0, 20, 40, 60, 80, 100, 120, 140, 160]]


@pytest.mark.parametrize("kind", ["posture", "gross", "long"])
def test_non_clm_inside_a_run_breaks_it(kind):
    out = score_lms(table(*train([0, 20, 40, 60]), (70, 2.0, "left", kind), *train([80, 100, 120])))
    # 0-60 is a series of 4; 80-120 is a run of 3 after the breaker, too short
    assert series_of(out) == [[0, 20, 40, 60]]
    assert not out.set_index("onset_s").loc[70.0, "is_clm"]


def test_voluntary_kind_is_an_ordinary_lm():
    out = score_lms(table(*[(t, 2.0, "left", "voluntary") for t in (0, 20, 40, 60)]))
    assert out["is_clm"].all() and out["in_plm_series"].all()


# ------------------------------------------------------------------ bilateral merge


def test_bilateral_merge_of_overlapping_lms():
    out = score_lms(table((0, 2.0, "left", "lm", 30.0), (1.0, 2.0, "right", "lm", 70.0)))
    assert len(out) == 1
    r = out.iloc[0]
    assert (r["side"], r["onset_s"], r["duration_s"], r["n_mono"], r["amplitude_mg"]) == (
        "both",
        0,
        3.0,
        2,
        70.0,
    )
    assert r["is_clm"]


def test_bilateral_merge_offset_to_onset_below_0_5_s():
    assert len(score_lms(table((0, 2.0, "left"), (2.49, 1.0, "right")))) == 1
    out = score_lms(table((0, 2.0, "left"), (2.5, 1.0, "right")))
    assert list(out["side"]) == ["left", "right"]


def test_bilateral_max_duration_15_s():
    ok = score_lms(table((0, 8.0, "left"), (7.9, 7.1, "right")))
    assert ok["duration_s"].iloc[0] == pytest.approx(15.0) and ok["is_clm"].iloc[0]
    too_long = score_lms(table((0, 8.0, "left"), (7.9, 7.11, "right")))
    assert not too_long["is_clm"].iloc[0] and too_long["kind"].iloc[0] == "long"


def test_bilateral_max_4_monolateral_lms():
    alternating = [(0, 2.0, "left"), (1.8, 2.0, "right"), (3.6, 2.0, "left"), (5.4, 2.0, "right")]
    four = score_lms(table(*alternating))
    assert len(four) == 1 and four["n_mono"].iloc[0] == 4 and four["is_clm"].iloc[0]
    five = score_lms(table(*alternating, (7.2, 2.0, "left")))
    assert len(five) == 1 and five["n_mono"].iloc[0] == 5 and not five["is_clm"].iloc[0]
    assert five["duration_s"].iloc[0] == pytest.approx(9.2)  # short: only the count makes it non-CLM
    assert five["kind"].iloc[0] == "lm"


def test_bilateral_lm_containing_a_mono_lm_over_10_s_is_not_clm():
    out = score_lms(table((0, 11.0, "left"), (10.8, 1.2, "right")))
    assert len(out) == 1 and out["duration_s"].iloc[0] == pytest.approx(12.0)
    assert not out["is_clm"].iloc[0]


def test_bilateral_merge_with_non_clm_kind_is_not_clm():
    out = score_lms(table((0, 2.0, "left", "lm"), (1.0, 2.0, "right", "posture")))
    assert len(out) == 1 and out["kind"].iloc[0] == "posture" and not out["is_clm"].iloc[0]


def test_unknown_side_is_one_leg():
    # a single sensor: overlapping movements merge as one leg (no "both")
    out = score_lms(table((0, 2.0, "unknown"), (1.0, 2.0, "unknown"), (20, 2.0, "unknown")))
    assert list(out["side"]) == ["unknown", "unknown"] and list(out["n_mono"]) == [1, 1]


# ------------------------------------------------------------------ IMI and series


def test_imi_of_exactly_10_s_and_90_s_continues_a_series():
    out = score_lms(table(*train([0, 10, 100, 190])))
    assert series_of(out) == [[0, 10, 100, 190]]
    assert list(out["imi_s"].iloc[1:]) == [10, 90, 90]


def test_imi_bounds_tolerate_float_rounding():
    assert 16.4 - 6.4 < 10  # binary floats: this 10-s interval computes as 9.999999999999998
    out = score_lms(table(*train([6.4, 16.4, 36.4, 56.4])))
    assert out["in_plm_series"].all()


def test_imi_just_below_10_s_is_short():
    out = score_lms(table(*train([0, 9.99, 29.99, 49.99, 69.99])))
    # 9.99 starts a new run after the short interval: 9.99..69.99 is a series, 0 is not in it
    assert series_of(out) == [[9.99, 29.99, 49.99, 69.99]]


def test_imi_over_90_s_ends_a_series():
    out = score_lms(table(*train([0, 20, 40, 130.01, 150])))
    assert series_of(out) == []
    out = score_lms(table(*train([0, 20, 40, 130.0, 150])))
    assert series_of(out) == [[0, 20, 40, 130, 150]]


def test_three_clm_run_is_not_a_series():
    assert not score_lms(table(*train([0, 20, 40])))["in_plm_series"].any()
    assert score_lms(table(*train([0, 20, 40, 60])))["in_plm_series"].all()


def test_short_imi_inside_a_run_starts_a_new_series():
    # WASM 2016: the CLM after the < 10 s interval interrupts the series and may start a new one
    out = score_lms(table(*train([0, 20, 40, 60, 65, 85, 105, 125])))
    assert series_of(out) == [[0, 20, 40, 60], [65, 85, 105, 125]]
    assert list(out["series_id"]) == [0, 0, 0, 0, 1, 1, 1, 1]
    assert out.set_index("onset_s").loc[65.0, "imi_s"] == 5.0


def test_short_imi_leaves_too_few_clms_on_both_sides():
    out = score_lms(table(*train([0, 20, 40, 45, 65, 85])))
    assert not out["in_plm_series"].any()


def test_imi_column_definition():
    out = score_lms(table((0, 2.0), (20, 2.0), (30, 15.0), (60, 2.0), (80, 2.0)))
    imi = out.set_index("onset_s")["imi_s"]
    assert np.isnan(imi[0.0])  # first
    assert imi[20.0] == 20.0
    assert np.isnan(imi[30.0])  # not a CLM
    assert np.isnan(imi[60.0])  # after a breaker
    assert imi[80.0] == 20.0


def test_series_numbered_in_time_order_across_bilateral_lms():
    lms = table(
        *train([0, 20, 40], side="left"),
        (60, 2.0, "right"),
        (60.2, 1.0, "left"),
        (200, 2.0),
        *train([215, 230, 245], side="right"),
    )
    out = score_lms(lms)
    assert series_of(out) == [[0, 20, 40, 60], [200, 215, 230, 245]]
    assert out.set_index("onset_s").loc[60.0, "side"] == "both"


def test_unsorted_input_gives_the_same_result():
    rows = [*train([0, 20, 40, 60, 65, 85, 105, 125]), (30, 12.0, "right"), (41, 1.0, "right")]
    a = score_lms(table(*rows))
    b = score_lms(table(*reversed(rows)))
    pd.testing.assert_frame_equal(a, b)


# ------------------------------------------------------------------ input validation


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"onset_s": [1.0]}), "duration_s"),
        (pd.DataFrame({"onset_s": [1.0], "duration_s": [-1.0]}), "negative"),
        (pd.DataFrame({"onset_s": [np.nan], "duration_s": [1.0]}), "finite"),
        (pd.DataFrame({"onset_s": [1.0], "duration_s": [1.0], "side": ["middle"]}), "side"),
        (pd.DataFrame({"onset_s": [1.0], "duration_s": [1.0], "kind": ["kick"]}), "kind"),
        (pd.DataFrame({"onset_s": ["soon"], "duration_s": [1.0]}), "numeric"),
    ],
)
def test_bad_input_raises(frame, message):
    with pytest.raises(LmdetectError, match=message):
        score_lms(frame)


def test_side_and_kind_default_when_absent():
    out = score_lms(pd.DataFrame({"onset_s": [0.0, 20, 40, 60], "duration_s": 1.0}))
    assert (out["side"] == "unknown").all() and (out["kind"] == "lm").all() and out["in_plm_series"].all()
