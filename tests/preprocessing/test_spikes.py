import numpy as np

from lmdetect.preprocessing.spikes import remove_spikes
from tests.synth import add_burst, quiet


def test_single_sample_spikes_are_replaced_and_movements_kept():
    fs = 50.0
    a = quiet(600, fs)
    add_burst(a, fs, 100.0, 2.0, 0.1)
    clean_ref = a.copy()
    rng = np.random.default_rng(1)
    # (away from the movement: there a spike is judged against the movement's own variation)
    pool = np.r_[np.arange(10, int(95 * fs)), np.arange(int(105 * fs), a.shape[0] - 10)]
    idx = rng.choice(pool, 40, replace=False)
    ax = rng.integers(0, 3, idx.size)
    a[idx, ax] += rng.choice([-1, 1], idx.size) * rng.uniform(0.3, 2.0, idx.size)
    out, n = remove_spikes(a)
    assert n == idx.size
    assert np.abs(out - clean_ref).max() < 0.02


def test_a_vibration_near_nyquist_is_not_a_spike():
    fs = 25.0
    a = quiet(60, fs)
    t = np.arange(a.shape[0]) / fs
    a[:, 1] += (0.2 * np.cos(2 * np.pi * 12.2 * t)).astype(np.float32)  # samples alternate in sign
    out, n = remove_spikes(a)
    assert n == 0 and out is a


def test_the_peaks_of_a_strong_vibration_are_not_spikes():
    # a 35-Hz line sampled at 100 Hz: each peak jumps away from both neighbours, which agree
    fs = 100.0
    a = quiet(60, fs)
    t = np.arange(a.shape[0]) / fs
    a[:, 1] += (0.12 * np.cos(2 * np.pi * 35.3 * t)).astype(np.float32)
    _, n = remove_spikes(a)
    assert n == 0
