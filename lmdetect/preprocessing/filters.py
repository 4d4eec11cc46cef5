"""Filters: Butterworth designs as second-order sections with ``fs`` in Hz, applied zero-phase.

Zero-phase filtering runs the filter forward and then backward (as ``scipy.signal.sosfiltfilt``),
with steady-state initial conditions at both ends. It is written out here, not for speed (on an
8-h, 100-Hz, 3-axis float32 night it takes the same time as ``sosfiltfilt``, 0.96-1.01x, on one
core; ``benchmarks/speed.py`` prints both), but because it differs in two ways: it returns float32
where ``sosfiltfilt`` returns float64 for float32 input (twice the memory for the result), and it
pads nothing, starting each pass from the filter's steady state for the first sample instead of
extending the signal by odd reflection. Away from the ends the two agree to float32 rounding
(1e-7 g); within about a second of either end they differ, as the ends are handled differently.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage, signal

from ..errors import ConfigError

__all__ = ["design_bandpass", "design_lowpass", "design_highpass", "zero_phase", "moving_average"]


def _check_band(fs: float, *freqs: float) -> None:
    for f in freqs:
        if not 0 < f < fs / 2:
            raise ConfigError(f"filter frequency {f} Hz must be within (0, {fs / 2}) for fs={fs} Hz")


def design_bandpass(fs: float, low_hz: float, high_hz: float, order: int = 2) -> NDArray[np.float64]:
    """Butterworth band-pass (``order`` per edge) as SOS; high edge clipped below Nyquist."""
    high_hz = min(high_hz, 0.45 * fs)
    _check_band(fs, low_hz, high_hz)
    return signal.butter(order, [low_hz, high_hz], btype="bandpass", fs=fs, output="sos")


def design_lowpass(fs: float, cutoff_hz: float, order: int = 2) -> NDArray[np.float64]:
    _check_band(fs, cutoff_hz)
    return signal.butter(order, cutoff_hz, btype="lowpass", fs=fs, output="sos")


def design_highpass(fs: float, cutoff_hz: float, order: int = 2) -> NDArray[np.float64]:
    _check_band(fs, cutoff_hz)
    return signal.butter(order, cutoff_hz, btype="highpass", fs=fs, output="sos")


def zero_phase(sos: NDArray[np.float64], x: NDArray[np.floating]) -> NDArray[np.float32]:
    """Forward-backward filter along axis 0; returns float32 of x's shape.

    The passes run in float64 (``sosfilt`` computes in the type of the float64 sections) and the
    result is rounded to float32 once. A 2-D array is filtered one column at a time into the
    float32 result, so the float64 intermediates cover one axis, not all three: the numbers are the
    same (each column is an independent signal to ``sosfilt``) at under half the peak memory.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.shape[0] == 0:
        return x.copy()
    zi = signal.sosfilt_zi(sos).astype(np.float32)  # (n_sections, 2)
    if x.ndim == 2:
        out = np.empty(x.shape, dtype=np.float32)
        for j in range(x.shape[1]):
            out[:, j] = _forward_backward(sos, x[:, j], zi)
        return out
    shape = (zi.shape[0], 2) + (1,) * (x.ndim - 1)
    return np.ascontiguousarray(_forward_backward(sos, x, zi.reshape(shape)), dtype=np.float32)


def _forward_backward(sos: NDArray[np.float64], x: NDArray[np.float32], zi: NDArray[np.float32]) -> NDArray[np.float64]:
    """Both passes along axis 0, each started in the steady state of its first sample (a view in
    time order of the float64 result). ``x[:1]`` and ``y[:1]`` are arrays, not scalars, so the
    initial states take their type as they do for several axes."""
    y, _ = signal.sosfilt(sos, x, axis=0, zi=zi * x[:1])
    y = y[::-1]
    y, _ = signal.sosfilt(sos, y, axis=0, zi=zi * y[:1])
    return y[::-1]  # type: ignore[no-any-return]


def moving_average(x: NDArray[np.floating], width: int) -> NDArray[np.float32]:
    """Centred moving average over ``width`` samples (1-D); edges repeat the end values."""
    x = np.asarray(x, dtype=np.float32)
    width = max(1, int(width))
    if width == 1 or x.size == 0:
        return x.copy()
    return ndimage.uniform_filter1d(x, size=width, mode="nearest").astype(np.float32, copy=False)
