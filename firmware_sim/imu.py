"""The IMU model: sample clock, anti-alias behaviour, offset drift, noise, range and 16-bit quantisation.

Clock. The sensor's tick clock runs at ``(1 + ppm * 1e-6)`` times real time (crystal tolerance;
a few tens of ppm is typical for a 32.768 kHz watch crystal). The sensor takes a sample every
``1 / rate_hz`` s of *its* time, so sample ``k`` is at true time ``k / (rate_hz * (1 + ppm * 1e-6))``
and at sensor time ``k / rate_hz``.

Anti-alias behaviour (``aa_filter``). MEMS accelerometers sample internally far above the output
data rate (ODR) and filter digitally before decimation; how well depends on the part and its mode.
Three models, applied to the vibration-pad signal (the only simulated content above a few Hz):

``"partial"`` (default)
    a 2nd-order Butterworth low-pass at ODR/2, like the light filtering of low-power modes: content
    above Nyquist is attenuated by ~12 dB per octave but not removed, so a 60-200 Hz pad at 50 Hz ODR
    still aliases into the band at a few to tens of mg.
``"lpf"``
    a 4th-order Butterworth low-pass at 0.4 ODR, like a part with a proper digital anti-alias filter:
    the vibration is strongly attenuated.
``"none"``
    pure point sampling: the vibration aliases at full amplitude.

Leg movements (< 10 Hz) and gravity are taken as passing the filter unchanged at every supported
ODR, so the true movement amplitudes do not depend on the sensor settings.

Noise and offsets. White noise of ``noise_density`` ug/sqrt(Hz) over a bandwidth of ODR/2 (283 ug/sqrt(Hz)
gives 2 mg RMS at 100 Hz, a good consumer MEMS part); a constant zero-g offset per axis; and a slow
drift: a warm-up settling (time constant 20 min) plus a wander over hours, a few mg per night.
Samples are clipped at the full-scale range and quantised to signed 16-bit counts,
``counts = round(a * 32768 / range_g)``, as in the sensor profile (lmdetect.protocol).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import signal

__all__ = [
    "aa_sos",
    "n_samples",
    "sample_times_true",
    "OffsetDrift",
    "draw_offset_drift",
    "add_noise",
    "quantize",
    "noise_rms_mg",
    "density_for_rms",
]

_WARMUP_TAU_S = 1200.0


def aa_sos(kind: str, rate_hz: float, fs_internal_hz: float) -> NDArray[np.float64] | None:
    """Second-order sections of the anti-alias model at the internal rate (None for ``"none"``)."""
    if kind == "none":
        return None
    if kind == "partial":
        return np.asarray(signal.butter(2, 0.5 * rate_hz, btype="low", fs=fs_internal_hz, output="sos"))
    if kind == "lpf":
        return np.asarray(signal.butter(4, 0.4 * rate_hz, btype="low", fs=fs_internal_hz, output="sos"))
    raise ValueError(f"unknown anti-alias model {kind!r}")


def n_samples(duration_s: float, rate_hz: float, clock_ppm: float) -> int:
    """Samples the sensor takes in ``duration_s`` of true time."""
    return int(np.floor(duration_s * rate_hz * (1.0 + clock_ppm * 1e-6)))


def sample_times_true(n: int, rate_hz: float, clock_ppm: float) -> NDArray[np.float64]:
    """True time (s) of samples ``0..n-1``."""
    return np.arange(n, dtype=np.float64) / (rate_hz * (1.0 + clock_ppm * 1e-6))


class OffsetDrift:
    """Zero-g offset of each axis over the night (g): constant + warm-up settling + slow wander."""

    def __init__(self, const_g: NDArray[np.float64], warm_g: NDArray[np.float64], wander: NDArray[np.float64]) -> None:
        self.const_g = const_g
        self.warm_g = warm_g
        self.wander = wander  # rows: axis, amplitude g, frequency Hz, phase rad

    def __call__(self, t_s: NDArray[np.float64]) -> NDArray[np.float64]:
        out = np.empty((t_s.size, 3))
        settle = 1.0 - np.exp(-t_s / _WARMUP_TAU_S)
        for ax in range(3):
            out[:, ax] = self.const_g[ax] + self.warm_g[ax] * settle
        for ax, amp, f, ph in self.wander:
            out[:, int(ax)] += amp * np.sin(2 * np.pi * f * t_s + ph)
        return out


def draw_offset_drift(rng: np.random.Generator, offset_mg: float, drift_mg: float) -> OffsetDrift:
    """Draw the offset model (uses a fixed number of draws, independent of the rate)."""
    const = rng.normal(0.0, offset_mg / 1000.0, 3)
    warm = rng.normal(0.0, drift_mg / 1000.0, 3)
    wander = np.array(
        [
            (ax, rng.normal(0.0, 0.5 * drift_mg / 1000.0), rng.uniform(1 / 21600, 1 / 5400), rng.uniform(0, 2 * np.pi))
            for ax in range(3)
            for _ in range(2)
        ]
    )
    return OffsetDrift(const, warm, wander)


def noise_rms_mg(noise_density_ug_rthz: float, rate_hz: float) -> float:
    """RMS white noise (mg) of a sensor with the given density over a bandwidth of ODR/2."""
    return noise_density_ug_rthz * 1e-3 * float(np.sqrt(rate_hz / 2.0))


def density_for_rms(rms_mg: float, rate_hz: float) -> float:
    """Noise density (ug/sqrt(Hz)) that gives ``rms_mg`` over a bandwidth of ODR/2."""
    return rms_mg * 1e3 / float(np.sqrt(rate_hz / 2.0))


def add_noise(rng: np.random.Generator, a_g: NDArray[np.float64], noise_density_ug_rthz: float, rate_hz: float) -> None:
    """Add white noise in place (g)."""
    sd = noise_rms_mg(noise_density_ug_rthz, rate_hz) / 1000.0
    if sd > 0:
        a_g += sd * rng.standard_normal(a_g.shape, dtype=np.float64)


def quantize(a_g: NDArray[np.float64], range_g: float) -> tuple[NDArray[np.int16], NDArray[np.bool_]]:
    """Clip to +-``range_g`` and quantise to int16 counts; also returns which samples clipped (any axis)."""
    counts = np.rint(a_g * (32768.0 / range_g))
    clipped = np.asarray(((counts > 32767) | (counts < -32768)).any(axis=1))
    return np.clip(counts, -32768, 32767).astype(np.int16), clipped
