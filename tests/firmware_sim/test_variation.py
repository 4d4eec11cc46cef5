"""The harder night model: mounting, postures, faint and variant movements, late pads, aliasing, spikes, noise."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from firmware_sim.movement import VARIANT_SHAPES
from firmware_sim.night import simulate_night
from firmware_sim.profiles import PROFILES
from lmdetect.errors import ConfigError


def _lm(n):
    t = n.truth_lms
    return t[t["kind"] == "lm"]


def test_mounting_turns_the_sensor_but_not_the_movements():
    plain = simulate_night("rls", hours=1.0, rate_hz=25, seed=5)
    turned = simulate_night("rls", hours=1.0, rate_hz=25, seed=5, imu_mount_roll_range_deg=(90.0, 90.0), imu_mount_flip_prob=1.0)
    assert turned.summary["imu"]["mount_flipped"] and turned.summary["imu"]["mount_roll_deg"] == 90.0
    np.testing.assert_allclose(turned.truth_lms["amplitude_mg"], plain.truth_lms["amplitude_mg"])
    a, b = plain.recording.accel_g[:500].mean(axis=0), turned.recording.accel_g[:500].mean(axis=0)
    assert np.linalg.norm(a) == pytest.approx(np.linalg.norm(b), abs=0.02)  # still 1 g at rest
    assert np.linalg.norm(a - b) > 0.5  # but along other axes
    # a rotation preserves each movement's size in the sensor frame too
    t = np.arange(0, 3600, 0.04)
    np.testing.assert_allclose(
        np.linalg.norm(turned.true_signal(t, gravity=False), axis=1), np.linalg.norm(plain.true_signal(t, gravity=False), axis=1), atol=1e-6
    )


def test_side_lying_flexion_is_mostly_linear_acceleration():
    from firmware_sim import movement as m

    supine, side = np.array([0.0, 0.0, 1.0]), np.array([0.0, -1.0, 0.0])  # leg frame: up out of the shin / lateral
    g_sup, g_side, share_side = [], [], []
    for seed in range(8):
        d_sup = m._flexion("dorsiflexion", 2.0, supine, 50.0, np.random.default_rng(seed), m.SCALE_UP_SUPINE)
        d_side = m._flexion("dorsiflexion", 2.0, side, 50.0, np.random.default_rng(seed), m.SCALE_UP_SUPINE)
        mid = d_sup.shape[0] // 2  # on the plateau the shank is still: mostly the gravity change is left
        g_sup.append(1000.0 * np.linalg.norm(d_sup[mid]))
        g_side.append(1000.0 * np.linalg.norm(d_side[mid]))
        share_side.append(g_side[-1] / (1000.0 * np.linalg.norm(d_side, axis=1).max()))
    assert np.median(g_sup) > 0.6 * 50.0  # on the back a dorsiflexion tilts the shank against gravity
    assert np.median(g_side) < 0.4 * np.median(g_sup)  # on the side it turns nearly in the horizontal plane
    assert np.median(share_side) < 0.4  # so the peak the sensor feels is mostly linear acceleration


def test_faint_series_members_and_variant_shapes():
    n = simulate_night("rls", hours=4.0, rate_hz=25, seed=3, plm_faint_prob=0.5, lm_faint_range_mg=(7.0, 15.0), lm_shape_variation=0.3)
    lm = _lm(n)
    plm = lm[lm["source"] == "plm"]
    faint = plm["amplitude_mg"] < 15.5
    assert 0.35 < faint.mean() < 0.65
    assert plm.loc[faint, "amplitude_mg"].min() > 6.9
    assert set(VARIANT_SHAPES) <= set(lm["shape"])
    # a faint member stays in its series: the truth still counts it as a PLM
    assert plm.loc[faint, "in_plm_series"].mean() > 0.8
    base = simulate_night("rls", hours=4.0, rate_hz=25, seed=3)
    np.testing.assert_array_equal(base.truth_lms["onset_s"], n.truth_lms["onset_s"])  # same schedule


def test_variant_shapes_reach_their_amplitude():
    n = simulate_night("rls", hours=2.0, rate_hz=25, seed=4, lm_shape_variation=1.0)
    lm = _lm(n)
    for shape in VARIANT_SHAPES:
        row = lm[lm["shape"] == shape].iloc[0]
        t = np.arange(row["onset_s"], row["onset_s"] + row["duration_s"], 1.0 / 400.0)
        peak = 1000.0 * np.linalg.norm(n.true_signal(t, gravity=False), axis=1).max()
        assert peak == pytest.approx(row["amplitude_mg"], rel=0.02), shape


def test_late_pad_sessions_run_into_sleep_with_movements_under_them():
    asleep = plm = rls = 0
    for seed in (1, 2, 3):
        n = simulate_night("pad_sleep", hours=6.0, rate_hz=25, seed=seed)
        lm = _lm(n)
        under = np.zeros(len(lm), bool)
        for p in n.pad_sessions:
            under |= ((lm["onset_s"] >= p.start_s) & (lm["onset_s"] < p.end_s)).to_numpy()
            asleep += int((n.plan.stage_at(np.arange(p.start_s, p.end_s, 30.0)) != 0).sum())
        plm += int((lm[under]["source"] == "plm").sum())
        rls += int((lm[under]["source"] == "rls").sum())
    assert asleep > 60  # more than half an hour of pad time in sleep over three nights
    assert plm >= 20 and rls >= 20


@pytest.mark.parametrize("rate", [25, 50, 100])
@pytest.mark.parametrize("aa", ["none", "partial"])
def test_pad_alias_lands_in_the_movement_band(rate, aa):
    n = simulate_night("pad_alias", hours=2.0, rate_hz=rate, seed=1, imu_aa_filter=aa, imu_spikes_per_h=0.0)
    s = n.pad_sessions[0]
    t = n.recording.time_s / (1.0 + n.summary["clock_ppm"] * 1e-6)  # true times
    sel = (t > s.start_s + 60) & (t < s.start_s + 600)
    x = n.recording.accel_g[sel] - n.true_signal(t[sel])  # the vibration (and noise) without the leg
    f, p = signal.welch(x - x.mean(axis=0), fs=rate, nperseg=int(8 * rate), axis=0)
    p = p.sum(axis=1)
    peak = float(f[1:][np.argmax(p[1:])])
    assert 0.5 <= peak <= 5.0  # the 101-104 Hz motor aliases to 1-4 Hz at each rate
    rms_mg = 1000.0 * np.sqrt(np.sum(p[(f > peak - 0.5) & (f < peak + 0.5)]) * (f[1] - f[0]))
    # unfiltered it aliases at full size; a light 2nd-order filter at ODR/2 weakens it by ~12 dB per
    # octave above Nyquist but leaves a line of mg that a 1-2 mg sensor still shows
    assert rms_mg > (20.0 if aa == "none" else 1.0)


def test_spikes_are_single_samples_and_noise_rms_is_per_night():
    kw = {"hours": 1.0, "rate_hz": 50, "seed": 8, "imu_noise_rms_range_mg": (1.5, 1.5)}
    quiet = simulate_night("rls", **kw)
    spiky = simulate_night("rls", imu_spikes_per_h=30.0, imu_spike_range_mg=(200.0, 400.0), **kw)
    diff = np.abs(spiky.recording.accel_g - quiet.recording.accel_g)
    hit = diff > 0.1
    assert spiky.summary["imu"]["n_spikes"] > 10
    assert hit.sum() == spiky.summary["imu"]["n_spikes"]
    assert (hit.sum(axis=1) <= 1).all()
    assert quiet.summary["imu"]["noise_rms_mg"] == pytest.approx(1.5)
    first = quiet.recording.accel_g[: 50 * 60]  # lights off comes 5-20 min in; the leg rests at first
    lm0 = quiet.truth_lms["onset_s"].min()
    rest = quiet.recording.accel_g[: int(min(lm0, 60.0) * 50)]
    assert rest.size and first.size
    sd = 1000.0 * np.diff(rest, axis=0).std(axis=0) / np.sqrt(2.0)
    np.testing.assert_allclose(sd, 1.5, rtol=0.25)


def test_harder_profiles_are_split_in_two_families():
    for name in ("mounted", "pad_sleep", "field", "pad_alias"):
        p = PROFILES[name]
        assert p.imu_mount_flip_prob > 0 and p.plm_faint_prob > 0 and p.imu_spikes_per_h > 0
    assert PROFILES["pad_sleep"].pad_motor_hz_range != PROFILES["pad_alias"].pad_motor_hz_range


def test_bad_variation_values_raise_config_error():
    with pytest.raises(ConfigError, match="posture_weights"):
        PROFILES["rls"].with_overrides(posture_weights=(1.0, 0.0))
    with pytest.raises(ConfigError, match="plm_faint_prob"):
        PROFILES["rls"].with_overrides(plm_faint_prob=1.5)
    with pytest.raises(ConfigError, match="lm_faint_range_mg"):
        PROFILES["rls"].with_overrides(lm_faint_range_mg=(20.0, 7.0))


def test_the_simulate_command_offers_every_profile():
    from lmdetect.commands.simulate import _PROFILE_NAMES

    assert _PROFILE_NAMES == tuple(PROFILES)
