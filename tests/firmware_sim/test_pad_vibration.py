"""The vibration pad: session timing, motor frequency at a high ODR, aliasing at a low ODR."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import signal

from firmware_sim.night import simulate_night

PAD = dict(pad_motor_hz_range=(80.0, 80.0), pad_intensity_range=(9, 9), pad_freq_wander=0.0, pad_amplitude_mg_range=(200.0, 200.0))


def _pad_segment(night, margin_s: float = 60.0):
    s = night.pad_sessions[0]
    k = 1.0 + night.summary["clock_ppm"] * 1e-6
    rec = night.recording
    i0, i1 = np.searchsorted(rec.time_s, [(s.start_s + margin_s) * k, (s.start_s + s.on_s - margin_s) * k])
    return rec.accel_g[i0:i1].astype(np.float64), s


def _peak_hz(x, fs):
    f, p = signal.welch(x - x.mean(axis=0), fs=fs, nperseg=4096, axis=0)
    p = p.sum(axis=1)
    band = f > 0.7  # above leg movements' slow content
    return f[band][np.argmax(p[band])], float(np.sqrt(np.var(signal.sosfiltfilt(signal.butter(4, 1.0, "high", fs=fs, output="sos"), x, axis=0), axis=0).sum()))


def test_pad_sessions_follow_the_device_cycle_and_are_logged():
    night = simulate_night("pad", hours=4.0, rate_hz=50, seed=1)
    assert 1 <= len(night.pad_log) <= 4
    start = night.recording.start
    dur = (pd.to_datetime(night.pad_log["end"]) - pd.to_datetime(night.pad_log["start"])).dt.total_seconds()
    assert np.allclose(dur, 35 * 60, atol=1)
    assert night.pad_log["intensity"].between(1, 9).all()
    for s in night.pad_sessions:  # each session starts within an RLS episode
        assert any(e.start_s <= s.start_s <= e.end_s for e in night.rls_episodes) or s.cycle == 2
    first = (pd.Timestamp(night.pad_log["start"].iloc[0]) - pd.Timestamp(start)).total_seconds()
    assert abs(first - night.pad_sessions[0].start_s) < 1.0


def test_motor_frequency_visible_at_high_odr():
    night = simulate_night("pad", hours=3.0, rate_hz=200, seed=5, **PAD)
    x, s = _pad_segment(night)
    f, rms_mg = _peak_hz(x, 200.0)
    assert abs(f - 80.0) < 0.5
    assert rms_mg * 1000.0 > 50.0


def test_vibration_aliases_at_low_odr_without_filter():
    night = simulate_night("pad", hours=3.0, rate_hz=25, seed=5, imu_aa_filter="none", **PAD)
    x, _ = _pad_segment(night)
    f, rms = _peak_hz(x, 25.0)
    assert abs(f - 5.0) < 0.2  # 80 Hz - 3 x 25 Hz
    assert rms * 1000.0 > 100.0  # full amplitude (200 mg peak)


def _band_rms_mg(x, fs, f0, half_width_hz=0.5):
    f, p = signal.welch(x - x.mean(axis=0), fs=fs, nperseg=4096, axis=0)
    band = np.abs(f - f0) <= half_width_hz
    return 1000.0 * float(np.sqrt(p[band].sum() * (f[1] - f[0])))


def test_anti_alias_models_attenuate_as_documented():
    rms = {}
    for kind in ("none", "partial", "lpf"):
        night = simulate_night("pad", hours=3.0, rate_hz=50, seed=5, imu_aa_filter=kind, **dict(PAD, pad_motor_hz_range=(120.0, 120.0)))
        x, _ = _pad_segment(night)
        rms[kind] = _band_rms_mg(x, 50.0, 20.0)  # 120 Hz aliases to |120 - 2 x 50| = 20 Hz
    assert rms["none"] > 100.0  # 200 mg peak, unattenuated
    assert 2.0 < rms["partial"] < 30.0  # default: still visible at 50 Hz, a few to tens of mg
    assert rms["lpf"] < 1.5  # down to the noise floor


def test_ramp_down_ends_the_vibration():
    night = simulate_night("pad", hours=3.0, rate_hz=200, seed=5, **PAD)
    s = night.pad_sessions[0]
    rec = night.recording
    k = 1.0 + night.summary["clock_ppm"] * 1e-6
    sos = signal.butter(4, 20.0, "high", fs=200.0, output="sos")

    def hf_rms(a, b):
        i0, i1 = np.searchsorted(rec.time_s, [a * k, b * k])
        return np.sqrt(np.var(signal.sosfiltfilt(sos, rec.accel_g[i0:i1].astype(float), axis=0), axis=0).sum())

    on = hf_rms(s.start_s + 600, s.start_s + 660)
    ramp = hf_rms(s.start_s + s.on_s + 120, s.start_s + s.on_s + 150)
    after = hf_rms(s.end_s + 30, s.end_s + 90)
    before = hf_rms(s.start_s - 90, s.start_s - 30)
    assert on > 2.0 * ramp > 0 and ramp > after
    assert after < 1.2 * before  # only sensor noise after the cycle
