"""Movement physics: amplitude and duration ranges, rotation of gravity, posture changes."""

from __future__ import annotations

import functools

import numpy as np

from firmware_sim.events import SHAPES
from firmware_sim.movement import FINE_HZ
from firmware_sim.night import simulate_night
from firmware_sim.profiles import PROFILES


@functools.cache
def rls_night():
    return simulate_night("rls", hours=8.0, rate_hz=100, seed=9)


def test_lm_durations_and_amplitudes_within_stated_ranges():
    t = rls_night().truth_lms
    lm = t[t["kind"] == "lm"]
    assert lm["duration_s"].between(0.5, 10.0).all()
    lo, hi = PROFILES["rls"].lm_amplitude_limits_mg
    assert lm["amplitude_mg"].between(lo * 0.999, hi * 1.001).all()
    assert set(lm["shape"]) == set(SHAPES)  # several shapes occur
    long = t[t["kind"] == "long"]
    assert len(long) and (long["duration_s"] > 10.0).all() and not long["is_clm"].any()
    vol = t[t["kind"] == "voluntary"]
    assert len(vol) and (vol["stage"] == "W").all()
    assert vol["amplitude_mg"].median() > 2 * lm["amplitude_mg"].median()  # larger than sleep LMs
    # a broad spread of sizes inside the range, not a single value
    assert lm["amplitude_mg"].quantile(0.9) > 2 * lm["amplitude_mg"].quantile(0.1)


def test_amplitude_is_peak_deviation_from_resting_gravity():
    night = rls_night()
    t = night.truth_lms
    for _, row in t[t["kind"] == "lm"].head(40).iterrows():
        tt = row["onset_s"] + np.arange(0.0, row["duration_s"], 1.0 / FINE_HZ)
        dev = night.true_signal(tt, gravity=False)
        peak = 1000.0 * np.sqrt((dev**2).sum(axis=1)).max()
        assert abs(peak - row["amplitude_mg"]) < 0.02 * row["amplitude_mg"] + 0.5


def test_movement_visible_in_recording_at_true_time():
    night = rls_night()
    rec = night.recording
    t = night.truth_lms
    big = t[(t["kind"] == "lm") & (t["amplitude_mg"] > 100)].iloc[0]
    # sensor time runs (1 + ppm 1e-6) times true time
    k = 1.0 + night.summary["clock_ppm"] * 1e-6
    i0, i1 = np.searchsorted(rec.time_s, [big["onset_s"] * k, (big["onset_s"] + big["duration_s"]) * k])
    before = rec.accel_g[i0 - 300 : i0 - 100].mean(axis=0)
    dev = 1000.0 * np.linalg.norm(rec.accel_g[i0:i1] - before, axis=1).max()
    assert 0.7 * big["amplitude_mg"] < dev < 1.3 * big["amplitude_mg"] + 15.0


def test_leg_movements_rotate_the_gravity_vector_by_a_few_degrees():
    night = rls_night()
    t = night.truth_lms
    lm = t[(t["shape"] == "dorsiflexion") & (t["kind"] == "lm")].iloc[:40]
    angles = []
    for _, row in lm.iterrows():
        # mid-plateau of a dorsiflexion the shank is held still: the reading is rotated gravity only
        rest = night.true_signal(np.array([row["onset_s"] - 0.2]))[0]
        held = night.true_signal(np.array([row["onset_s"] + 0.45 * row["duration_s"]]))[0]
        dev_mg = 1000.0 * np.linalg.norm(held - rest)
        angle = np.degrees(np.arccos(np.clip(np.dot(rest, held) / np.linalg.norm(rest) / np.linalg.norm(held), -1, 1)))
        if dev_mg > 5.0:
            assert abs(np.linalg.norm(held) - 1.0) * 1000.0 < 0.3 * dev_mg  # |a| stays ~1 g: a rotation
        angles.append(angle)
    assert 0.5 < np.median(angles) < 25.0


def test_posture_changes_change_the_resting_gravity_direction():
    night = rls_night()
    t = night.truth_lms
    post = t[t["kind"] == "posture"]
    assert len(post) >= 3
    angles = []
    for _, row in post.iterrows():
        before = night.true_signal(np.array([row["onset_s"] - 0.5]), gravity=True)[0]
        after = night.true_signal(np.array([row["onset_s"] + row["duration_s"] + 0.5]), gravity=True)[0]
        cos = np.dot(before, after) / np.linalg.norm(before) / np.linalg.norm(after)
        angles.append(np.degrees(np.arccos(np.clip(cos, -1, 1))))
    assert min(angles) > 30.0
    assert (post["duration_s"] >= 2.5).all()
    # at rest the sensor reads 1 g
    rest = night.true_signal(np.array([post.iloc[0]["onset_s"] - 0.5]))[0]
    assert abs(np.linalg.norm(rest) - 1.0) < 1e-6


def test_movements_on_one_leg_never_touch():
    t = rls_night().truth_lms
    gaps = t["onset_s"].to_numpy()[1:] - (t["onset_s"] + t["duration_s"]).to_numpy()[:-1]
    assert gaps.min() >= 0.6
