"""IMU model: quantisation, clipping, noise level, offset drift, clock drift and packets."""

from __future__ import annotations

import functools

import numpy as np

from firmware_sim import imu
from firmware_sim.night import packet_size, simulate_night
from lmdetect.protocol import MAX_SAMPLES_PER_PACKET


@functools.cache
def control_night(rate_hz: int = 100, **kw: object):
    return simulate_night("control", hours=2.0, rate_hz=rate_hz, seed=21, **kw)


def _quiet_windows(night, width_s: float = 20.0):
    """Sensor-time windows of ``width_s`` with no true movement within 5 s."""
    t = night.truth_lms
    k = 1.0 + night.summary["clock_ppm"] * 1e-6
    on = t["onset_s"].to_numpy() - 5.0
    off = (t["onset_s"] + t["duration_s"]).to_numpy() + 5.0
    out = []
    for a in np.arange(600.0, night.recording.duration_s - 600.0, width_s):
        b = a + width_s
        if not np.any((on < b) & (off > a)):
            out.append((a * k, b * k))
    return out


def test_samples_are_16_bit_counts_of_the_range():
    rec = control_night().recording
    counts = rec.accel_g.astype(np.float64) * 32768.0 / rec.range_g
    np.testing.assert_allclose(counts, np.rint(counts), atol=1e-3)
    assert rec.range_g == 8.0


def test_quantize_clips_at_full_scale():
    a = np.array([[0.5, -0.5, 1.0], [3.0, -2.5, 0.0], [1.9999, 0.0, 0.0]])
    counts, clipped = imu.quantize(a, 2.0)
    assert counts.dtype == np.int16
    assert counts[1].tolist() == [32767, -32768, 0]
    assert clipped.tolist() == [False, True, False]
    assert counts[0].tolist() == [8192, -8192, 16384]


def test_small_range_clips_large_movements():
    # an unfiltered 1.5 g pad vibration on top of 1 g gravity exceeds a +-2 g range
    night = simulate_night(
        "pad", hours=3.0, rate_hz=50, seed=5, range_g=2, imu_aa_filter="none", pad_amplitude_mg_range=(1500.0, 1500.0), pad_intensity_range=(9, 9)
    )
    rec = night.recording
    assert np.abs(rec.accel_g).max() <= 2.0
    assert night.summary["recording"]["n_samples_clipped"] > 0
    assert np.isclose(np.abs(rec.accel_g).max(), 2.0, atol=1e-3)


def test_noise_level_matches_the_datasheet_model():
    for rate in (25, 100):
        night = control_night(rate)
        rec = night.recording
        sds = []
        for a, b in _quiet_windows(night)[:20]:
            i0, i1 = np.searchsorted(rec.time_s, [a, b])
            x = rec.accel_g[i0:i1].astype(np.float64)
            sds.append(np.std(np.diff(x, axis=0), axis=0).mean() / np.sqrt(2.0))  # diff removes offsets
        expected = imu.noise_rms_mg(283.0, rate)
        assert abs(1000.0 * np.median(sds) - expected) < 0.15 * expected
    assert abs(imu.noise_rms_mg(283.0, 100) - 2.0) < 0.01


def test_offset_drift_is_a_few_mg_over_the_night():
    rng = np.random.default_rng(0)
    drifts = []
    for _ in range(50):
        model = imu.draw_offset_drift(rng, 5.0, 2.0)
        v = model(np.linspace(0, 8 * 3600, 500))
        drifts.append(1000.0 * np.ptp(v, axis=0).max())
    assert 0.5 < np.median(drifts) < 10.0


def test_clock_drift_shows_as_sensor_versus_host_time_slope():
    night = simulate_night("control", hours=2.0, rate_hz=50, seed=8, clock_ppm=40.0)
    rec = night.recording
    slope = np.polyfit(rec.host_time_s, rec.time_s, 1)[0]
    assert abs((slope - 1.0) * 1e6 - 40.0) < 2.0
    # drawn when not given: 20-50 ppm with a sign
    ppm = simulate_night("control", hours=0.5, rate_hz=25, seed=8).summary["clock_ppm"]
    assert 20.0 <= abs(ppm) <= 50.0


def test_packets_seq_and_host_times():
    night = control_night(50)
    rec = night.recording
    assert packet_size(50) == 25 and packet_size(200) == MAX_SAMPLES_PER_PACKET and packet_size(25) == 12
    _, counts = np.unique(rec.seq, return_counts=True)
    assert (counts[:-1] == 25).all()
    assert np.all(np.diff(rec.seq) >= 0) and rec.seq[0] == 0
    assert not rec.backfilled.any()
    # host time = true time of the packet's last sample + 7.5-50 ms latency, never decreasing
    last = np.r_[np.flatnonzero(np.diff(rec.seq)), rec.n_samples - 1]
    k = 1.0 + night.summary["clock_ppm"] * 1e-6
    latency = rec.host_time_s[last] - rec.time_s[last] / k
    assert latency.min() > 0.007 and latency.max() < 0.06
    assert np.all(np.diff(rec.host_time_s) >= 0)
    assert rec.gaps().empty


def test_noisy_profile_has_gaps_in_seq_and_time():
    night = simulate_night("noisy", hours=3.0, rate_hz=50, seed=2)
    rec = night.recording
    gaps = rec.gaps()
    assert len(gaps) >= 3
    assert np.any(np.diff(rec.seq) > 1)
    assert gaps["duration_s"].max() > 5.0  # at least one dropout, not only single packets
    assert night.summary["recording"]["n_packets_lost"] > 0
