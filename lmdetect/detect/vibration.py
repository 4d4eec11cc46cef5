"""Detection of vibration-pad sessions in the acceleration.

A vibratory counter-stimulation pad (Relaxis / "Symphony Device", FDA De Novo DEN110011, 2013)
runs eccentric-mass motors for a 30-min cycle, then ramps down over 5 min. Under the legs this shows
at the ankle as *sustained narrowband* vibration: in short windows nearly all of the power above the
movement band sits in one spectral peak, and that peak persists (drifting slowly, as motor speed
follows the intensity and the ramp) for many minutes. If the motor frequency is above half the
sensor's sampling rate the peak is aliased, but it stays narrow and persistent, so the same test
finds it. Leg movements are broadband and brief, and break such a run only for a window or two.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .._params import Params, check_positive, check_range
from ..preprocessing.grid import RegularSignal

__all__ = ["VibrationParams", "detect_vibration", "VIBRATION_COLUMNS"]

#: Columns of a detected vibration-session table.
VIBRATION_COLUMNS = ("onset_s", "duration_s", "freq_hz", "amplitude_mg")


@dataclasses.dataclass(frozen=True)
class VibrationParams(Params):
    """Settings of the vibration-session detector.

    Attributes
    ----------
    window_s
        Spectral window length.
    min_freq_hz
        Peaks below this frequency are ignored (limb movement and posture live there).
    concentration
        Minimum share of the window's power (above ``min_freq_hz``) within +-1 bin of the peak.
    min_rms_mg
        Minimum RMS of the peak component (mg).
    max_step_hz
        Largest change of the peak frequency between consecutive vibration windows of one
        session (the ramp-down sweeps the motor speed).
    max_break_s
        Windows without vibration up to this long do not end a session (a leg movement on
        the pad).
    min_session_s
        Shortest vibration run reported as a session.
    min_hit_fraction
        Share of a session's windows that must show the narrowband peak (the pad runs
        continuously; a periodic train of leg movements does not).
    margin_s
        Time added before and after a detected session when it is used as a detection mask.
    """

    window_s: float = 4.0
    min_freq_hz: float = 2.0
    concentration: float = 0.35
    min_rms_mg: float = 2.0
    max_step_hz: float = 3.0
    max_break_s: float = 20.0
    min_session_s: float = 120.0
    min_hit_fraction: float = 0.7
    margin_s: float = 30.0

    def __post_init__(self) -> None:
        for name in ("window_s", "min_freq_hz", "min_rms_mg", "max_step_hz", "min_session_s"):
            check_positive(name, getattr(self, name))
        check_range("concentration", self.concentration, 0, 1)
        check_range("min_hit_fraction", self.min_hit_fraction, 0, 1)
        check_range("max_break_s", self.max_break_s, 0, 3600)
        check_range("margin_s", self.margin_s, 0, 3600)


def _window_spectra(reg: RegularSignal, params: VibrationParams) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    nw = max(8, round(params.window_s * reg.fs))
    k = reg.n // nw
    if k == 0:
        z = np.zeros(0)
        return z, z, z, z
    x = reg.accel_g[: k * nw].reshape(k, nw, 3).astype(np.float32)
    x = x - x.mean(axis=1, keepdims=True)
    spec = np.abs(np.fft.rfft(x, axis=1)) ** 2  # (k, bins, 3)
    p = spec.sum(axis=2)
    freqs = np.fft.rfftfreq(nw, d=1.0 / reg.fs)
    lo = int(np.searchsorted(freqs, params.min_freq_hz))
    band = p[:, lo:]
    if band.shape[1] < 3:
        z = np.zeros(k)
        return z, z, z, np.zeros(k, bool)
    pk = np.argmax(band, axis=1)
    idx = np.arange(k)
    left = band[idx, np.maximum(pk - 1, 0)]
    right = band[idx, np.minimum(pk + 1, band.shape[1] - 1)]
    peak_power = band[idx, pk] + left + right
    total = band.sum(axis=1) + 1e-20
    conc = peak_power / total
    # Parseval for a real signal: a component's RMS from its one-sided bins
    rms_g = np.sqrt(2.0 * peak_power) / nw
    valid = reg.valid[: k * nw].reshape(k, nw).all(axis=1)
    return freqs[lo + pk], conc, rms_g * 1000.0, valid


def detect_vibration(reg: RegularSignal, params: VibrationParams = VibrationParams()) -> pd.DataFrame:
    """Find sustained narrowband vibration (vibration-pad sessions).

    Returns
    -------
    DataFrame
        Columns onset_s, duration_s (s since recording start), freq_hz (median peak frequency as
        sampled, i.e. aliased when the motor runs above fs/2), amplitude_mg (median RMS of the peak).
    """
    freq, conc, rms_mg, valid = _window_spectra(reg, params)
    cols = list(VIBRATION_COLUMNS)
    if freq.size == 0:
        return pd.DataFrame(columns=cols)
    nw = max(8, round(params.window_s * reg.fs))
    win_s = nw / reg.fs
    hit = (conc >= params.concentration) & (rms_mg >= params.min_rms_mg) & valid
    max_break = int(params.max_break_s // win_s)
    sessions: list[tuple[int, int]] = []
    start = last = -1
    last_f = 0.0
    for i in np.flatnonzero(hit):
        if start >= 0 and i - last - 1 <= max_break and abs(freq[i] - last_f) <= params.max_step_hz * (i - last):
            last, last_f = i, freq[i]
            continue
        if start >= 0:
            sessions.append((start, last))
        start = last = i
        last_f = freq[i]
    if start >= 0:
        sessions.append((start, last))
    rows = []
    for a, b in sessions:
        dur = (b - a + 1) * win_s
        if dur < params.min_session_s:
            continue
        sel = np.arange(a, b + 1)
        if hit[sel].mean() < params.min_hit_fraction:
            continue
        sel = sel[hit[sel]]
        rows.append(
            {
                "onset_s": float(reg.time_of(a * nw)),
                "duration_s": float(dur),
                "freq_hz": float(np.median(freq[sel])),
                "amplitude_mg": float(np.median(rms_mg[sel])),
            }
        )
    return pd.DataFrame(rows, columns=cols)
