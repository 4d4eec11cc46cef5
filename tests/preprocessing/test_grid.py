import numpy as np

from lmdetect.preprocessing.clock import fit_clock
from lmdetect.preprocessing.grid import to_regular_grid
from tests.synth import quiet, recording


def test_gaps_are_masked_not_interpolated():
    fs = 50.0
    a = quiet(100, fs)
    a[:, 0] = np.arange(a.shape[0])  # value = sample number
    keep = np.ones(a.shape[0], bool)
    keep[1000:1500] = False  # 10 s gap
    t = np.arange(a.shape[0]) / fs
    from lmdetect.model import Recording
    from tests.synth import START

    rec = Recording(a[keep], t[keep], fs, START)
    reg = to_regular_grid(rec, fit_clock(rec))
    assert reg.n == a.shape[0]
    assert not reg.valid[1000:1500].any() and reg.valid[:1000].all() and reg.valid[1500:].all()
    # a straight line across the gap (filter padding only), real values elsewhere
    assert np.allclose(reg.accel_g[1000:1500, 0], np.arange(1000, 1500))
    assert reg.accel_g[1500, 0] == 1500


def test_grid_rate_is_the_effective_host_rate():
    fs = 50.0
    rec = recording(quiet(600, fs))
    from lmdetect.preprocessing.clock import ClockFit

    fit = ClockFit(offset_s=0.0, slope=1 / (1 + 100e-6), drift_ppm=100.0, source="host", n_points=2, residual_ms=0)
    reg = to_regular_grid(rec, fit)
    assert abs(reg.fs - fs * (1 + 100e-6)) < 1e-9


def test_gapless_recording_is_a_view_not_a_copy():
    fs = 100.0
    rec = recording(quiet(60, fs))
    reg = to_regular_grid(rec, fit_clock(rec))
    assert reg.accel_g.dtype == np.float32
    assert np.shares_memory(reg.accel_g, rec.accel_g)
    assert reg.valid.all() and reg.n == rec.n_samples


def test_jittery_duplicate_slot_still_takes_the_first_sample():
    from lmdetect.model import Recording
    from tests.synth import START

    fs = 50.0
    a = quiet(10, fs)
    a[:, 0] = np.arange(a.shape[0])
    t = np.arange(a.shape[0]) / fs
    t[101] = t[100] + 0.2 / fs  # rounds onto slot 100: first sample wins, slot 101 is a gap
    rec = Recording(a, t, fs, START)
    reg = to_regular_grid(rec, fit_clock(rec))
    assert reg.accel_g[100, 0] == 100 and not reg.valid[101]
    assert not np.shares_memory(reg.accel_g, rec.accel_g)
