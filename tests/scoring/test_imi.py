"""Periodicity index (Ferri et al., Sleep 2006) and IMI histograms on hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lmdetect.scoring import WASM2016, imi_histograms, periodicity_index, score_lms

W = WASM2016()


def train(onsets, duration=2.0):
    return pd.DataFrame(
        {"onset_s": [float(t) for t in onsets], "duration_s": duration, "side": "left", "kind": "lm"}
    )


# IMIs: 20, 20, 20, 5, 20, 20, 100, 30
EXAMPLE = train([0, 20, 40, 60, 65, 85, 105, 205, 235])


def test_periodicity_index_hand_computed():
    # periodic (10 < IMI <= 90): T T T F T T F T -> runs of 3, 2, 1 IMIs; only the run of 3 counts
    pi, n = periodicity_index(score_lms(EXAMPLE, W), W)
    assert n == 8
    assert pi == pytest.approx(3 / 8)


def test_periodicity_index_lower_bound_is_exclusive():
    # IMIs of exactly 10 s are periodic for the WASM series but not for Ferri's index
    scored = score_lms(train([0, 10, 20, 30, 40]), W)
    assert scored["in_plm_series"].all()
    assert periodicity_index(scored, W) == (0.0, 4)


def test_periodicity_index_upper_bound_is_inclusive():
    assert periodicity_index(score_lms(train([0, 90, 180, 270]), W), W) == (1.0, 3)


def test_periodicity_index_needs_two_imis():
    assert periodicity_index(score_lms(train([0, 20]), W), W) == (None, 1)
    assert periodicity_index(score_lms(train([]), W), W) == (None, 0)


def test_periodicity_index_runs_are_broken_by_non_clm():
    lms = pd.concat(
        [
            train([0, 20, 40]),
            pd.DataFrame({"onset_s": [50.0], "duration_s": [12.0], "side": "left", "kind": "lm"}),
            train([70, 90]),
        ]
    )
    # IMIs: 20, 20 | breaker | NaN, 20: no run of 3
    assert periodicity_index(score_lms(lms, W), W) == (0.0, 3)


def test_linear_histogram_2_s_bins_to_90_s():
    h = imi_histograms(score_lms(EXAMPLE, W), W)["linear"]
    assert list(h.columns) == ["bin_start_s", "bin_end_s", "count"]
    assert len(h) == 45 and h["bin_start_s"].iloc[0] == 0 and h["bin_end_s"].iloc[-1] == 90
    counts = dict(zip(h["bin_start_s"], h["count"], strict=True))
    assert (counts[4.0], counts[20.0], counts[30.0]) == (1, 5, 1)
    assert h["count"].sum() == 7  # the 100-s IMI is beyond the histogram


def test_linear_histogram_includes_exactly_90_s():
    h = imi_histograms(score_lms(train([0, 90]), W), W)["linear"]
    assert h["count"].iloc[-1] == 1 and h["bin_start_s"].iloc[-1] == 88


def test_log_histogram_tenth_ln_bins():
    h = imi_histograms(score_lms(EXAMPLE, W), W)["log"]
    assert len(h) == 45 and h["bin_end_ln"].iloc[-1] == pytest.approx(4.5)
    assert h["bin_end_s"].iloc[-1] == pytest.approx(math.exp(4.5))
    nonzero = {round(float(b), 1): int(c) for b, c in zip(h["bin_start_ln"], h["count"], strict=True) if c}
    # ln 5 = 1.61, ln 20 = 3.00 (just below 3.0), ln 30 = 3.40
    assert nonzero == {1.6: 1, 2.9: 5, 3.4: 1}


def test_histogram_sleep_only():
    hyp = pd.DataFrame({"onset_s": [0.0, 100.0], "duration_s": [100.0, 200.0], "stage": ["W", "N2"]})
    scored = score_lms(EXAMPLE, W, hypnogram=hyp)
    sleep = imi_histograms(scored, W)["linear"]["count"].sum()
    every = imi_histograms(scored, W, sleep_only=False)["linear"]["count"].sum()
    # IMIs ending at 105 (20) and 235 (30) are in N2; 205 (100 s) is too long for the histogram
    assert (sleep, every) == (2, 7)


def test_histogram_of_empty_night():
    h = imi_histograms(score_lms(train([]), W), W)
    assert h["linear"]["count"].sum() == 0 and h["log"]["count"].sum() == 0
    assert np.issubdtype(h["linear"]["count"].dtype, np.integer)
