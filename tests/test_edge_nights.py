"""The edge nights of issue #3: no movement, pure noise, a 5-minute file, 30% gaps.

Each must process without error and give the results documented in docs/detection.md ("Edge
nights")."""

from __future__ import annotations

import numpy as np
import pytest

from lmdetect.model import Recording
from lmdetect.pipeline import process_night
from tests.synth import START, add_burst, quiet, recording

FS = 50.0


def _train(a: np.ndarray, start_s: float, end_s: float, period_s: float = 25.0) -> int:
    onsets = np.arange(start_s, end_s, period_s)
    for o in onsets:
        add_burst(a, FS, float(o), 2.0, 0.05)
    return onsets.size


def test_a_night_without_movement_is_all_sleep_with_zero_indices_and_flags_non_wear():
    res = process_night(recording(quiet(2 * 3600, FS, noise_g=0.001)))
    s = res.summary
    assert s["n_lm"] == 0 and s["n_plm"] == 0 and len(res.events) == 0
    assert s["tst_h"] == pytest.approx(2.0) and s["plms_index"] == 0.0
    assert s["plmw_index"] is None and s["periodicity_index"] is None  # no wake, no intervals
    # two hours without the slightest movement look like a sensor left on a table: flagged, kept
    assert s["quality"]["nonwear_h"] > 1.5 and s["quality"]["recorded_h"] == pytest.approx(2.0)


def test_a_night_of_pure_sensor_noise_gives_no_movements_and_a_raised_floor():
    rng = np.random.default_rng(1)
    a = quiet(2 * 3600, FS, noise_g=0.001)
    a += rng.normal(0.0, 0.03, a.shape).astype(np.float32)  # 30 mg RMS on every axis
    s = process_night(recording(a)).summary
    assert s["n_lm"] == 0 and s["plms_index"] == 0.0
    assert s["quality"]["noise_floor_mg"] > 10 and s["quality"]["onset_threshold_mg"] > 30
    assert s["quality"]["nonwear_h"] == 0.0  # noisy, so not a sensor lying still


def test_a_five_minute_file_is_scored():
    a = quiet(300, FS)
    n = _train(a, 20.0, 280.0)
    s = process_night(recording(a)).summary
    assert s["tib_h"] == pytest.approx(300 / 3600, abs=1e-3)
    assert s["n_plm"] == n and s["n_series"] == 1
    assert s["tst_h"] == pytest.approx(300 / 3600, abs=1e-3)  # one 5-min run of sleep


def test_a_file_with_30_percent_gaps_counts_only_observed_time():
    a = quiet(2 * 3600, FS)
    _train(a, 60.0, 7000.0)
    keep = np.ones(a.shape[0], bool)
    for g0 in np.arange(600.0, 7200.0, 1000.0):  # seven 5-min gaps
        keep[int(g0 * FS) : int((g0 + 300) * FS)] = False
    assert 0.28 < 1 - keep.mean() < 0.31
    t = np.arange(a.shape[0]) / FS
    res = process_night(Recording(a[keep], t[keep], FS, START))
    s = res.summary
    assert s["quality"]["n_gaps"] == 7 and s["quality"]["gap_total_s"] == pytest.approx(2100.0, abs=1)
    # TST is the observed time; the gaps neither count as sleep nor, via their neighbours, as wake
    assert s["tst_h"] == pytest.approx(s["quality"]["recorded_h"], abs=0.02)
    assert s["plmw_index"] is None
    # a PLM every 25 s: close to 144/h over the observed time (series break at the gaps)
    assert 125 < s["plms_index"] <= 144
    assert not (res.events["onset_s"].between(600.0, 900.0)).any()  # nothing detected in a gap


def test_noise_on_a_single_axis_makes_no_periodic_series():
    # a faulty axis: 10 mg of white noise on x only; its magnitude swings far above its mean
    rng = np.random.default_rng(1)
    a = quiet(2 * 3600, FS, noise_g=0.001)
    a[:, 0] += rng.normal(0.0, 0.01, a.shape[0]).astype(np.float32)
    s = process_night(recording(a)).summary
    assert s["n_plm"] == 0 and s["n_lm"] < 20  # without the peak floor: ~140 LMs, ~90 in series
