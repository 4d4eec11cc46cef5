"""Small synthetic recordings for unit tests (independent of the night simulator)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from lmdetect.model import Recording

START = dt.datetime(2026, 3, 14, 22, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def quiet(seconds: float, fs: float = 50.0, noise_g: float = 0.002, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(round(seconds * fs))
    a = rng.normal(0.0, noise_g, (n, 3)).astype(np.float32)
    a[:, 2] += 1.0
    return a


def add_burst(a: np.ndarray, fs: float, onset_s: float, duration_s: float, amp_g: float, freq_hz: float = 2.0,
              axis: int = 0) -> None:
    """A movement burst: half-sine envelope times an oscillation."""
    i0 = int(round(onset_s * fs))
    m = int(round(duration_s * fs))
    k = np.arange(m)
    a[i0 : i0 + m, axis] += (amp_g * np.sin(np.pi * k / m) * np.sin(2 * np.pi * freq_hz * k / fs)).astype(np.float32)


def recording(a: np.ndarray, fs: float = 50.0, **kw) -> Recording:
    t = np.arange(a.shape[0]) / fs
    return Recording(a, t, fs, START, **kw)
