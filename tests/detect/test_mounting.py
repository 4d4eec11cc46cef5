"""Simulate-then-recover: the detector finds the same leg movements however the sensor sits."""

import numpy as np
import pandas as pd
import pytest
from scipy import signal

from lmdetect.evaluation import match_events
from lmdetect.pipeline import process_night
from tests.synth import quiet, recording, rotation, shank_movement

ONSETS = np.arange(60.0, 1140.0, 27.0)


def _truth():
    return pd.DataFrame({"onset_s": ONSETS, "duration_s": 2.0})


def _scene(fs, *, gravity=(0.0, 0.0, 1.0), axis=(0.0, 1.0, 0.0), tangent=(0.0, 0.0, 1.0), angle_deg=5.0,
           noise_g=0.002, seed=0):
    """The shank lying still with ``gravity`` (sensor frame, shank along x), flexing now and then."""
    a = quiet(1200, fs, noise_g=0.0, seed=seed)
    a[:] = np.asarray(gravity, np.float32)
    for o in ONSETS:
        shank_movement(a, fs, o, 2.0, angle_deg, axis=axis, tangent=tangent)
    a += np.random.default_rng(seed).normal(0.0, noise_g, a.shape).astype(np.float32)
    return a


def _recovered(a, fs):
    res = process_night(recording(a, fs))
    di, ri = match_events(res.events, _truth())
    lms = res.events[res.events["kind"] == "lm"]
    return ri.size / len(ONSETS), len(res.events) - di.size, len(lms), res


@pytest.mark.parametrize("angle", [0.0, 37.0, 90.0, 180.0, 251.0])
def test_any_rotation_about_the_shin(angle):
    fs = 50.0
    a = _scene(fs) @ rotation((1.0, 0.0, 0.0), angle).T.astype(np.float32)
    recall, false, n_lm, _ = _recovered(a, fs)
    assert recall == 1.0 and false == 0 and n_lm == len(ONSETS)


def test_upside_down():
    fs = 50.0
    a = _scene(fs) @ rotation((0.0, 1.0, 0.0), 180.0).T.astype(np.float32)  # strapped on reversed
    recall, false, _, _ = _recovered(a, fs)
    assert recall == 1.0 and false == 0


def test_lying_on_the_side_linear_acceleration_only():
    # the flexion axis is vertical: gravity's projection does not change at all, only the
    # tangential acceleration of the shank (~25 mg for a 10-degree, 2-s flexion) is seen
    fs = 50.0
    a = _scene(fs, gravity=(0.0, 1.0, 0.0), axis=(0.0, 1.0, 0.0), tangent=(0.0, 0.0, 1.0), angle_deg=10.0)
    recall, false, _, res = _recovered(a, fs)
    assert recall >= 0.95 and false == 0
    assert (res.events["kind"] == "lm").all()  # not posture changes


@pytest.mark.parametrize("anti_alias", [True, False])
def test_25_hz_with_and_without_an_anti_alias_filter(anti_alias):
    # the scene at 200 Hz with broadband sensor noise and a 60-Hz hum; a 25-Hz part either
    # low-passes before decimating or point-samples (the hum and the noise above 12.5 Hz fold in)
    fs_hi, fs = 200.0, 25.0
    a = _scene(fs_hi, noise_g=0.004)
    t = np.arange(a.shape[0]) / fs_hi
    a[:, 2] += (0.01 * np.sin(2 * np.pi * 60.0 * t)).astype(np.float32)
    if anti_alias:
        b = signal.decimate(a, 8, ftype="iir", axis=0, zero_phase=True).astype(np.float32)
    else:
        b = a[::8].copy()
    recall, false, _, _ = _recovered(b, fs)
    assert recall >= 0.95 and false == 0


def test_slowly_drifting_offsets():
    # temperature drift of a MEMS part: tens of mg over the night, on every axis
    fs = 50.0
    a = _scene(fs)
    t = np.arange(a.shape[0]) / fs
    drift = np.stack([0.04 * t / t[-1], 0.02 * np.sin(2 * np.pi * t / 900.0), -0.03 * t / t[-1]], axis=1)
    recall, false, _, _ = _recovered(a + drift.astype(np.float32), fs)
    assert recall == 1.0 and false == 0


@pytest.mark.parametrize("fs", [25.0, 100.0])
def test_single_sample_spikes(fs):
    a = _scene(fs)
    rng = np.random.default_rng(7)
    idx = rng.choice(np.arange(100, a.shape[0] - 100), 60, replace=False)
    a[idx, rng.integers(0, 3, idx.size)] += rng.choice([-1.0, 1.0], idx.size) * rng.uniform(0.2, 2.0, idx.size)
    recall, false, _, res = _recovered(a, fs)
    assert recall == 1.0 and false == 0
    assert res.summary["quality"]["n_spikes_removed"] >= 55
