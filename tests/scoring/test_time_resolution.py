"""Rule limits on the 1-us resolution of scored-event files: a time 1 us short of a limit is short
of it, while float noise (16.4 - 6.4 = 9.999999999999998) is not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lmdetect.scoring import AASM, WASM2016, SleepInfo, imi_histograms, night_indices, score_lms
from lmdetect.scoring.imi import periodic_imi_mask

W = WASM2016()
US = 1e-6


def lms(rows) -> pd.DataFrame:
    return pd.DataFrame(
        [{"onset_s": o, "duration_s": d, "side": s, "kind": "lm"} for o, d, s in rows],
        columns=["onset_s", "duration_s", "side", "kind"],
    )


def train(onsets, duration=1.0, side="left"):
    return lms([(float(t), duration, side) for t in onsets])


def test_imi_one_microsecond_under_10_s_is_short():
    # 0 -> 9.999999 is short (WASM): the run 9.999999 .. 39.999999 is the series, 0 is not in it
    s = score_lms(train([0.0, 9.999999, 19.999999, 29.999999, 39.999999]), W)
    assert s["in_plm_series"].tolist() == [False, True, True, True, True]


def test_float_noise_at_10_s_is_still_10_s():
    s = score_lms(train([6.4, 16.4, 26.4, 36.4]), W)
    assert s["in_plm_series"].all()


def test_imi_one_microsecond_over_90_s_ends_the_run():
    s = score_lms(train([0, 90, 180.000001, 190.000001, 200.000001, 210.000001]), W)
    assert s["series_id"].tolist() == [-1, -1, 0, 0, 0, 0]


def test_aasm_imi_one_microsecond_under_5_s_is_skipped():
    s = score_lms(train([0, 5, 9.999999, 15, 20]), AASM())
    assert s["in_plm_series"].tolist() == [True, True, False, True, True]


def test_duration_limits_at_microsecond_resolution():
    s = score_lms(lms([(0, 10.000001, "left"), (20, 10.0, "left"), (40, 0.499999, "left")]), W)
    assert s["is_clm"].tolist() == [False, True]  # the 0.499999-s LM is dropped
    bil = score_lms(lms([(0, 8.0, "left"), (7.0, 8.000001, "right")]), W)  # 15.000001 s
    assert bil["side"].tolist() == ["both"] and not bil["is_clm"].iloc[0]


def test_merge_gaps_at_microsecond_resolution():
    # same leg: a gap of 0.499999 s merges, 0.5 s does not
    s = score_lms(lms([(0, 1.0, "left"), (1.499999, 1.0, "left"), (10, 1.0, "left"), (11.5, 1.0, "left")]), W)
    assert s["onset_s"].tolist() == [0.0, 10.0, 11.5]
    # bilateral: the same
    b = score_lms(
        lms([(0, 1.0, "left"), (1.499999, 1.0, "right"), (10, 1.0, "left"), (11.5, 1.0, "right")]), W
    )
    assert b["side"].tolist() == ["both", "left", "right"]


def test_arousal_gap_at_microsecond_resolution():
    arousals = pd.DataFrame({"onset_s": [2.499999, 22.5], "duration_s": [3.0, 3.0]})
    s = score_lms(train([1.0, 21.0], duration=1.0), W, arousals=arousals)
    assert s["with_arousal"].tolist() == [True, False]  # 0.499999 s apart vs exactly 0.5 s


def test_respiratory_window_at_microsecond_resolution():
    resp = pd.DataFrame({"onset_s": [0.0], "duration_s": [20.0], "kind": ["apnea"]})
    # window [18, 30.25]: an LM ending 1 us before 18 s is out; one starting at 30.25 is in
    s = score_lms(
        lms([(16.999999, 1.0, "left"), (30.25, 1.0, "right"), (30.250001, 1.0, "left")]), W, respiratory=resp
    )
    assert s["side"].tolist() == ["left", "both"] and s["is_clmr"].tolist() == [False, True]
    s2 = score_lms(lms([(30.250001, 1.0, "left")]), W, respiratory=resp)
    assert not s2["is_clmr"].iloc[0]


def test_periodicity_and_imi_counts_at_microsecond_resolution():
    assert periodic_imi_mask(np.array([10.000001, 20, 90.0, 90.000001]), W).tolist() == [
        True,
        True,
        True,
        False,
    ]
    s = score_lms(train([0.0, 9.999999, 19.999999, 29.999999, 39.999999]), W)
    hyp = pd.DataFrame({"onset_s": [0.0], "duration_s": [60.0], "stage": ["N2"]})
    idx = night_indices(s, SleepInfo(hyp, 0.0, 60.0), W)
    assert (idx["n_imi_lt10"], idx["n_imi_10_90"]) == (1, 3)
    lin = imi_histograms(s, W)["linear"]
    assert lin.loc[lin["bin_start_s"] == 8.0, "count"].item() == 1  # 9.999999 s is in [8, 10)
    noise = imi_histograms(score_lms(train([6.4, 16.4]), W), W)["linear"]
    assert noise.loc[noise["bin_start_s"] == 10.0, "count"].item() == 1


@pytest.mark.parametrize("rules", [W, AASM()])
def test_period_leaves_movements_outside_unscored(rules):
    # a series 0..50 s; the scored period starts at 25 s: 0 and 20 are not scored, so 30..50 is
    # a run of 3 and no series
    assert score_lms(train([0, 20, 30, 40, 50]), rules)["in_plm_series"].all()
    s = score_lms(train([0, 20, 30, 40, 50]), rules, period=(25.0, 100.0))
    assert s["onset_s"].tolist() == [30, 40, 50] and s.attrs["n_outside_period"] == 2
    assert s["imi_s"].isna().iloc[0] and not s["in_plm_series"].any()
    s2 = score_lms(train([0, 20, 40, 60, 80]), rules, period=(0.0, 80.0))
    assert s2["onset_s"].tolist() == [0, 20, 40, 60] and s2.attrs["n_outside_period"] == 1
    assert score_lms(train([0, 20]), rules).attrs["n_outside_period"] == 0


def test_movements_outside_the_period_do_not_join_bilateral_merges():
    # the right-leg LM at 24.8 s is outside; it does not make the 25-s LM bilateral
    s = score_lms(lms([(24.8, 1.0, "right"), (25.0, 1.0, "left")]), W, period=(25.0, 60.0))
    assert s["side"].tolist() == ["left"] and s["n_mono"].tolist() == [1]
