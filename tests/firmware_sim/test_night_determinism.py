"""Determinism: same seed -> identical night; sensor settings do not change the true events."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from firmware_sim.night import simulate_night

TRUE_EVENT_COLUMNS = ["onset_s", "duration_s", "kind", "amplitude_mg", "shape", "source", "is_clm", "in_plm_series"]


@functools.cache
def night(rate_hz: int = 50, seed: int = 4, **kw: object):
    return simulate_night("pad", hours=3.0, rate_hz=rate_hz, seed=seed, **kw)


def test_same_seed_gives_identical_recording_and_truth():
    a = night()
    b = simulate_night("pad", hours=3.0, rate_hz=50, seed=4)
    for name in ("accel_g", "time_s", "seq", "host_time_s", "backfilled"):
        np.testing.assert_array_equal(getattr(a.recording, name), getattr(b.recording, name))
    assert a.recording.start == b.recording.start
    pd.testing.assert_frame_equal(a.truth_lms, b.truth_lms)
    pd.testing.assert_frame_equal(a.diary, b.diary)
    pd.testing.assert_frame_equal(a.pad_log, b.pad_log)
    assert a.summary == b.summary


def test_different_seed_gives_different_night():
    a, b = night(), night(seed=5)
    assert len(a.truth_lms) != len(b.truth_lms) or not np.allclose(a.truth_lms["onset_s"], b.truth_lms["onset_s"])


@pytest.mark.parametrize("rate_hz", [25, 100])
def test_rate_does_not_change_true_events(rate_hz):
    ref, other = night(), night(rate_hz=rate_hz)
    pd.testing.assert_frame_equal(ref.truth_lms[TRUE_EVENT_COLUMNS], other.truth_lms[TRUE_EVENT_COLUMNS])
    pd.testing.assert_frame_equal(ref.hypnogram, other.hypnogram)
    pd.testing.assert_frame_equal(ref.diary, other.diary)
    pd.testing.assert_frame_equal(ref.pad_log, other.pad_log)
    assert ref.summary["clock_ppm"] == other.summary["clock_ppm"]
    assert other.recording.fs == rate_hz


def test_imu_settings_do_not_change_true_events():
    ref = night()
    other = night(clock_ppm=-10.0, range_g=4, imu_aa_filter="none", imu_noise_density_ug_rthz=500.0)
    pd.testing.assert_frame_equal(ref.truth_lms[TRUE_EVENT_COLUMNS], other.truth_lms[TRUE_EVENT_COLUMNS])
    assert other.summary["clock_ppm"] == -10.0
    assert not np.array_equal(ref.recording.accel_g[:1000], other.recording.accel_g[:1000])
