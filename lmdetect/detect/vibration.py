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

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..preprocessing.grid import RegularSignal
from .params import VibrationParams

__all__ = ["VibrationParams", "detect_vibration", "VIBRATION_COLUMNS"]

#: Columns of a detected vibration-session table.
VIBRATION_COLUMNS = ("onset_s", "duration_s", "freq_hz", "amplitude_mg")


def _window_spectra(reg: RegularSignal, params: VibrationParams) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    nw = max(8, round(params.window_s * reg.fs))
    hop = max(nw, round(params.hop_s * reg.fs))
    k = reg.n // hop
    if k == 0:
        z = np.zeros(0)
        return z, z, z, z
    # one window per hop: a pad session lasts many minutes, so sampling every other window
    # finds it just as well at half the cost
    x = reg.accel_g[: k * hop].reshape(k, hop, 3)[:, :nw]
    x = x - x.mean(axis=1, keepdims=True)
    win = np.hanning(nw).astype(np.float32)  # less leakage from slow movements into the band
    spec = np.abs(np.fft.rfft(x * win[None, :, None], axis=1)) ** 2  # (k, bins, 3)
    p = spec.sum(axis=2)
    freqs = np.fft.rfftfreq(nw, d=1.0 / reg.fs)
    lo = int(np.searchsorted(freqs, params.min_freq_hz))
    band = p[:, lo:]
    if band.shape[1] < 3:
        z = np.zeros(k)
        return z, z, z, np.zeros(k, bool)
    pk = np.argmax(band, axis=1)
    # power within +-peak_halfwidth_hz of the peak: a motor's speed wanders by a percent or so,
    # which spreads its line over a few bins within one window
    half = max(1, int(round(params.peak_halfwidth_hz * nw / reg.fs)))
    c = np.concatenate((np.zeros((k, 1)), np.cumsum(band, axis=1)), axis=1)
    lo_i = np.clip(pk - half, 0, band.shape[1])
    hi_i = np.clip(pk + half + 1, 0, band.shape[1])
    idx = np.arange(k)
    peak_power = c[idx, hi_i] - c[idx, lo_i]
    total = c[:, -1] + 1e-20
    conc = peak_power / total
    # a line is a local maximum: a peak at the lower band edge is the tail of slow movement
    edge = pk <= half
    conc = np.where(edge, 0.0, conc)
    # Parseval for a real signal (Hann window: divide by the window's energy)
    rms_g = np.sqrt(2.0 * peak_power / (nw * float(np.sum(win.astype(np.float64) ** 2))))
    valid = np.asarray(reg.valid[: k * hop].reshape(k, hop)[:, :nw].all(axis=1))
    return freqs[lo + pk], conc, rms_g * 1000.0, valid


def detect_vibration(reg: RegularSignal, params: VibrationParams = VibrationParams()) -> pd.DataFrame:
    """Find sustained narrowband vibration (vibration-pad sessions).

    Each window is a *hit* when one narrow spectral line holds most of its power above
    ``min_freq_hz`` and is strong enough. A session is a stretch where hits make up at least
    ``min_hit_fraction`` of a sliding ``smooth_s`` window, lasting ``min_session_s`` or more, whose
    line frequency is stable (interquartile range <= ``max_freq_iqr_hz``; the ramp-down sweep
    is a small part of a session).

    Returns
    -------
    DataFrame
        Columns onset_s, duration_s (s since recording start), freq_hz (median line frequency as
        sampled, i.e. aliased when the motor runs above fs/2), amplitude_mg (median RMS of the line).
    """
    freq, conc, rms_mg, valid = _window_spectra(reg, params)
    cols = list(VIBRATION_COLUMNS)
    if freq.size == 0:
        return pd.DataFrame(columns=cols)
    nw = max(8, round(params.window_s * reg.fs))
    hop = max(nw, round(params.hop_s * reg.fs))
    win_s = hop / reg.fs  # time between analysed windows
    hit = (conc >= params.concentration) & (rms_mg >= params.min_rms_mg) & valid
    width = max(1, int(round(params.smooth_s / win_s)))
    dens = np.convolve(hit.astype(float), np.ones(width) / width, mode="same")
    on = dens >= params.min_hit_fraction
    d = np.diff(np.concatenate(([0], on.view(np.int8), [0])))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    # join runs separated by short breaks (a leg movement on the pad)
    max_break = int(params.max_break_s // win_s)
    runs: list[list[int]] = []
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        if runs and a - runs[-1][1] <= max_break:
            runs[-1][1] = b
        else:
            runs.append([a, b])
    rows = []
    for a, b in runs:
        dur = (b - a) * win_s
        if dur < params.min_session_s:
            continue
        sel = np.arange(a, b)
        sel = sel[hit[sel]]
        if sel.size == 0:
            continue
        q1, q3 = np.percentile(freq[sel], [25, 75])
        if q3 - q1 > params.max_freq_iqr_hz:
            continue
        rows.append(
            {
                "onset_s": float(reg.time_of(a * hop)),
                "duration_s": float(dur),
                "freq_hz": float(np.median(freq[sel])),
                "amplitude_mg": float(np.median(rms_mg[sel])),
            }
        )
    # a pad runs for its whole cycle: pieces of one session broken up by a stretch where leg
    # movements swamped the line (its alias can fall right into the movement band) are joined
    merged: list[dict[str, float]] = []
    for row in rows:
        if merged:
            last = merged[-1]
            gap = row["onset_s"] - (last["onset_s"] + last["duration_s"])
            if gap <= params.join_gap_s and abs(row["freq_hz"] - last["freq_hz"]) <= params.max_freq_iqr_hz:
                last["duration_s"] = row["onset_s"] + row["duration_s"] - last["onset_s"]
                continue
        merged.append(dict(row))
    return pd.DataFrame(merged, columns=cols)
