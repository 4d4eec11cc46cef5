import numpy as np

from lmdetect.preprocessing.clock import fit_clock
from tests.synth import quiet, recording


def _packetised(fs=50.0, hours=2.0, ppm=50.0, per_packet=10, seed=3):
    """Sensor clock runs fast by ppm; host receive time = true send time + positive latency."""
    rng = np.random.default_rng(seed)
    n = int(hours * 3600 * fs)
    true_t = np.arange(n) / fs / (1 + ppm * 1e-6)  # real time of each sample (sensor says n / fs)
    seq = np.arange(n) // per_packet
    last = np.r_[seq[1:] != seq[:-1], True]
    host = np.full(n, np.nan)
    lat = rng.uniform(0.0075, 0.05, size=int(last.sum()))
    host[last] = true_t[last] + lat
    # every sample of a packet carries the packet's receive time
    host = np.repeat(host[last], per_packet)[:n]
    a = quiet(n / fs, fs)
    return recording(a, fs, seq=seq, host_time_s=host), true_t


def test_fit_recovers_drift_and_keeps_timestamps_within_20ms():
    rec, true_t = _packetised(ppm=50.0)
    fit = fit_clock(rec)
    assert fit.source == "host"
    assert abs(fit.drift_ppm - 50.0) < 2.0
    err = np.abs(fit.apply(rec.time_s) - true_t)
    assert err.max() < 0.020


def test_late_backfilled_packets_do_not_bias_the_fit():
    rec, true_t = _packetised(ppm=-30.0)
    host = rec.host_time_s.copy()
    back = np.zeros(rec.n_samples, bool)
    back[50_000:60_000] = True
    host[back] += 45.0  # resent after a 45-s link drop
    import dataclasses

    rec2 = dataclasses.replace(rec, host_time_s=host, backfilled=back)
    fit = fit_clock(rec2)
    assert abs(fit.drift_ppm + 30.0) < 2.0
    assert np.abs(fit.apply(rec2.time_s) - true_t).max() < 0.020


def test_without_host_times_the_sensor_clock_is_taken_as_true():
    rec = recording(quiet(60))
    fit = fit_clock(rec)
    assert fit.source == "sensor" and fit.slope == 1.0 and fit.offset_s == 0.0


def test_host_times_of_an_accelerated_replay_are_not_used():
    rec, _ = _packetised(ppm=0.0, hours=0.5)
    import dataclasses

    fast = dataclasses.replace(rec, host_time_s=rec.host_time_s / 60.0)  # replayed at x60
    fit = fit_clock(fast)
    assert fit.slope == 1.0 and fit.source.startswith("sensor")
