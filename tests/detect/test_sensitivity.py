"""The detection limit follows the sensor's noise."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from lmdetect.detect.lm import detect_lms
from lmdetect.detect.params import DetectParams
from lmdetect.evaluation import match_events
from lmdetect.pipeline import process_night
from lmdetect.preprocessing.clock import fit_clock
from lmdetect.preprocessing.grid import to_regular_grid
from tests.synth import add_burst, quiet, recording


def _inband_noise_g(rms_mg, fs, band_hz=5.0):
    # white noise with this RMS (per axis) within the 0-5 Hz movement band
    return rms_mg / 1000.0 * np.sqrt((fs / 2) / band_hz)


@pytest.mark.parametrize(("fs", "rms_mg"), [(50.0, 1.0), (100.0, 2.0), (25.0, 1.5)])
def test_faint_series_are_detected_on_a_quiet_sensor(fs, rms_mg):
    a = quiet(1800, fs, noise_g=_inband_noise_g(rms_mg, fs), seed=2)
    rng = np.random.default_rng(3)
    onsets = np.arange(60.0, 1740.0, 24.0)
    amps = rng.uniform(0.010, 0.020, onsets.size)  # 10-20 mg, a faint PLM series
    for o, amp in zip(onsets, amps, strict=True):
        add_burst(a, fs, o, 2.0, amp, freq_hz=1.5, axis=int(rng.integers(0, 3)))
    res = process_night(recording(a, fs))
    truth = pd.DataFrame({"onset_s": onsets, "duration_s": 2.0})
    di, ri = match_events(res.events, truth)
    assert ri.size / len(truth) >= 0.8  # under the former 8 mg onset floor most were missed
    assert len(res.events) - di.size <= 1
    q = res.summary["quality"]
    assert q["onset_threshold_mg"] < 8.0 and q["detection_limited"] is False


@pytest.mark.parametrize("fs", [25.0, 100.0])
def test_a_still_night_at_1_mg_gives_under_one_false_lm_per_hour(fs):
    hours = 4.0
    a = quiet(hours * 3600, fs, noise_g=_inband_noise_g(1.0, fs), seed=5)
    res = process_night(recording(a, fs))
    assert len(res.events) / hours < 1.0


def test_a_noisy_sensor_raises_its_limit_and_says_so():
    fs = 50.0
    a = quiet(1800, fs, noise_g=_inband_noise_g(6.0, fs), seed=4)
    q = process_night(recording(a, fs)).summary["quality"]
    assert q["noise_rms_mg"] == pytest.approx(6.0, rel=0.25)
    assert q["onset_threshold_mg"] > 10.0 and q["detection_limited"] is True


def test_faint_sustained_movements_are_found_by_the_matched_filter():
    # 3-s, 6-mg movements on a 1.5 mg sensor: their 0.25-s envelope seldom reaches the onset
    # threshold (3 x floor), their 0.5-s average clears the lower sustained level
    fs = 50.0
    a = quiet(1200, fs, noise_g=_inband_noise_g(1.5, fs), seed=7)
    onsets = np.arange(60.0, 1140.0, 30.0)
    for o in onsets:
        add_burst(a, fs, o, 3.0, 0.006, freq_hz=1.5, axis=1)
    rec = recording(a, fs)
    reg = to_regular_grid(rec, fit_clock(rec))
    truth = pd.DataFrame({"onset_s": onsets, "duration_s": 3.0})
    found = {}
    for fac in (0.0, DetectParams().sustained_on_factor):
        ev, _ = detect_lms(reg, dataclasses.replace(DetectParams(), sustained_on_factor=fac))
        di, ri = match_events(ev, truth)
        assert len(ev) - di.size <= 2
        found[fac] = ri.size
    assert found[DetectParams().sustained_on_factor] >= max(2 * found[0.0], 0.6 * len(truth))
