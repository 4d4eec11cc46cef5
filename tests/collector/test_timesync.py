"""Clock fit: lower envelope of one-way packets, tightened by two-way exchanges."""

from __future__ import annotations

import numpy as np
import pytest

from lmdetect.collector.timesync import OnlineClockFit

TICK_HZ = 32768
T0_NS = 1_780_000_000 * 10**9  # a host time in 2026, ns since the Unix epoch


def _truth(drift_ppm: float, offset_s: float = 12.5):
    """host_ns of a sensor tick for a sensor clock running (1 + drift) fast."""
    rate = TICK_HZ * (1 + drift_ppm * 1e-6)

    def host_ns(tick):
        return T0_NS + offset_s * 1e9 + np.asarray(tick, dtype=np.float64) / rate * 1e9

    return host_ns


@pytest.mark.parametrize("drift_ppm", [-80.0, 0.0, 50.0])
def test_one_way_packets_recover_drift_and_an_offset_late_by_the_smallest_delay(drift_ppm):
    rng = np.random.default_rng(1)
    host = _truth(drift_ppm)
    fit = OnlineClockFit(TICK_HZ)
    ticks = np.arange(0, 8 * 3600 * TICK_HZ, TICK_HZ // 2, dtype=np.int64)  # 2 packets/s, 8 h
    delay_ns = 2e6 + rng.exponential(20e6, ticks.size)  # >= 2 ms transport, mostly tens of ms
    for t, d in zip(ticks, delay_ns, strict=True):
        fit.add(int(t), int(host(t) + d))
    f = fit.fit()
    assert f is not None and f.n_points == ticks.size and f.bound_ns is None
    assert f.drift_ppm == pytest.approx(drift_ppm, abs=0.05)
    err_ms = (np.array([f.host_ns(t) for t in ticks[::997]]) - host(ticks[::997])) / 1e6
    # never earlier than the truth (causality), late by about the smallest delay (2 ms)
    assert err_ms.min() > -0.05
    assert err_ms.max() < 2.5


def test_two_way_exchanges_remove_the_transport_delay_bias():
    rng = np.random.default_rng(2)
    host = _truth(50.0)
    fit = OnlineClockFit(TICK_HZ)
    ticks = np.arange(0, 3600 * TICK_HZ, TICK_HZ // 2, dtype=np.int64)
    for t in ticks:  # a large constant floor: one-way data alone would be 40 ms late
        fit.add(int(t), int(host(t) + 40e6 + rng.exponential(30e6)))
    one_way = fit.fit()
    assert one_way is not None
    assert (one_way.host_ns(ticks[100]) - host(ticks[100])) / 1e6 == pytest.approx(40, abs=2)
    for t in ticks[::120]:  # a TIME_SYNC a minute: request and reply each take 20-40 ms
        up, down = rng.uniform(20e6, 40e6, 2)
        fit.add_exchange(int(t), int(host(t) - up), int(host(t) + down))
    f = fit.fit()
    assert f is not None and f.n_exchanges == ticks[::120].size
    assert f.bound_ns is not None and f.bound_ns < 25e6
    err_ms = (np.array([f.host_ns(t) for t in ticks[::500]]) - host(ticks[::500])) / 1e6
    assert np.abs(err_ms).max() < 8
    assert f.drift_ppm == pytest.approx(50.0, abs=1.0)


def test_inconsistent_exchanges_fall_back_to_the_packets():
    host = _truth(0.0)
    fit = OnlineClockFit(TICK_HZ)
    for t in range(0, 600 * TICK_HZ, TICK_HZ):
        fit.add(t, int(host(t) + 5e6))
    # a reply stamped before its request was sent cannot be right and is ignored
    fit.add_exchange(10 * TICK_HZ, int(host(10 * TICK_HZ) + 1e6), int(host(10 * TICK_HZ) - 1e6))
    f = fit.fit()
    assert f is not None and f.n_exchanges == 0
    assert (f.host_ns(300 * TICK_HZ) - host(300 * TICK_HZ)) / 1e6 == pytest.approx(5.0, abs=0.01)


def test_out_of_order_points_are_ignored_and_no_fit_before_two_points():
    fit = OnlineClockFit(TICK_HZ)
    assert fit.fit() is None
    fit.add(1000, T0_NS)
    assert fit.fit() is None
    fit.add(500, T0_NS - 10**9)  # older tick: not a live packet of this stream
    fit.add(1000 + TICK_HZ, T0_NS + 10**9)
    f = fit.fit()
    assert f is not None and f.n_points == 2
    assert f.slope == pytest.approx(1e9 / TICK_HZ)


def test_large_tick_values_keep_nanosecond_precision():
    # Polar-like ticks: nanoseconds since 2000 (~8e17); the exact integer hull must not round
    tick_hz = 10**9
    fit = OnlineClockFit(tick_hz)
    t0 = 835_000_000 * 10**9
    for k in range(2000):
        t = t0 + k * 500_000_000
        fit.add(t, T0_NS + k * 500_000_000 + 3_000_000 + (k % 7) * 1_000_000)
    f = fit.fit()
    assert f is not None
    assert f.drift_ppm == pytest.approx(0.0, abs=0.01)
    assert f.host_ns(t0 + 1000 * 500_000_000) - (T0_NS + 1000 * 500_000_000) == pytest.approx(3e6, abs=1e4)
