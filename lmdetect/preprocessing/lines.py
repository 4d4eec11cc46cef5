"""Removal of a narrow vibration line (a vibration pad's motor) that drifts and ramps down.

A pad's eccentric-mass motor puts one narrow spectral line into the acceleration (at its speed,
or that speed's alias below fs/2), with weaker harmonics; the speed wanders slowly and, at the end
of a cycle, ramps down, so the line (and its aliases, which fold back at 0 and fs/2) sweeps
through the spectrum. Leg movements are broadband and brief. So the line can be tracked and
subtracted, leaving the movements to be measured underneath:

1. short frames (``frame_s``, half-overlapping) of the three axes; in each, the line is the
   largest peak of the zero-padded Hann spectrum within ``search_hz`` of the previous frame's
   line (a motor's speed changes slowly), refined by parabolic interpolation. It counts only if it
   is *narrow*: ``line_ratio`` times the median power of the spectrum around it, which a
   broadband leg movement is not. When the line is lost the search opens to the whole band (a
   repeat cycle spins up at full speed again);
2. harmonics ``k f`` are folded into [0, fs/2] as the sensor aliases them (the alias of ``k``
   times the true speed is the fold of ``k`` times the aliased frequency) and kept when narrow;
3. in each frame a least-squares fit of a constant, a slope and, per line, a chirp (the frequency
   running linearly between the neighbouring frames' estimates, so a ramp-down is followed within
   the frame) gives the line's part, which is subtracted with a Hann cross-fade between frames
   (half-overlapping periodic Hann windows sum to one);
4. what is left at the line is measured in the cleaned frame (its excess over the spectrum
   around it) and weighted by the detector's low-pass gain, giving the residual line as it
   reaches the movement signal. A line below ``min_fit_hz`` (less than a cycle per frame: an
   alias passing through 0 Hz) cannot be fitted and counts in full.

This is the line-tracking (harmonic-subtraction) approach used for power-line interference in
biosignals, applied to a tracked rather than a fixed frequency (e.g. Keshtkaran & Yang, J Neural
Eng 2014, for a tracked adaptive line canceller; scipy.signal supplies the spectra and filters).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import fft as sp_fft
from scipy import signal

from .._params import Params, check_positive, check_range
from .grid import RegularSignal

__all__ = ["LINE_TRACK_COLUMNS", "LineRemovalParams", "LineTrack", "remove_lines"]

#: Columns of the per-frame line track.
LINE_TRACK_COLUMNS = ("t_s", "freq_hz", "amplitude_mg", "residual_mg", "fitted")


@dataclasses.dataclass(frozen=True)
class LineRemovalParams(Params):
    """Settings of the vibration-line remover.

    Attributes
    ----------
    frame_s
        Frame length (s); frames overlap by half. Short enough that a ramp-down's sweep is
        close to linear within a frame.
    zero_pad
        Zero-padding factor of the frame spectra (finer peak picking).
    search_hz
        The line is searched within this distance of the previous frame's line.
    line_ratio
        A peak is a line when its power is at least this times the median power within
        ``context_hz`` around it (a broadband movement spreads its power).
    context_hz
        Half-width of the neighbourhood for ``line_ratio``.
    n_harmonics
        Lines at 1..n times the motor frequency (folded into [0, fs/2]) are removed.
    min_fit_hz
        Lines below this frequency are not fitted (under ~1 cycle per frame they cannot be told
        from a slow movement); where such a line is present it is counted in full as residual.
    extend_s
        Tracking continues this long after a session's end (the ramp-down and stall).
    margin_s
        Tracking starts this long before a session's onset.
    lost_s
        Tracking ends early after this long without a line once past the session's end.
    residual_window_s
        The residual is the running median over this long (a brief movement at the line's
        frequency is not residual vibration).
    coast_s
        Where a frame shows no narrow line (a movement swamps it) the line is still removed at
        the last tracked frequency for up to this long.
    """

    frame_s: float = 1.0
    zero_pad: int = 4
    search_hz: float = 1.5
    line_ratio: float = 20.0
    context_hz: float = 6.0
    n_harmonics: int = 3
    min_fit_hz: float = 1.0
    extend_s: float = 420.0
    margin_s: float = 30.0
    lost_s: float = 20.0
    residual_window_s: float = 5.0
    coast_s: float = 3.0

    def __post_init__(self) -> None:
        for name in ("frame_s", "search_hz", "line_ratio", "context_hz", "min_fit_hz", "residual_window_s"):
            check_positive(name, getattr(self, name))
        check_range("zero_pad", self.zero_pad, 1, 64)
        check_range("n_harmonics", self.n_harmonics, 1, 10)
        check_range("extend_s", self.extend_s, 0, 3600)
        check_range("margin_s", self.margin_s, 0, 3600)
        check_range("lost_s", self.lost_s, 0, 3600)


@dataclasses.dataclass(frozen=True, eq=False)
class LineTrack:
    """What the remover found, frame by frame.

    Attributes
    ----------
    frames : DataFrame
        One row per frame: t_s (frame centre, s since recording start), freq_hz (tracked
        fundamental as sampled, NaN where no line), amplitude_mg (peak amplitude of the removed
        lines, vector over the axes, before the low-pass), residual_mg (running median of the
        residual line as it reaches the movement signal, RMS mg), fitted (the line was removed).
    hop_s : float
        Time between frame centres (s).
    """

    frames: pd.DataFrame
    hop_s: float

    def residual_above(self, n: int, fs: float, t0_s: float, level_mg: float) -> NDArray[np.bool_]:
        """Grid mask: True where the residual line exceeds ``level_mg`` (each frame covers its hop)."""
        mask = np.zeros(n, bool)
        f = self.frames
        if len(f) == 0:
            return mask
        bad = f["residual_mg"].to_numpy(float) > level_mg
        t = f["t_s"].to_numpy(float)[bad]
        lo = np.clip(np.floor((t - self.hop_s / 2 - t0_s) * fs).astype(np.int64), 0, n)
        hi = np.clip(np.ceil((t + self.hop_s / 2 - t0_s) * fs).astype(np.int64), 0, n)
        for a, b in zip(lo, hi):
            mask[a:b] = True
        return mask

    def between(self, a_s: float, b_s: float) -> pd.DataFrame:
        t = self.frames["t_s"].to_numpy(float)
        return self.frames[(t >= a_s) & (t < b_s)]


def _fold(f: NDArray | float, fs: float) -> NDArray | float:
    """Frequency as a sensor sampling at ``fs`` sees it, in [0, fs/2]."""
    r = np.mod(f, fs)
    return np.minimum(r, fs - r)


def _spans(onsets: NDArray, ends: NDArray, params: LineRemovalParams, dur_s: float) -> list[tuple[float, float, float]]:
    rows = sorted(zip(onsets - params.margin_s, ends, ends + params.extend_s))
    out: list[list[float]] = []
    for a, e, b in rows:
        a, b = max(0.0, a), min(dur_s, b)
        if out and a <= out[-1][2]:
            out[-1][1] = max(out[-1][1], e)
            out[-1][2] = max(out[-1][2], b)
        elif b > a:
            out.append([a, e, b])
    return [(a, e, b) for a, e, b in out]


def remove_lines(
    reg: RegularSignal,
    sessions: pd.DataFrame,
    params: LineRemovalParams = LineRemovalParams(),
    *,
    lowpass_sos: NDArray[np.float64] | None = None,
) -> tuple[RegularSignal, LineTrack]:
    """Subtract tracked vibration lines around each session.

    Parameters
    ----------
    reg
        Acceleration on a uniform grid (g).
    sessions
        Vibration sessions (onset_s, duration_s, seconds since recording start; optional
        freq_hz, the line frequency as sampled, to start the track from).
    params
        Remover settings.
    lowpass_sos
        The detector's low-pass filter (SOS at ``reg.fs``), applied zero-phase: the residual is
        weighted by its gain (squared magnitude), i.e. measured as it reaches the movement signal.
        None = unweighted.

    Returns
    -------
    cleaned : RegularSignal
        A copy of ``reg`` with the lines removed (``reg`` itself when there is nothing to do).
    track : LineTrack
    """
    fs = reg.fs
    n_frame = 2 * max(4, int(round(params.frame_s * fs / 2)))  # even: two hops per frame
    hop = n_frame // 2
    cols = list(LINE_TRACK_COLUMNS)
    empty = LineTrack(pd.DataFrame(columns=cols), hop / fs)
    if sessions is None or len(sessions) == 0 or reg.n < 2 * n_frame:
        return reg, empty
    on = sessions["onset_s"].to_numpy(float) - reg.t0_s
    end = on + sessions["duration_s"].to_numpy(float)
    f0 = sessions["freq_hz"].to_numpy(float) if "freq_hz" in sessions else np.full(on.size, np.nan)
    accel = reg.accel_g.astype(np.float64, copy=True)
    nfft = n_frame * params.zero_pad
    freqs = np.fft.rfftfreq(nfft, d=1.0 / fs)
    df = freqs[1]
    win = np.hanning(n_frame + 1)[:-1]  # periodic Hann: half-overlapping copies sum to one
    gain = np.ones_like(freqs)
    if lowpass_sos is not None:
        _, h = signal.sosfreqz(lowpass_sos, worN=freqs, fs=fs)
        gain = np.abs(h) ** 2  # zero-phase: the filter runs twice
    ctx = max(2, round(params.context_hz / df))
    search = max(1, int(round(params.search_hz / df)))
    rows: list[dict[str, float | bool]] = []
    for a_s, e_s, b_s in _spans(on, end, params, reg.duration_s):
        i0, i1 = int(a_s * fs), int(b_s * fs)
        nf = (i1 - i0 - n_frame) // hop + 1
        if nf < 3:
            continue
        starts = i0 + hop * np.arange(nf)
        idx = starts[:, None] + np.arange(n_frame)[None, :]
        x = accel[idx]  # (nf, n_frame, 3)
        ok = reg.valid[idx].all(axis=1)
        xd = x - x.mean(axis=1, keepdims=True)
        spec = sp_fft.rfft((xd * win[None, :, None]).astype(np.float32), n=nfft, axis=1)
        p = (spec.real.astype(np.float64) ** 2 + spec.imag.astype(np.float64) ** 2).sum(axis=2)  # (nf, bins)
        del spec
        # a running median of the spectrum: what a broadband signal has around each bin
        ref = _neighbourhood_median(p, ctx)
        ratio = p / (ref + 1e-30)
        lo_bin = int(np.ceil(0.2 / df))
        # anchor: the frame where the session's line stands out most
        sel = (starts / fs >= max(on.min(), a_s)) & (starts / fs <= e_s)
        f_start = f0[np.argmin(np.abs(on - max(a_s + params.margin_s, 0)))] if f0.size else np.nan
        anchor, fa = _anchor(ratio, freqs, sel, f_start, params, lo_bin)
        if anchor < 0:
            continue
        f_track = np.full(nf, np.nan)
        for direction in (1, -1):
            f_prev = fa
            lost = 0
            j = anchor if direction == 1 else anchor - 1
            while 0 <= j < nf:
                b = int(round(f_prev / df))
                lo, hi = max(lo_bin, b - search), min(p.shape[1], b + search + 1)
                k = lo + int(np.argmax(p[j, lo:hi])) if hi > lo else -1
                if k < 0 or ratio[j, k] < params.line_ratio or not ok[j]:
                    lost += 1
                    if lost >= 2:  # lost: look across the whole band (a repeat cycle spins up)
                        kk = lo_bin + int(np.argmax(ratio[j, lo_bin:]))
                        if ratio[j, kk] >= 4 * params.line_ratio and ok[j]:
                            k = kk
                    if k < 0 or ratio[j, k] < params.line_ratio or not ok[j]:
                        t_j = (starts[j] + n_frame / 2) / fs
                        if direction == 1 and t_j > e_s and lost * hop / fs > params.lost_s:
                            break
                        if ok[j] and lost * hop / fs <= params.coast_s:
                            # a movement can hide the line for a moment: the motor still runs
                            f_track[j] = f_prev
                        j += direction
                        continue
                lost = 0
                f_prev = _refine(p[j], k) * df
                f_track[j] = f_prev
                j += direction
        fitted, amp, resid = _fit_and_subtract(accel, i0, starts, x, xd, f_track, ratio, ref, gain, fs, n_frame, params)
        w = max(1, int(round(params.residual_window_s * fs / hop)) | 1)
        resid_med = signal.medfilt(resid, w) if nf >= w else resid
        tc = reg.t0_s + (starts + n_frame / 2) / fs
        for j in range(nf):
            rows.append(
                {
                    "t_s": float(tc[j]),
                    "freq_hz": float(f_track[j]),
                    "amplitude_mg": float(amp[j] * 1000.0),
                    "residual_mg": float(resid_med[j] * 1000.0),
                    "fitted": bool(fitted[j]),
                }
            )
    if not rows:
        return reg, empty
    cleaned = dataclasses.replace(reg, accel_g=accel.astype(reg.accel_g.dtype, copy=False))
    return cleaned, LineTrack(pd.DataFrame(rows, columns=cols), hop / fs)


def _neighbourhood_median(p: NDArray, half: int) -> NDArray:
    """Median of each frame's spectrum over +-``half`` bins (computed on a decimated grid)."""
    step = max(1, half // 4)
    sub = p[:, ::step]
    size = max(3, (2 * half // step) | 1)
    from scipy import ndimage

    med = ndimage.median_filter(sub, size=(1, size), mode="nearest")
    return np.repeat(med, step, axis=1)[:, : p.shape[1]]


def _refine(row: NDArray, k: int) -> float:
    """Parabolic interpolation of a spectral peak (in bins)."""
    if 0 < k < row.size - 1:
        a, b, c = np.log(row[k - 1] + 1e-30), np.log(row[k] + 1e-30), np.log(row[k + 1] + 1e-30)
        d = a - 2 * b + c
        if d < 0:
            return k + 0.5 * (a - c) / d
    return float(k)


def _anchor(ratio: NDArray, freqs: NDArray, sel: NDArray, f_start: float, params: LineRemovalParams, lo_bin: int) -> tuple[int, float]:
    """The frame and frequency to start tracking from: the strongest narrow line in the session
    (near its reported frequency when known)."""
    cand = np.flatnonzero(sel)
    if cand.size == 0:
        return -1, np.nan
    df = freqs[1]
    if np.isfinite(f_start):
        b = int(round(f_start / df))
        w = max(1, int(round(1.5 / df)))
        lo, hi = max(lo_bin, b - w), min(ratio.shape[1], b + w + 1)
        sub = ratio[cand, lo:hi]
    else:
        lo = lo_bin
        sub = ratio[cand, lo:]
    if sub.size == 0:
        return -1, np.nan
    best = np.unravel_index(int(np.argmax(sub)), sub.shape)
    j, k = int(cand[best[0]]), lo + int(best[1])
    if ratio[j, k] < params.line_ratio:
        return -1, np.nan
    return j, float(freqs[k])


def _fit_and_subtract(
    accel: NDArray,
    i0: int,
    starts: NDArray,
    x: NDArray,
    xd: NDArray,
    f_track: NDArray,
    ratio: NDArray,
    ref: NDArray,
    gain: NDArray,
    fs: float,
    n_frame: int,
    params: LineRemovalParams,
) -> tuple[NDArray, NDArray, NDArray]:
    """Fit the tracked lines in every frame at once, subtract them from ``accel`` (cross-faded),
    and measure what is left. Returns (fitted, amplitude_g, residual_g_rms) per frame."""
    nf = f_track.size
    hop = n_frame // 2
    df = fs / (n_frame * params.zero_pad)
    win = np.hanning(n_frame + 1)[:-1]
    amp_scale = 2.0 / win.sum()
    t = (np.arange(n_frame) - (n_frame - 1) / 2) / fs
    have = np.isfinite(f_track)
    f1 = np.where(have, f_track, 0.0)
    # frequency slope from the neighbouring frames (a ramp-down sweeps the line)
    prev = np.r_[np.nan, f_track[:-1]]
    nxt = np.r_[f_track[1:], np.nan]
    has_p, has_n = np.isfinite(prev), np.isfinite(nxt)
    steps = has_p.astype(float) + has_n
    slope = (np.where(has_n, nxt, f1) - np.where(has_p, prev, f1)) / np.maximum(steps, 1) / (hop / fs)
    fold_between = (np.where(has_n, nxt, f1) - f1) * (f1 - np.where(has_p, prev, f1)) < 0
    slope = np.where(fold_between | (steps == 0), 0.0, slope)
    harm = np.arange(1, params.n_harmonics + 1)
    raw = harm[None, :] * f1[:, None]  # (nf, H)
    fh = np.asarray(_fold(raw, fs))
    sgn = np.where(np.mod(raw, fs) <= fs / 2, 1.0, -1.0)
    kb = np.clip(np.round(fh / df).astype(np.int64), 0, ratio.shape[1] - 1)
    rows = np.arange(nf)[:, None]
    narrow = (ratio[rows, kb] >= params.line_ratio) | (harm[None, :] == 1)
    present = have[:, None] & narrow
    line_amp = amp_scale * np.sqrt(np.maximum(ratio[rows, kb] * ref[rows, kb], 0.0))  # g, from the frame spectrum
    unfit = present & (fh < params.min_fit_hz)
    fit = present & ~unfit & (fh <= fs / 2 - 1.0 / params.frame_s)
    unfit_amp = np.sqrt((np.where(unfit, line_amp * gain[kb], 0.0) ** 2).sum(axis=1))
    any_fit = fit.any(axis=1)
    fitted = any_fit.copy()
    amp = np.zeros(nf)
    resid = unfit_amp / np.sqrt(2.0)
    js = np.flatnonzero(any_fit)
    removed = np.zeros((hop * (nf + 1), 3))
    chunk = 512
    for c0 in range(0, js.size, chunk):
        j = js[c0 : c0 + chunk]
        ph = 2 * np.pi * (fh[j, :, None] * t[None, None, :] + 0.5 * (sgn[j] * harm[None, :] * slope[j, None])[:, :, None] * t**2)
        on = fit[j][:, :, None]
        cs = np.where(on, np.cos(ph), 0.0)
        sn = np.where(on, np.sin(ph), 0.0)
        m = np.concatenate(
            (np.broadcast_to(np.ones(n_frame), (j.size, 1, n_frame)), np.broadcast_to(t, (j.size, 1, n_frame)), cs, sn),
            axis=1,
        )  # (J, C, N)
        a_mat = np.einsum("jcn,jdn->jcd", m, m)
        a_mat += np.eye(m.shape[1])[None] * (1e-9 * n_frame)  # columns of absent lines are zero
        b_vec = np.einsum("jcn,jna->jca", m, x[j])
        coef = np.linalg.solve(a_mat, b_vec)
        part = np.einsum("jcn,jca->jna", m[:, 2:], coef[:, 2:])  # (J, N, 3)
        amp[j] = np.sqrt((part**2).sum(axis=2).max(axis=1))
        wp = win[None, :, None] * part
        for q, jj in enumerate(j):
            removed[jj * hop : jj * hop + n_frame] += wp[q]
        # what is left at each line: the cleaned frame's power there over the spectrum around it
        c = xd[j] - (part - part.mean(axis=1, keepdims=True))
        e = np.exp(-1j * ph) * win[None, None, :]  # (J, H, N)
        pw = (np.abs(np.einsum("jhn,jna->jha", e, c)) ** 2).sum(axis=2)  # (J, H)
        excess = np.maximum(0.0, pw - ref[j[:, None], kb[j]])
        left = np.where(fit[j], amp_scale * np.sqrt(excess) * gain[kb[j]], 0.0)
        resid[j] = np.sqrt((left**2).sum(axis=1) + unfit_amp[j] ** 2) / np.sqrt(2.0)
    n_rem = min(removed.shape[0], accel.shape[0] - i0)
    accel[i0 : i0 + n_rem] -= removed[:n_rem]
    return fitted, amp, resid
