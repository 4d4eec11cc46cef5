import numpy as np
from scipy import signal

from lmdetect.preprocessing.filters import design_bandpass, zero_phase


def test_zero_phase_matches_scipy_sosfiltfilt_away_from_edges():
    fs = 50.0
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5000, 3)).astype(np.float32)
    sos = design_bandpass(fs, 0.3, 10.0)
    ours = zero_phase(sos, x)
    ref = signal.sosfiltfilt(sos, x.astype(np.float64), axis=0)
    mid = slice(1000, 4000)
    assert np.allclose(ours[mid], ref[mid], atol=1e-3)


def test_bandpass_removes_gravity_and_keeps_movement_band():
    fs = 100.0
    t = np.arange(int(60 * fs)) / fs
    x = (1.0 + 0.05 * np.sin(2 * np.pi * 2.0 * t)).astype(np.float32)[:, None]
    y = zero_phase(design_bandpass(fs, 0.3, 10.0), x)[:, 0]
    mid = slice(1000, -1000)
    assert abs(y[mid].mean()) < 1e-3  # gravity gone
    assert 0.045 < np.abs(y[mid]).max() < 0.055  # 2 Hz movement kept


def test_zero_phase_gives_the_numbers_of_both_passes_over_all_axes_at_once():
    # filtering axis by axis (to hold one axis's float64 passes, not three) must not change a bit:
    # the reference runs sosfilt over the whole (n, 3) array, as zero_phase did before
    rng = np.random.default_rng(2)
    x = (rng.normal(size=(20_000, 3)) * 0.05 + [0.1, -0.3, 0.95]).astype(np.float32)
    for sos in (design_bandpass(50.0, 0.3, 10.0), signal.butter(2, 5.0, fs=100.0, output="sos")):
        zi = signal.sosfilt_zi(sos).astype(np.float32)[:, :, None]
        y, _ = signal.sosfilt(sos, x, axis=0, zi=zi * x[:1])
        y = y[::-1]
        y, _ = signal.sosfilt(sos, y, axis=0, zi=zi * y[:1])
        ref = np.ascontiguousarray(y[::-1], dtype=np.float32)
        ours = zero_phase(sos, x)
        assert ours.dtype == np.float32 and ours.flags.c_contiguous
        assert np.array_equal(ours, ref)
        assert np.array_equal(zero_phase(sos, x[:, 2]), ref[:, 2])
